// A non-test build leaves out the generated #[test] fns, the only users of
// `NetNs` here.
#![allow(unused_imports)]

use netns_test::{NetNs, netns_test};

#[netns_test]
async fn default_flavor() {}

#[netns_test]
async fn with_ns(ns: &NetNs) -> Result<(), String> {
    let _ = ns;
    std::future::ready(()).await;
    Ok(())
}

#[netns_test(flavor = "current_thread")]
async fn current_thread() {}

#[netns_test(flavor = "multi_thread")]
async fn multi_thread() {}

#[netns_test(flavor = "multi_thread", worker_threads = 2, loopback = false)]
async fn multi_thread_two_workers() {}

// `worker_threads` alone means `multi_thread`.
#[netns_test(worker_threads = 4)]
async fn implied_multi_thread() {}

#[netns_test]
#[should_panic(expected = "boom")]
async fn panics() {
    panic!("boom");
}

fn main() {}
