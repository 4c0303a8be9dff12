use netns_test::netns_test;

#[netns_test("loopback")]
fn literal() {}

fn main() {}
