use netns_test::netns_test;

#[netns_test(uplink)]
fn host_like() {}

#[netns_test(loopback = false)]
fn no_network_needed() {}

fn main() {}
