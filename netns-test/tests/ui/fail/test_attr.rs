use netns_test::netns_test;

#[netns_test]
#[test]
fn twice() {}

fn main() {}
