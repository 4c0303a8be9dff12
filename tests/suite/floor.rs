//! Benchmark suite: the floor under `#[netns_test]` — the same 200 tests as
//! plain `#[test]`s whose libtest thread unshares into a new namespace and
//! brings `lo` up before the body: the least a libtest suite can do to run
//! each test in a namespace of its own (see `bench.rs`).

// Unprivileged, the process enters a user namespace first, as the
// `#[netns_test]` suite does.
netns_test::before_main!();

#[path = "body.rs"]
mod shared;

mod body {
    pub(crate) fn body() {
        // SAFETY: a plain syscall on libtest's thread for this test, which
        // ends with it.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        super::shared::body();
    }
}

two_hundred_tests!(test);
