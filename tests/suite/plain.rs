//! Benchmark suite: the same 200 tests as plain `#[test]`s (see `bench.rs`).

mod body;

two_hundred_tests!(test);
