use netns_test::netns_test;

#[netns_test]
extern "C" fn exported() {}

fn main() {}
