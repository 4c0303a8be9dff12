use netns_test::netns_test;

#[netns_test(loopback = "false")]
fn string() {}

#[netns_test(loopback = 0)]
fn integer() {}

fn main() {}
