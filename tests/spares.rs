//! A test's namespace made ahead of time (netns-test's spares): from a
//! process's third test on, a test whose `lo` is up enters a brand-new
//! namespace made while the tests before it ran; a process that runs one
//! test makes none, a test without `lo` makes its own, a forked child never
//! takes its parent's, and at the namespace limit they are given up.
//!
//! Each scenario is a whole single-threaded process (see
//! `netns_tests::scenarios`), so that what it counts is its own.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netns_core::{enter_user_namespace, get_netns_cookie};
use netns_test::__private::{Options, run, spares_ready};
use netns_tests::bounded::{PATIENCE, connect_within};
use netns_tests::census::threads_where;
use netns_tests::scenarios::{self, Scenario, check};

const SCENARIOS: &[Scenario] = &[
    (
        "later_tests_enter_a_namespace_made_for_them",
        later_tests_take_one,
    ),
    ("a_process_that_runs_one_test_makes_none", one_test),
    ("a_test_without_loopback_makes_its_own", without_loopback),
    ("a_forked_child_never_takes_its_parents", forked_child),
    (
        "at_the_namespace_limit_spares_are_given_up",
        given_up_at_the_limit,
    ),
];

fn main() {
    scenarios::main(SCENARIOS)
}

/// [`scenarios::privileged`], with netns-test's start-up done (a
/// scenario's process has no `#[netns_test]` constructor of its own).
fn privileged() -> Result<(), String> {
    scenarios::privileged()?;
    netns_test::init();
    Ok(())
}

/// What a body saw: its namespace's cookie and whether `lo` was up.
fn run_seeing(loopback: bool) -> Result<(u64, bool), String> {
    let options = Options {
        loopback,
        should_panic: None,
        timeout: None,
        capture: false,
    };
    let (tx, rx) = mpsc::channel();
    let code = run(options, move |_| {
        let lo_up = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| connect_within(l.local_addr()?, PATIENCE))
            .is_ok();
        tx.send((get_netns_cookie().unwrap(), lo_up)).unwrap();
    });
    check(code == ExitCode::SUCCESS, || "the test failed".to_owned())?;
    rx.recv_timeout(PATIENCE)
        .map_err(|e| format!("the body never reported: {e}"))
}

/// The spares' cookies once as many as `want` are ready (within 5 s).
fn ready(want: usize) -> Result<Vec<u64>, String> {
    let started = Instant::now();
    loop {
        let (ready, _) = spares_ready();
        if ready.len() >= want {
            return Ok(ready);
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Err(format!(
                "{} spares ready after 5 s, not {want}",
                ready.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn later_tests_take_one() -> Result<(), String> {
    privileged()?;
    let host = get_netns_cookie().map_err(|e| e.to_string())?;
    // The second test starts the helper.
    run_seeing(true)?;
    run_seeing(true)?;
    let mut seen = Vec::new();
    for round in 0..5 {
        // One is kept ready until a test takes one, then two.
        let spares = ready(if round == 0 { 1 } else { 2 })?;
        let (cookie, lo_up) = run_seeing(true)?;
        check(spares.contains(&cookie) && lo_up && cookie != host, || {
            format!("a test got namespace {cookie} (lo up: {lo_up}); the spares were {spares:?}")
        })?;
        check(!seen.contains(&cookie), || {
            format!("namespace {cookie} went to two tests")
        })?;
        seen.push(cookie);
    }
    Ok(())
}

/// The helper threads now alive.
fn helpers() -> usize {
    threads_where(|name| name == "netns-spares")
}

fn one_test() -> Result<(), String> {
    privileged()?;
    run_seeing(true)?;
    std::thread::sleep(Duration::from_millis(100));
    let helpers = helpers();
    let (spares, _) = spares_ready();
    check(helpers == 0 && spares.is_empty(), || {
        format!("after one test: {helpers} helper, {spares:?} spares")
    })
}

fn given_up_at_the_limit() -> Result<(), String> {
    // A user namespace of our own, whose namespace limit we may set.
    enter_user_namespace().map_err(|e| e.to_string())?;
    std::fs::write("/proc/sys/user/max_net_namespaces", "8")
        .map_err(|e| format!("lower max_net_namespaces: {e}"))?;
    netns_test::init();
    run_seeing(true)?;
    run_seeing(true)?;
    ready(1)?;
    // A test that holds every namespace it can get, as a network test might
    // (without `lo`: it leaves the spare where it is).
    let code = run(
        Options {
            loopback: false,
            should_panic: None,
            timeout: None,
            capture: false,
        },
        |_| {
            let mut held = Vec::new();
            let refused = loop {
                match netns_core::NetNs::new() {
                    Ok(ns) if held.len() < 64 => held.push(ns),
                    Ok(_) => break None,
                    Err(error) => break error.errno(),
                }
            };
            assert_eq!(
                refused,
                Some(netns_core::Errno::ENOSPC),
                "held {}",
                held.len()
            );
        },
    );
    check(code == ExitCode::SUCCESS, || {
        "the holding test failed".to_owned()
    })?;
    // The next test finds them given up, and makes its own.
    run_seeing(true)?;
    let started = Instant::now();
    loop {
        let (spares, given_up) = spares_ready();
        let helpers = helpers();
        if given_up && spares.is_empty() && helpers == 0 {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Err(format!(
                "5 s after the limit: given up {given_up}, {spares:?} ready, {helpers} helper"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn without_loopback() -> Result<(), String> {
    privileged()?;
    run_seeing(true)?;
    run_seeing(true)?;
    let spares = ready(1)?;
    let (cookie, lo_up) = run_seeing(false)?;
    check(!spares.contains(&cookie) && !lo_up, || {
        format!("a test without loopback got {cookie} (lo up: {lo_up}); spares {spares:?}")
    })
}

fn forked_child() -> Result<(), String> {
    privileged()?;
    run_seeing(true)?;
    run_seeing(true)?;
    let spares = ready(1)?;
    scenarios::in_child(|| {
        let (cookie, _) = run_seeing(true)?;
        check(!spares.contains(&cookie), || {
            format!("the child's test got its parent's spare {cookie}")
        })
    })?;
    // The parent's are still the parent's.
    let (cookie, _) = run_seeing(true)?;
    check(spares.contains(&cookie), || {
        format!("the parent's test got {cookie}, not one of its spares {spares:?}")
    })
}
