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
//! creating it would write to the host's `/run`), `/run` itself becomes a
//! tmpfs holding `netns` and every entry of the host's `/run` bound back in
//! place, so tests see the host's `/run` with one directory more. That is
//! done once, before `main`, in the test process's own mount namespace (a
//! slave of the host's; unprivileged, the one it enters anyway), so that a
//! test pays only for its `unshare` and one tmpfs.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

const RUN: &str = "/run";
const RUN_NETNS: &str = "/run/netns";

/// Moves the calling thread into a mount namespace of its own where
/// `/run/netns` is an empty, writable tmpfs; see the module docs.
///
/// # Errors
///
/// What failed, and why, as a sentence for the test's failure message.
pub(crate) fn make_private() -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| {
        format!("cannot give the test a mount namespace of its own: unshare(CLONE_NEWNS): {e}")
    })?;
    // Copies of slave mounts are slaves, which send nothing back; mounts
    // still shared (where `prepare_process` did not run) must be made so.
    if !PREPARED.load(Ordering::Relaxed) {
        enslave()?;
    }
    if !Path::new(RUN_NETNS).is_dir() {
        run_with_room_for_netns()?;
    }
    tmpfs(RUN_NETNS)
}

/// Set once the process's mount namespace is a slave of the host's with a
/// `/run/netns` in it.
static PREPARED: AtomicBool = AtomicBool::new(false);

/// Before `main` in a test binary: gives the whole process a mount
/// namespace of its own (unless `own` says it has one already: the
/// unprivileged world enters one with its user namespace), a slave of the
/// host's, with room for `/run/netns`; see the module docs. A failure only
/// leaves each test to do it for itself.
pub(crate) fn prepare_process(own: bool) {
    let prepared = (own || unshare(CloneFlags::CLONE_NEWNS).is_ok())
        && enslave().is_ok()
        && (Path::new(RUN_NETNS).is_dir() || run_with_room_for_netns().is_ok());
    PREPARED.store(prepared, Ordering::Relaxed);
}

/// Makes every mount of the calling thread's mount namespace a slave:
/// mounts from outside still arrive, none made here leave.
fn enslave() -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| format!("cannot make the test's mounts private: mount(/, MS_REC|MS_SLAVE): {e}"))
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
    .map_err(|e| format!("cannot mount a tmpfs on {path}: {e}"))
}

/// Replaces `/run` (in this thread's mount namespace) with a tmpfs that
/// holds the host's `/run` entries, bound back in place, and an empty
/// `netns` directory.
fn run_with_room_for_netns() -> Result<(), String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        format!("cannot make room for /run/netns in the test's own /run: {what}: {e}")
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
    for entry in entries {
        let name = entry.file_name();
        let kind = entry
            .file_type()
            .map_err(|e| failed("stat an entry of /run", &e))?;
        let place = Path::new(RUN).join(&name);
        if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(|e| failed("readlink", &e))?;
            std::os::unix::fs::symlink(target, &place).map_err(|e| failed("symlink", &e))?;
            continue;
        }
        bind_back(&host_run.join(&name), &place, kind.is_dir(), &name)
            .map_err(|e| failed(&format!("bind /run/{} back", name.to_string_lossy()), &e))?;
    }
    std::fs::create_dir(RUN_NETNS).map_err(|e| failed("mkdir /run/netns", &e))
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
