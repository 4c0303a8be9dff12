use netns_test::netns_test;

#[netns_test]
unsafe fn dangerous() {}

fn main() {}
