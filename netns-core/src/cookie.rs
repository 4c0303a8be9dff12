//! Network namespace cookies: `SO_NETNS_COOKIE`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;

use crate::error::{Error, Op, Result, Syscall};
use crate::socket;
use nix::sys::socket::AddressFamily;

/// Returns the cookie of the calling thread's network namespace.
///
/// This is Cilium's `GetNetNSCookie`. A cookie is a 64-bit number the kernel
/// gives each network namespace; unlike an nsfs inode it is never reused
/// while the system runs, so it is the safe way to tell namespaces apart. On
/// the host's main thread this is the host namespace's cookie; inside
/// [`NetNs::run`](crate::NetNs::run) it is the cookie of that namespace. For
/// the cookie of any handle, see [`NetNs::cookie`](crate::NetNs::cookie).
///
/// It opens a socket, reads [`getsockopt(SOL_SOCKET,
/// SO_NETNS_COOKIE)`](https://man7.org/linux/man-pages/man7/socket.7.html), and
/// always closes the socket.
///
/// # Errors
///
/// - [`Error::Unsupported`] with `ENOPROTOOPT` on kernels before 5.14.
/// - [`Error::Syscall`] for `socket` (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`)
///   or `getsockopt`.
///
/// # Examples
///
/// ```
/// let cookie = netns_core::get_netns_cookie()?;
/// assert_ne!(cookie, 0);
/// # Ok::<(), netns_core::Error>(())
/// ```
pub fn get_netns_cookie() -> Result<u64> {
    // An AF_UNIX socket needs no protocol module and exists in every netns.
    let socket = socket::datagram(Op::Cookie, AddressFamily::Unix, Syscall::SocketUnix)?;
    cookie_of(socket.as_fd())
}

/// The cookie of the network namespace `socket` belongs to.
pub(crate) fn cookie_of(socket: BorrowedFd<'_>) -> Result<u64> {
    let mut cookie: u64 = 0;
    let mut len = size_of::<u64>() as libc::socklen_t;
    // SAFETY: `cookie` and `len` are valid for writes of the sizes given, and
    // the kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        let errno = Errno::last();
        return Err(if errno == Errno::ENOPROTOOPT {
            Error::Unsupported {
                op: Op::Cookie,
                what: "getsockopt(SO_NETNS_COOKIE)",
                errno: crate::Errno::ENOPROTOOPT,
            }
        } else {
            Error::sys(Op::Cookie, Syscall::GetCookie, None, errno)
        });
    }
    Ok(cookie)
}

/// `NS_GET_ID`, `_IOR(0xb7, 13, __u64)`: since Linux 6.18, the id of the
/// namespace behind an nsfs file; for a network namespace, its cookie.
const NS_GET_ID: libc::Ioctl = libc::_IOR::<u64>(0xb7, 13);

/// The cookie of the namespace behind nsfs file `fd`, in one
/// [`ioctl(NS_GET_ID)`](https://man7.org/linux/man-pages/man2/ioctl_nsfs.2.html),
/// where the kernel has it. Whether it does, and whether its answer is the
/// `SO_NETNS_COOKIE` value, is checked once per process on the calling
/// thread's namespace; `None` where either is not so.
pub(crate) fn cookie_by_id(fd: BorrowedFd<'_>) -> Option<u64> {
    static AGREES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let agrees = AGREES.get_or_init(|| {
        let Ok(own) = std::fs::File::open(crate::nsfile::THREAD_SELF_NET) else {
            return false;
        };
        matches!((ns_get_id(own.as_fd()), get_netns_cookie()), (Some(id), Ok(cookie)) if id == cookie)
    });
    if *agrees { ns_get_id(fd) } else { None }
}

/// `ioctl(fd, NS_GET_ID)`; `None` if it fails (`ENOTTY` before 6.18).
fn ns_get_id(fd: BorrowedFd<'_>) -> Option<u64> {
    let mut id: u64 = 0;
    // SAFETY: NS_GET_ID writes one u64 through the pointer, which is valid
    // for that write.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_ID as _, &raw mut id) };
    (rc == 0).then_some(id)
}
