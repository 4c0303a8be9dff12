use netns_test::netns_test;
use netns_test::network::{Network, NetworkBuilder};

fn office() -> NetworkBuilder {
    Network::builder().node("a")
}

#[netns_test(node = "a")]
fn node_without_network() {}

#[netns_test(network = office, uplink)]
fn network_with_uplink() {}

#[netns_test(network = "office")]
fn network_not_a_path() {}

#[netns_test(network = office())]
fn network_called() {}

#[netns_test(network = office, node = a)]
fn node_not_a_string() {}

#[netns_test(network = office, node = "")]
fn node_empty() {}

#[netns_test(network = office, network = office)]
fn network_twice() {}

#[netns_test(network)]
fn network_without_value() {}

#[netns_test(network = office)]
fn network_out_of_reach() {}

#[netns_test(network = office)]
fn network_out_of_reach_with_ns(_ns: &netns_test::NetNs) {}

#[netns_test(network = "office", node = "a")]
fn only_the_bad_network_is_reported() {}

fn main() {}
