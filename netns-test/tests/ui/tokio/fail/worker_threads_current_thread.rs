use netns_test::netns_test;

#[netns_test(flavor = "current_thread", worker_threads = 2)]
async fn contradiction() {}

fn main() {}
