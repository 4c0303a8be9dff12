// The network parameter is recognised by its type, however it is spelled.
#![allow(unused_imports, dead_code)]

use netns_test::netns_test;
use netns_test::network::{Network as Net, NetworkBuilder};
use netns_test::NetNs as Ns;

fn two() -> NetworkBuilder {
    Net::builder().node("a").node("b")
}

#[netns_test]
fn pair(net: &Net) {
    let _ = net.node("client");
}

#[netns_test(uplink)]
fn uplinked(net: &Net) {
    let _ = net.node("gateway");
}

#[netns_test(uplink)]
fn uplinked_ns(ns: &Ns) {
    let _ = ns;
}

#[netns_test(network = two)]
fn topology(net: &Net) {
    let _ = net.node("a");
}

#[netns_test(network = two, node = "a")]
fn in_a_node(ns: &Ns) {
    let _ = ns;
}

fn main() {}
