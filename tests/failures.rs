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

/// Connects to `to`, where nothing listens, and fails.
fn refused(to: &str) {
    use std::net::TcpStream;
    let patience = std::time::Duration::from_secs(5);
    let error = TcpStream::connect_timeout(&to.parse().unwrap(), patience).unwrap_err();
    panic!("connect to {to} failed: {error}");
}

#[netns_test(capture)]
#[ignore = "fails on purpose; run by `a_failing_test_keeps_its_capture`"]
fn refused_connect() {
    refused("127.0.0.1:9");
}

fn addressed_pair() -> netns_test::network::NetworkBuilder {
    use netns_test::network::Endpoint;
    two_hosts().link(
        Endpoint::new("client", "eth0").address("10.0.7.1/24"),
        Endpoint::new("server", "eth0").address("10.0.7.2/24"),
    )
}

#[netns_test(network = addressed_pair, node = "client", capture)]
#[ignore = "fails on purpose; run by `a_failing_test_keeps_its_capture`"]
fn refused_across_a_link() {
    refused("10.0.7.2:9");
}

#[netns_test(network = addressed_pair, node = "client")]
#[ignore = "fails on purpose; run by `a_failing_test_shows_its_network`"]
fn broken_impaired_link(net: &netns_test::network::Network) {
    use netns_test::network::Netem;
    net.impair("client", "eth0", &Netem::new().rate(800_000))
        .unwrap();
    panic!("too slow");
}

#[netns_test(capture, timeout = "300ms")]
#[ignore = "times out on purpose; run by `a_failing_test_keeps_its_capture`"]
fn floods_after_its_limit() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let started = std::time::Instant::now();
    // Well past the limit, but not for ever.
    while started.elapsed() < std::time::Duration::from_secs(20) {
        let _ = socket.send_to(&[0; 1000], "127.0.0.1:9");
    }
}

#[netns_test(capture)]
#[ignore = "passes; run by `a_failing_test_keeps_its_capture`"]
fn captured_and_passing() {
    let _ = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:9".parse().unwrap(),
        std::time::Duration::from_secs(5),
    );
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
            "--- the network's veth pairs ---",
            "client eth0 <-> LAN office port0",
            "server eth0 <-> LAN office port1",
        ],
    );
    // Impairments show with the veth pairs.
    let out = failed("broken_impaired_link", &[]);
    assert_has_all(
        &out,
        &[
            "too slow",
            "client eth0 <-> server eth0 [client eth0: ",
            "rate 800000 bit/s]",
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

/// The path in the output's `netns_test: capture: PATH` line, which must
/// be there.
fn capture_path(out: &str) -> std::path::PathBuf {
    let line = out
        .lines()
        // With --nocapture, libtest's "test NAME ... " comes first.
        .find_map(|line| {
            line.split_once("netns_test: capture: ")
                .map(|(_, path)| path)
        })
        .unwrap_or_else(|| panic!("no capture line in:\n{out}"));
    let path = std::path::PathBuf::from(line);
    assert!(path.is_absolute(), "{out}");
    path
}

/// `<target dir>/netns-test/failures/NAME.pcapng`, where the capture of
/// test NAME goes; or, where this user cannot write the target dir (CI
/// runs root's build as uid 65534), the same name in a folder of its own,
/// given by `NETNS_TEST_CAPTURE_DIR`, returned with the variable.
fn capture_place(name: &str) -> (std::path::PathBuf, Vec<(&'static str, String)>) {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .expect("the target dir");
    let dir = target.join("netns-test").join("failures");
    let probe = dir.join(format!("probe-{}", std::process::id()));
    let writable = std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&probe, "").is_ok();
    let _ = std::fs::remove_file(&probe);
    if writable {
        return (dir.join(format!("{name}.pcapng")), Vec::new());
    }
    let own = std::env::temp_dir().join(format!("netns-captures-{}", std::process::id()));
    println!(
        "note: {} is not writable; using {}",
        dir.display(),
        own.display()
    );
    let file = own.join(format!("{name}.pcapng"));
    (
        file,
        vec![("NETNS_TEST_CAPTURE_DIR", own.display().to_string())],
    )
}

/// One TCP segment of a capture.
#[derive(Debug)]
struct Segment {
    interface: String,
    from: u16,
    to: u16,
    flags: u8,
    /// `epb_flags` direction: 1 inbound, 2 outbound.
    direction: u32,
}

/// What a pcapng file holds, read with the `pcap-file` crate: its
/// interfaces' names, every packet's time, and the TCP segments.
#[derive(Debug)]
struct Captured {
    interfaces: Vec<String>,
    times: Vec<std::time::Duration>,
    tcp: Vec<Segment>,
}

fn read_capture(file: &std::path::Path) -> Captured {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let mut reader = PcapNgReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut captured = Captured {
        interfaces: Vec::new(),
        times: Vec::new(),
        tcp: Vec::new(),
    };
    while let Some(block) = reader.next_block() {
        match block.unwrap() {
            Block::InterfaceDescription(interface) => {
                let name = interface.options.iter().find_map(|option| match option {
                    InterfaceDescriptionOption::IfName(name) => Some(name.to_string()),
                    _ => None,
                });
                assert_eq!(interface.linktype, pcap_file::DataLink::ETHERNET);
                captured
                    .interfaces
                    .push(name.expect("every interface is named"));
            }
            Block::EnhancedPacket(packet) => {
                captured.times.push(packet.timestamp);
                let direction = packet.options.iter().find_map(|option| match option {
                    EnhancedPacketOption::Flags(flags) => Some(flags & 3),
                    _ => None,
                });
                let frame = &packet.data;
                // Ethernet, then IPv4 (both ends here use IPv4).
                if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] {
                    continue;
                }
                let ip = &frame[14..];
                let header = usize::from(ip[0] & 0x0f) * 4;
                if ip[9] != 6 || ip.len() < header + 14 {
                    continue;
                }
                let tcp = &ip[header..];
                captured.tcp.push(Segment {
                    interface: captured.interfaces[packet.interface_id as usize].clone(),
                    from: u16::from_be_bytes([tcp[0], tcp[1]]),
                    to: u16::from_be_bytes([tcp[2], tcp[3]]),
                    flags: tcp[13],
                    direction: direction.expect("every packet has its direction"),
                });
            }
            _ => {}
        }
    }
    captured
}

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const INBOUND: u32 = 1;
const OUTBOUND: u32 = 2;

impl Captured {
    /// The SYNs to port 9 and the RSTs from it on `interface`, each seen
    /// going the given way there.
    fn refused_on(&self, interface: &str, syn: u32, rst: u32) -> (usize, usize) {
        let count = |to_9: bool, flag: u8, direction: u32| {
            self.tcp
                .iter()
                .filter(|s| {
                    s.interface == interface
                        && (if to_9 { s.to == 9 } else { s.from == 9 })
                        && s.flags & flag != 0
                        && s.direction == direction
                })
                .count()
        };
        (count(true, SYN, syn), count(false, RST, rst))
    }

    /// Every packet's time lies in `during`, and they come in time order.
    fn check_times(&self, during: std::ops::Range<std::time::Duration>) {
        assert!(self.times.is_sorted(), "{:?}", self.times);
        for time in &self.times {
            assert!(during.contains(time), "{time:?} outside {during:?}");
        }
    }
}

/// Now, since 1970.
fn now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
}

/// What `tcpdump -r` makes of the file, where tcpdump is installed (CI
/// installs Debian's).
fn tcpdump(file: &std::path::Path) -> Option<String> {
    use netns_tests::bounded::{CHILD_PATIENCE, output_within};
    if matches!(netns_test::mode(), netns_test::Mode::UserNamespace) {
        // Here tcpdump is uid 0 of our user namespace, so it tries to drop
        // to user `tcpdump`, whom the namespace does not map.
        eprintln!("skipped: tcpdump -r in a user namespace (it cannot drop privileges there)");
        return None;
    }
    let mut command = Command::new("tcpdump");
    command.arg("-nr").arg(file);
    match output_within(&mut command, CHILD_PATIENCE) {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "tcpdump failed: {}{text}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(text)
        }
        Err(error) => {
            let line = format!("skipped: tcpdump -r of {}: {error}", file.display());
            eprintln!("{line}");
            None
        }
    }
}

#[test]
fn a_failing_test_keeps_its_capture() {
    let (expected, env) = capture_place("refused_connect");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let started = now();
    let out = failed("refused_connect", &env);
    let file = capture_path(&out);
    assert_eq!(file, std::path::absolute(&expected).unwrap(), "{out}");
    assert!(out.contains("netns_test: captured "), "{out}");
    let captured = read_capture(&file);
    captured.check_times(started..now());
    assert_eq!(captured.interfaces, ["test/lo"]);
    // Loopback shows each packet once, as inbound.
    assert_eq!(
        captured.refused_on("test/lo", INBOUND, INBOUND),
        (1, 1),
        "{captured:?}"
    );
    if let Some(text) = tcpdump(&file) {
        assert!(text.contains("127.0.0.1.9: Flags [S]"), "{text}");
        assert!(text.contains("127.0.0.1.9 > 127.0.0.1."), "{text}");
        assert!(text.contains("Flags [R.]"), "{text}");
    }

    let (expected, _) = capture_place("refused_across_a_link");
    let started = now();
    let out = failed("refused_across_a_link", &env);
    let file = capture_path(&out);
    assert_eq!(file.file_name(), expected.file_name());
    let captured = read_capture(&file);
    captured.check_times(started..now());
    for interface in ["client/lo", "client/eth0", "server/lo", "server/eth0"] {
        assert!(
            captured.interfaces.iter().any(|i| i == interface),
            "{captured:?}"
        );
    }
    assert_eq!(
        captured.refused_on("client/eth0", OUTBOUND, INBOUND),
        (1, 1),
        "{captured:?}"
    );
    assert_eq!(
        captured.refused_on("server/eth0", INBOUND, OUTBOUND),
        (1, 1),
        "{captured:?}"
    );

    // A passing test's capture is deleted, and a stale one with it.
    let (kept, _) = capture_place("captured_and_passing");
    let kept = match env.first() {
        Some((_, dir)) => std::path::Path::new(dir).join("captured_and_passing.pcapng"),
        None => kept,
    };
    let out = passed("captured_and_passing", &env);
    assert!(!out.contains("netns_test: capture:"), "{out}");
    assert!(!kept.exists(), "{}", kept.display());
    // ... unless every capture is kept.
    let mut always = env.clone();
    always.push(("NETNS_TEST_CAPTURE", "always"));
    let out = passed("captured_and_passing", &always);
    assert_eq!(capture_path(&out), kept);
    assert!(!read_capture(&kept).tcp.is_empty());
    let out = passed("captured_and_passing", &env);
    assert!(!kept.exists(), "{out}");

    // The variable turns it off, or on for a test that did not ask.
    let mut off = env.clone();
    off.push(("NETNS_TEST_CAPTURE", "off"));
    let out = failed("refused_connect", &off);
    assert!(!out.contains("netns_test: capture"), "{out}");
    let mut on = env.clone();
    on.push(("NETNS_TEST_CAPTURE", "on-failure"));
    let out = failed("failing_result", &on);
    // Nothing went over the wire: the file still names the interfaces, so
    // it opens.
    let file = capture_path(&out);
    assert_eq!(read_capture(&file).interfaces, ["test/lo"]);
    assert!(read_capture(&file).times.is_empty());
    tcpdump(&file);
    // A hung test's capture is kept too, even one that keeps sending.
    let started = std::time::Instant::now();
    let out = failed("floods_after_its_limit", &env);
    assert!(out.contains("timed out after 300ms"), "{out}");
    let file = capture_path(&out);
    assert!(!read_capture(&file).times.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{out}"
    );

    // Bad values and unwritable folders say so.
    let out = failed("quiet_passing", &[("NETNS_TEST_CAPTURE", "yes")]);
    assert!(
        out.contains("NETNS_TEST_CAPTURE=\"yes\" is not a valid value; use `off`, `on-failure`"),
        "{out}"
    );
    let out = failed(
        "refused_connect",
        &[("NETNS_TEST_CAPTURE_DIR", "/proc/no/such/folder")],
    );
    assert!(
        out.contains(
            "netns_test: cannot write the capture to /proc/no/such/folder/refused_connect.pcapng"
        ),
        "{out}"
    );
    assert!(
        out.contains("set NETNS_TEST_CAPTURE_DIR to a folder this user can write"),
        "{out}"
    );
    if let Some((_, dir)) = env.first() {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
