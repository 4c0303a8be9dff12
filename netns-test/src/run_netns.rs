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
//! Where mounting is refused (an AppArmor or seccomp profile that denies
//! `mount`, no `/run` at all), the test runs all the same, with the
//! process's `/run/netns`, and a line on stderr says so once.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

const RUN: &str = "/run";
const RUN_NETNS: &str = "/run/netns";

/// Moves the calling thread into a mount namespace of its own where
/// `/run/netns` is an empty, writable tmpfs; see the module docs. Where that
/// cannot be done, says so once and leaves the thread as it is.
pub(crate) fn make_private() {
    if let Err(why) = try_make_private() {
        static SAID: AtomicBool = AtomicBool::new(false);
        if !SAID.swap(true, Ordering::Relaxed) {
            // Past libtest's capture: it concerns every test of the run.
            let _ = writeln!(
                std::io::stderr(),
                "netns_test: note: tests here share the process's /run/netns: {why}"
            );
        }
    }
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
