use netns_test::netns_test;

#[netns_test]
fn variadic(_: ...) {}

fn main() {}
