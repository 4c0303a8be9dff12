//! Unprivileged processes: entering a user namespace, and checking privilege.

use std::ffi::{CStr, c_int, c_void};
use std::path::Path;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getegid, geteuid};

use crate::error::{Error, Op, Result, Syscall};

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
/// A user namespace cannot be left again, so before moving the process this
/// tries every step in a short-lived child that shares its memory (a
/// `clone(CLONE_VM | CLONE_VFORK)`, no copy of the process): entering, writing
/// the id maps, and creating a network namespace inside. Only if all of that
/// works does the process itself enter. Where it cannot — a set-uid binary
/// (its `/proc/self/uid_map` is not writable), Ubuntu's AppArmor
/// `unprivileged_userns` profile (which lets `unshare(CLONE_NEWUSER)` succeed
/// and then denies every capability inside), a seccomp profile, a
/// `user.max_net_namespaces` of 0 in any enclosing user namespace — the
/// process is left exactly as it was and the error names the step.
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
/// - [`Error::Syscall`] for `unshare(CLONE_NEWUSER)`: `EPERM` when user
///   namespaces are refused (a container's seccomp profile, a set-uid
///   process); `ENOSPC` or `EUSERS` when `user.max_user_namespaces` (often 0
///   when disabled) or the nesting depth is reached.
/// - [`Error::Syscall`] for writing `/proc/self/{setgroups,uid_map,gid_map}`
///   (`EACCES`/`EPERM` in a set-uid or otherwise non-dumpable process).
/// - [`Error::Syscall`] for the probe's `unshare(CLONE_NEWNET)` inside the
///   new user namespace: `EPERM` when capabilities are denied there
///   (AppArmor's `kernel.apparmor_restrict_unprivileged_userns=1`, seccomp),
///   `ENOSPC` when `user.max_net_namespaces` is 0 or exhausted in this or an
///   enclosing user namespace.
/// - [`Error::Syscall`] for the probe's `clone` (`EPERM` under a seccomp
///   profile that refuses it, `ENOMEM`).
///
/// Every message names the cause and the fix.
pub fn enter_user_namespace() -> Result<()> {
    let maps = IdMaps::of_caller();
    patiently(|| probe(&maps))?;
    // The probe went through every step below, so these work too, once the
    // kernel has freed the probe's user namespace where the limit is tight.
    patiently(|| {
        unshare(CloneFlags::CLONE_NEWUSER).map_err(|errno| match errno {
            Errno::EINVAL => Error::ProcessHasThreads {
                threads: thread_count(),
            },
            errno => Error::sys(Op::EnterUserNamespace, Syscall::UnshareUser, None, errno),
        })
    })?;
    for (path, contents) in maps.files() {
        write_proc(path, contents)?;
    }
    Ok(())
}

/// Runs `step` again while it fails with `ENOSPC` for up to a second,
/// unless the limit it met reads 0 here (then no retry can help).
///
/// A limit is reached for a moment where namespaces are being freed (the
/// kernel does that asynchronously, the probe's own among them) or used by
/// other processes of the same user; a limit of 0 further out, which this
/// process cannot read, shows as the same `ENOSPC` for the whole second.
fn patiently(mut step: impl FnMut() -> Result<()>) -> Result<()> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match step() {
            Err(error)
                if error.errno() == Some(crate::Errno::ENOSPC)
                    && !limit_reads_zero(&error)
                    && started.elapsed() < PATIENCE =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// Whether the limit behind an `ENOSPC` of ours reads 0 in this process's
/// user namespace.
fn limit_reads_zero(error: &Error) -> bool {
    let limit = match error {
        Error::Syscall {
            syscall: Syscall::ProbeNet,
            ..
        } => "max_net_namespaces",
        _ => "max_user_namespaces",
    };
    std::fs::read_to_string(format!("/proc/sys/user/{limit}")).is_ok_and(|v| v.trim() == "0")
}

/// The three files that make an unprivileged user namespace usable, with
/// their contents, prepared before the probe (its child must not allocate).
struct IdMaps {
    uid_map: String,
    gid_map: String,
}

impl IdMaps {
    fn of_caller() -> IdMaps {
        IdMaps {
            uid_map: format!("0 {} 1", geteuid()),
            gid_map: format!("0 {} 1", getegid()),
        }
    }

    fn files(&self) -> [(&'static CStr, &str); 3] {
        [
            (c"/proc/self/setgroups", "deny"),
            (c"/proc/self/uid_map", &self.uid_map),
            (c"/proc/self/gid_map", &self.gid_map),
        ]
    }
}

/// What the probe's child reports back through the memory it shares with us.
struct Probe<'a> {
    maps: &'a IdMaps,
    /// The step that failed (an index into [`Probe::STEPS`]) and its errno.
    failed: Option<(usize, c_int)>,
    /// Set as the child's last act: a child killed on the way (a seccomp
    /// profile that kills refused calls) never sets it.
    completed: bool,
}

impl Probe<'_> {
    /// What the child does, in order: each names the call as errors show it.
    const STEPS: [Syscall; 5] = [
        Syscall::UnshareUser,
        Syscall::WriteIdMap,
        Syscall::WriteIdMap,
        Syscall::WriteIdMap,
        Syscall::ProbeNet,
    ];
}

/// Tries every step of entering a user namespace in a child that shares
/// our memory and ends right after, so that the process itself moves only
/// where moving will work.
fn probe(maps: &IdMaps) -> Result<()> {
    let mut probe = Probe {
        maps,
        failed: None,
        completed: false,
    };
    // The child runs on a stack of its own; it needs little (a few syscalls).
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the stack grows down from its end, which stays inside the
    // allocation; aligning down keeps it there.
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) };
    let top = (top as usize & !15) as *mut c_void;
    // The child shares our memory but has its own copy of our signal
    // handlers: with every signal blocked, none of them can run on its
    // small stack. (Our own mask comes back right after.)
    let all = nix::sys::signal::SigSet::all();
    let mut mask = nix::sys::signal::SigSet::empty();
    let blocked = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&all),
        Some(&mut mask),
    )
    .is_ok();
    // SAFETY: `probe_child` only makes system calls and writes to `probe`,
    // which outlives the child: CLONE_VFORK suspends us until the child has
    // exited, and CLONE_VM lets it write our `probe`. It allocates nothing,
    // takes no lock and runs no signal handler, so sharing our memory while
    // we wait is sound.
    let pid = unsafe {
        libc::clone(
            probe_child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut probe).cast(),
        )
    };
    let clone_errno = Errno::last();
    // Reap it; it has exited already (CLONE_VFORK). ECHILD if SIGCHLD is
    // ignored, which reaps it for us.
    if pid > 0 {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
    if blocked {
        let _ = nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&mask),
            None,
        );
    }
    if pid < 0 {
        return Err(Error::sys(
            Op::EnterUserNamespace,
            Syscall::ProbeClone,
            None,
            clone_errno,
        ));
    }
    match probe.failed {
        None if probe.completed => Ok(()),
        // Killed on the way, most likely by a seccomp profile whose answer
        // to a refused call is death rather than EPERM.
        None => Err(Error::sys(
            Op::EnterUserNamespace,
            Syscall::ProbeKilled,
            None,
            Errno::EPERM,
        )),
        Some((step, errno)) => {
            let errno = Errno::from_raw(errno);
            let syscall = Probe::STEPS[step];
            Err(match (step, errno) {
                (0, Errno::EINVAL) if thread_count().is_some_and(|n| n > 1) => {
                    Error::ProcessHasThreads {
                        threads: thread_count(),
                    }
                }
                (1..=3, _) => {
                    let path = maps.files()[step - 1].0.to_str().unwrap_or("/proc/self");
                    Error::sys(
                        Op::EnterUserNamespace,
                        syscall,
                        Some(Path::new(path)),
                        errno,
                    )
                }
                _ => Error::sys(Op::EnterUserNamespace, syscall, None, errno),
            })
        }
    }
}

/// The probe's child: a vfork-like child that shares the parent's memory,
/// so it makes system calls only (no allocation, no locks) and reports in
/// `arg`, a `Probe`.
extern "C" fn probe_child(arg: *mut c_void) -> c_int {
    // SAFETY: `probe` passes a pointer to its `Probe`, which outlives us (the
    // parent is suspended until we exit) and which nothing else touches.
    let probe = unsafe { &mut *arg.cast::<Probe<'_>>() };
    let fail = |probe: &mut Probe<'_>, step: usize| {
        probe.failed = Some((step, Errno::last_raw()));
        1
    };
    // SAFETY: unshare takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
        return fail(probe, 0);
    }
    for (i, (path, contents)) in probe.maps.files().into_iter().enumerate() {
        if !write_all_at_once(path, contents.as_bytes()) {
            return fail(probe, i + 1);
        }
    }
    // SAFETY: as above. The new namespace dies with this child.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return fail(probe, 4);
    }
    probe.completed = true;
    0
}

/// One `write(2)` of `contents` to `path`, with raw system calls only.
fn write_all_at_once(path: &CStr, contents: &[u8]) -> bool {
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `contents` is valid for reads of its length; `fd` is ours.
    let written = unsafe { libc::write(fd, contents.as_ptr().cast(), contents.len()) };
    let ok = written == contents.len() as isize;
    let errno = Errno::last_raw();
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    // close must not overwrite the errno of a failed write.
    Errno::set_raw(errno);
    ok
}

fn write_proc(path: &CStr, contents: &str) -> Result<()> {
    let path = path.to_str().unwrap_or("/proc/self");
    // One write(2): the kernel accepts an id map only in a single write.
    std::fs::write(path, contents).map_err(|e| {
        Error::io(
            Op::EnterUserNamespace,
            Syscall::WriteIdMap,
            Some(Path::new(path)),
            e,
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
/// being uid 0). It asks the kernel with
/// [`capget(2)`](https://man7.org/linux/man-pages/man2/capget.2.html), so it
/// works without `/proc`; see
/// [`capabilities(7)`](https://man7.org/linux/man-pages/man7/capabilities.7.html).
/// Capabilities are per thread: another thread of the process may differ.
///
/// # Errors
///
/// [`Error::Syscall`] for `capget` (`EINVAL` on a kernel without the
/// version-3 capability ABI of Linux 2.6.26, `EPERM` under a seccomp profile
/// that refuses it).
pub fn has_cap_sys_admin() -> Result<bool> {
    let caps = Capabilities::of_thread(0)
        .map_err(|errno| Error::sys(Op::Capabilities, Syscall::Capget, None, errno))?;
    Ok(caps.effective_has(CAP_SYS_ADMIN))
}

/// A thread's capability sets, as `capget(2)` reports them (ABI version 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capabilities([CapData; 2]);

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

impl Capabilities {
    /// The capabilities of thread `tid` (0: the calling thread).
    pub(crate) fn of_thread(tid: c_int) -> std::result::Result<Capabilities, Errno> {
        const VERSION_3: u32 = 0x2008_0522;
        let mut header = CapHeader {
            version: VERSION_3,
            pid: tid,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget writes one header and two data structs of the v3
        // ABI, which we own for the whole call.
        let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
        if rc != 0 {
            return Err(Errno::last());
        }
        Ok(Capabilities(data))
    }

    fn effective_has(&self, cap: u32) -> bool {
        let word = &self.0[(cap / 32) as usize];
        word.effective & (1 << (cap % 32)) != 0
    }
}
