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
//! In a process that runs tests one after another, from its third test on,
//! a test with `lo` up (the default) gets a namespace made ahead of time,
//! while the tests before it ran (up to two are kept ready, each for one
//! test), so that its creation is off the test's path where a core is
//! idle: with `--test-threads=1`, a suite runs faster than one whose tests
//! create their namespaces themselves.
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
//! ```
//! # #[cfg(feature = "tokio")]
//! # mod example {
//! # use netns_test::netns_test;
//! #[netns_test(flavor = "multi_thread", worker_threads = 4)]
//! async fn serves_many_clients() {
//!     let listener = std::net::TcpListener::bind("127.0.0.1:80").unwrap();
//!     let listener = tokio::net::TcpListener::from_std(listener).unwrap();
//!     // ...
//! #   drop(listener);
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! # Test networks
//!
//! [`network`] (with the `network` feature) builds networks of namespaces
//! joined by veth links, with addresses, routes, routers, link faults and
//! netem impairment, over netlink. A test that takes `net: &Network` gets the two-host
//! [`Network::pair`](network::Network::pair); build any other with
//! [`Network::builder`](network::Network::builder):
//!
//! ```
//! # #[cfg(feature = "network")]
//! # mod example {
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
//! # }
//! # fn main() {}
//! ```
//!
//! # Options
//!
//! | option | meaning |
//! |---|---|
//! | `loopback = false` | keep `lo` down (it is up by default) |
//! | `uplink` | a host-like namespace: `eth0` at 10.0.2.15/24 and fd00:2::15/64, default routes through node `gateway` (10.0.2.2, fd00:2::2), which answers ping and silently drops TCP, UDP and whatever is for other addresses, so unroutable connects time out; `net: &Network` is that network (the test's own namespace is node `test`); see [`network::uplink`] |
//! | `network = path` | the test's network is built from `path`, a `fn() -> NetworkBuilder` (one topology, reused by many tests); `net: &Network` is that network |
//! | `node = "name"` | with `network`: the body runs inside node `name` (the test's own namespace is that node; `ns: &NetNs` is its namespace). A name the topology lacks fails the test |
//! | `timeout = "5s"` | fail the test if the body has not returned within this time (`"500ms"`, `"5s"`, `"2m"`; without it, `NETNS_TEST_TIMEOUT` sets a default for every test) — see [When a test fails](#when-a-test-fails) |
//! | `capture` | record every packet on every interface of the test's namespaces while the body runs, into a pcapng file kept if the test fails (`NETNS_TEST_CAPTURE` overrides it) — see [When a test fails](#when-a-test-fails) |
//! | `flavor = "current_thread"` / `"multi_thread"` | the tokio runtime of an `async fn` (default `current_thread`) |
//! | `worker_threads = N` | worker threads of the `multi_thread` runtime (alone, it implies `multi_thread`) |
//! | `crate = path` | where to find this crate, for crates that re-export it |
//!
//! ```
//! # #[cfg(feature = "network")]
//! # mod example {
//! # use netns_test::netns_test;
//! #[netns_test(uplink)]
//! fn behaves_like_a_host_behind_a_firewall() {
//!     let unroutable = "10.255.255.1:80".parse().unwrap();
//!     let timeout = std::time::Duration::from_millis(200);
//!     let error = std::net::TcpStream::connect_timeout(&unroutable, timeout).unwrap_err();
//!     assert_eq!(error.kind(), std::io::ErrorKind::TimedOut); // not ENETUNREACH
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! A topology written once serves every test that names it, and the body can
//! run in any of its nodes:
//!
//! ```
//! # #[cfg(feature = "network")]
//! # mod example {
//! use netns_test::netns_test;
//! use netns_test::network::{Endpoint, Network, NetworkBuilder};
//!
//! /// A client and a server behind a router.
//! fn routed() -> NetworkBuilder {
//!     Network::builder()
//!         .node("client")
//!         .router("router")
//!         .node("server")
//!         .link(
//!             Endpoint::new("client", "eth0").address("10.0.1.1/24"),
//!             Endpoint::new("router", "eth0").address("10.0.1.254/24"),
//!         )
//!         .link(
//!             Endpoint::new("router", "eth1").address("10.0.2.254/24"),
//!             Endpoint::new("server", "eth0").address("10.0.2.1/24"),
//!         )
//!         .route("client", "default", "10.0.1.254")
//!         .route("server", "default", "10.0.2.254")
//! }
//!
//! #[netns_test(network = routed, node = "client")]
//! fn the_client_reaches_the_server(net: &Network) {
//!     let server = net.node("server").unwrap();
//!     let listener = server.run(|| std::net::TcpListener::bind("10.0.2.1:80")).unwrap().unwrap();
//!     // The body is the client: no `run` needed.
//!     std::net::TcpStream::connect_timeout(&"10.0.2.1:80".parse().unwrap(), std::time::Duration::from_secs(5)).unwrap();
//!     drop(listener);
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! Misuse (generic functions, `self`, parameters other than `&NetNs` or
//! `&Network`, unknown or repeated options, `node` without `network`,
//! `network` with `uplink`, `async fn` without the `tokio` feature) is a
//! compile error pointing at the offending token.
//!
//! # When a test fails
//!
//! A `#[netns_test]` that fails (its body panics or returns an error) prints,
//! into the output libtest shows for a failed test, the state of its network
//! before anything is torn down — for a panic, as it was at the panic, with
//! the body's sockets; for an error, once the body has returned: for the test's
//! own namespace, every other node of its [`Network`](network::Network) and
//! its LANs' switches,
//! the links (state, MTU, MAC), IPv4 and IPv6 addresses, routes, IPv4
//! neighbours, TCP and UDP sockets with their states (`LISTEN`, `SYN-SENT`,
//! `ESTAB`, ...) and the forwarding settings — read from inside each
//! namespace (`/proc/thread-self/net`, `getifaddrs`), without `ip` or `ss`.
//! A `#[should_panic]` test that panics prints nothing, and
//! `NETNS_TEST_SNAPSHOT=off` ([`SNAPSHOT_ENV`]) turns it off (`on` is the
//! default; any other value fails the test, naming the two). Each kind of
//! entry is cut at 40 lines per namespace, addresses at 8 per interface,
//! namespaces at 16.
//!
//! A test that hangs fails too, given a limit: `#[netns_test(timeout =
//! "5s")]`, or `NETNS_TEST_TIMEOUT=5s` ([`TIMEOUT_ENV`]) for every test
//! without one of its own. The body then runs on a thread of its own; when
//! the limit passes, the test fails with `timed out after 5s` and the
//! snapshot, which shows what the body was waiting on (a socket in
//! `SYN-SENT`, a `LISTEN`ing one nobody connects to). The body's thread
//! cannot be stopped from outside: it is left running, detached, and keeps
//! the test's namespace and network alive until it returns or the test
//! process ends (libtest's process ends when the last test has run;
//! `cargo nextest` runs each test in a process of its own).
//!
//! And it can show what went over the wire. With `#[netns_test(capture)]`,
//! every packet on every interface of the test's own namespace, of every
//! node and of every LAN switch is recorded from just before the body
//! starts until it ends (or times out), into one pcapng file per test that
//! opens in Wireshark and `tcpdump -r`. Its interfaces are named
//! `NODE/IFACE`: `test/lo` for the test's own namespace (or the node's name,
//! if the body runs in a node), `server/eth0`, `office/port1` for a LAN's
//! switch. A failing test keeps it and prints where:
//!
//! ```text
//! netns_test: capture: /home/me/proj/target/netns-test/failures/refused_connect.pcapng
//! netns_test: captured 2 packets on 1 interfaces
//! ```
//!
//! The file is `<target dir>/netns-test/<test binary>/<test name, :: and /
//! as ->.pcapng` (or in `NETNS_TEST_CAPTURE_DIR`, [`CAPTURE_DIR_ENV`]); a
//! passing test's capture is deleted, with any an earlier run left there.
//! `NETNS_TEST_CAPTURE` ([`CAPTURE_ENV`]) overrides the option for a whole
//! run without editing code: `off`, `on-failure` (what `capture` means) or
//! `always` (keep every test's). Capturing needs no root: each namespace is
//! read through one `AF_PACKET` socket opened inside it. Packets are kept in
//! memory up to 64 MiB per test, 256 KiB of each; the line after the path
//! says how many were left out past that, or dropped by the kernel.
//!
//! # Without root
//!
//! Creating a network namespace needs `CAP_SYS_ADMIN`. A process can gain
//! it inside a user namespace of its own, but only while it is
//! single-threaded, and libtest starts threads before any test. So every
//! `#[netns_test]` also emits a constructor (an `.init_array` entry) into
//! the test binary, which runs before `main`: if the process lacks
//! `CAP_SYS_ADMIN` (asked of the kernel with `capget`), it enters a new user
//! namespace mapping the caller's uid and gid to 0, and a new mount
//! namespace. [`mode`] tells which world the process ended up in.
//!
//! Only test binaries are moved that way. A test binary whose tests use this
//! crate under a plain `#[test]` (a [`Network`](network::Network) built in
//! the body) writes [`before_main!()`](before_main) once at the top of the
//! file; any other program (a tool, an example, a benchmark) calls
//! [`init()`] first thing in `main`. A program that does neither runs as it
//! was started.
//!
//! In that world, tests run as uid 0 *inside* the user namespace (files they
//! create belong to the real uid outside, and there are no supplementary
//! groups); they can enter namespaces created inside it but never the host's
//! again; and this holds for every test of the binary, `#[netns_test]` or
//! not.
//!
//! Entering is tried first in a short-lived child (entering, the id maps, a
//! network namespace inside), and the process moves only if all of it
//! works. Where namespaces are refused — user namespaces by Ubuntu's
//! AppArmor (`kernel.apparmor_restrict_unprivileged_userns=1`, which lets a
//! user namespace be made and then denies every capability in it) or
//! `user.max_user_namespaces=0`, network namespaces by
//! `user.max_net_namespaces=0` in any enclosing user namespace or a
//! container's seccomp profile; a set-uid binary — the process stays exactly
//! as it started, and every `#[netns_test]` fails at once with a message
//! naming what was tried, the errno and the fixes. With the environment
//! variable [`NETNS_TEST_UNSUPPORTED=skip`](UNSUPPORTED_ENV) they print a
//! `skipped: ...` line and pass instead (libtest has no way to skip a test
//! at run time, so a skipped test shows as passed); `fail` is the default,
//! and any other value fails every test with a message listing the two.
//!
//! If the kernel's `user.max_net_namespaces` limit is reached (the kernel
//! frees namespaces asynchronously, tens of milliseconds after their last
//! user), creation of the test's namespace and of its network's nodes is
//! retried with a bounded backoff (up to 10 s) before the test fails.
//!
//! # The same network on every host
//!
//! A new network namespace is not a blank one: with the default
//! `net.core.devconf_inherit_init_net=0` the kernel copies the initial
//! namespace's `net.ipv4.conf.{all,default}` into it (and `lo` takes
//! `default`'s), so on a Docker host or CI runner with
//! `net.ipv4.ip_forward=1` every new namespace would forward. Before the
//! body runs, the test's namespace — and every node of a
//! [`Network`](network::Network) — is reset to the kernel's compiled-in
//! values, for `all`, `default` and `lo`:
//!
//! | `net.ipv4.conf.*` | value |
//! |---|---|
//! | `forwarding` (= `net.ipv4.ip_forward`), `bc_forwarding` | 0 (routers of a `Network`: `ip_forward` 1) |
//! | `rp_filter`, `accept_local`, `route_localnet`, `log_martians`, `src_valid_mark` | 0 |
//! | `accept_redirects`, `secure_redirects`, `send_redirects`, `shared_media` | 1 (on routers the kernel turns `all.accept_redirects` off with forwarding) |
//! | `accept_source_route` | 0 for `all`, 1 for `default` and `lo` (so: off) |
//! | `proxy_arp`, `proxy_arp_pvlan`, `arp_filter`, `arp_announce`, `arp_ignore`, `arp_accept`, `arp_notify` | 0 |
//! | `arp_evict_nocarrier` | 1 |
//! | `drop_gratuitous_arp`, `drop_unicast_in_l2_multicast`, `ignore_routes_with_linkdown`, `promote_secondaries`, `bootp_relay`, `force_igmp_version` | 0 |
//! | `igmpv2_unsolicited_report_interval`, `igmpv3_unsolicited_report_interval` | 10000, 1000 |
//! | `disable_policy`, `disable_xfrm` | 0 (1 on `lo`) |
//!
//! and `net.ipv6.conf.{all,default}.forwarding` to 0 (1 on routers); `tag`,
//! `medium_id` and the read-only `mc_forwarding` are left alone. The first
//! namespace of a test process is read in full; later ones get only the
//! writes that one needed, so on a host with the kernel's defaults this
//! costs nothing (with `devconf_inherit_init_net=3`, where a namespace
//! copies its creator's, every one is read). Where `/proc/sys` is read-only
//! (a container without `--privileged`), nothing can be reset, and a line
//! on stderr lists the host settings the tests see. What is not reset: the few other values the kernel copies
//! from the initial namespace (`net.ipv4.tcp_rmem`, `tcp_wmem` and the
//! default `tcp_congestion_control`: buffer sizes and algorithms, not
//! reachability), the kernel itself (its version and modules: `sch_netem`,
//! `dummy`), the host's limits (`user.max_net_namespaces`), and host
//! settings changed while a test process runs (read once per process).
//! `NetNs::new` on its own, like Go's `New`, keeps whatever the kernel
//! copied.
//!
//! # A private `/run/netns`
//!
//! `ip netns add NAME`, rtnetlink's `NetworkNamespace::add` and
//! [`NetNs::from_name`] use `/run/netns`, which on the host is root's and
//! shared. In every `#[netns_test]` body (and the threads and child
//! processes it starts) `/run/netns` is an empty, writable tmpfs of that
//! test's own: the thread that runs the body gets a mount namespace of its
//! own (`unshare(CLONE_NEWNS)` changes only the calling thread), a *slave*
//! of the process's, so the host's mounts still show and nothing mounted in
//! the test reaches the host. The host's `/run/netns` is never read or
//! written, as root or not, and what the test pinned there goes with it.
//! A mount namespace that a test leaves exactly as it found it (the body
//! returned success; nothing was mounted or unmounted in it; `/run/netns`
//! is still empty and unchanged; no thread or child process the body
//! started is still alive) is handed on to a later test of the same
//! process instead of being torn down: copying every mount and unmounting
//! them again costs the kernel a quarter of a test. What that cannot see
//! is a process the body left running after it detached from the test
//! process (a daemon that forked twice): it would share `/run/netns` with
//! a later test.
//! On a host without `/run/netns`, the test's `/run` is a tmpfs holding the
//! host's `/run` entries (bound back in place) and an empty `netns`. Where
//! mounting is refused (a container profile that denies `mount`), the test
//! runs all the same with the process's `/run/netns`, and a line on stderr
//! says so.
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
//! the host's settings reset, a private `/run/netns`, namespaces made
//! ahead of time, the retry on
//! `ENOSPC`, the checks on both sides of the body, the
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
// docs.rs marks the items of each feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's Rust examples, run as this crate's doctests, so that they
/// cannot drift from what compiles.
#[cfg(all(doctest, feature = "network"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod capture;
mod create;
mod harness;
mod ifreq;
mod mode;
#[cfg(feature = "network")]
#[cfg_attr(docsrs, doc(cfg(feature = "network")))]
pub mod network;
mod run_netns;
#[cfg(feature = "tokio")]
mod runtime;
mod settings;
mod snapshot;
mod spare;

pub use capture::{CAPTURE_DIR_ENV, CAPTURE_ENV};
pub use harness::{TIMEOUT_ENV, UNSUPPORTED_ENV, skip};
pub use mode::{Mode, init, mode};
pub use netns_core::{self, Error, NetNs, NsId, get_netns_cookie};
pub use netns_macros::netns_test;
pub use snapshot::SNAPSHOT_ENV;

/// What `#[netns_test]` expands to calls into this module. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::harness::{Options, Param, run, run_param};
    #[cfg(feature = "network")]
    pub use crate::harness::{Topology, run_with_network, run_with_topology, run_with_uplink};
    pub use crate::mode::before_main;
    #[cfg(feature = "network")]
    pub use crate::network::Network;
    #[cfg(feature = "tokio")]
    pub use crate::runtime::{Flavor, block_on};
    pub use crate::settings::expected as expected_settings;
    pub use crate::spare::ready as spares_ready;
    pub use netns_core::NetNs;
}
