use netns_test::netns_test;

#[netns_test(capture = "on-failure")]
fn quoted() {}

#[netns_test(capture(eth0))]
fn listed() {}

#[netns_test(capture, capture = false)]
fn twice() {}

fn main() {}
