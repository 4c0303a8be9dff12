//! The throwaway sockets that cookies and `lo` are reached through.

use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

use crate::error::{Error, Op, Result};

/// A new datagram socket of `domain` (`AF_UNIX` or `AF_INET`) in the calling
/// thread's network namespace, named in errors as `syscall`.
pub(crate) fn datagram(op: Op, domain: libc::c_int, syscall: &'static str) -> Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a negative return is handled below.
    let raw = unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(Error::sys(op, syscall, None, Errno::last()));
    }
    // SAFETY: `raw` is a new, valid socket that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}
