//! The throwaway sockets that cookies and `lo` are reached through.

use std::os::fd::OwnedFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::error::{Error, Op, Result, Syscall};

/// A new datagram socket of `family` in the calling thread's network
/// namespace; errors name `syscall` and `op`.
pub(crate) fn datagram(op: Op, family: AddressFamily, syscall: Syscall) -> Result<OwnedFd> {
    socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|errno| Error::sys(op, syscall, None, errno))
}
