//! Creating the namespaces a test uses (its own, and its network's nodes):
//! a bounded retry where the namespace limit is reached, and telling a
//! limit of 0 (no namespace will ever come) from a full one.

use std::time::{Duration, Instant};

use netns_core::{Errno, Error, NetNs};

use crate::mode::{net_namespace_limit_is_zero, startup};

/// How long to keep retrying `ENOSPC`: the kernel frees namespaces tens of
/// milliseconds after their last user is gone, so a suite at the
/// `user.max_net_namespaces` limit frees room soon.
const ENOSPC_PATIENCE: Duration = Duration::from_secs(10);

/// `NetNs::new` (or `new_with_loopback`), retrying `ENOSPC` with a bounded
/// exponential backoff, unless no namespace will ever come.
#[cfg(feature = "network")]
pub(crate) fn create(loopback: bool) -> Result<NetNs, Error> {
    let make = if loopback {
        NetNs::new_with_loopback
    } else {
        NetNs::new
    };
    patiently(ENOSPC_PATIENCE, make)
}

/// [`NetNs::enter_new`] on the calling thread, retrying `ENOSPC` with
/// [`patiently`].
pub(crate) fn create_here(loopback: bool) -> Result<NetNs, Error> {
    patiently(ENOSPC_PATIENCE, || NetNs::enter_new(loopback))
}

/// `make()` again while it meets `ENOSPC`, for up to `patience`, unless the
/// limit reads 0 (see [`refused`]).
pub(crate) fn patiently(
    patience: Duration,
    make: impl Fn() -> Result<NetNs, Error>,
) -> Result<NetNs, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match make() {
            Err(error)
                if error.errno() == Some(Errno::ENOSPC)
                    && !refused(&error)
                    && started.elapsed() < patience =>
            {
                // The limit is reached: spares would hold namespaces the
                // tests need.
                crate::spare::retire();
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Whether a creation error means network namespaces cannot be had at all
/// (a seccomp profile or an LSM refusing them, or a zero limit), rather than
/// a passing failure.
pub(crate) fn refused(error: &Error) -> bool {
    match error.errno() {
        Some(Errno::EPERM | Errno::EACCES | Errno::ENOSYS) => true,
        Some(Errno::ENOSPC) => {
            startup().is_some_and(|s| s.net_limit_was_zero) || net_namespace_limit_is_zero()
        }
        _ => false,
    }
}
