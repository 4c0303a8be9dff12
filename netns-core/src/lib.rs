//! Linux network namespaces as safe Rust handles.
//!
//! `netns-core` is a Rust port of Cilium's Go package
//! [`pkg/netns`](https://pkg.go.dev/github.com/cilium/cilium/pkg/netns): create
//! a network namespace, run code inside it without moving the calling thread,
//! open pinned namespaces, and tell namespaces apart by cookie. It works as
//! root and, after [`enter_user_namespace`], without any privilege.
//!
//! ```no_run
//! use netns_core::{NetNs, get_netns_cookie};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = get_netns_cookie()?;
//! let ns = NetNs::new_with_loopback()?;
//! let inside = ns.run(get_netns_cookie)??;
//! assert_ne!(inside, host);
//! assert_eq!(inside, ns.cookie()?);
//! assert_eq!(get_netns_cookie()?, host); // the caller never moved
//! # Ok(()) }
//! ```
//!
//! # Threads and namespaces
//!
//! A network namespace belongs to a *thread*: `setns` and `unshare` change
//! only the calling thread, and new threads inherit the namespace of the
//! thread that starts them. So this crate never moves a thread you own
//! (but the one that calls [`NetNs::enter_new`], Go's `netns.New`, which
//! asks for exactly that):
//! [`NetNs::new`] creates namespaces on a helper thread, and [`NetNs::run`]
//! runs your closure on a fresh thread that enters the namespace and ends
//! with the closure. Nothing ever has to return to the host namespace, which
//! a process inside an unprivileged user namespace could not do.
//!
//! # Without root
//!
//! Creating a network namespace needs `CAP_SYS_ADMIN`. A process that lacks
//! it (see [`has_cap_sys_admin`]) can call [`enter_user_namespace`] first
//! thing in `main`, while it is single-threaded, and then use this crate as
//! if it were root, for namespaces it creates itself.
//!
//! # Go names
//!
//! | Cilium `pkg/netns` | `netns_core` |
//! |---|---|
//! | `GetNetNSCookie()` | [`get_netns_cookie()`] |
//! | `Current()` | [`NetNs::current()`] |
//! | `New()` | [`NetNs::new()`] (or [`NetNs::new_with_loopback()`]) |
//! | `OpenPinned(path)` | [`NetNs::open_pinned(path)`](NetNs::open_pinned), which also checks the file is a network namespace |
//! | `(*NetNS).Close()` | [`NetNs::close()`], or just drop the handle |
//! | `(*NetNS).Do(f)` | [`NetNs::run(f)`](NetNs::run): `do` is a Rust keyword; returns `f`'s value, re-raises its panic |
//! | `(*NetNS).FD()` | [`NetNs::fd()`], [`AsFd`](std::os::fd::AsFd) |
//! | `(*NetNS).GetNetNSCookie()` (the inode, in later versions) | [`NetNs::cookie()`] is the real cookie; [`NetNs::id()`] is the inode |
//!
//! Beyond Go: [`NetNs::from_pid`], [`NetNs::from_thread`], [`NetNs::from_name`],
//! [`NetNs::pin`] / [`unpin`], [`NetNs::try_clone`], equality and hashing by
//! namespace, and a typed [`Error`] whose message names the fix.

mod cookie;
mod errno;
mod error;
mod factory;
mod loopback;
mod netns;
mod nsfile;
mod socket;
mod thread_state;
mod userns;
mod worker;

pub use cookie::get_netns_cookie;
pub use error::{Error, NsKind, Op, Result, Syscall};
pub use loopback::bring_up_loopback;
pub use netns::{NetNs, unpin};
pub use nsfile::NsId;
pub use userns::{enter_user_namespace, has_cap_sys_admin};
pub use worker::Worker;

pub use errno::Errno;

/// For netns-test only: not part of the API, and may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::factory::{Process, limit_met};
    pub use crate::thread_state::matches_process;
}
