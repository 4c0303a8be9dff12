//! [`NetNs`], a handle to a network namespace.

use std::fmt;
use std::fs::OpenOptions;
use std::hash::{Hash, Hasher};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns};

use crate::cookie::get_netns_cookie;
use crate::error::{Error, Op, Result, Syscall};
use crate::factory;
use crate::nsfile::{self, NsId, THREAD_SELF_NET};

/// Where `ip netns add NAME` pins namespaces.
const NETNS_RUN_DIR: &str = "/run/netns";

/// A handle to a Linux network namespace: an open nsfs file.
///
/// The handle keeps the namespace alive; the namespace is freed by the kernel
/// once the last handle, thread, process, socket and bind mount that refer to
/// it are gone. Dropping the handle closes it; [`close`](NetNs::close) does the
/// same and reports errors.
///
/// Two handles compare equal when they refer to the same namespace.
///
/// # Examples
///
/// ```no_run
/// use netns_core::NetNs;
///
/// let ns = NetNs::new_with_loopback()?;
/// // The same port, bound in a namespace of our own.
/// let addr = ns.run(|| {
///     let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
///     listener.local_addr()
/// })??;
/// assert_eq!(addr.port(), 8080);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NetNs {
    fd: OwnedFd,
    id: NsId,
    /// Known from the start for namespaces this process created; others
    /// are asked each time (a cache would make the handle interiorly
    /// mutable, which hash sets of handles would not like).
    cookie: Option<u64>,
    /// The file the handle was opened from, if it was opened from a path.
    path: Option<PathBuf>,
}

impl NetNs {
    fn from_parts(fd: OwnedFd, id: NsId, path: Option<PathBuf>) -> NetNs {
        NetNs {
            fd,
            id,
            cookie: None,
            path,
        }
    }

    fn created((fd, id, cookie): (OwnedFd, NsId, Option<u64>)) -> NetNs {
        NetNs {
            fd,
            id,
            cookie,
            path: None,
        }
    }

    /// Returns a handle to the calling thread's network namespace.
    ///
    /// It opens `/proc/thread-self/ns/net`, not `/proc/self/ns/net`: the
    /// latter is the main thread's namespace, which differs from the calling
    /// thread's inside [`run`](NetNs::run).
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for `open` (`ENOENT` when `/proc` is not mounted,
    /// `EMFILE`/`ENFILE` when out of file descriptors) or `fstat`.
    pub fn current() -> Result<NetNs> {
        let fd = nsfile::open(Op::Current, THREAD_SELF_NET.as_ref())?;
        let id = nsfile::id_of(Op::Current, &fd)?;
        Ok(NetNs::from_parts(fd, id, None))
    }

    /// Creates a new network namespace and returns a handle to it.
    ///
    /// The calling thread's namespace does not change: the
    /// [`unshare(CLONE_NEWNET)`](https://man7.org/linux/man-pages/man2/unshare.2.html)
    /// happens on a long-lived helper thread that never returns to the
    /// caller's namespace, so this works inside an unprivileged user
    /// namespace too (see [`enter_user_namespace`](crate::enter_user_namespace)).
    ///
    /// The namespace is not pinned: the kernel frees it once this handle
    /// (and any clone of it) is closed and no thread, process, socket or
    /// mount uses it. Like every new namespace, it has only `lo`, and `lo` is
    /// down; see [`new_with_loopback`](NetNs::new_with_loopback).
    ///
    /// Like Go's `New`, it takes the namespace as the kernel makes it, host
    /// settings included: with `net.core.devconf_inherit_init_net=0` (the
    /// default) the kernel copies the initial namespace's
    /// `net.ipv4.conf.{all,default}.*` into every new one, so on a host with
    /// `net.ipv4.ip_forward=1` (Docker hosts, CI runners) the new namespace
    /// forwards too, and `rp_filter` and the redirect settings follow the
    /// host's. `#[netns_test]` (crate `netns-test`) resets them; code using
    /// this directly sets what it relies on.
    ///
    /// The namespace is made by a long-lived helper thread whose credentials,
    /// capabilities and namespaces are the process's (its main thread's),
    /// whatever the calling thread's. Where no such helper is at hand, a
    /// fresh thread started by the caller makes it, with the caller's: the
    /// first creation of a process (and of a forked child), every creation
    /// once `user.max_net_namespaces` has been met (helpers park in a
    /// namespace of their own, which would take a caller's place), and a
    /// caller whose own state differs from the process's (dropped
    /// capabilities, a mount namespace of its own) when no helper is idle.
    /// So a thread that dropped `CAP_SYS_ADMIN` may or may not be able to
    /// create namespaces; no thread ever leaves its state behind in a helper.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for `unshare(CLONE_NEWNET)`: `EPERM` without
    /// `CAP_SYS_ADMIN`, `ENOSPC` when `user.max_net_namespaces` is reached
    /// (the kernel frees namespaces asynchronously, so this can be transient),
    /// `ENOMEM`; for `open` (`EMFILE`, `ENFILE`). [`Error::Thread`] if the
    /// helper thread cannot be started.
    pub fn new() -> Result<NetNs> {
        factory::create(false).map(NetNs::created)
    }

    /// Creates a new network namespace with `lo` up, in one step.
    ///
    /// The same as [`new`](NetNs::new) followed by
    /// [`set_loopback_up`](NetNs::set_loopback_up), but cheaper: `lo` is
    /// brought up by the thread that creates the namespace.
    ///
    /// # Errors
    ///
    /// As [`new`](NetNs::new), and [`Error::Syscall`] for the
    /// `ioctl(SIOCSIFFLAGS)` that brings `lo` up.
    pub fn new_with_loopback() -> Result<NetNs> {
        factory::create(true).map(NetNs::created)
    }

    /// Creates a new network namespace, moves the calling thread into it and
    /// returns a handle to it (Go's `netns.New`), with `lo` up if
    /// `loopback`.
    ///
    /// Unlike [`new`](NetNs::new), this moves the caller, for good: inside
    /// an unprivileged user namespace a thread cannot go back to the host's
    /// namespace. It is for threads of your own that do their work in the
    /// namespace and end with it, e.g. a test's thread: one `unshare` on the
    /// spot, no helper thread, the cheapest way to a namespace and a thread
    /// in it. On an error after the
    /// [`unshare(CLONE_NEWNET)`](https://man7.org/linux/man-pages/man2/unshare.2.html)
    /// (opening the namespace, bringing `lo` up) the thread is already in
    /// the new namespace.
    ///
    /// # Errors
    ///
    /// As [`new`](NetNs::new) and [`new_with_loopback`](NetNs::new_with_loopback),
    /// but never [`Error::Thread`].
    pub fn enter_new(loopback: bool) -> Result<NetNs> {
        factory::unshare_here(loopback).map(NetNs::created)
    }

    /// Opens the pinned network namespace at `path`.
    ///
    /// A pinned namespace is an nsfs file bind-mounted somewhere, usually by
    /// `ip netns add` under `/run/netns`, or by [`pin`](NetNs::pin). Any
    /// `/proc/PID/ns/net` file works as well. Unlike Go's `OpenPinned`, the
    /// file is checked: it must be a namespace file
    /// ([`ioctl_ns(2)`](https://man7.org/linux/man-pages/man2/ioctl_ns.2.html))
    /// of a *network* namespace.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidPath`] if `path` contains a NUL byte.
    /// - [`Error::Syscall`] for `open`: `ENOENT` if the path does not exist,
    ///   `EACCES` without permission.
    /// - [`Error::NotANamespace`] for a regular file, a directory, or any
    ///   other file that is not on nsfs.
    /// - [`Error::WrongNamespaceKind`] for a namespace of another kind, such
    ///   as `/proc/self/ns/mnt`.
    pub fn open_pinned(path: impl AsRef<Path>) -> Result<NetNs> {
        let path = path.as_ref();
        let (fd, id) = nsfile::open_net(Op::Open, path)?;
        Ok(NetNs::from_parts(fd, id, Some(path.to_path_buf())))
    }

    /// Opens the network namespace of process `pid` (`/proc/PID/ns/net`).
    ///
    /// # Errors
    ///
    /// As [`open_pinned`](NetNs::open_pinned): `ENOENT` if there is no such
    /// process, `EACCES` if it belongs to another user.
    pub fn from_pid(pid: u32) -> Result<NetNs> {
        NetNs::open_pinned(format!("/proc/{pid}/ns/net"))
    }

    /// Opens the network namespace of thread `tid` of process `pid`
    /// (`/proc/PID/task/TID/ns/net`): threads of one process may be in
    /// different namespaces.
    ///
    /// # Errors
    ///
    /// As [`open_pinned`](NetNs::open_pinned): `ENOENT` if there is no such
    /// thread.
    pub fn from_thread(pid: u32, tid: u32) -> Result<NetNs> {
        NetNs::open_pinned(format!("/proc/{pid}/task/{tid}/ns/net"))
    }

    /// Opens the namespace that `ip netns add NAME` pinned, `/run/netns/NAME`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` is empty, `.` or `..`, or contains
    /// `/` or a NUL byte; otherwise as [`open_pinned`](NetNs::open_pinned).
    pub fn from_name(name: &str) -> Result<NetNs> {
        let reason = match name {
            "" => Some("it is empty"),
            "." | ".." => Some("`.` and `..` are not namespace names"),
            _ if name.contains('/') => Some("it contains `/`"),
            _ if name.contains('\0') => Some("it contains a NUL byte"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidName {
                name: name.to_owned(),
                reason,
            });
        }
        NetNs::open_pinned(Path::new(NETNS_RUN_DIR).join(name))
    }

    /// Makes a handle from any fd that refers to a network namespace,
    /// duplicating it; the caller keeps its own fd.
    ///
    /// # Errors
    ///
    /// [`Error::NotANamespace`] or [`Error::WrongNamespaceKind`] as for
    /// [`open_pinned`](NetNs::open_pinned); [`Error::Syscall`] for the `dup`
    /// (`EMFILE`).
    pub fn from_fd(fd: impl AsFd) -> Result<NetNs> {
        let fd = fd.as_fd();
        let id = nsfile::validate_net(Op::FromFd, fd)?;
        let owned = fd
            .try_clone_to_owned()
            .map_err(|e| Error::io(Op::FromFd, Syscall::Dup, None, e))?;
        Ok(NetNs::from_parts(owned, id, None))
    }

    /// Returns a second handle to the same namespace (a `dup` of the fd).
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for the `dup` (`EMFILE`, `ENFILE`).
    pub fn try_clone(&self) -> Result<NetNs> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::io(Op::TryClone, Syscall::Dup, None, e))?;
        Ok(NetNs {
            fd,
            id: self.id,
            cookie: self.cookie,
            path: self.path.clone(),
        })
    }

    /// Closes the handle, reporting any error from
    /// [`close(2)`](https://man7.org/linux/man-pages/man2/close.2.html).
    ///
    /// This does not necessarily destroy the namespace: that happens once
    /// nothing else refers to it. Dropping a handle closes it too, silently.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for `close` (`EIO`, `EINTR`); the fd is closed
    /// either way.
    pub fn close(self) -> Result<()> {
        let raw = OwnedFd::from(self).into_raw_fd();
        nix::unistd::close(raw).map_err(|errno| Error::sys(Op::Close, Syscall::Close, None, errno))
    }

    /// Runs `f` inside this namespace and returns its value; the calling
    /// thread's namespace does not change.
    ///
    /// This is Go's `Do`. `f` runs on a new thread that enters the namespace
    /// with [`setns(2)`](https://man7.org/linux/man-pages/man2/setns.2.html)
    /// and ends when `f` returns, so no thread is ever left in a foreign
    /// namespace for unrelated work, and nothing has to "go back" (which an
    /// unprivileged process cannot do). Because the thread is scoped, `f` may
    /// borrow from the caller. Threads that `f` starts inherit the namespace;
    /// so do child processes. The new thread takes the caller's thread name,
    /// so panic messages read as if the caller had panicked, and under
    /// `cargo test` it shares the test's output capture.
    ///
    /// A panic in `f` resumes on the caller with the original payload, so
    /// `#[should_panic(expected = "...")]` sees the original message.
    ///
    /// A thread costs some tens of microseconds; for many small tasks, run
    /// one closure that does them all.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for `setns(CLONE_NEWNET)`: `EPERM` when the process
    /// lacks `CAP_SYS_ADMIN` over the namespace's owning user namespace (for
    /// instance the host's namespace, from inside an unprivileged user
    /// namespace; a caller that is already in this namespace is still
    /// served); [`Error::Thread`] if the thread cannot be started. Errors of
    /// `f` itself are in its return value.
    pub fn run<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let mut builder = std::thread::Builder::new();
        if let Some(name) = std::thread::current().name() {
            builder = builder.name(name.to_owned());
        }
        std::thread::scope(|scope| {
            let thread = builder
                .spawn_scoped(scope, || -> Result<T> {
                    self.enter_here(Op::Run)?;
                    Ok(f())
                })
                .map_err(|source| Error::Thread {
                    op: Op::Run,
                    source,
                })?;
            match thread.join() {
                Ok(result) => result,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        })
    }

    /// Moves the calling thread into this namespace. Only for threads that
    /// never leave it again (ours, spawned for exactly this). `Ok(false)`
    /// if it was there already and may not enter it.
    pub(crate) fn enter_here(&self, op: Op) -> Result<bool> {
        match setns(&self.fd, CloneFlags::CLONE_NEWNET) {
            Ok(()) => Ok(true),
            // Without privilege over this namespace's owner (e.g. the host's
            // namespace, seen from a user namespace) setns fails even if we
            // are in it already; a thread that is already there is fine.
            Err(Errno::EPERM) if self.is_current_thread_ns() => Ok(false),
            Err(errno) => Err(Error::sys(
                op,
                Syscall::SetnsNet,
                self.path.as_deref(),
                errno,
            )),
        }
    }

    pub(crate) fn is_current_thread_ns(&self) -> bool {
        self.id.is_the_calling_threads()
    }

    /// Returns the raw file descriptor of the handle, still owned by it.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Returns the identity of the namespace (device and inode of its nsfs file).
    pub fn id(&self) -> NsId {
        self.id
    }

    /// Returns the path the handle was opened from, if it was opened by path.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Returns the cookie of this handle's namespace.
    ///
    /// The kernel's `SO_NETNS_COOKIE` value, as
    /// [`get_netns_cookie`](crate::get_netns_cookie) returns it for the
    /// calling thread: unlike the inode in [`id`](NetNs::id) (which Cilium's
    /// method of this name returns), it is never reused while the system runs.
    /// For a namespace made by [`new`](NetNs::new) it was read at creation
    /// and costs nothing. For a handle opened otherwise, since Linux 6.18 it
    /// is one [`ioctl(NS_GET_ID)`](https://man7.org/linux/man-pages/man2/ioctl_nsfs.2.html)
    /// on the handle, which works for every namespace, the host's too from
    /// inside a user namespace (once per process the answer is checked
    /// against `SO_NETNS_COOKIE`). On older kernels it is read by a helper
    /// thread that briefly enters the namespace (or, if the calling thread
    /// is in it, right here).
    ///
    /// # Errors
    ///
    /// Before Linux 6.18: [`Error::Syscall`] for `setns` (`EPERM`, as for
    /// [`run`](NetNs::run)), `socket` or `getsockopt`;
    /// [`Error::Unsupported`] before Linux 5.14.
    pub fn cookie(&self) -> Result<u64> {
        if let Some(cookie) = self.cookie {
            return Ok(cookie);
        }
        if let Some(cookie) = crate::cookie::cookie_by_id(self.fd.as_fd()) {
            return Ok(cookie);
        }
        // One stat spares a round trip to a helper thread (and works where
        // setns would not, for the host's namespace seen from a user namespace).
        if self.is_current_thread_ns() {
            return get_netns_cookie();
        }
        factory::cookie(self.fd.as_fd()).map_err(|e| self.attach_path(e))
    }

    /// Brings the loopback interface `lo` up in this namespace.
    ///
    /// A new namespace has `lo` down: until it is up, `connect` to
    /// 127.0.0.1 fails with `ENETUNREACH`. Done on a helper thread with the
    /// [`SIOCSIFFLAGS`](https://man7.org/linux/man-pages/man7/netdevice.7.html) ioctl.
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] for `setns` (`EPERM`) or the ioctl (`EPERM`
    /// without `CAP_NET_ADMIN` over the namespace).
    pub fn set_loopback_up(&self) -> Result<()> {
        factory::loopback(self.fd.as_fd()).map_err(|e| self.attach_path(e))
    }

    /// Pins the namespace at `path`, so that it outlives this handle and can
    /// be opened by path (like `ip netns add`, which pins under `/run/netns`).
    ///
    /// It creates `path` as an empty file (it must not exist), then
    /// bind-mounts the namespace's nsfs file over it
    /// ([`mount(2)`](https://man7.org/linux/man-pages/man2/mount.2.html) with
    /// `MS_BIND`). Undo with [`unpin`](crate::unpin).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] if `path` contains a NUL byte;
    /// [`Error::Syscall`] for `open(O_CREAT|O_EXCL)` (`EEXIST`, `ENOENT` for a
    /// missing parent directory, `EACCES`) or `mount` (`EPERM` without
    /// `CAP_SYS_ADMIN` over the mount namespace); a file created before a
    /// failed mount is removed again.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        nsfile::check_path(Op::Pin, path)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(path)
            .map_err(|e| Error::io(Op::Pin, Syscall::CreatePinFile, Some(path), e))?;
        let source = format!("/proc/thread-self/fd/{}", self.fd());
        let mounted = mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        );
        mounted.map_err(|errno| {
            let _ = std::fs::remove_file(path);
            Error::sys(Op::Pin, Syscall::BindMount, Some(path), errno)
        })
    }

    fn attach_path(&self, error: Error) -> Error {
        match &self.path {
            Some(path) => error.with_path(path),
            None => error,
        }
    }
}

/// Removes a namespace pinned at `path` by [`NetNs::pin`] or `ip netns add`.
///
/// It detaches the bind mount
/// ([`umount2(2)`](https://man7.org/linux/man-pages/man2/umount.2.html) with
/// `MNT_DETACH`) and removes the file. The namespace itself lives on while
/// handles or processes still use it.
///
/// It unmounts only a namespace pin: if what is mounted at `path` is not a
/// namespace file (a tmpfs, a directory, a plain file), it returns
/// [`Error::NotANamespace`] and unmounts nothing. It does not follow a
/// symbolic link at `path`.
///
/// # Errors
///
/// - [`Error::InvalidPath`] if `path` contains a NUL byte.
/// - [`Error::Syscall`] for `open(O_PATH)` (`ENOENT`, `EACCES`) or `fstatfs`.
/// - [`Error::NotANamespace`] if `path` is not a namespace file.
/// - [`Error::Syscall`] for `umount2` (`EINVAL` if nothing is mounted at
///   `path`, e.g. `/proc/self/ns/net`; `EPERM` without privilege) or for
///   removing the file.
pub fn unpin(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    nsfile::check_path(Op::Unpin, path)?;
    // What is at `path` itself, not where a symbolic link leads: nsfs only
    // for a pin (or a /proc/PID/ns file, which umount2 refuses as not
    // mounted).
    let at_path = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(Op::Unpin, Syscall::OpenPin, Some(path), e))?;
    let fs = nix::sys::statfs::fstatfs(&at_path)
        .map_err(|errno| Error::sys(Op::Unpin, Syscall::Fstatfs, Some(path), errno))?;
    if fs.filesystem_type() != nix::sys::statfs::NSFS_MAGIC {
        return Err(Error::NotANamespace {
            op: Op::Unpin,
            path: Some(path.to_path_buf()),
        });
    }
    umount2(path, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW)
        .map_err(|errno| Error::sys(Op::Unpin, Syscall::Unmount, Some(path), errno))?;
    std::fs::remove_file(path).map_err(|e| Error::io(Op::Unpin, Syscall::Unlink, Some(path), e))
}

impl fmt::Debug for NetNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("NetNs");
        s.field("fd", &self.fd.as_raw_fd())
            .field("ino", &self.id.ino());
        if let Some(path) = &self.path {
            s.field("path", path);
        }
        if let Some(cookie) = &self.cookie {
            s.field("cookie", cookie);
        }
        s.finish()
    }
}

impl PartialEq for NetNs {
    fn eq(&self, other: &NetNs) -> bool {
        self.id == other.id
    }
}

impl Eq for NetNs {}

impl Hash for NetNs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NetNs {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<NetNs> for OwnedFd {
    fn from(ns: NetNs) -> OwnedFd {
        ns.fd
    }
}

impl TryFrom<OwnedFd> for NetNs {
    type Error = Error;

    /// Takes ownership of `fd` after checking that it refers to a network
    /// namespace. On error the fd is closed; use [`NetNs::from_fd`] to keep it.
    fn try_from(fd: OwnedFd) -> Result<NetNs> {
        let id = nsfile::validate_net(Op::TryFromFd, &fd)?;
        Ok(NetNs::from_parts(fd, id, None))
    }
}
