use netns_test::netns_test;

#[netns_test(timeout = 5)]
fn a_number() {}

#[netns_test(timeout = "5")]
fn no_unit() {}

#[netns_test(timeout = "1.5s")]
fn a_fraction() {}

#[netns_test(timeout = "0s")]
fn zero() {}

#[netns_test(timeout = "5h")]
fn hours() {}

#[netns_test(timeout)]
fn no_value() {}

fn main() {}
