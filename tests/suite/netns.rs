//! Benchmark suite: 200 `#[netns_test]` tests (see `bench.rs`). Also an
//! ordinary part of the test suite: 200 namespaces, one after the other.

mod body;

two_hundred_tests!(netns_test::netns_test);
