//! Bringing `lo` up in the calling thread's network namespace.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Op, Result, Syscall};
use crate::socket;
use nix::sys::socket::AddressFamily;

/// Brings the loopback interface `lo` up in the calling thread's network namespace.
///
/// A new namespace has `lo` down, so `connect` to 127.0.0.1 fails with
/// `ENETUNREACH` until this runs. For a namespace you hold a handle to, see
/// [`NetNs::set_loopback_up`](crate::NetNs::set_loopback_up); this function
/// is for code already inside one, e.g. a process started with `unshare -n`.
/// It uses the
/// [`SIOCSIFFLAGS`](https://man7.org/linux/man-pages/man7/netdevice.7.html)
/// ioctl (one socket, two ioctls: cheaper than a netlink round trip), and
/// does nothing if `lo` is up already.
///
/// # Errors
///
/// [`Error::Syscall`] for `socket` (`EMFILE`) or the ioctls (`EPERM`
/// without `CAP_NET_ADMIN` over the namespace).
pub fn bring_up_loopback() -> Result<()> {
    bring_up(Op::BringUpLoopback)
}

/// [`bring_up_loopback`], with errors naming `op`.
pub(crate) fn bring_up(op: Op) -> Result<()> {
    up_with(op, inet_socket(op)?.as_fd())
}

/// An `AF_INET` socket in the calling thread's namespace, for [`up_with`].
pub(crate) fn inet_socket(op: Op) -> Result<OwnedFd> {
    socket::datagram(op, AddressFamily::Inet, Syscall::SocketInet)
}

/// Brings up `lo` of the namespace that `socket` (an `AF_INET` socket) is in.
pub(crate) fn up_with(op: Op, socket: BorrowedFd<'_>) -> Result<()> {
    // SAFETY: `ifreq` is plain old data for which all-zero bytes are valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads `ifr_name` and writes `ifr_ifru.ifru_flags`
    // of the `ifreq` we own, which outlives the call.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut req) } < 0 {
        return Err(Error::sys(
            op,
            Syscall::GetLoopbackFlags,
            None,
            Errno::last(),
        ));
    }
    // SAFETY: the kernel just filled in `ifru_flags`, the union field we read.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    if flags & libc::IFF_UP as libc::c_short != 0 {
        return Ok(());
    }
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCSIFFLAGS only reads the `ifreq` we own.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const req) } < 0 {
        return Err(Error::sys(
            op,
            Syscall::SetLoopbackFlags,
            None,
            Errno::last(),
        ));
    }
    Ok(())
}
