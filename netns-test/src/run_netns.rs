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
//! unmounts every one again). So a test's mount namespace is kept for a
//! later test of the same process ([`Private::release`]) when the body
//! returned success and left it as it found it: no thread the body started
//! still shares the body thread's filesystem context (`setns` into a mount
//! namespace refuses a thread that shares it); no child process the body
//! started, nor an orphan handed to the main thread, is alive; nothing was
//! mounted or unmounted in it (its `mountinfo` polls quiet); and
//! `/run/netns` is the same empty tmpfs root, with the same size, mode,
//! owner, times and no extended attributes. A later test takes one only if
//! its thread has the same root (mount and inode of `/`: the same mount
//! namespace, no other chroot) and nothing was mounted where it was copied
//! from since (a mount the process made afterwards would be missing from
//! it where mounts do not propagate). It enters it with `setns` (after
//! `unshare(CLONE_FS)`), goes back to its working directory, and costs
//! next to nothing.
//!
//! What this does not see: a process the body left running after it
//! detached from the test process (a daemon that forked twice), or a
//! thread of the body's that unshared its own filesystem context and stays
//! in the namespace, would share `/run/netns` with the later test; a change
//! of mount propagation alone (`mount --make-private`) raises no event.
//!
//! Where mounting is refused (an AppArmor or seccomp profile that denies
//! `mount`, no `/run` at all), the test runs all the same, with the
//! process's `/run/netns`, and a line on stderr says so once.

use std::ffi::{CStr, OsStr};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use netns_core::__private::Process;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, setns, unshare};

const RUN: &str = "/run";
const RUN_NETNS: &str = "/run/netns";
const RUN_NETNS_C: &CStr = c"/run/netns";

/// Moves the calling thread into a mount namespace of its own where
/// `/run/netns` is an empty, writable tmpfs: one a test left as it found
/// it, or a new one; see the module docs. Where that cannot be done, says
/// so once and leaves the thread as it is.
pub(crate) fn make_private() -> Private {
    let root = RootKey::here();
    if let Some(kept) = root.and_then(take_kept) {
        match enter(&kept) {
            Ok(true) => return Private(Some(kept)),
            // Where it was: make a new one instead.
            Ok(false) => {}
            Err(why) => {
                note(&why);
                return Private(None);
            }
        }
    }
    // What a later test will need to tell whether this one's namespace
    // suits it: opened before the thread leaves its namespace (a test in
    // ten or so pays for these).
    let source = root
        .zip(MountNs::here())
        .map(|(root, at)| Source { root, at });
    match try_make_private() {
        Ok(()) => Private(source.and_then(Kept::here)),
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
    /// thread that [`make_private`] moved, after everything of the test's
    /// that might use the namespace is gone: it may move that thread's root
    /// and working directory.
    pub(crate) fn release(mut self, passed: bool) {
        if let Some(kept) = self.0.take() {
            if passed && kept.as_found() {
                keep(kept);
            }
        }
    }
}

/// A test's mount namespace, and what tells whether another test may have
/// it.
struct Kept {
    /// The mount namespace.
    at: MountNs,
    /// `/run/netns`, as the test found it.
    run_netns: Stamp,
    /// The namespace it was copied from.
    source: Source,
    /// The process that made it: a forked child must not share its
    /// parent's.
    owner: Process,
}

/// A mount namespace, and its `mountinfo`: polling that reports any mount
/// or unmount in the namespace since the last poll.
struct MountNs {
    ns: OwnedFd,
    mounts: File,
}

impl MountNs {
    /// The calling thread's.
    fn here() -> Option<MountNs> {
        Some(MountNs {
            ns: File::open("/proc/thread-self/ns/mnt").ok()?.into(),
            mounts: File::open("/proc/thread-self/mountinfo").ok()?,
        })
    }
}

/// The mount namespace a test's was copied from: only a test whose thread
/// is there (with the same root) may have the copy, and only while nothing
/// was mounted there since (a mount made after the copy would be missing
/// from it where mounts do not propagate, e.g. in the process's own mount
/// namespace inside a user namespace).
struct Source {
    /// The calling thread's root when the copy was made.
    root: RootKey,
    /// The namespace itself, to go back to, polled for mounts made since
    /// the copy.
    at: MountNs,
}

/// A root directory: the mount it is on and its inode. Two threads with the
/// same key are in the same mount namespace with the same root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RootKey {
    mount: u64,
    dev: (u32, u32),
    ino: u64,
}

impl RootKey {
    /// The calling thread's (`statx("/")`, with the mount id of Linux 5.8).
    fn here() -> Option<RootKey> {
        // SAFETY: `statx` is plain old data for which all-zero bytes are valid.
        let mut st: libc::statx = unsafe { std::mem::zeroed() };
        let mask = libc::STATX_INO | libc::STATX_MNT_ID;
        // SAFETY: a NUL-terminated path and a buffer we own, which outlives the call.
        let rc = unsafe { libc::statx(libc::AT_FDCWD, c"/".as_ptr(), 0, mask, &raw mut st) };
        (rc == 0 && st.stx_mask & mask == mask).then_some(RootKey {
            mount: st.stx_mnt_id,
            dev: (st.stx_dev_major, st.stx_dev_minor),
            ino: st.stx_ino,
        })
    }
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
    /// Whether it has extended attributes (a default ACL among them).
    xattrs: bool,
}

impl Stamp {
    fn of(path: &CStr) -> Option<Stamp> {
        let meta = std::fs::symlink_metadata(OsStr::from_bytes(path.to_bytes())).ok()?;
        // SAFETY: a NUL-terminated path; a null buffer of size 0 asks only
        // for the size of the list.
        let xattrs = unsafe { libc::llistxattr(path.as_ptr(), ptr::null_mut(), 0) };
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
            xattrs: xattrs != 0,
        })
    }
}

impl Kept {
    /// The calling thread's mount namespace, just made private as a copy of
    /// `source`.
    fn here(source: Source) -> Option<Kept> {
        Some(Kept {
            at: MountNs::here()?,
            run_netns: Stamp::of(RUN_NETNS_C)?,
            source,
            owner: Process::this(),
        })
    }

    /// Whether the test that used it left it as it found it; see the
    /// module docs. The thread must be alone first: a thread still running
    /// could change what the rest reads. And `setns` puts the calling
    /// thread at the namespace's root, where `/run/netns` is read: in a
    /// chroot, that is not the test's `/run/netns`, so a chrooted test's
    /// namespace is never kept (entering it would take the next test out of
    /// its chroot).
    fn as_found(&self) -> bool {
        alone_in_it(&self.at.ns)
            && no_child_alive()
            && !mounted_since(&self.at.mounts)
            && Stamp::of(RUN_NETNS_C) == Some(self.run_netns)
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

/// A kept namespace for a thread whose root is `root`, if there is one.
fn take_kept(root: RootKey) -> Option<Kept> {
    let mut kept = KEPT.try_lock().ok()?;
    // A forked child's are its parent's, still in use there.
    let this = Process::this();
    kept.retain(|k| k.owner == this);
    let at = kept.iter().rposition(|k| k.source.root == root)?;
    Some(kept.swap_remove(at))
}

fn keep(kept: Kept) {
    if let Ok(mut all) = KEPT.try_lock() {
        if kept.owner == Process::this() && all.len() < MAX_KEPT {
            all.push(kept);
        }
    }
}

/// Moves the calling thread into `kept`, with its working directory:
/// `Ok(false)` if it could not, or if `kept` is stale, and the thread is
/// where it was; `Err` if it is stranded in neither.
fn enter(kept: &Kept) -> Result<bool, String> {
    // A mount made where it was copied from since is missing from it.
    if mounted_since(&kept.source.at.mounts) {
        return Ok(false);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(false);
    };
    if unshare(CloneFlags::CLONE_FS).is_err()
        || setns(&kept.at.ns, CloneFlags::CLONE_NEWNS).is_err()
    {
        return Ok(false);
    }
    if std::env::set_current_dir(&cwd).is_ok() {
        return Ok(true);
    }
    // Back where it came from, and to the working directory it had there.
    setns(&kept.source.at.ns, CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("setns back to the process's mount namespace: {e}"))?;
    std::env::set_current_dir(&cwd)
        .map(|()| false)
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
