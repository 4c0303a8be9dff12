//! `#[netns_test]`: every test in its own Linux network namespace, under
//! plain `cargo test`, without root.
//!
//! ```
//! use netns_test::netns_test;
//!
//! #[netns_test]
//! fn binds_port_80_without_root() {
//!     // Port 80 is ours alone: this namespace has nothing else in it.
//!     let listener = std::net::TcpListener::bind("127.0.0.1:80").unwrap();
//!     let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
//!     assert_eq!(client.peer_addr().unwrap().port(), 80);
//! }
//! # fn main() {}
//! ```
//!
//! TODO: full docs
#![doc(html_root_url = "https://docs.rs/netns-test/0.1.0")]

mod harness;
mod mode;
#[cfg(feature = "tokio")]
mod runtime;

pub use harness::UNSUPPORTED_ENV;
pub use mode::{Mode, mode};
pub use netns_core::{self, Error, NetNs, NsId, get_netns_cookie};
pub use netns_macros::netns_test;

/// What `#[netns_test]` expands to calls into this module. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{Options, run};
    #[cfg(feature = "tokio")]
    pub use crate::runtime::{Flavor, block_on};
    pub use netns_core::NetNs;
}
