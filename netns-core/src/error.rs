//! The one error type of this crate, and the advice it gives.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::errno::Errno;

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

/// The system call an [`Error::Syscall`] is about. Its `Display` is the
/// call as messages name it, e.g. `setns(CLONE_NEWNET)`; the advice a
/// message gives depends on it, the operation and the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syscall {
    /// `unshare(CLONE_NEWNET)`: creating a network namespace.
    UnshareNet,
    /// `setns(CLONE_NEWNET)`: entering one.
    SetnsNet,
    /// `open` of a namespace file.
    Open,
    /// `open(O_CREAT|O_EXCL)` of the file a pin is mounted on.
    CreatePinFile,
    /// `open(O_PATH|O_NOFOLLOW)` of a pin to remove.
    OpenPin,
    /// `mount(MS_BIND)` of a pin.
    BindMount,
    /// `umount2(MNT_DETACH)` of a pin.
    Unmount,
    /// `unlink` of a pin's file.
    Unlink,
    /// `fstat` of a namespace file.
    Fstat,
    /// `fstatfs` of a namespace file.
    Fstatfs,
    /// `ioctl(NS_GET_NSTYPE)` on a namespace file.
    NsGetNstype,
    /// `fcntl(F_DUPFD_CLOEXEC)`: duplicating a handle's fd.
    Dup,
    /// `close` of a handle's fd.
    Close,
    /// `socket(AF_UNIX)`, for a cookie.
    SocketUnix,
    /// `socket(AF_INET)`, for `lo`'s flags.
    SocketInet,
    /// `getsockopt(SO_NETNS_COOKIE)`.
    GetCookie,
    /// `ioctl(SIOCGIFFLAGS, "lo")`.
    GetLoopbackFlags,
    /// `ioctl(SIOCSIFFLAGS, "lo")`.
    SetLoopbackFlags,
    /// `unshare(CLONE_NEWUSER)`: entering a user namespace.
    UnshareUser,
    /// `write` of the user namespace's id maps.
    WriteIdMap,
    /// `clone(CLONE_VM|CLONE_VFORK)`, starting the probe child that tries
    /// every step of entering a user namespace first.
    ProbeClone,
    /// `unshare(CLONE_NEWNET)` inside the probe's new user namespace.
    ProbeNet,
    /// The probe child, killed (by a seccomp filter) before it could say
    /// which step was refused.
    ProbeKilled,
    /// `capget`.
    Capget,
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syscall::UnshareNet => "unshare(CLONE_NEWNET)",
            Syscall::SetnsNet => "setns(CLONE_NEWNET)",
            Syscall::Open => "open",
            Syscall::CreatePinFile => "open(O_CREAT|O_EXCL)",
            Syscall::OpenPin => "open(O_PATH|O_NOFOLLOW)",
            Syscall::BindMount => "mount(MS_BIND)",
            Syscall::Unmount => "umount2(MNT_DETACH)",
            Syscall::Unlink => "unlink",
            Syscall::Fstat => "fstat",
            Syscall::Fstatfs => "fstatfs",
            Syscall::NsGetNstype => "ioctl(NS_GET_NSTYPE)",
            Syscall::Dup => "fcntl(F_DUPFD_CLOEXEC)",
            Syscall::Close => "close",
            Syscall::SocketUnix => "socket(AF_UNIX)",
            Syscall::SocketInet => "socket(AF_INET)",
            Syscall::GetCookie => "getsockopt(SO_NETNS_COOKIE)",
            Syscall::GetLoopbackFlags => "ioctl(SIOCGIFFLAGS, \"lo\")",
            Syscall::SetLoopbackFlags => "ioctl(SIOCSIFFLAGS, \"lo\")",
            Syscall::UnshareUser => "unshare(CLONE_NEWUSER)",
            Syscall::WriteIdMap => "write",
            Syscall::ProbeClone => "clone(CLONE_VM|CLONE_VFORK) for the probe",
            Syscall::ProbeNet => "unshare(CLONE_NEWNET) inside the new user namespace (a probe)",
            Syscall::ProbeKilled => {
                "the probe (a child trying unshare(CLONE_NEWUSER), the id maps and \
                 unshare(CLONE_NEWNET)), which was killed before it finished"
            }
            Syscall::Capget => "capget",
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
/// path and the errno. Each fact is said once: the message (`Display`)
/// includes the cause, so [`source`](std::error::Error::source) returns
/// nothing, and a reporter that walks the chain prints it once. Its `Display` says what failed and the likely fix:
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
        /// The call that failed.
        syscall: Syscall,
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
    /// A call failed with an error that carries no error number (the
    /// standard library's own, e.g. a path it cannot pass to the kernel).
    Io {
        /// What this crate was asked to do.
        op: Op,
        /// The call that failed.
        syscall: Syscall,
        /// The file involved, if any.
        path: Option<PathBuf>,
        /// What the standard library said.
        source: std::io::Error,
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
    pub(crate) fn sys(
        op: Op,
        syscall: Syscall,
        path: Option<&Path>,
        errno: nix::errno::Errno,
    ) -> Error {
        Error::with_errno(op, syscall, path, Errno::from_nix(errno))
    }

    fn with_errno(op: Op, syscall: Syscall, path: Option<&Path>, errno: Errno) -> Error {
        Error::Syscall {
            op,
            syscall,
            path: path.map(Path::to_path_buf),
            errno,
        }
    }

    /// An [`Error::Syscall`] for a failed `std` call, or an [`Error::Io`]
    /// where the error has no number.
    pub(crate) fn io(
        op: Op,
        syscall: Syscall,
        path: Option<&Path>,
        error: std::io::Error,
    ) -> Error {
        match error.raw_os_error() {
            Some(raw) => Error::with_errno(op, syscall, path, Errno::from_raw(raw)),
            None => Error::Io {
                op,
                syscall,
                path: path.map(Path::to_path_buf),
                source: error,
            },
        }
    }

    /// The operation that failed, where the error names one.
    pub fn op(&self) -> Option<Op> {
        match self {
            Error::Syscall { op, .. }
            | Error::NotANamespace { op, .. }
            | Error::WrongNamespaceKind { op, .. }
            | Error::Unsupported { op, .. }
            | Error::Io { op, .. }
            | Error::Thread { op, .. } => Some(*op),
            Error::ProcessHasThreads { .. } => Some(Op::EnterUserNamespace),
            Error::WorkerMoved { .. } => Some(Op::Worker),
            Error::InvalidName { .. } => Some(Op::Open),
            Error::InvalidPath { op, .. } => Some(*op),
        }
    }

    /// The system call that failed, if one did.
    pub fn syscall(&self) -> Option<Syscall> {
        match self {
            Error::Syscall { syscall, .. } | Error::Io { syscall, .. } => Some(*syscall),
            _ => None,
        }
    }

    /// The error number behind this error, as `errno` holds it, if a
    /// system call failed with one (as [`std::io::Error::raw_os_error`]).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno().map(Errno::raw)
    }

    /// The error number behind this error, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Syscall { errno, .. } | Error::Unsupported { errno, .. } => Some(*errno),
            Error::ProcessHasThreads { .. } => Some(Errno::EINVAL),
            Error::WorkerMoved { errno } => *errno,
            Error::Thread { source, .. } => source.raw_os_error().map(Errno::from_raw),
            Error::Io { .. } => None,
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
            | Error::Io { path, .. }
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
            | Error::Io { path, .. }
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
    fn advice(op: Op, syscall: Syscall, errno: Errno) -> Option<&'static str> {
        use Syscall as S;
        type E = Errno;
        Some(match (op, syscall, errno) {
            // The probe's steps (see `enter_user_namespace`): the process was
            // left as it was.
            (Op::EnterUserNamespace, S::WriteIdMap, E::EACCES | E::EPERM) => {
                "the process cannot write its own id maps, so entering a user namespace \
                 cannot complete: it is set-uid or set-gid, or otherwise not dumpable \
                 (prctl PR_SET_DUMPABLE 0); the process was left as it was; run it as \
                 root or as a plain (not set-uid) binary"
            }
            (Op::EnterUserNamespace, S::ProbeKilled, _) => {
                "the kernel killed it rather than answer a call, which a seccomp profile that \
                 kills refused system calls does (systemd's SystemCallFilter=, some \
                 container profiles); the process was left as it was; allow unshare with \
                 CLONE_NEWUSER and CLONE_NEWNET, or run as root"
            }
            (Op::EnterUserNamespace, S::ProbeNet, E::EPERM) => {
                "user namespaces are allowed, but inside one every capability is denied, so \
                 no network namespace can be made there; the process was left as it was; \
                 likely Ubuntu's AppArmor profile `unprivileged_userns` \
                 (kernel.apparmor_restrict_unprivileged_userns=1) or a seccomp profile \
                 refusing CLONE_NEWNET; fixes: run as root, \
                 `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, an AppArmor \
                 profile granting `userns` to this binary, or \
                 `--security-opt seccomp=unconfined` for a container"
            }
            (Op::EnterUserNamespace, S::ProbeNet, E::ENOSPC) => {
                "no network namespace can be made inside a new user namespace: \
                 `user.max_net_namespaces` is 0 (or exhausted) in this or an enclosing user \
                 namespace; the process was left as it was; raise it \
                 (sysctl -w user.max_net_namespaces=15000) where it is 0, or run as root"
            }
            (Op::EnterUserNamespace, _, E::EPERM) => USERNS_DENIED,
            (Op::EnterUserNamespace, _, E::EINVAL) => {
                "this kernel does not support user namespaces (CONFIG_USER_NS is off); \
                 run as root instead"
            }
            (Op::EnterUserNamespace, _, E::ENOSPC | E::EUSERS) => {
                "the user-namespace limit is reached: `user.max_user_namespaces` is 0 or \
                 exhausted in this or an enclosing user namespace; raise it \
                 (sysctl -w user.max_user_namespaces=15000) or run as root"
            }
            (_, S::UnshareNet, E::ENOSPC) => {
                "the network-namespace limit `user.max_net_namespaces` is reached; the kernel \
                 frees namespaces asynchronously (tens of ms after their last user is gone), so \
                 retry shortly, close unused handles, or raise the limit"
            }
            (_, S::UnshareNet, E::EPERM) => {
                "creating a network namespace needs CAP_SYS_ADMIN: run as root, or call \
                 netns_core::enter_user_namespace() while the process is single-threaded"
            }
            (_, S::SetnsNet, E::EPERM) => {
                "entering a network namespace needs CAP_SYS_ADMIN in the user namespace that \
                 owns it; a process inside an unprivileged user namespace can enter only \
                 namespaces created inside it, never the host's"
            }
            (_, S::SetnsNet, E::EINVAL) => {
                "the file descriptor does not refer to a network namespace"
            }
            (_, S::BindMount | S::Unmount, E::EPERM | E::EACCES) => {
                "pinning needs CAP_SYS_ADMIN in the user namespace that owns the mount \
                 namespace: run as root, or pin into a mount namespace of your own \
                 (unshare(CLONE_NEWNS) after entering a user namespace)"
            }
            (Op::Unpin, S::Unmount, E::EINVAL) => {
                "nothing is mounted at this path: it is not a pinned namespace"
            }
            (_, S::Open | S::CreatePinFile | S::OpenPin, E::ENOENT) => {
                "no such file: check the path, or that the process or thread still exists"
            }
            (Op::Pin, S::CreatePinFile, E::EACCES | E::EPERM | E::EROFS) => {
                "cannot create the pin file: its directory is not writable here; pin under a \
                 directory you may write (/run/netns needs root), or in a mount namespace of \
                 your own"
            }
            (_, S::CreatePinFile, E::EEXIST) => {
                "the file already exists: unpin it first, or choose another path"
            }
            (_, S::Open | S::OpenPin, E::EACCES) => {
                "permission denied: opening another process's namespace needs the same \
                 uid or CAP_SYS_PTRACE"
            }
            (_, _, E::EMFILE | E::ENFILE) => {
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
                if let Some(advice) = Error::advice(*op, *syscall, *errno) {
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
            Error::Io {
                op,
                syscall,
                path,
                source,
            } => {
                write_path(f, *op, path)?;
                write!(f, "{syscall} failed: {source}")
            }
            Error::Thread { op, source } => {
                write!(f, "{op}: could not start a helper thread: {source}")
            }
        }
    }
}

/// Every message includes its cause (see [`Error`]), so there is no
/// further source to walk to.
impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> std::io::Error {
        let kind = match (&error, error.errno()) {
            (Error::Io { source, .. }, _) => source.kind(),
            (_, Some(errno)) => std::io::Error::from(errno).kind(),
            (_, None) => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(op: Op, syscall: Syscall, path: Option<&str>, errno: Errno) -> Error {
        Error::with_errno(op, syscall, path.map(Path::new), errno)
    }

    #[test]
    fn syscall_error_names_op_path_syscall_errno_and_fix() {
        let text = error(Op::New, Syscall::UnshareNet, None, Errno::EPERM).to_string();
        assert!(
            text.starts_with("NetNs::new: unshare(CLONE_NEWNET) failed: EPERM"),
            "{text}"
        );
        assert!(text.contains("CAP_SYS_ADMIN"), "{text}");
        assert!(text.contains("enter_user_namespace"), "{text}");

        let error = error(Op::Open, Syscall::Open, Some("/nope"), Errno::ENOENT);
        let text = error.to_string();
        assert!(
            text.starts_with("NetNs::open_pinned(/nope): open failed: ENOENT"),
            "{text}"
        );
        assert_eq!(error.path(), Some(Path::new("/nope")));
        assert_eq!(error.errno(), Some(Errno::ENOENT));
        assert_eq!(error.raw_os_error(), Some(libc::ENOENT));
        assert_eq!(error.syscall(), Some(Syscall::Open));
    }

    #[test]
    fn each_fact_is_said_once() {
        use std::error::Error as _;
        let error = error(Op::New, Syscall::UnshareNet, None, Errno::EPERM);
        assert!(
            error.source().is_none(),
            "the errno is in the message already"
        );
        assert_eq!(error.to_string().matches("EPERM").count(), 1, "{error}");
    }

    #[test]
    fn an_io_error_without_a_number_is_kept_as_it_was() {
        let cause = std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path");
        let error = Error::io(Op::Open, Syscall::Open, Some(Path::new("/x")), cause);
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert_eq!(error.errno(), None);
        assert!(error.to_string().contains("a NUL in the path"), "{error}");
        let io: std::io::Error = error.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
        let numbered = std::io::Error::from_raw_os_error(libc::EACCES);
        let error = Error::io(Op::Open, Syscall::Open, None, numbered);
        assert_eq!(error.errno(), Some(Errno::EACCES));
    }

    #[test]
    fn user_namespace_refusal_lists_causes_and_fixes() {
        let text = error(
            Op::EnterUserNamespace,
            Syscall::UnshareUser,
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
            let text =
                error(Op::Pin, Syscall::CreatePinFile, Some("/run/netns/x"), errno).to_string();
            assert!(text.contains("cannot create the pin file"), "{text}");
            assert!(!text.contains("CAP_SYS_PTRACE"), "{text}");
        }
        let path = Some("/proc/self/ns/net");
        let text = error(Op::Unpin, Syscall::Unmount, path, Errno::EINVAL).to_string();
        assert!(text.contains("not a pinned namespace"), "{text}");
    }

    #[test]
    fn converts_to_io_error_with_matching_kind() {
        let error: std::io::Error =
            error(Op::Open, Syscall::Open, Some("/x"), Errno::ENOENT).into();
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    }
}
