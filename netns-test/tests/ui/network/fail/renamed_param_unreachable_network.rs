use netns_test::netns_test;
use netns_test::network::{Network, NetworkBuilder};
use netns_test::NetNs as Ns;

fn two() -> NetworkBuilder {
    Network::builder().node("a").node("b")
}

// The network would be out of the body's reach: a namespace parameter,
// however spelled, with `network` and no `node`.
#[netns_test(network = two)]
fn unreachable(ns: &Ns) {
    let _ = ns;
}

fn main() {}
