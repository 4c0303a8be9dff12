//! Nothing outlives a `#[netns_test]`: no fd, no thread, no namespace.
//!
//! Whole-process checks (thread and fd counts are per process, so no other
//! test may run beside them), each in a forked single-threaded child; see
//! `netns_tests::scenarios`.

// Its scenarios call the harness directly, as `#[netns_test]` would.
netns_test::before_main!();

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use netns_test::__private::{Options, run};
use netns_tests::bounded::{PATIENCE, accept_within, connect_within, retry};
use netns_tests::census::{open_fds, threads, threads_where};
use netns_tests::scenarios::{self, Scenario, check};

const SCENARIOS: &[Scenario] = &[
    ("no_fd_or_thread_outlives_a_test", no_fd_or_thread_leaks),
    ("no_namespace_outlives_a_test", no_namespace_leaks),
    (
        "nothing_outlives_a_network_even_when_the_test_panics",
        no_network_leaks,
    ),
];

fn main() {
    scenarios::main(SCENARIOS)
}

/// One test's worth of work: a namespace with lo up, a server and a client.
fn one_test() -> Result<(), String> {
    let code = run(
        Options {
            loopback: true,
            should_panic: None,
            timeout: None,
            capture: false,
        },
        |_| {
            let listener = TcpListener::bind("127.0.0.1:80").unwrap();
            let _client = connect_within("127.0.0.1:80", PATIENCE).unwrap();
            accept_within(&listener, PATIENCE).unwrap();
            std::thread::spawn(|| ()).join().unwrap();
        },
    );
    check(code == ExitCode::SUCCESS, || {
        format!("a test failed: {code:?}")
    })
}

fn no_fd_or_thread_leaks() -> Result<(), String> {
    // The first tests start netns-core's long-lived factory thread (and its
    // parking namespace's fd), which stay for the life of the process, and
    // netns-test's helper that keeps namespaces ready, which starts the
    // factory with its third namespace: count once it has made them (two
    // kept ready after a test took one), or given up.
    for _ in 0..3 {
        one_test()?;
    }
    retry("the spare namespaces", PATIENCE, || {
        let (ready, given_up) = netns_test::__private::spares_ready();
        if ready.len() == 2 || given_up {
            return Ok(());
        }
        // One is kept until a test takes one.
        one_test()?;
        Err(format!("{} ready", ready.len()))
    });
    let (fds, threads_before) = (steady(own_fds), settled(test_threads));
    for _ in 0..300 {
        one_test()?;
    }
    let fds_after = steady(own_fds);
    check(fds_after == fds, || {
        format!("fds: {fds} before, {fds_after} after 300 tests")
    })?;
    let threads_after = settled(test_threads);
    check(threads_after == threads_before, || {
        format!(
            "threads other than netns-core's helpers: {threads_before} before, \
             {threads_after} after 300 tests"
        )
    })
}

/// This process's fds but those of the namespaces netns-test keeps ready
/// for the next tests (see its `spare` module), which come and go.
fn own_fds() -> usize {
    open_fds() - netns_test::__private::spares_ready().0.len()
}

/// This process's threads but netns-core's and netns-test's helpers, which
/// start and retire as the libraries see fit.
fn test_threads() -> usize {
    threads_where(|name| !matches!(name, "netns-factory" | "netns-spares"))
}

/// `count()` once threads that were just joined have gone: join returns
/// when the kernel clears a thread's tid, a little before the task leaves
/// `/proc/self/task`. Waits (up to 2 s) until it has stopped falling.
fn settled(count: fn() -> usize) -> usize {
    read_until(count, |last, now| now >= last)
}

/// `count()` once it reads the same twice 20 ms apart (up to 2 s): the
/// helper that keeps namespaces ready makes them within milliseconds of a
/// test's end.
fn steady(count: fn() -> usize) -> usize {
    read_until(count, |last, now| now == last)
}

/// `count()` every 20 ms until `done(last, now)`, for up to 2 s.
fn read_until(count: fn() -> usize, done: fn(usize, usize) -> bool) -> usize {
    let started = std::time::Instant::now();
    let mut last = count();
    while started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        let now = count();
        if done(last, now) {
            return now;
        }
        last = now;
    }
    last
}

fn no_namespace_leaks() -> Result<(), String> {
    // In a user namespace of our own (we are single-threaded here), cap the
    // number of network namespaces far below the number of tests: if any
    // test left its namespace alive, creation would fail for good.
    netns_core::enter_user_namespace().map_err(|e| e.to_string())?;
    std::fs::write("/proc/sys/user/max_net_namespaces", "8")
        .map_err(|e| format!("lower max_net_namespaces: {e}"))?;
    for _ in 0..200 {
        one_test()?;
    }
    Ok(())
}

fn no_network_leaks() -> Result<(), String> {
    use netns_test::network::Network;
    // Warm up: netns-core's factory thread and its fd stay for good.
    for _ in 0..3 {
        drop(Network::pair().map_err(|e| e.to_string())?);
    }
    let (fds, threads_before) = (open_fds(), threads());
    // This child process panics on purpose: keep its report quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| {
        let net = Network::pair().unwrap();
        let _listener = net
            .node("server")
            .unwrap()
            .run(|| TcpListener::bind("10.0.0.2:80"));
        panic!("the test failed");
    });
    check(outcome.is_err(), || "the body did not panic".into())?;
    check(open_fds() == fds, || {
        format!("fds: {fds} before, {} after", open_fds())
    })?;
    check(threads() == threads_before, || {
        format!("threads: {threads_before} before, {} after", threads())
    })
}
