//! How failures look: a failing `#[netns_test]` must fail the test with the
//! body's own message, location and output, exactly like a `#[test]`.
//!
//! The failing tests are `#[ignore]`d so that a normal run passes; the
//! checks at the bottom run this same binary again with `--ignored` and
//! read what libtest printed.

use std::process::Command;

use netns_test::netns_test;

#[netns_test]
#[ignore = "fails on purpose; run by `failing_tests_fail_with_their_own_messages`"]
fn failing_assert() {
    println!("printed by the failing body");
    assert_eq!(1 + 1, 3, "arithmetic is broken");
}

#[netns_test]
#[ignore = "fails on purpose; run by `failing_tests_fail_with_their_own_messages`"]
fn failing_result() -> Result<(), String> {
    Err("the body's own error".to_owned())
}

#[netns_test]
#[ignore = "fails on purpose; run by `failing_tests_fail_with_their_own_messages`"]
#[should_panic(expected = "another message")]
fn failing_should_panic_with_the_wrong_message() {
    panic!("this message");
}

#[netns_test]
#[ignore = "passes; run by `passing_output_is_captured`"]
fn quiet_passing() {
    println!("captured and never shown");
}

fn two_hosts() -> netns_test::network::NetworkBuilder {
    netns_test::network::Network::builder()
        .node("client")
        .node("server")
}

#[netns_test(network = two_hosts, node = "nobody")]
#[ignore = "fails on purpose; run by `a_node_the_topology_lacks_fails_the_test`"]
fn unknown_node() {
    unreachable!("the body must not run");
}

#[netns_test(uplink)]
#[ignore = "fails on purpose; run by `a_failing_test_shows_its_network`"]
fn broken_network_test() {
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};
    let listener = TcpListener::bind("127.0.0.1:8080").unwrap();
    let patience = Duration::from_secs(5);
    let _client = TcpStream::connect_timeout(&listener.local_addr().unwrap(), patience).unwrap();
    // A connect still waiting when the test fails (the gateway drops it).
    std::thread::spawn(move || {
        TcpStream::connect_timeout(&"10.255.255.1:80".parse().unwrap(), patience)
    });
    let started = Instant::now();
    while !std::fs::read_to_string("/proc/thread-self/net/tcp")
        .unwrap()
        .contains(" 02 ")
    {
        assert!(started.elapsed() < patience, "the connect never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the server never answered");
}

#[netns_test]
#[ignore = "passes; run by `a_failing_test_shows_its_network`"]
#[should_panic(expected = "expected")]
fn expected_panic() {
    panic!("expected");
}

#[netns_test]
#[ignore = "passes; run by `a_failing_test_shows_its_network`"]
fn catches_its_own_panic() {
    assert!(std::panic::catch_unwind(|| panic!("caught")).is_err());
}

/// Waits for a client that never comes (for at most 20 s, as every wait
/// here is bounded).
fn wait_for_a_client() {
    use netns_tests::bounded::accept_within;
    let listener = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
    let _ = accept_within(&listener, std::time::Duration::from_secs(20));
}

#[netns_test(timeout = "300ms")]
#[ignore = "times out on purpose; run by `a_hung_test_times_out_and_shows_what_it_waits_on`"]
fn hangs() {
    wait_for_a_client();
}

#[netns_test]
#[ignore = "times out on purpose with NETNS_TEST_TIMEOUT; run by `a_hung_test_times_out_and_shows_what_it_waits_on`"]
fn hangs_without_a_limit_of_its_own() {
    wait_for_a_client();
}

#[netns_test(timeout = "5s")]
#[ignore = "passes; run by `a_hung_test_times_out_and_shows_what_it_waits_on`"]
fn quick_within_its_limit() -> Result<(), String> {
    std::net::TcpListener::bind("127.0.0.1:80").map_err(|e| e.to_string())?;
    Ok(())
}

fn a_lan() -> netns_test::network::NetworkBuilder {
    use netns_test::network::Endpoint;
    two_hosts().lan(
        "office",
        [
            Endpoint::new("client", "eth0").address("10.0.5.1/24"),
            Endpoint::new("server", "eth0").address("10.0.5.2/24"),
        ],
    )
}

#[netns_test(network = a_lan, node = "client")]
#[ignore = "fails on purpose; run by `a_failing_test_shows_its_network`"]
fn broken_lan_test() {
    panic!("the LAN is broken");
}

/// Runs this test binary with `args` and returns (success, output); a run
/// that has not ended after a minute is killed and fails the test.
fn run_self(args: &[&str]) -> (bool, String) {
    run_self_with(args, &[])
}

/// [`run_self`] with environment variables `env` set.
fn run_self_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    use netns_tests::bounded::{CHILD_PATIENCE, output_within};
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(args).args(["--test-threads", "1"]);
    command.envs(env.iter().copied());
    let out = output_within(&mut command, CHILD_PATIENCE).unwrap_or_else(|error| panic!("{error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs the ignored test `name` alone with `env` set, checks that it
/// failed, and returns its output.
fn failed(name: &str, env: &[(&str, &str)]) -> String {
    let (ok, out) = run_self_with(&["--ignored", "--exact", name], env);
    assert!(!ok, "{out}");
    out
}

/// Runs the ignored test `name` alone with `env` set and `--nocapture`
/// (so that nothing it prints is hidden), checks that it passed, and
/// returns its output.
fn passed(name: &str, env: &[(&str, &str)]) -> String {
    let (ok, out) = run_self_with(&["--ignored", "--exact", name, "--nocapture"], env);
    assert!(ok, "{out}");
    out
}

fn assert_has_all(out: &str, expected: &[&str]) {
    for expected in expected {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn failing_tests_fail_with_their_own_messages() {
    let (ok, out) = run_self(&["--ignored", "failing_"]);
    assert!(!ok, "the failing tests passed:\n{out}");
    for expected in [
        "test failing_assert ... FAILED",
        "test failing_result ... FAILED",
        "test failing_should_panic_with_the_wrong_message - should panic ... FAILED",
        // The assertion's message and the user's file and line, not ours.
        "arithmetic is broken",
        "tests/failures.rs:16",
        // The body's output, captured and shown for the failed test.
        "printed by the failing body",
        // A Result test's error, printed as libtest prints it.
        "Error: \"the body's own error\"",
        "panic did not contain expected string",
        "3 failed",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn passing_output_is_captured() {
    let (ok, out) = run_self(&["--ignored", "--exact", "quiet_passing"]);
    assert!(ok, "{out}");
    assert!(out.contains("1 passed"), "{out}");
    assert!(!out.contains("captured and never shown"), "{out}");
}

#[test]
fn a_node_the_topology_lacks_fails_the_test() {
    let out = failed("unknown_node", &[]);
    assert_has_all(
        &out,
        &[
            "test unknown_node ... FAILED",
            "cannot build the test's network two_hosts() with the body in node \"nobody\"",
            "no node is called \"nobody\"",
        ],
    );
    assert!(!out.contains("the body must not run"), "{out}");
}

#[test]
fn a_failing_test_shows_its_network() {
    let out = failed("broken_network_test", &[]);
    assert_has_all(
        &out,
        &[
            "the server never answered",
            "netns_test: the network when the test failed (NETNS_TEST_SNAPSHOT=off turns this off)",
            "--- the test's namespace (node test) ---",
            "eth0            UP,RUNNING,LOWER_UP",
            "10.0.2.15/24 fd00:2::15/64",
            "default via 10.0.2.2 dev eth0",
            "default via fd00:2::2 dev eth0",
            "10.0.2.0/24 dev eth0",
            "tcp  LISTEN       127.0.0.1:8080",
            "tcp  ESTAB ",
            "tcp  SYN-SENT     10.0.2.15:",
            "10.255.255.1:80",
            "--- node gateway ---",
            "10.0.2.2/24 fd00:2::2/64",
            "forwarding: ipv4 0, ipv6 0",
        ],
    );
    // Off means off.
    let out = failed("broken_network_test", &[("NETNS_TEST_SNAPSHOT", "off")]);
    assert!(out.contains("the server never answered"), "{out}");
    assert!(!out.contains("the network when"), "{out}");
    // A `#[should_panic]` test that passes prints nothing, even uncaptured;
    // nor does a test that catches its own panic.
    for passing in ["expected_panic", "catches_its_own_panic"] {
        let out = passed(passing, &[]);
        assert!(!out.contains("the network when"), "{out}");
    }
    // A LAN's switch is shown with the nodes.
    let out = failed("broken_lan_test", &[]);
    assert_has_all(
        &out,
        &[
            "--- the test's namespace (node client) ---",
            "10.0.5.1/24",
            "--- node server ---",
            "--- LAN office (its switch) ---",
            "br0             UP,RUNNING,LOWER_UP",
            "port1 ",
        ],
    );
    // Only `on` and `off` are values.
    let out = failed("quiet_passing", &[("NETNS_TEST_SNAPSHOT", "of")]);
    assert!(
        out.contains("NETNS_TEST_SNAPSHOT=\"of\" is not a valid value"),
        "{out}"
    );
    // A test that fails by returning an error shows it too.
    let out = failed("failing_result", &[]);
    assert!(out.contains("--- the test's namespace ---"), "{out}");
}

#[test]
fn a_hung_test_times_out_and_shows_what_it_waits_on() {
    let started = std::time::Instant::now();
    let out = failed("hangs", &[]);
    assert_has_all(
        &out,
        &[
            "test hangs ... FAILED",
            "netns_test: timed out after 300ms: the body had not returned",
            "tcp  LISTEN       127.0.0.1:8080",
        ],
    );
    // The process did not wait for the body's 20 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{out}"
    );

    let limited = [("NETNS_TEST_TIMEOUT", "200ms")];
    let out = failed("hangs_without_a_limit_of_its_own", &limited);
    assert!(out.contains("timed out after 200ms"), "{out}");
    passed("quick_within_its_limit", &limited);

    // A test's own limit wins over the variable, so it is not read there.
    let wrong = [("NETNS_TEST_TIMEOUT", "5 minutes")];
    passed("quick_within_its_limit", &wrong);
    let out = failed("quiet_passing", &wrong);
    assert!(out.contains("is not a valid time limit"), "{out}");
}
