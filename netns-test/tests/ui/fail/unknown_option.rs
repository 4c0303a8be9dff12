use netns_test::netns_test;

#[netns_test(lo = true)]
fn typo() {}

fn main() {}
