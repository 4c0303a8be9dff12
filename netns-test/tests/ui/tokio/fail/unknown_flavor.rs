use netns_test::netns_test;

#[netns_test(flavor = "single_thread")]
async fn unknown() {}

#[netns_test(flavor = multi_thread)]
async fn not_a_string() {}

fn main() {}
