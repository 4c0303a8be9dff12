use netns_test::netns_test;

#[netns_test]
fn type_param<T: Default>() {}

#[netns_test]
fn lifetime_param<'a>() {}

#[netns_test]
fn const_param<const N: usize>() {}

fn main() {}
