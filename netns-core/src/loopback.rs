//! Bringing `lo` up in the calling thread's network namespace.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Op, Result};

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
    // SAFETY: socket(2) takes no pointers; a negative return is handled below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(Error::sys(
            Op::Loopback,
            "socket(AF_INET)",
            None,
            Errno::last(),
        ));
    }
    // SAFETY: `raw` is a new, valid socket that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };

    // SAFETY: `ifreq` is plain old data for which all-zero bytes are valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads `ifr_name` and writes `ifr_ifru.ifru_flags`
    // of the `ifreq` we own, which outlives the call.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut req) } < 0 {
        return Err(Error::sys(
            Op::Loopback,
            "ioctl(SIOCGIFFLAGS, \"lo\")",
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
            Op::Loopback,
            "ioctl(SIOCSIFFLAGS, \"lo\")",
            None,
            Errno::last(),
        ));
    }
    Ok(())
}
