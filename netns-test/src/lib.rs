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
//! Each `#[netns_test]` is a `#[test]` whose body runs in a brand-new
//! network namespace, with `lo` up, on a thread that ends with the test.
//! Before the body runs, the harness checks by cookie that it is isolated:
//! its namespace's cookie differs from the host's (read once, before `main`)
//! and equals the new handle's. After it, the namespace is closed, and the
//! harness checks that libtest's thread never left the host namespace.
//!
//! # Signatures
//!
//! ```
//! # use netns_test::{NetNs, netns_test};
//! #[netns_test]
//! fn plain() {}
//!
//! #[netns_test]
//! fn with_result() -> Result<(), Box<dyn std::error::Error>> {
//!     std::net::TcpListener::bind("127.0.0.1:443")?;
//!     Ok(())
//! }
//!
//! #[netns_test]
//! fn with_its_namespace(ns: &NetNs) {
//!     // Run helpers in it from other threads, read its cookie, pin it...
//!     assert_eq!(ns.cookie().unwrap(), netns_test::get_netns_cookie().unwrap());
//! }
//!
//! #[netns_test]
//! fn with_a_two_host_network(net: &netns_test::network::Network) {
//!     // Nodes "client" (10.0.0.1, fd00::1) and "server" (10.0.0.2, fd00::2).
//!     let server = net.node("server").unwrap();
//!     server.run(|| std::net::TcpListener::bind("10.0.0.2:80").unwrap()).unwrap();
//! }
//!
//! #[netns_test]
//! #[should_panic(expected = "boom")]
//! fn panics_as_usual() {
//!     panic!("boom");
//! }
//! # fn main() {}
//! ```
//!
//! A `Result` test's error need not be `Send`: it is reported on the
//! namespace's thread, the way libtest reports it (`Error: ...`), and fails
//! the test. Attributes, doc comments, `#[ignore]` and `#[cfg]` stay on the
//! test; panics keep their message and location; output printed in the body
//! is captured like any test's.
//!
//! With the `tokio` feature, `async fn` tests get a runtime built *inside*
//! the namespace, so every worker thread is in it, and so is every blocking
//! thread it starts later:
//!
//! ```ignore
//! #[netns_test(flavor = "multi_thread", worker_threads = 4)]
//! async fn serves_many_clients() {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:80").await.unwrap();
//!     // ...
//! }
//! ```
//!
//! # Test networks
//!
//! [`network`] builds networks of namespaces joined by veth links, with
//! addresses, routes, routers, link faults and netem impairment, over
//! netlink. A test that takes `net: &Network` gets the two-host
//! [`Network::pair`](network::Network::pair); build any other with
//! [`Network::builder`](network::Network::builder):
//!
//! ```
//! use netns_test::netns_test;
//! use netns_test::network::Network;
//! use std::io::{Read, Write};
//!
//! #[netns_test]
//! fn client_and_server(net: &Network) {
//!     let listener = net.node("server").unwrap().run(|| std::net::TcpListener::bind("10.0.0.2:80")).unwrap().unwrap();
//!     let server = std::thread::spawn(move || listener.accept().unwrap().0.write_all(b"hi").unwrap());
//!     let mut client = net.node("client").unwrap().run(|| std::net::TcpStream::connect("10.0.0.2:80")).unwrap().unwrap();
//!     let mut answer = String::new();
//!     client.read_to_string(&mut answer).unwrap();
//!     assert_eq!(answer, "hi");
//!     server.join().unwrap();
//! }
//! # fn main() {}
//! ```
//!
//! # Options
//!
//! | option | meaning |
//! |---|---|
//! | `loopback = false` | keep `lo` down (it is up by default) |
//! | `flavor = "current_thread"` / `"multi_thread"` | the tokio runtime of an `async fn` (default `current_thread`) |
//! | `worker_threads = N` | worker threads of the `multi_thread` runtime (alone, it implies `multi_thread`) |
//! | `crate = path` | where to find this crate, for crates that re-export it |
//!
//! Misuse (generic functions, `self`, parameters other than `&NetNs`,
//! unknown or repeated options, `async fn` without the `tokio` feature) is a
//! compile error pointing at the offending token.
//!
//! # Without root
//!
//! Creating a network namespace needs `CAP_SYS_ADMIN`. A process can gain
//! it inside a user namespace of its own, but only while it is
//! single-threaded, and libtest starts threads before any test. So this
//! crate links a constructor (an `.init_array` entry) that runs before
//! `main`: if the process lacks `CAP_SYS_ADMIN`, it enters a new user
//! namespace mapping the caller's uid and gid to 0, and a new mount namespace.
//! [`mode`] tells which world the process ended up in.
//!
//! In that world, tests run as uid 0 *inside* the user namespace (files they
//! create belong to the real uid outside, and there are no supplementary
//! groups); they can enter namespaces created inside it but never the host's
//! again; and this holds for every test of the binary, `#[netns_test]` or
//! not.
//!
//! Where user namespaces are refused (Ubuntu's AppArmor
//! `kernel.apparmor_restrict_unprivileged_userns=1`,
//! `user.max_user_namespaces=0`, a container's seccomp profile), every
//! `#[netns_test]` fails with a message naming what was tried, the errno and
//! the fixes. With the environment variable
//! [`NETNS_TEST_UNSUPPORTED=skip`](UNSUPPORTED_ENV) they print a
//! `skipped: ...` line and pass instead: libtest has no way to skip a test at
//! run time, so a skipped test shows as passed.
//!
//! If the kernel's `user.max_net_namespaces` limit is reached (the kernel
//! frees namespaces asynchronously, tens of milliseconds after their last
//! user), creation is retried with a bounded backoff before the test fails.
//!
//! # The same without the macro
//!
//! ```
//! use netns_test::{NetNs, get_netns_cookie};
//!
//! // #[test]
//! fn binds_port_80() {
//!     let host = get_netns_cookie().unwrap();
//!     let ns = NetNs::new_with_loopback().unwrap();
//!     ns.run(|| {
//!         assert_ne!(get_netns_cookie().unwrap(), host);
//!         std::net::TcpListener::bind("127.0.0.1:80").unwrap();
//!     })
//!     .unwrap();
//! }
//! # fn main() { binds_port_80() }
//! ```
//!
//! — plus, in the macro's version: the user namespace set up before `main`,
//! the retry on `ENOSPC`, the checks on both sides of the body, the
//! actionable failure or skip where namespaces are unavailable, `Result`
//! bodies with non-`Send` errors, and async runtimes inside the namespace.
//!
//! # Go names
//!
//! [`netns_core`] (re-exported here) is a port of Cilium's `pkg/netns`:
//!
//! | Go | Rust |
//! |---|---|
//! | `netns.GetNetNSCookie()` | [`get_netns_cookie()`] |
//! | `netns.Current()` | [`NetNs::current()`] |
//! | `netns.New()` | [`NetNs::new()`] |
//! | `netns.OpenPinned(path)` | [`NetNs::open_pinned()`] |
//! | `ns.Close()` | [`NetNs::close()`] or drop |
//! | `ns.Do(f)` | [`NetNs::run()`] |
//! | `ns.FD()` | [`NetNs::fd()`] |
//!
//! # Running the tests
//!
//! `cargo test` (in parallel, with `--test-threads=1`, or `--exact NAME`)
//! and `cargo nextest run` (a process per test) both work, as root and not.
#![doc(html_root_url = "https://docs.rs/netns-test/0.1.0")]

mod harness;
mod mode;
pub mod network;
#[cfg(feature = "tokio")]
mod runtime;

pub use harness::UNSUPPORTED_ENV;
pub use mode::{Mode, mode};
pub use netns_core::{self, Error, NetNs, NsId, get_netns_cookie};
pub use netns_macros::netns_test;

/// What `#[netns_test]` expands to calls into this module. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{Options, run, run_with_network};
    pub use crate::network::Network;
    #[cfg(feature = "tokio")]
    pub use crate::runtime::{Flavor, block_on};
    pub use netns_core::NetNs;
}
