//! Unprivileged processes: entering a user namespace, and checking privilege.

use std::path::Path;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getegid, geteuid};

use crate::error::{Error, Op, Result};

/// `CAP_SYS_ADMIN` from `<linux/capability.h>`; the same number on every architecture.
const CAP_SYS_ADMIN: u32 = 21;

/// Moves the calling process into a new user namespace where it is root.
///
/// Inside it, the process holds every capability over namespaces it creates
/// from then on, so [`NetNs::new`](crate::NetNs::new) works without real
/// privileges. The caller's effective uid and gid are mapped to 0 (and no
/// other ids exist in it), supplementary groups are dropped
/// (`/proc/self/setgroups` is set to `deny`, which the kernel requires of an
/// unprivileged mapping). Files it creates still belong to the real uid.
///
/// The kernel allows this only while the process has a single thread, so
/// call it first thing in `main`, before anything starts a thread (or from an
/// `.init_array` constructor, as `netns-test` does). See
/// [`unshare(2)`](https://man7.org/linux/man-pages/man2/unshare.2.html) and
/// [`user_namespaces(7)`](https://man7.org/linux/man-pages/man7/user_namespaces.7.html).
///
/// It does not change the network namespace: the process stays in the host's,
/// which it can no longer *enter* again from another thread (`setns` needs
/// privilege over the namespace's owner, and the host namespace's owner is
/// the parent user namespace).
///
/// # Errors
///
/// - [`Error::ProcessHasThreads`] (`EINVAL`): the process already runs more
///   than one thread. (`EINVAL` in a single-threaded process means the
///   kernel has no user namespaces: an [`Error::Syscall`].)
/// - [`Error::Syscall`] with `EPERM`: user namespaces are refused, e.g. by
///   Ubuntu's AppArmor (`kernel.apparmor_restrict_unprivileged_userns=1`), a
///   container's seccomp profile, or because the process is set-uid; with
///   `ENOSPC` or `EUSERS`: the `user.max_user_namespaces` limit (often 0 when
///   disabled) or the nesting depth is reached. The message names the causes
///   and fixes.
/// - [`Error::Syscall`] for writing `/proc/self/{setgroups,uid_map,gid_map}`.
pub fn enter_user_namespace() -> Result<()> {
    let uid = geteuid();
    let gid = getegid();
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|errno| match errno {
        Errno::EINVAL => Error::ProcessHasThreads {
            threads: thread_count(),
        },
        errno => Error::sys(
            Op::EnterUserNamespace,
            "unshare(CLONE_NEWUSER)",
            None,
            errno,
        ),
    })?;
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write_proc("/proc/self/gid_map", &format!("0 {gid} 1"))?;
    Ok(())
}

fn write_proc(path: &str, contents: &str) -> Result<()> {
    // One write(2): the kernel accepts an id map only in a single write.
    std::fs::write(path, contents).map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        Error::sys(
            Op::EnterUserNamespace,
            "write",
            Some(Path::new(path)),
            errno,
        )
    })
}

/// How many threads the process runs, if `/proc` can tell.
fn thread_count() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/task").ok()?.count())
}

/// Whether the calling thread has `CAP_SYS_ADMIN` in its user namespace.
///
/// That is the capability `unshare(CLONE_NEWNET)` needs, so this is the right
/// test for "can I create network namespaces without a user namespace" (a
/// process can be uid 0 without it, in a container, or have it without
/// being uid 0). It reads `CapEff` from `/proc/thread-self/status`; see
/// [`capabilities(7)`](https://man7.org/linux/man-pages/man7/capabilities.7.html).
///
/// # Errors
///
/// [`Error::Syscall`] if `/proc/thread-self/status` cannot be read
/// (`ENOENT` without `/proc`) or has no parsable `CapEff` line (`EINVAL`).
pub fn has_cap_sys_admin() -> Result<bool> {
    const STATUS: &str = "/proc/thread-self/status";
    let status = std::fs::read_to_string(STATUS).map_err(|e| {
        let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
        Error::sys(Op::Capabilities, "read", Some(Path::new(STATUS)), errno)
    })?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| {
            Error::sys(
                Op::Capabilities,
                "parse CapEff",
                Some(Path::new(STATUS)),
                Errno::EINVAL,
            )
        })?;
    Ok(effective & (1 << CAP_SYS_ADMIN) != 0)
}
