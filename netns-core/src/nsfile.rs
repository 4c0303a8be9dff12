//! Opening namespace files and checking that they really are network namespaces.

use std::fmt;
use std::fs::OpenOptions;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::stat::fstat;
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};

use crate::error::{Error, NsKind, Op, Result, Syscall};

/// The identity of a namespace: the device and inode of its nsfs file.
///
/// Two handles refer to the same namespace exactly when their ids are equal
/// (this is what `ip netns identify` and `stat -L /proc/PID/ns/net` compare).
/// An inode may be reused after the namespace is freed; for an identifier that
/// is never reused while the system runs, use [`NetNs::cookie`](crate::NetNs::cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId {
    dev: u64,
    ino: u64,
}

impl NsId {
    /// The device number of the nsfs file (`st_dev`).
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// The inode number of the nsfs file (`st_ino`), the number in `net:[4026531840]`.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Whether the calling thread is in this namespace (one `stat` of
    /// `/proc/thread-self/ns/net`).
    pub(crate) fn is_the_calling_threads(&self) -> bool {
        nix::sys::stat::stat(THREAD_SELF_NET)
            .is_ok_and(|st| st.st_dev == self.dev && st.st_ino == self.ino)
    }
}

impl fmt::Display for NsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net:[{}]", self.ino)
    }
}

/// Opens the network namespace `socket` is in through the socket itself
/// ([`SIOCGSKNS`](https://man7.org/linux/man-pages/man7/netdevice.7.html),
/// Linux 4.9+, needs `CAP_NET_ADMIN` over the namespace), without a path
/// walk in `/proc`: the `/proc/thread-self` entries a thread looks up are
/// the kernel's to drop again when it ends. `None` where the kernel or the
/// caller's capabilities refuse; then open [`THREAD_SELF_NET`] instead.
pub(crate) fn of_socket(socket: BorrowedFd<'_>) -> Option<OwnedFd> {
    // SAFETY: SIOCGSKNS takes no argument; it returns a new descriptor
    // (close-on-exec) or -1.
    let fd = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGSKNS as libc::Ioctl) };
    // SAFETY: a descriptor the kernel just opened for us, owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Refuses a path no system call can take, before any is made.
pub(crate) fn check_path(op: Op, path: &Path) -> Result<()> {
    if path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(Error::InvalidPath {
            op,
            path: path.to_path_buf(),
            reason: "it contains a NUL byte",
        });
    }
    Ok(())
}

/// Opens `path` read-only; O_NONBLOCK so that a FIFO given by mistake cannot hang us.
pub(crate) fn open(op: Op, path: &Path) -> Result<OwnedFd> {
    check_path(op, path)?;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::io(op, Syscall::Open, Some(path), e))
}

/// Checks that `fd` is an nsfs file of a network namespace and returns its id.
pub(crate) fn validate_net(op: Op, fd: impl AsFd) -> Result<NsId> {
    let fd = fd.as_fd();
    let fs = fstatfs(fd).map_err(|errno| Error::sys(op, Syscall::Fstatfs, None, errno))?;
    if fs.filesystem_type() != NSFS_MAGIC {
        return Err(Error::NotANamespace { op, path: None });
    }
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd, which is
    // valid for the duration of the call because we borrow it.
    let kind = unsafe { libc::ioctl(fd.as_raw_fd(), libc::NS_GET_NSTYPE) };
    if kind < 0 {
        return Err(Error::sys(op, Syscall::NsGetNstype, None, Errno::last()));
    }
    if kind != libc::CLONE_NEWNET {
        return Err(Error::WrongNamespaceKind {
            op,
            path: None,
            found: NsKind::from_clone_flag(kind),
        });
    }
    id_of(op, fd)
}

/// The (st_dev, st_ino) of an fd already known to be a namespace.
pub(crate) fn id_of(op: Op, fd: impl AsFd) -> Result<NsId> {
    let st = fstat(fd.as_fd()).map_err(|errno| Error::sys(op, Syscall::Fstat, None, errno))?;
    Ok(NsId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// Opens `path` and checks that it is a network namespace.
pub(crate) fn open_net(op: Op, path: &Path) -> Result<(OwnedFd, NsId)> {
    let fd = open(op, path)?;
    let id = validate_net(op, &fd).map_err(|e| e.with_path(path))?;
    Ok((fd, id))
}

/// The calling thread's network namespace file: `/proc/self` would name the
/// main thread's, which differs inside `NetNs::run` and on helper threads.
pub(crate) const THREAD_SELF_NET: &str = "/proc/thread-self/ns/net";
