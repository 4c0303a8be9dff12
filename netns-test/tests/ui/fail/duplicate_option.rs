use netns_test::netns_test;

#[netns_test(loopback = true, loopback = false)]
fn twice() {}

fn main() {}
