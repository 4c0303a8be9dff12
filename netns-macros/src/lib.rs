//! The `#[netns_test]` attribute macro.
//!
//! Use this through netns-test, which re-exports the attribute, documents it
//! and provides the runtime the expansion calls into; on its own this crate
//! expands to code that does not compile.

mod attrs;
mod config;
mod errors;
mod expand;
mod signature;

use proc_macro::TokenStream;

/// A `#[test]` whose body runs in a brand-new Linux network namespace, with
/// `lo` up, on a thread of its own — as root or not.
///
/// ```
/// use netns_test::{NetNs, netns_test};
///
/// #[netns_test]
/// fn binds_port_80(ns: &NetNs) -> std::io::Result<()> {
///     // This namespace is the test's alone: port 80 is free.
///     let listener = std::net::TcpListener::bind("127.0.0.1:80")?;
///     assert_eq!(listener.local_addr()?.port(), 80);
///     assert_eq!(ns.cookie().unwrap(), netns_test::get_netns_cookie().unwrap());
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The test takes no parameter, `ns: &NetNs` (its namespace) or
/// `net: &Network` (its network, with the `network` feature) — recognised
/// by type, so `use netns_test::NetNs as Ns; fn t(ns: &Ns)` works — and returns
/// `()` or any `Result`. `#[should_panic]`, `#[ignore]`, `#[cfg]` and other
/// attributes keep working; with the `tokio` feature it may be an
/// `async fn`.
///
/// | option | meaning |
/// |---|---|
/// | `loopback = false` | keep `lo` down (it is up by default) |
/// | `timeout = "5s"` | fail the test if the body has not returned in time (`"500ms"`, `"5s"`, `"2m"`); `NETNS_TEST_TIMEOUT` sets a default |
/// | `capture` | record every packet of the test's namespaces into a pcapng file, kept if the test fails (`NETNS_TEST_CAPTURE=off\|on-failure\|always` overrides) |
/// | `uplink` | (`network` feature) a host-like namespace: `eth0`, addresses and default routes through a gateway node |
/// | `network = path` | (`network` feature) the test's network is built from `path`, a `fn() -> NetworkBuilder` |
/// | `node = "name"` | with `network`: the body runs inside that node |
/// | `flavor = "current_thread"` / `"multi_thread"`, `worker_threads = N` | (`tokio` feature) the runtime of an `async fn` test |
/// | `crate = path` | where to find netns-test, for crates that re-export it |
///
/// A failing test prints a snapshot of its network (links, addresses,
/// routes, neighbours, sockets); misuse is a compile error on the
/// offending token. The netns-test crate documents it all.
#[proc_macro_attribute]
pub fn netns_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::netns_test(args.into(), item.into()).into()
}
