use netns_test::netns_test;

#[netns_test(worker_threads = 0)]
async fn zero() {}

#[netns_test(worker_threads = "2")]
async fn string() {}

#[netns_test(worker_threads = -1)]
async fn negative() {}

fn main() {}
