use netns_test::netns_test;

#[netns_test(loopback)]
fn bare() {}

#[netns_test(loopback(false))]
fn list() {}

fn main() {}
