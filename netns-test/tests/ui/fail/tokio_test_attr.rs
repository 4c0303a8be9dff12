use netns_test::netns_test;

#[netns_test]
#[tokio::test]
fn twice() {}

fn main() {}
