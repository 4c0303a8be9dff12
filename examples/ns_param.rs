//! A test that takes its namespace as a parameter.
//!
//! ```text
//! cargo test --example ns_param
//! ```
//!
//! `fn name(ns: &NetNs)` gets the handle of the test's own namespace: to
//! read its cookie, to run a helper in it from a thread started elsewhere,
//! or to pin it at a path where other tools can find it.

use std::net::TcpListener;

use netns_core::NetNs;

/// Starts a server thread in `ns` from any thread, wherever that thread is.
pub fn serve_in(
    ns: &NetNs,
    addr: &str,
) -> std::io::Result<std::thread::JoinHandle<std::io::Result<usize>>> {
    let listener = ns.run(|| TcpListener::bind(addr))??;
    Ok(netns_examples::spawn_server(listener, 1))
}

fn main() {
    println!("run the tests: cargo test --example ns_param");
}

#[cfg(test)]
mod tests {
    use super::*;
    use netns_test::{get_netns_cookie, netns_test};

    #[netns_test]
    fn the_handle_is_the_bodys_namespace(ns: &NetNs) {
        assert_eq!(ns.cookie().unwrap(), get_netns_cookie().unwrap());
        assert_eq!(*ns, NetNs::current().unwrap());
    }

    #[netns_test]
    fn a_server_started_from_another_namespace_lands_in_ours(ns: &NetNs) {
        // Start it from a thread in a second namespace: run() puts it in ours.
        let other = NetNs::new().unwrap();
        let server = other.run(|| serve_in(ns, "127.0.0.1:7")).unwrap().unwrap();
        assert_eq!(
            netns_examples::echo("127.0.0.1:7", "found you").unwrap(),
            "found you"
        );
        server.join().unwrap().unwrap();
    }

    #[netns_test]
    fn pinned_for_other_tools(ns: &NetNs) {
        let path = std::env::temp_dir().join(format!("ns-param-{}", std::process::id()));
        ns.pin(&path).unwrap();
        // Anything that opens the path gets this namespace, e.g. `nsenter --net=PATH`.
        assert_eq!(NetNs::open_pinned(&path).unwrap(), *ns);
        netns_core::unpin(&path).unwrap();
    }
}
