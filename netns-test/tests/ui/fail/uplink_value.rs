use netns_test::netns_test;

#[netns_test(uplink = "yes")]
fn quoted() {}

#[netns_test(uplink(eth0))]
fn listed() {}

#[netns_test(uplink, uplink)]
fn twice() {}

fn main() {}
