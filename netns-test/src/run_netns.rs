//! A private `/run/netns` for each test.
//!
//! `ip netns add NAME`, rtnetlink's `NetworkNamespace::add` and
//! `NetNs::from_name` all use `/run/netns`. On the host that directory is
//! root's (unprivileged tests get `EACCES`) and shared (root's tests would
//! leave namespaces there, and see the host's). So the thread that runs a
//! test body gets a mount namespace of its own (`unshare(CLONE_NEWNS)`
//! changes only the calling thread, and what it starts: the body's threads
//! and child processes), in which `/run/netns` is an empty tmpfs. Nothing
//! mounted there reaches the host (the namespace is a *slave* of the
//! process's: mounts flow in, never out), and it all goes when the test's
//! last thread and process have.
//!
//! Where the host has no `/run/netns` (nothing to mount the tmpfs on, and
//! creating it would write to the host's `/run`), the test's `/run` becomes
//! a tmpfs holding `netns` and every entry of the host's `/run` bound back
//! in place, so the test sees the host's `/run` with one directory more (an
//! entry the host adds to `/run` itself after the first test does not show;
//! what its directories hold does). That `/run` is made once, in a
//! *template* mount namespace that a helper thread builds and leaves; each
//! test enters it (`setns`, which needs a `CLONE_FS` of the thread's own and
//! sends the working directory to `/`, so it is put back) and copies it
//! (`unshare`), at half the cost of rebuilding `/run` per test. Plain tests
//! and the rest of the process keep the host's view.
//!
//! Copying a mount namespace and tearing it down again costs a quarter of a
//! test's time (the kernel copies every mount of the process's, and
//! unmounts every one again). So a mount namespace that a test leaves
//! exactly as it found it is kept for a later test of the same process
//! ([`Private::release`]): the body passed; nothing was mounted or
//! unmounted in it meanwhile (its `mountinfo` polls quiet); `/run/netns` is
//! unchanged (the same empty tmpfs root, its size, mode, owner and times);
//! no thread the body started still shares the body thread's filesystem
//! context (`setns` into a mount namespace refuses a thread that shares
//! it); and no child process the body started, nor an orphan handed to the
//! main thread, is alive. A later test enters it with `setns` (after its
//! own `unshare(CLONE_FS)`, and going back to the working directory),
//! which costs next to nothing. What this cannot see: a process the body
//! left running after it detached from the test process (a daemon that
//! forked twice) would share `/run/netns` with the later test; and a
//! change of mount propagation alone (`mount --make-private`) raises no
//! event, so a later test might not see host mounts made during it.
//!
//! Where mounting is refused (an AppArmor or seccomp profile that denies
//! `mount`, no `/run` at all), the test runs all the same, with the
//! process's `/run/netns`, and a line on stderr says so once.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns, unshare};

const RUN: &str = "/run";
const RUN_NETNS: &str = "/run/netns";

/// Moves the calling thread into a mount namespace of its own where
/// `/run/netns` is an empty, writable tmpfs: one a test left as it found
/// it, or a new one; see the module docs. Where that cannot be done, says
/// so once and leaves the thread as it is.
pub(crate) fn make_private() -> Private {
    if let Some(kept) = take_kept() {
        match enter(&kept) {
            Ok(true) => return Private(Some(kept)),
            // Still where it was: make a new one instead.
            Ok(false) => {}
            Err(why) => {
                note(&why);
                return Private(None);
            }
        }
    }
    match try_make_private() {
        Ok(()) => Private(Kept::here()),
        Err(why) => {
            note(&why);
            Private(None)
        }
    }
}

/// Says once, past libtest's capture (it concerns every test of the run),
/// that tests share the process's `/run/netns`.
fn note(why: &str) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr(),
            "netns_test: note: tests here share the process's /run/netns: {why}"
        );
    }
}

/// The calling thread's private `/run/netns`, from [`make_private`]: give it
/// back with [`release`](Private::release) when the body is done. Dropped
/// otherwise, it goes when the thread does.
#[must_use]
pub(crate) struct Private(Option<Kept>);

impl Private {
    /// Keeps the mount namespace for a later test if the body `passed` and
    /// left it as it found it (see the module docs). Called last on the
    /// thread that [`make_private`] moved: it may move that thread's root
    /// and working directory.
    pub(crate) fn release(mut self, passed: bool) {
        if let Some(kept) = self.0.take() {
            if passed && kept.as_found() {
                keep(kept);
            }
        }
    }
}

/// A test's mount namespace, and what tells whether a test changed it.
struct Kept {
    /// The mount namespace.
    ns: OwnedFd,
    /// Its `/proc/.../mountinfo`: polling it reports any mount or unmount
    /// in the namespace since the last poll.
    mounts: File,
    /// `/run/netns`, as the test found it.
    run_netns: Stamp,
    /// The process that made it: a forked child must not share its
    /// parent's.
    pid: u32,
}

/// What a change to an empty directory's inode would show in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &str) -> Option<Stamp> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            nlink: meta.nlink(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

impl Kept {
    /// The calling thread's mount namespace, just made private.
    fn here() -> Option<Kept> {
        let ns = File::open("/proc/thread-self/ns/mnt").ok()?.into();
        let mounts = File::open("/proc/thread-self/mountinfo").ok()?;
        Some(Kept {
            ns,
            mounts,
            run_netns: Stamp::of(RUN_NETNS)?,
            pid: std::process::id(),
        })
    }

    /// Whether the test that used it left it as it found it; see the
    /// module docs.
    fn as_found(&self) -> bool {
        !mounted_since(&self.mounts)
            && Stamp::of(RUN_NETNS) == Some(self.run_netns)
            && alone_in_it(&self.ns)
            && no_child_alive()
    }
}

/// Whether anything was mounted or unmounted in the namespace since the
/// last poll of its `mountinfo`.
fn mounted_since(mounts: &File) -> bool {
    let mut fds = [PollFd::new(mounts.as_fd(), PollFlags::POLLPRI)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0]
            .revents()
            .is_none_or(|got| got.intersects(PollFlags::POLLPRI | PollFlags::POLLERR)),
        Err(_) => true,
    }
}

/// Whether the calling thread is the only one using its filesystem context
/// (root, working directory): `setns` into a mount namespace refuses a
/// thread that shares it with another (`EINVAL`), and every thread the body
/// started shares the body thread's. A thread the body joined lets go of it
/// a few microseconds after the join returns (the kernel wakes the joiner
/// first), hence tries for up to [`JOINED_PATIENCE`]. It enters `ns` again,
/// which moves the thread's root and working directory to the namespace's
/// root.
fn alone_in_it(ns: &OwnedFd) -> bool {
    let started = Instant::now();
    loop {
        match setns(ns, CloneFlags::CLONE_NEWNS) {
            Ok(()) => return true,
            Err(nix::errno::Errno::EINVAL) if started.elapsed() < JOINED_PATIENCE => {
                std::thread::yield_now();
            }
            Err(_) => return false,
        }
    }
}

/// How long [`alone_in_it`] waits for threads that are ending: what a test
/// that leaves a thread running pays.
const JOINED_PATIENCE: Duration = Duration::from_micros(200);

/// Whether no child process the body started is alive (or a zombie): the
/// process has no child at all, or else the calling thread has none and
/// the main thread (where the children of a thread that ended go) has none.
/// `waitid(WNOHANG | WNOWAIT)` reaps nothing; `ECHILD` means no child.
fn no_child_alive() -> bool {
    if no_children(0) {
        return true;
    }
    // Another test's children, perhaps; look closer.
    let main = format!("/proc/self/task/{}/children", std::process::id());
    let mut read = [0u8; 1];
    no_children(libc::__WNOTHREAD)
        && File::open(main).is_ok_and(|mut file| file.read(&mut read).is_ok_and(|n| n == 0))
}

/// Whether `waitid(P_ALL)` finds no child of the process (`flags` 0) or of
/// the calling thread (`__WNOTHREAD`), of any kind, alive or not.
fn no_children(flags: libc::c_int) -> bool {
    // SAFETY: `siginfo_t` is plain old data for which all-zero bytes are valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL | flags;
    // SAFETY: `info` is ours and outlives the call; WNOWAIT leaves any child
    // it reports waitable, as if never asked.
    let rc = unsafe { libc::waitid(libc::P_ALL, 0, &raw mut info, options) };
    rc == -1 && nix::errno::Errno::last() == nix::errno::Errno::ECHILD
}

/// Mount namespaces kept for later tests. Taken and given back with
/// `try_lock` only: a child forked while another thread held the lock
/// must not wait for ever (it makes its own).
static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// At most this many are kept: about as many as tests run at once.
const MAX_KEPT: usize = 64;

fn take_kept() -> Option<Kept> {
    let mut kept = KEPT.try_lock().ok()?;
    let pid = std::process::id();
    // A forked child's are its parent's, still in use there.
    kept.retain(|k| k.pid == pid);
    kept.pop()
}

fn keep(kept: Kept) {
    if let Ok(mut all) = KEPT.try_lock() {
        if kept.pid == std::process::id() && all.len() < MAX_KEPT {
            all.push(kept);
        }
    }
}

/// Moves the calling thread into `kept`: `Ok(false)` if it could not and
/// is where it was, `Err` if it moved but cannot go back to its working
/// directory.
fn enter(kept: &Kept) -> Result<bool, String> {
    // (A mount made while it waited shows at `release`, which then lets it
    // go.)
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(false);
    };
    if unshare(CloneFlags::CLONE_FS).is_err() || setns(&kept.ns, CloneFlags::CLONE_NEWNS).is_err() {
        return Ok(false);
    }
    std::env::set_current_dir(&cwd)
        .map(|()| true)
        .map_err(|e| format!("chdir back to {}: {e}", cwd.display()))
}

fn try_make_private() -> Result<(), String> {
    if Path::new(RUN_NETNS).is_dir() {
        own_copy()?;
        enslave()?;
    } else {
        let template = template()?;
        let cwd = std::env::current_dir().map_err(|e| format!("getcwd: {e}"))?;
        unshare(CloneFlags::CLONE_FS).map_err(|e| format!("unshare(CLONE_FS): {e}"))?;
        setns(template, CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("setns into the template mount namespace: {e}"))?;
        std::env::set_current_dir(&cwd)
            .map_err(|e| format!("chdir back to {}: {e}", cwd.display()))?;
        // The template's mounts are slaves already, and so are copies.
        own_copy()?;
    }
    tmpfs(RUN_NETNS)
}

/// Moves the calling thread into a copy of its mount namespace.
fn own_copy() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS), for a mount namespace of the test's own: {e}"))
}

/// Makes every mount of the calling thread's mount namespace a slave:
/// copies of the process's shared mounts would still be its peers; slaves
/// receive the host's mounts and send nothing back.
fn enslave() -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| format!("mount(/, MS_REC|MS_SLAVE): {e}"))
}

/// The template's fd, [`UNKNOWN`] until a test has needed it, or
/// [`FAILED`]. Not a `OnceLock`: a child forked while another thread built
/// it would wait for ever; an inherited fd serves a child as well.
static TEMPLATE: AtomicI32 = AtomicI32::new(UNKNOWN);
const UNKNOWN: i32 = -1;
const FAILED: i32 = -2;

/// The template mount namespace (see the module docs), built on first use
/// by a helper thread that starts from the calling thread's state (the
/// process's: tests call this before anything else).
fn template() -> Result<BorrowedFd<'static>, String> {
    let known = TEMPLATE.load(Ordering::Acquire);
    if known == FAILED {
        return Err("the template mount namespace could not be made (said before)".into());
    }
    if known < 0 {
        let built = std::thread::scope(|scope| {
            let builder = std::thread::Builder::new().name("netns-template".into());
            let thread = builder
                .spawn_scoped(scope, build_template)
                .map_err(|e| format!("start a thread: {e}"))?;
            thread
                .join()
                .unwrap_or_else(|_| Err("its thread panicked".into()))
        });
        let fd = match built {
            Ok(fd) => fd.into_raw_fd(),
            Err(why) => {
                TEMPLATE.store(FAILED, Ordering::Release);
                return Err(format!("build the template mount namespace: {why}"));
            }
        };
        if let Err(theirs) =
            TEMPLATE.compare_exchange(UNKNOWN, fd, Ordering::AcqRel, Ordering::Acquire)
        {
            // Another test built one first: keep that one.
            // SAFETY: `fd` is ours, unpublished, and closed once.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
            if theirs == FAILED {
                return Err("the template mount namespace could not be made".into());
            }
        }
    }
    // SAFETY: a published template fd is never closed.
    Ok(unsafe { BorrowedFd::borrow_raw(TEMPLATE.load(Ordering::Acquire)) })
}

/// On a thread of its own, which ends right after: a slave mount namespace
/// with room for `/run/netns`.
fn build_template() -> Result<OwnedFd, String> {
    unshare(CloneFlags::CLONE_FS | CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    enslave()?;
    run_with_room_for_netns()?;
    std::fs::File::open("/proc/thread-self/ns/mnt")
        .map(OwnedFd::from)
        .map_err(|e| format!("open /proc/thread-self/ns/mnt: {e}"))
}

/// Mounts an empty tmpfs on `path`, as `ip netns` would find it.
fn tmpfs(path: &str) -> Result<(), String> {
    mount(
        Some("tmpfs"),
        path,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0755"),
    )
    .map_err(|e| format!("mount a tmpfs on {path}: {e}"))
}

/// Replaces `/run` (in this thread's mount namespace) with a tmpfs that
/// holds the host's `/run` entries, bound back in place, and an empty
/// `netns` directory. On failure the host's `/run` shows again: half a
/// `/run` would be worse than none of ours.
fn run_with_room_for_netns() -> Result<(), String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        format!("make room for /run/netns in the test's own /run: {what}: {e}")
    };
    // The host's /run, reachable through this fd once the tmpfs hides it.
    let host_run = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(RUN)
        .map_err(|e| failed("open /run", &e))?;
    let host_run = PathBuf::from(format!("/proc/thread-self/fd/{}", host_run.as_raw_fd()));
    let entries: Vec<_> = std::fs::read_dir(&host_run)
        .map_err(|e| failed("read /run", &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| failed("read /run", &e))?;
    tmpfs(RUN)?;
    let undo = |why: String| {
        let _ = umount2(RUN, MntFlags::MNT_DETACH);
        why
    };
    for entry in entries {
        let name = entry.file_name();
        let place = Path::new(RUN).join(&name);
        let restored = entry.file_type().and_then(|kind| {
            if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &place)
            } else {
                bind_back(&host_run.join(&name), &place, kind.is_dir(), &name)
            }
        });
        match restored {
            Ok(()) => {}
            // Gone from the host's /run meanwhile (a lock file, say).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let what = format!("put /run/{} back", name.to_string_lossy());
                return Err(undo(failed(&what, &e)));
            }
        }
    }
    std::fs::create_dir(RUN_NETNS).map_err(|e| undo(failed("mkdir /run/netns", &e)))
}

/// Binds `from` (with whatever is mounted below it) onto a new `place` of
/// the same kind.
fn bind_back(from: &Path, place: &Path, dir: bool, name: &OsStr) -> std::io::Result<()> {
    if dir {
        std::fs::create_dir(place)?;
    } else {
        std::fs::File::create(place)?;
    }
    mount(
        Some(from),
        place,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|errno| {
        std::io::Error::new(
            std::io::Error::from(errno).kind(),
            format!("mount --rbind {}: {errno}", name.to_string_lossy()),
        )
    })
}
