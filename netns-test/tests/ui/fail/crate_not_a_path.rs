use netns_test::netns_test;

#[netns_test(crate = 5)]
fn integer() {}

#[netns_test(crate = "not a path")]
fn bad_string() {}

#[netns_test(crate = Vec::<u8>)]
fn generic() {}

fn main() {}
