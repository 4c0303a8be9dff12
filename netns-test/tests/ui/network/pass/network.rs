// A non-test build leaves out the generated #[test] fns, the only users of
// the imports here.
#![allow(unused_imports, dead_code)]

use netns_test::network::{Endpoint, Network, NetworkBuilder};
use netns_test::{NetNs, netns_test};

fn office() -> NetworkBuilder {
    Network::builder().node("a").node("b").lan(
        "lan",
        [Endpoint::new("a", "eth0"), Endpoint::new("b", "eth0")],
    )
}

mod topologies {
    pub(crate) use super::office;
}

#[netns_test(network = office)]
fn built(net: &Network) {
    let _ = net.node("a");
}

#[netns_test(network = topologies::office, node = "a")]
fn in_a_node(ns: &NetNs) {
    let _ = ns;
}

#[netns_test(node = "b", network = crate::office, loopback = false)]
fn options_in_any_order() {}

#[netns_test(network = office, crate = ::netns_test)]
fn with_crate(net: &Network) {
    let _ = net;
}

#[netns_test(network = office, node = "a", capture, timeout = "5s")]
fn captured(net: &Network) {
    let _ = net;
}

#[netns_test(capture = false)]
fn not_captured() {}

fn main() {}
