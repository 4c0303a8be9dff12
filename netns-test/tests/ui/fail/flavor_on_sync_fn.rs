use netns_test::netns_test;

#[netns_test(flavor = "multi_thread")]
fn flavor() {}

#[netns_test(worker_threads = 2)]
fn worker_threads() {}

fn main() {}
