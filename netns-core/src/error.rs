//! The one error type of this crate, and the advice it gives.

use std::fmt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::userns::{PROBE_KILLED, PROBE_NET};

/// What this crate was asked to do when an [`Error`] happened.
///
/// It names the public entry point, so a message reads like
/// `NetNs::open_pinned("/run/netns/blue"): ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// [`NetNs::current`](crate::NetNs::current).
    Current,
    /// [`NetNs::new`](crate::NetNs::new).
    New,
    /// [`NetNs::open_pinned`](crate::NetNs::open_pinned) and the other
    /// constructors that open a namespace file (`from_pid`, `from_thread`,
    /// `from_name`).
    Open,
    /// [`NetNs::from_fd`](crate::NetNs::from_fd).
    FromFd,
    /// [`NetNs::try_from`](crate::NetNs#impl-TryFrom<OwnedFd>-for-NetNs) on an `OwnedFd`.
    TryFromFd,
    /// [`NetNs::run`](crate::NetNs::run).
    Run,
    /// [`NetNs::close`](crate::NetNs::close).
    Close,
    /// [`NetNs::cookie`](crate::NetNs::cookie) and [`get_netns_cookie`](crate::get_netns_cookie).
    Cookie,
    /// [`NetNs::set_loopback_up`](crate::NetNs::set_loopback_up).
    Loopback,
    /// [`bring_up_loopback`](crate::bring_up_loopback).
    BringUpLoopback,
    /// [`NetNs::try_clone`](crate::NetNs::try_clone).
    TryClone,
    /// [`NetNs::pin`](crate::NetNs::pin).
    Pin,
    /// [`unpin`](crate::unpin).
    Unpin,
    /// [`enter_user_namespace`](crate::enter_user_namespace).
    EnterUserNamespace,
    /// [`has_cap_sys_admin`](crate::has_cap_sys_admin).
    Capabilities,
    /// [`NetNs::worker`](crate::NetNs::worker) and
    /// [`Worker::run`](crate::Worker::run).
    Worker,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Current => "NetNs::current",
            Op::New => "NetNs::new",
            Op::Open => "NetNs::open_pinned",
            Op::FromFd => "NetNs::from_fd",
            Op::TryFromFd => "NetNs::try_from(OwnedFd)",
            Op::Run => "NetNs::run",
            Op::Close => "NetNs::close",
            Op::Cookie => "netns cookie",
            Op::Loopback => "NetNs::set_loopback_up",
            Op::BringUpLoopback => "netns_core::bring_up_loopback",
            Op::TryClone => "NetNs::try_clone",
            Op::Pin => "NetNs::pin",
            Op::Unpin => "netns_core::unpin",
            Op::EnterUserNamespace => "netns_core::enter_user_namespace",
            Op::Capabilities => "netns_core::has_cap_sys_admin",
            Op::Worker => "NetNs::worker",
        })
    }
}

/// The kind of a Linux namespace, as `ioctl(NS_GET_NSTYPE)` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NsKind {
    /// A network namespace (`CLONE_NEWNET`).
    Net,
    /// A mount namespace (`CLONE_NEWNS`).
    Mount,
    /// A UTS namespace (`CLONE_NEWUTS`).
    Uts,
    /// An IPC namespace (`CLONE_NEWIPC`).
    Ipc,
    /// A user namespace (`CLONE_NEWUSER`).
    User,
    /// A PID namespace (`CLONE_NEWPID`).
    Pid,
    /// A cgroup namespace (`CLONE_NEWCGROUP`).
    Cgroup,
    /// A time namespace (`CLONE_NEWTIME`).
    Time,
    /// A namespace type this crate does not know, with the kernel's value.
    Other(i32),
}

impl NsKind {
    pub(crate) fn from_clone_flag(flag: i32) -> NsKind {
        match flag {
            libc::CLONE_NEWNET => NsKind::Net,
            libc::CLONE_NEWNS => NsKind::Mount,
            libc::CLONE_NEWUTS => NsKind::Uts,
            libc::CLONE_NEWIPC => NsKind::Ipc,
            libc::CLONE_NEWUSER => NsKind::User,
            libc::CLONE_NEWPID => NsKind::Pid,
            libc::CLONE_NEWCGROUP => NsKind::Cgroup,
            libc::CLONE_NEWTIME => NsKind::Time,
            other => NsKind::Other(other),
        }
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NsKind::Net => f.write_str("net"),
            NsKind::Mount => f.write_str("mnt"),
            NsKind::Uts => f.write_str("uts"),
            NsKind::Ipc => f.write_str("ipc"),
            NsKind::User => f.write_str("user"),
            NsKind::Pid => f.write_str("pid"),
            NsKind::Cgroup => f.write_str("cgroup"),
            NsKind::Time => f.write_str("time"),
            NsKind::Other(v) => write!(f, "unknown type {v:#x}"),
        }
    }
}

/// Everything that can go wrong in this crate.
///
/// Every variant names the operation ([`Op`]), and where there is one, the
/// path and the errno. Its `Display` says what failed and the likely fix:
///
/// ```text
/// NetNs::new: unshare(CLONE_NEWNET) failed: EPERM: Operation not permitted;
/// creating a network namespace needs CAP_SYS_ADMIN: run as root, or call
/// netns_core::enter_user_namespace() while the process is single-threaded
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    Syscall {
        /// What this crate was asked to do.
        op: Op,
        /// The call that failed, e.g. `"setns(CLONE_NEWNET)"`.
        syscall: &'static str,
        /// The file involved, if any.
        path: Option<PathBuf>,
        /// The error number the kernel returned.
        errno: Errno,
    },
    /// The file opened fine but is not a namespace file (it is not on nsfs):
    /// a regular file, a directory, a socket...
    NotANamespace {
        /// What this crate was asked to do.
        op: Op,
        /// The file, if it was given by path.
        path: Option<PathBuf>,
    },
    /// The file is a namespace file, but of another kind than `net`, e.g.
    /// `/proc/self/ns/mnt`.
    WrongNamespaceKind {
        /// What this crate was asked to do.
        op: Op,
        /// The file, if it was given by path.
        path: Option<PathBuf>,
        /// The kind the file actually is.
        found: NsKind,
    },
    /// The kernel does not support what was asked, e.g. `SO_NETNS_COOKIE`
    /// before Linux 5.14 (`ENOPROTOOPT`).
    Unsupported {
        /// What this crate was asked to do.
        op: Op,
        /// What the kernel lacks.
        what: &'static str,
        /// The error number the kernel returned.
        errno: Errno,
    },
    /// [`enter_user_namespace`](crate::enter_user_namespace) was called in
    /// a process that already runs more than one thread, where the kernel
    /// refuses `unshare(CLONE_NEWUSER)` with `EINVAL`.
    ProcessHasThreads {
        /// How many threads the process had, if `/proc` could tell.
        threads: Option<usize>,
    },
    /// A namespace name given to [`NetNs::from_name`](crate::NetNs::from_name) is not a plain file name.
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A path that no system call can take: it contains a NUL byte.
    InvalidPath {
        /// What this crate was asked to do.
        op: Op,
        /// The path as given.
        path: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A closure given to [`Worker::run`](crate::Worker::run) moved the
    /// worker's thread out of its namespace (`setns`, `unshare`), and the
    /// thread could not go back; the worker runs nothing more. Make a new
    /// one.
    WorkerMoved {
        /// Why going back failed, if `setns` said (else the thread could
        /// only check where it was, and it was elsewhere).
        errno: Option<Errno>,
    },
    /// A helper thread could not be started (thread limit or memory).
    Thread {
        /// What this crate was asked to do.
        op: Op,
        /// The error from [`std::thread::Builder::spawn`].
        source: std::io::Error,
    },
}

/// The `Result` of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn sys(op: Op, syscall: &'static str, path: Option<&Path>, errno: Errno) -> Error {
        Error::Syscall {
            op,
            syscall,
            path: path.map(Path::to_path_buf),
            errno,
        }
    }

    /// An [`Error::Syscall`] for a failed `std` call; an error without an
    /// OS code (none of the calls this crate makes gives one) counts as `EIO`.
    pub(crate) fn io(
        op: Op,
        syscall: &'static str,
        path: Option<&Path>,
        error: &std::io::Error,
    ) -> Error {
        let errno = Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO));
        Error::sys(op, syscall, path, errno)
    }

    /// The operation that failed, where the error names one.
    pub fn op(&self) -> Option<Op> {
        match self {
            Error::Syscall { op, .. }
            | Error::NotANamespace { op, .. }
            | Error::WrongNamespaceKind { op, .. }
            | Error::Unsupported { op, .. }
            | Error::Thread { op, .. } => Some(*op),
            Error::ProcessHasThreads { .. } => Some(Op::EnterUserNamespace),
            Error::WorkerMoved { .. } => Some(Op::Worker),
            Error::InvalidName { .. } => Some(Op::Open),
            Error::InvalidPath { op, .. } => Some(*op),
        }
    }

    /// The error number behind this error, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Syscall { errno, .. } | Error::Unsupported { errno, .. } => Some(*errno),
            Error::ProcessHasThreads { .. } => Some(Errno::EINVAL),
            Error::WorkerMoved { errno } => *errno,
            Error::Thread { source, .. } => source.raw_os_error().map(Errno::from_raw),
            Error::NotANamespace { .. }
            | Error::WrongNamespaceKind { .. }
            | Error::InvalidName { .. }
            | Error::InvalidPath { .. } => None,
        }
    }

    /// The file involved, if the error is about one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Syscall { path, .. }
            | Error::NotANamespace { path, .. }
            | Error::WrongNamespaceKind { path, .. } => path.as_deref(),
            Error::InvalidPath { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Adds the path to an error that was made without one.
    pub(crate) fn with_path(mut self, new: &Path) -> Error {
        match &mut self {
            Error::Syscall { path, .. }
            | Error::NotANamespace { path, .. }
            | Error::WrongNamespaceKind { path, .. }
                if path.is_none() =>
            {
                *path = Some(new.to_path_buf());
            }
            _ => {}
        }
        self
    }

    /// The likely cause and fix of a failed system call, if we know one.
    fn advice(op: Op, syscall: &str, errno: Errno) -> Option<&'static str> {
        use Errno::*;
        Some(match (op, errno) {
            // The probe's steps (see `enter_user_namespace`): the process was
            // left as it was.
            (Op::EnterUserNamespace, EACCES | EPERM) if syscall == "write" => {
                "the process cannot write its own id maps, so entering a user namespace \
                 cannot complete: it is set-uid or set-gid, or otherwise not dumpable \
                 (prctl PR_SET_DUMPABLE 0); the process was left as it was; run it as \
                 root or as a plain (not set-uid) binary"
            }
            (Op::EnterUserNamespace, EPERM) if syscall == PROBE_KILLED => {
                "the kernel killed it rather than answer a call, which a seccomp profile that \
                 kills refused system calls does (systemd's SystemCallFilter=, some \
                 container profiles); the process was left as it was; allow unshare with \
                 CLONE_NEWUSER and CLONE_NEWNET, or run as root"
            }
            (Op::EnterUserNamespace, EPERM) if syscall == PROBE_NET => {
                "user namespaces are allowed, but inside one every capability is denied, so \
                 no network namespace can be made there; the process was left as it was; \
                 likely Ubuntu's AppArmor profile `unprivileged_userns` \
                 (kernel.apparmor_restrict_unprivileged_userns=1) or a seccomp profile \
                 refusing CLONE_NEWNET; fixes: run as root, \
                 `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, an AppArmor \
                 profile granting `userns` to this binary, or \
                 `--security-opt seccomp=unconfined` for a container"
            }
            (Op::EnterUserNamespace, ENOSPC) if syscall == PROBE_NET => {
                "no network namespace can be made inside a new user namespace: \
                 `user.max_net_namespaces` is 0 (or exhausted) in this or an enclosing user \
                 namespace; the process was left as it was; raise it \
                 (sysctl -w user.max_net_namespaces=15000) where it is 0, or run as root"
            }
            (Op::EnterUserNamespace, EPERM) => USERNS_DENIED,
            (Op::EnterUserNamespace, EINVAL) => {
                "this kernel does not support user namespaces (CONFIG_USER_NS is off); \
                 run as root instead"
            }
            (Op::EnterUserNamespace, ENOSPC | EUSERS) => {
                "the user-namespace limit is reached: `user.max_user_namespaces` is 0 or \
                 exhausted in this or an enclosing user namespace; raise it \
                 (sysctl -w user.max_user_namespaces=15000) or run as root"
            }
            (_, ENOSPC) if syscall.starts_with("unshare") => {
                "the network-namespace limit `user.max_net_namespaces` is reached; the kernel \
                 frees namespaces asynchronously (tens of ms after their last user is gone), so \
                 retry shortly, close unused handles, or raise the limit"
            }
            (_, EPERM) if syscall.starts_with("unshare") => {
                "creating a network namespace needs CAP_SYS_ADMIN: run as root, or call \
                 netns_core::enter_user_namespace() while the process is single-threaded"
            }
            (_, EPERM) if syscall.starts_with("setns") => {
                "entering a network namespace needs CAP_SYS_ADMIN in the user namespace that \
                 owns it; a process inside an unprivileged user namespace can enter only \
                 namespaces created inside it, never the host's"
            }
            (_, EPERM | EACCES)
                if syscall.starts_with("mount") || syscall.starts_with("umount") =>
            {
                "pinning needs CAP_SYS_ADMIN in the user namespace that owns the mount \
                 namespace: run as root, or pin into a mount namespace of your own \
                 (unshare(CLONE_NEWNS) after entering a user namespace)"
            }
            (_, ENOENT) if syscall.starts_with("open") => {
                "no such file: check the path, or that the process or thread still exists"
            }
            (Op::Pin, EACCES | EPERM | EROFS) if syscall.starts_with("open") => {
                "cannot create the pin file: its directory is not writable here; pin under a \
                 directory you may write (/run/netns needs root), or in a mount namespace of \
                 your own"
            }
            (Op::Unpin, EINVAL) if syscall.starts_with("umount") => {
                "nothing is mounted at this path: it is not a pinned namespace"
            }
            (_, EACCES) if syscall.starts_with("open") => {
                "permission denied: opening another process's namespace needs the same \
                 uid or CAP_SYS_PTRACE"
            }
            (_, EEXIST) if syscall.starts_with("open") => {
                "the file already exists: unpin it first, or choose another path"
            }
            (_, EINVAL) if syscall.starts_with("setns") => {
                "the file descriptor does not refer to a network namespace"
            }
            (_, EMFILE | ENFILE) => {
                "too many open files: close unused handles or raise `ulimit -n`"
            }
            _ => return None,
        })
    }
}

/// Why unprivileged user namespaces are refused, and what to do about it.
pub(crate) const USERNS_DENIED: &str = "unprivileged user namespaces are refused on this \
     machine; likely causes: Ubuntu's AppArmor (kernel.apparmor_restrict_unprivileged_userns=1), \
     user.max_user_namespaces=0, a container's seccomp profile, or a setuid/setcap binary; \
     fixes: run as root (or with CAP_SYS_ADMIN), set \
     `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or \
     `sysctl -w user.max_user_namespaces=15000`, or run the container with \
     `--security-opt seccomp=unconfined` / `--privileged`";

fn write_path(f: &mut fmt::Formatter<'_>, op: Op, path: &Option<PathBuf>) -> fmt::Result {
    match path {
        Some(path) => write!(f, "{op}({}): ", path.display()),
        None => write!(f, "{op}: "),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syscall {
                op,
                syscall,
                path,
                errno,
            } => {
                write_path(f, *op, path)?;
                write!(f, "{syscall} failed: {errno}")?;
                if let Some(advice) = Error::advice(*op, syscall, *errno) {
                    write!(f, "; {advice}")?;
                }
                Ok(())
            }
            Error::NotANamespace {
                op: Op::Unpin,
                path,
            } => {
                write_path(f, Op::Unpin, path)?;
                f.write_str(
                    "not a pinned namespace (what is mounted there is not on nsfs); \
                     nothing was unmounted",
                )
            }
            Error::NotANamespace { op, path } => {
                write_path(f, *op, path)?;
                f.write_str(
                    "not a namespace file (it is not on nsfs); pass a file such as \
                     /proc/<pid>/ns/net or a pinned namespace under /run/netns",
                )
            }
            Error::WrongNamespaceKind { op, path, found } => {
                write_path(f, *op, path)?;
                write!(
                    f,
                    "this is a {found} namespace, not a network namespace; \
                     use a `net` file such as /proc/<pid>/ns/net"
                )
            }
            Error::Unsupported { op, what, errno } => write!(
                f,
                "{op}: {what} is not supported by this kernel ({errno}); \
                 SO_NETNS_COOKIE needs Linux 5.14 or later"
            ),
            Error::ProcessHasThreads { threads } => {
                write!(
                    f,
                    "{}: unshare(CLONE_NEWUSER) failed: EINVAL: ",
                    Op::EnterUserNamespace
                )?;
                match threads {
                    Some(n) => write!(f, "the process has {n} threads")?,
                    None => f.write_str("the process has more than one thread")?,
                }
                f.write_str(
                    ", and the kernel lets only a single-threaded process enter a user \
                     namespace; call it first thing in `main`, or from an `.init_array` \
                     constructor as netns-test does",
                )
            }
            Error::InvalidName { name, reason } => {
                write!(f, "NetNs::from_name({name:?}): invalid name: {reason}")
            }
            Error::WorkerMoved { errno } => {
                f.write_str(
                    "Worker::run: an earlier closure moved the worker's thread out of its \
                     namespace (setns or unshare), and ",
                )?;
                match errno {
                    Some(errno) => write!(f, "setns back into it failed ({errno})")?,
                    None => f.write_str("it may only stay in that namespace, not enter it")?,
                }
                f.write_str(
                    "; the worker runs nothing more: make a new one, and leave namespaces \
                     from a thread of the closure's own",
                )
            }
            Error::InvalidPath { op, path, reason } => {
                write!(f, "{op}({path:?}): invalid path: {reason}")
            }
            Error::Thread { op, source } => {
                write!(f, "{op}: could not start a helper thread: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Syscall { errno, .. } | Error::Unsupported { errno, .. } => Some(errno),
            Error::Thread { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        let kind = match error.errno() {
            Some(errno) => std::io::Error::from_raw_os_error(errno as i32).kind(),
            None => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_error_names_op_path_syscall_errno_and_fix() {
        let error = Error::sys(Op::New, "unshare(CLONE_NEWNET)", None, Errno::EPERM);
        let text = error.to_string();
        assert!(
            text.starts_with("NetNs::new: unshare(CLONE_NEWNET) failed: EPERM"),
            "{text}"
        );
        assert!(text.contains("CAP_SYS_ADMIN"), "{text}");
        assert!(text.contains("enter_user_namespace"), "{text}");

        let error = Error::sys(Op::Open, "open", Some(Path::new("/nope")), Errno::ENOENT);
        let text = error.to_string();
        assert!(
            text.starts_with("NetNs::open_pinned(/nope): open failed: ENOENT"),
            "{text}"
        );
        assert_eq!(error.path(), Some(Path::new("/nope")));
        assert_eq!(error.errno(), Some(Errno::ENOENT));
    }

    #[test]
    fn user_namespace_refusal_lists_causes_and_fixes() {
        let text = Error::sys(
            Op::EnterUserNamespace,
            "unshare(CLONE_NEWUSER)",
            None,
            Errno::EPERM,
        )
        .to_string();
        for needle in [
            "apparmor_restrict_unprivileged_userns",
            "max_user_namespaces",
            "seccomp",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        let text = Error::ProcessHasThreads { threads: Some(3) }.to_string();
        assert!(text.contains("3 threads"), "{text}");
    }

    #[test]
    fn pinning_advice_is_about_pinning() {
        for errno in [Errno::EACCES, Errno::EPERM, Errno::EROFS] {
            let text = Error::sys(
                Op::Pin,
                "open(O_CREAT|O_EXCL)",
                Some(Path::new("/run/netns/x")),
                errno,
            )
            .to_string();
            assert!(text.contains("cannot create the pin file"), "{text}");
            assert!(!text.contains("CAP_SYS_PTRACE"), "{text}");
        }
        let text = Error::sys(
            Op::Unpin,
            "umount2(MNT_DETACH)",
            Some(Path::new("/proc/self/ns/net")),
            Errno::EINVAL,
        )
        .to_string();
        assert!(text.contains("not a pinned namespace"), "{text}");
    }

    #[test]
    fn converts_to_io_error_with_matching_kind() {
        let error: std::io::Error =
            Error::sys(Op::Open, "open", Some(Path::new("/x")), Errno::ENOENT).into();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }
}
