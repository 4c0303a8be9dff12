// A non-test build leaves out the generated #[test] fns, the only users of
// the imports here.
#![allow(unused_imports)]

use netns_test::network::Network;
use netns_test::{NetNs, netns_test};

#[netns_test(uplink)]
fn flag() {}

#[netns_test(uplink = true)]
fn with_its_network(net: &Network) {
    let _ = net.node("gateway");
}

#[netns_test(uplink, loopback = false)]
fn with_its_namespace(ns: &NetNs) {
    let _ = ns;
}

#[netns_test(uplink = false)]
fn without() {}

fn main() {}
