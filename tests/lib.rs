//! Shared pieces of the workspace's integration suite.
//!
//! - [`scenarios`]: a tiny test runner for whole-process scenarios, each in a
//!   forked child that starts single-threaded, as entering a user namespace
//!   requires; it speaks enough of libtest's command line for `cargo test`
//!   and `cargo nextest run`.
//! - [`census`]: counts of the process's open fds and threads, to prove that
//!   nothing leaks.
//! - [`topologies`]: networks more than one test file builds.
//! - [`bounded`]: waits with an upper bound, so that a broken network or a
//!   stuck process fails a test with a message instead of hanging it.

pub mod census;
pub mod scenarios;
pub mod topologies;

/// Waits with an upper bound; shared with the examples, which show the
/// same discipline to readers.
pub use netns_examples::bounded;
