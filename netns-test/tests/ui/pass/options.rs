use netns_test::netns_test;

#[netns_test(loopback = false)]
fn no_loopback() {}

#[netns_test(loopback = true)]
fn trailing_comma() {}

#[netns_test()]
fn empty_parens() {}

fn main() {}
