//! The benchmark: each of our operations against the same work done with
//! bare system calls written here, in one run, as ratios.
//!
//! ```text
//! cargo bench -p netns-tests --bench netns            # as root
//! setpriv --reuid=65534 --regid=65534 --clear-groups \
//!     target/release/deps/netns-HASH                  # in the user-namespace world
//! ```
//!
//! Absolute times drift on a shared machine; ratios measured in the same
//! run, with the two sides interleaved round by round, hold. Each figure is
//! the median over rounds of the mean time per operation in a round.
//! Sections: creation, `run`, cookies, per-test overhead of a 200-test
//! suite, and scale (5,000 live namespaces; 20,000 create/destroy cycles).
//! Pass section names (`create run cookie suite network scale`) to run only
//! those.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netns_core::{NetNs, get_netns_cookie};
use netns_tests::bounded::{
    CHILD_PATIENCE, PATIENCE, accept_within, connect_within, output_within, wait_within,
};
use netns_tests::census::{open_fds, threads};

const ROUNDS: usize = 7;

fn main() {
    let sections: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| sections.is_empty() || sections.iter().any(|s| s == name);
    // Unprivileged, this process enters a user namespace of its own, as a
    // test process does before main.
    let mode = netns_test::init();
    println!("netns benchmark — {}", world_line(mode));
    println!("kernel {}, {} cores\n", kernel(), cores());
    raise_fd_limit(60_000);

    let mut table = Table::default();
    let bare = BareThread::start();
    if wanted("create") {
        creation(&mut table, &bare);
    }
    if wanted("run") {
        run_round_trip(&mut table, &bare);
    }
    if wanted("cookie") {
        cookies(&mut table, &bare);
    }
    table.print();
    if wanted("suite") {
        suite();
    }
    if wanted("network") {
        networks();
    }
    if wanted("uplink") {
        uplink();
    }
    if wanted("capture") {
        capture();
    }
    if wanted("scale") {
        scale(&bare);
    }
}

// ---------------------------------------------------------------- sections

/// Creation, timed apart from destruction: the kernel frees a namespace
/// asynchronously, on a worker that competes for the two cores, so each
/// round creates a batch and holds it, and the batch is dropped and the
/// kernel given time to free it before the next round starts.
fn creation(table: &mut Table, bare: &BareThread) {
    const N: usize = 100;
    let (mut ours, mut base, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ours_lo, mut base_lo) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS * 2 {
        ours.push(batch(N, || NetNs::new().unwrap()));
        base.push(bare_batch(N, || bare.hold_many(N, false)));
        fresh.push(bare_batch(N, || fresh_thread_creations(N)));
        ours_lo.push(batch(N, || NetNs::new_with_loopback().unwrap()));
        base_lo.push(bare_batch(N, || bare.hold_many(N, true)));
    }
    let (ours, ours_lo) = (median(ours), median(ours_lo));
    table.row(
        "NetNs::new()",
        ours,
        "bare unshare on a long-lived thread",
        median(base),
        Some(1.05),
    );
    table.row(
        "NetNs::new()",
        ours,
        "bare unshare on a fresh thread each",
        median(fresh),
        None,
    );
    table.row(
        "NetNs::new_with_loopback()",
        ours_lo,
        "bare unshare + lo up, long-lived thread",
        median(base_lo),
        Some(1.05),
    );
}

/// Time per item to make `n` items one by one, held until all are made;
/// then they are dropped and the kernel is given time to free them.
fn batch<T>(n: usize, mut make: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    let held: Vec<T> = (0..n).map(|_| make()).collect();
    let elapsed = started.elapsed();
    drop(held);
    std::thread::sleep(Duration::from_millis(150));
    elapsed / n as u32
}

/// As [`batch`], for a baseline that makes all `n` at once.
fn bare_batch<T>(n: usize, make: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    let held = make();
    let elapsed = started.elapsed();
    drop(held);
    std::thread::sleep(Duration::from_millis(150));
    elapsed / n as u32
}

fn run_round_trip(table: &mut Table, bare: &BareThread) {
    const N: usize = 2_000;
    let ns = NetNs::new().unwrap();
    let (ours, base) = interleave(N, || ns.run(|| ()).unwrap(), |n| bare.setns_pairs(&ns, n));
    table.row(
        "NetNs::run(|| ()) round trip",
        ours,
        "bare setns in + setns back",
        base,
        Some(2.0),
    );
    let fresh = rounds(N, |n| {
        let started = Instant::now();
        for _ in 0..n {
            let fd = ns.as_raw_fd();
            std::thread::spawn(move || check(unsafe_setns(fd), "setns"))
                .join()
                .unwrap();
        }
        started.elapsed()
    });
    table.row(
        "NetNs::run(|| ()) round trip",
        ours,
        "fresh thread + bare setns",
        fresh,
        None,
    );
    let run = ours;

    // A worker: one thread resident in the namespace.
    let worker = ns.worker().unwrap();
    let (ours, base) = interleave(
        N * 10,
        || worker.run(|| ()).unwrap(),
        |n| bare.setns_pairs(&ns, n),
    );
    table.row(
        "Worker::run(|| ()) round trip",
        ours,
        "bare setns in + setns back",
        base,
        Some(3.0),
    );
    match go_do(N * 10) {
        Ok(go) => {
            let go_do = "Go: vishvananda/netns Do pattern";
            table.row("Worker::run(|| ()) round trip", ours, go_do, go, Some(1.0));
            table.row("NetNs::run(|| ()) round trip", run, go_do, go, None);
        }
        Err(why) => println!("skipped: the Go peer: {why}"),
    }
}

/// Go's `Do` of an empty function (`tests/go/do.go`: a goroutine that
/// locks its thread, `netns.Set`s into the namespace and back), median of
/// [`ROUNDS`] rounds of `n`, built here from Debian's packages (`golang-go`,
/// `golang-github-vishvananda-netns-dev`).
fn go_do(n: usize) -> Result<Duration, String> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/go/do.go");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-peer");
    let binary = dir.join("do");
    let built = |b: &Path| {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        modified(b).is_some_and(|at| Some(at) >= modified(Path::new(source)))
    };
    if !built(&binary) {
        let gopath = "/usr/share/gocode";
        if !Path::new(gopath)
            .join("src/github.com/vishvananda/netns")
            .is_dir()
        {
            return Err("install golang-go and golang-github-vishvananda-netns-dev".into());
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut go = Command::new("go");
        go.args(["build", "-o"])
            .arg(&binary)
            .arg(source)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOCACHE", dir.join("cache"));
        let out = output_within(&mut go, CHILD_PATIENCE).map_err(|e| format!("go build: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "go build: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let mut run = Command::new(&binary);
    run.arg(n.to_string()).arg(ROUNDS.to_string());
    let out = output_within(&mut run, CHILD_PATIENCE).map_err(|e| format!("{e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nanos: f64 = text.trim().parse().map_err(|_| {
        format!(
            "the Go peer said {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(Duration::from_nanos(nanos as u64))
}

fn cookies(table: &mut Table, bare: &BareThread) {
    const N: usize = 20_000;
    let (ours, base) = interleave(
        N,
        || {
            std::hint::black_box(get_netns_cookie().unwrap());
        },
        bare_cookies,
    );
    table.row(
        "get_netns_cookie()",
        ours,
        "bare socket + getsockopt + close",
        base,
        Some(1.1),
    );
    let ns = NetNs::new().unwrap();
    let (ours, base) = interleave(
        N,
        || {
            std::hint::black_box(ns.cookie().unwrap());
        },
        bare_cookies,
    );
    table.row(
        "NetNs::cookie() (a namespace from new)",
        ours,
        "bare socket + getsockopt + close",
        base,
        Some(1.1),
    );
    // A handle this process did not create knows no cookie: a helper thread
    // enters the namespace to read it.
    let opened = NetNs::from_fd(&ns).unwrap();
    let (ours, base) = interleave(
        N / 10,
        || {
            std::hint::black_box(opened.cookie().unwrap());
        },
        |n| bare.cookies_inside(&ns, n),
    );
    table.row(
        "NetNs::cookie() (an opened handle)",
        ours,
        "bare setns in + socket + getsockopt + close + setns back",
        base,
        None,
    );
    // Since Linux 6.18 an opened handle's cookie is one ioctl(NS_GET_ID).
    let (ours, base) = interleave(
        N,
        || {
            std::hint::black_box(opened.cookie().unwrap());
        },
        |n| bare_ns_get_ids(&opened, n),
    );
    table.row(
        "NetNs::cookie() (an opened handle)",
        ours,
        "bare ioctl(NS_GET_ID)",
        base,
        Some(1.2),
    );
}

/// `n` bare `ioctl(NS_GET_ID)`s on `ns`'s fd.
fn bare_ns_get_ids(ns: &NetNs, n: usize) -> Duration {
    const NS_GET_ID: libc::c_ulong = (2 << 30) | (8 << 16) | (0xb7 << 8) | 13;
    let started = Instant::now();
    for _ in 0..n {
        let mut id: u64 = 0;
        // SAFETY: NS_GET_ID writes one u64 through a valid pointer.
        let rc = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_ID as _, &raw mut id) };
        check(rc, "ioctl(NS_GET_ID)");
        std::hint::black_box(id);
    }
    started.elapsed()
}

/// The 200-test suite as `#[netns_test]`, as plain `#[test]`, and as one
/// `unshare -rn` process per test.
fn suite() {
    println!("\n200-test suite (each test binds and connects a TCP socket on 127.0.0.1)");
    let Some((netns, plain, floor_suite)) = suite_binaries() else {
        println!("  suite binaries not found next to this one: run `cargo bench -p netns-tests`");
        return;
    };
    let parallel = cores();
    let time = |what: &dyn Fn() -> bool| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                assert!(what(), "a suite run failed");
                started.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let run_binary = |bin: &Path| {
        status_within(Command::new(bin).arg("-q").stdout(Stdio::null())).is_ok_and(|s| s.success())
    };
    let names = test_names(&plain);
    // The three the target compares, interleaved round by round, so that
    // the machine's drift touches them alike (it moves a run by 10% and
    // more from one minute to the next here); each after a pause in which
    // the kernel frees the last one's 200 namespaces, which would otherwise
    // land on whichever runs next.
    let quiet = || std::thread::sleep(Duration::from_millis(300));
    let (mut netns_times, mut floor_times, mut bare_times) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        for (binary, times) in [(&netns, &mut netns_times), (&floor_suite, &mut floor_times)] {
            quiet();
            let started = Instant::now();
            assert!(run_binary(binary), "a suite run failed");
            times.push(started.elapsed());
        }
        quiet();
        let started = Instant::now();
        assert!(bare_suite(names.len(), parallel));
        bare_times.push(started.elapsed());
    }
    let (with_netns, with_floor) = (median(netns_times), median(floor_times));
    let floor = median(bare_times);
    let with_plain = time(&|| run_binary(&plain));
    let per_process = time(&|| process_per_test(&plain, &names, parallel));
    let per_test = |d: Duration| d.as_secs_f64() * 1e3 / names.len() as f64;
    println!(
        "  {:<44} {:>9.1} ms  ({:.3} ms/test)",
        "#[netns_test], one process",
        ms(with_netns),
        per_test(with_netns)
    );
    println!(
        "  {:<44} {:>9.1} ms  ({:.3} ms/test)",
        "plain #[test], one process, no isolation",
        ms(with_plain),
        per_test(with_plain)
    );
    println!(
        "  {:<44} {:>9.1} ms  ({:.3} ms/test)",
        format!("one `unshare -rn` process per test, {parallel} at once"),
        ms(per_process),
        per_test(per_process)
    );
    println!(
        "  {:<44} {:>9.1} ms  ({:.3} ms/test)",
        format!("bare floor: thread + unshare + lo up, {parallel} at once"),
        ms(floor),
        per_test(floor)
    );
    println!(
        "  {:<44} {:>9.1} ms  ({:.3} ms/test)",
        "floor suite: #[test]s that unshare + lo up",
        ms(with_floor),
        per_test(with_floor)
    );
    let over_floor = with_netns.as_secs_f64() / with_floor.as_secs_f64();
    println!(
        "  => #[netns_test] costs {over_floor:.2}x the floor suite (target <= 1.15x: {}), \
         {:.2}x the bare floor",
        verdict(over_floor <= 1.15),
        with_netns.as_secs_f64() / floor.as_secs_f64()
    );
    let speedup = per_process.as_secs_f64() / with_netns.as_secs_f64();
    let overhead = per_test(with_netns) - per_test(with_plain);
    println!(
        "  => #[netns_test] is {speedup:.1}x faster than process-per-test (target >= 4x: {}), \
         and adds {overhead:.3} ms per test over plain #[test] (target <= 1 ms: {})",
        verdict(speedup >= 4.0),
        verdict(overhead <= 1.0)
    );
}

fn scale(bare: &BareThread) {
    const LIVE: usize = 5_000;
    const CHURN: usize = 20_000;
    println!("\nscale");
    // 5,000 alive at once, ours and bare, each measured by how much memory
    // the machine loses while they live. A first, unmeasured round fills
    // the kernel's caches, so that neither side pays for growing them.
    drop((0..LIVE).map(|_| NetNs::new().unwrap()).collect::<Vec<_>>());
    settle();
    let before = Memory::now();
    let fds = bare.hold_many(LIVE, false);
    let base = Memory::now().per_item_since(&before, LIVE);
    drop(fds);
    settle();
    let before = Memory::now();
    let started = Instant::now();
    let live: Vec<NetNs> = (0..LIVE).map(|_| NetNs::new().unwrap()).collect();
    let rate = LIVE as f64 / started.elapsed().as_secs_f64();
    let ours = Memory::now().per_item_since(&before, LIVE);
    drop(live);
    println!("  {LIVE} live namespaces: created at {rate:.0}/s, no error");
    println!(
        "  kernel memory per namespace: ours {:.0} kB, bare {:.0} kB, ratio {:.2} (target <= 1.1: {}); \
         process memory per namespace: {:.2} kB",
        ours.kernel_kb,
        base.kernel_kb,
        ours.kernel_kb / base.kernel_kb,
        verdict(ours.kernel_kb / base.kernel_kb <= 1.1),
        ours.process_kb
    );
    if let (Some(ours), Some(base)) = (ours.slab_kb, base.slab_kb) {
        println!("  slab per namespace (/proc/slabinfo): ours {ours:.0} kB, bare {base:.0} kB");
    }

    settle();
    let (fds_before, threads_before) = (open_fds(), threads());
    let mut per_thousand = Vec::new();
    for _ in 0..CHURN / 1_000 {
        let started = Instant::now();
        for _ in 0..1_000 {
            drop(NetNs::new().unwrap());
        }
        per_thousand.push(1_000.0 / started.elapsed().as_secs_f64());
    }
    let (first, last) = (per_thousand[0], per_thousand[per_thousand.len() - 1]);
    println!(
        "  {CHURN} create/destroy cycles: first 1,000 at {first:.0}/s, last 1,000 at {last:.0}/s, \
         last/first {:.2} (target >= 0.9: {})",
        last / first,
        verdict(last / first >= 0.9)
    );
    println!(
        "  fds {fds_before} -> {}, threads {threads_before} -> {} (target: unchanged: {})",
        open_fds(),
        threads(),
        verdict(open_fds() == fds_before && threads() == threads_before)
    );
}

/// Building a line of `n` nodes (node i linked to node i+1, an address on
/// each end, everything up) and tearing it down: ours over netlink, against
/// the same with `ip` commands, the way users script it today.
fn networks() {
    println!("\ntest networks: build + tear down a line of n nodes");
    // `ip netns add` bind-mounts under /run/netns: only root can.
    let ip_works = matches!(netns_test::mode(), netns_test::Mode::Privileged)
        && output_within(Command::new("ip").arg("-V"), CHILD_PATIENCE).is_ok();
    for n in [2, 8] {
        let ours = median(
            (0..9)
                .map(|_| {
                    let started = Instant::now();
                    drop(line_network(n).build().unwrap());
                    started.elapsed()
                })
                .collect(),
        );
        if !ip_works {
            println!(
                "  {n} nodes: ours {:.1} ms (the `ip` baseline needs root: `ip netns add` mounts under /run/netns)",
                ms(ours)
            );
            continue;
        }
        let with_ip = median((0..9).map(|_| ip_line_network(n)).collect());
        println!(
            "  {n} nodes: ours {:.1} ms, with `ip` commands {:.1} ms: {:.1}x faster",
            ms(ours),
            ms(with_ip),
            with_ip.as_secs_f64() / ours.as_secs_f64()
        );
    }
    println!(
        "test networks: build + tear down a LAN of 8 hosts (a bridge in a namespace of its own)"
    );
    let ours = median(
        (0..9)
            .map(|_| {
                let started = Instant::now();
                drop(lan_network(8).build().unwrap());
                started.elapsed()
            })
            .collect(),
    );
    if ip_works {
        let with_ip = median((0..9).map(|_| ip_lan_network(8)).collect());
        println!(
            "  8 hosts: ours {:.1} ms, with `ip` commands {:.1} ms: {:.1}x faster",
            ms(ours),
            ms(with_ip),
            with_ip.as_secs_f64() / ours.as_secs_f64()
        );
    } else {
        println!(
            "  8 hosts: ours {:.1} ms (the `ip` baseline needs root)",
            ms(ours)
        );
    }
}

/// `n` hosts `h0`.. on one LAN, 10.0.9.1/24 and up.
fn lan_network(n: usize) -> netns_test::network::NetworkBuilder {
    use netns_test::network::{Endpoint, Network};
    let mut builder = Network::builder();
    for i in 0..n {
        builder = builder.node(&format!("h{i}"));
    }
    builder.lan(
        "lan",
        (0..n).map(|i| {
            Endpoint::new(&format!("h{i}"), "eth0").address(&format!("10.0.9.{}/24", i + 1))
        }),
    )
}

/// Runs `ip ARGS...` for a baseline, which must succeed.
fn ip(args: &[&str]) {
    let status = status_within(Command::new("ip").args(args)).unwrap();
    assert!(status.success(), "ip {args:?}");
}

/// The same LAN with iproute2, one command per step, then `ip netns del`.
fn ip_lan_network(n: usize) -> Duration {
    let prefix = format!("bench{}", std::process::id());
    let switch = format!("{prefix}-lan");
    let started = Instant::now();
    ip(&["netns", "add", &switch]);
    ip(&[
        "-n",
        &switch,
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "forward_delay",
        "0",
        "mcast_snooping",
        "0",
    ]);
    ip(&["-n", &switch, "link", "set", "br0", "up"]);
    for i in 0..n {
        let host = format!("{prefix}-{i}");
        let port = format!("port{i}");
        ip(&["netns", "add", &host]);
        ip(&["-n", &host, "link", "set", "lo", "up"]);
        ip(&[
            "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            &host,
        ]);
        ip(&["-n", &switch, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &switch, "link", "set", &port, "up"]);
        let address = format!("10.0.9.{}/24", i + 1);
        ip(&["-n", &host, "addr", "add", &address, "dev", "eth0"]);
        ip(&["-n", &host, "link", "set", "eth0", "up"]);
    }
    ip(&["netns", "del", &switch]);
    for i in 0..n {
        ip(&["netns", "del", &format!("{prefix}-{i}")]);
    }
    started.elapsed()
}

/// What `#[netns_test(uplink)]` adds to a test: the gateway node, the
/// link, addresses, routes and the gateway's rules.
fn uplink() {
    use netns_test::__private::{Options, run, run_with_uplink};
    const TESTS: u32 = 50;
    let options = Options {
        loopback: true,
        should_panic: None,
        timeout: None,
        capture: false,
    };
    println!(
        "\n#[netns_test] with and without `uplink`: one test at a time, median of 7 rounds of {TESTS}"
    );
    let (plain, uplinked) = with_and_without(
        TESTS,
        || {
            run(options, |_| ());
        },
        || {
            run_with_uplink(options, |_, _| ());
        },
    );
    println!(
        "  plain {:.2} ms, uplink {:.2} ms per test: uplink adds {:.2} ms",
        ms(plain),
        ms(uplinked),
        ms(uplinked.saturating_sub(plain))
    );
}

/// What `#[netns_test(capture)]` adds to a passing test: a packet socket
/// per namespace, a reader thread, and the capture thrown away at the end.
fn capture() {
    use netns_test::__private::{Options, Topology, run, run_with_topology};
    use std::process::ExitCode;
    const TESTS: u32 = 50;
    let options = |capture| Options {
        loopback: true,
        should_panic: None,
        timeout: None,
        capture,
    };
    // What a typical test does: a TCP connection and a few bytes.
    let body = |_: &NetNs| {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = connect_within(listener.local_addr().unwrap(), PATIENCE).unwrap();
        let (mut server, _) = accept_within(&listener, PATIENCE).unwrap();
        client.write_all(b"ping").unwrap();
        let mut answer = [0; 4];
        server.read_exact(&mut answer).unwrap();
    };
    let line = |describe: fn() -> netns_test::network::NetworkBuilder, name| Topology {
        describe,
        name,
        node: None,
    };
    let lines = [
        (2, line(|| line_network(2), "line_network(2)")),
        (8, line(|| line_network(8), "line_network(8)")),
    ];
    println!(
        "\n#[netns_test] with and without `capture` (passing tests): one test at a time, median of 7 rounds of {TESTS}"
    );
    let (plain, captured) = with_and_without(
        TESTS,
        || assert_eq!(run(options(false), body), ExitCode::SUCCESS),
        || assert_eq!(run(options(true), body), ExitCode::SUCCESS),
    );
    println!(
        "  a test (1 namespace, TCP connect + 4 bytes one way): plain {:.3} ms, captured {:.3} ms: capture adds {:.3} ms",
        ms(plain),
        ms(captured),
        ms(captured.saturating_sub(plain))
    );
    for (nodes, topology) in lines {
        let topology_run = |capture| {
            let code = run_with_topology(options(capture), topology, |_, _| ());
            assert_eq!(code, ExitCode::SUCCESS);
        };
        let (plain, captured) =
            with_and_without(TESTS, || topology_run(false), || topology_run(true));
        let added = captured.saturating_sub(plain);
        // The test's own namespace, and the nodes: lo each, and two veth
        // ends per link.
        let namespaces = nodes + 1;
        let interfaces = namespaces + 2 * (nodes - 1);
        println!(
            "  a line of {nodes} nodes ({namespaces} namespaces, {interfaces} interfaces): plain {:.3} ms, captured {:.3} ms: +{:.3} ms, {:.1} µs per namespace, {:.1} µs per interface",
            ms(plain),
            ms(captured),
            ms(added),
            us(added) / namespaces as f64,
            us(added) / interfaces as f64,
        );
    }
}

/// The time per test of `plain` and of `other`, each run `tests` times a
/// round, median of [`ROUNDS`] rounds, with the kernel given time to free
/// namespaces after each half.
fn with_and_without(tests: u32, plain: impl Fn(), other: impl Fn()) -> (Duration, Duration) {
    let per_test = |f: &dyn Fn()| {
        let started = Instant::now();
        for _ in 0..tests {
            f();
        }
        let took = started.elapsed() / tests;
        settle();
        took
    };
    let (mut plain_times, mut other_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain_times.push(per_test(&plain));
        other_times.push(per_test(&other));
    }
    (median(plain_times), median(other_times))
}

fn line_network(n: usize) -> netns_test::network::NetworkBuilder {
    use netns_test::network::{Endpoint, Network};
    let mut builder = Network::builder();
    for i in 0..n {
        builder = builder.node(&format!("n{i}"));
    }
    for i in 0..n - 1 {
        builder = builder.link(
            Endpoint::new(&format!("n{i}"), "right").address(&format!("10.0.{i}.1/24")),
            Endpoint::new(&format!("n{}", i + 1), "left").address(&format!("10.0.{i}.2/24")),
        );
    }
    builder
}

/// The same line with iproute2, one command per step, then `ip netns del`.
fn ip_line_network(n: usize) -> Duration {
    let prefix = format!("bench{}", std::process::id());
    let started = Instant::now();
    for i in 0..n {
        ip(&["netns", "add", &format!("{prefix}-{i}")]);
        ip(&["-n", &format!("{prefix}-{i}"), "link", "set", "lo", "up"]);
    }
    for i in 0..n - 1 {
        let (a, b) = (format!("{prefix}-{i}"), format!("{prefix}-{}", i + 1));
        ip(&[
            "-n", &a, "link", "add", "right", "type", "veth", "peer", "name", "left", "netns", &b,
        ]);
        ip(&[
            "-n",
            &a,
            "addr",
            "add",
            &format!("10.0.{i}.1/24"),
            "dev",
            "right",
        ]);
        ip(&[
            "-n",
            &b,
            "addr",
            "add",
            &format!("10.0.{i}.2/24"),
            "dev",
            "left",
        ]);
        ip(&["-n", &a, "link", "set", "right", "up"]);
        ip(&["-n", &b, "link", "set", "left", "up"]);
    }
    for i in 0..n {
        ip(&["netns", "del", &format!("{prefix}-{i}")]);
    }
    started.elapsed()
}

// ------------------------------------------------- the bare-syscall baseline

/// A long-lived thread, parked in a namespace of its own, that does the
/// baseline work with bare libc calls, timed on the thread itself.
struct BareThread {
    jobs: mpsc::Sender<Box<dyn FnOnce(RawFd) + Send>>,
}

impl BareThread {
    fn start() -> BareThread {
        let (jobs, rx) = mpsc::channel::<Box<dyn FnOnce(RawFd) + Send>>();
        std::thread::spawn(move || {
            // SAFETY: plain syscalls on this thread; results checked.
            check(unsafe { libc::unshare(libc::CLONE_NEWNET) }, "unshare");
            let park = open_thread_self_net();
            for job in rx {
                job(park.as_raw_fd());
            }
        });
        BareThread { jobs }
    }

    fn on_thread<T: Send + 'static>(&self, job: impl FnOnce(RawFd) -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        let job = Box::new(move |park| {
            let _ = tx.send(job(park));
        });
        self.jobs.send(job).unwrap();
        rx.recv().unwrap()
    }

    /// `n` times: unshare, open the new namespace, (bring lo up,) go back
    /// to the parking spot; returns the fds, which hold the namespaces.
    fn hold_many(&self, n: usize, loopback: bool) -> Vec<OwnedFd> {
        self.on_thread(move |park| {
            (0..n)
                .map(|_| {
                    // SAFETY: plain syscalls on this thread; results checked.
                    check(unsafe { libc::unshare(libc::CLONE_NEWNET) }, "unshare");
                    let fd = open_thread_self_net();
                    if loopback {
                        bare_loopback_up();
                    }
                    check(unsafe_setns(park), "setns");
                    fd
                })
                .collect()
        })
    }

    /// `n` times: setns into `ns`, read its cookie, and back to the parking spot.
    fn cookies_inside(&self, ns: &NetNs, n: usize) -> Duration {
        let target = ns.try_clone().unwrap();
        self.on_thread(move |park| {
            let started = Instant::now();
            for _ in 0..n {
                check(unsafe_setns(target.as_raw_fd()), "setns");
                std::hint::black_box(bare_cookie());
                check(unsafe_setns(park), "setns");
            }
            started.elapsed()
        })
    }

    /// `n` times: setns into `ns` and back to the parking spot.
    fn setns_pairs(&self, ns: &NetNs, n: usize) -> Duration {
        let target = ns.try_clone().unwrap();
        self.on_thread(move |park| {
            let started = Instant::now();
            for _ in 0..n {
                check(unsafe_setns(target.as_raw_fd()), "setns");
                check(unsafe_setns(park), "setns");
            }
            started.elapsed()
        })
    }
}

/// Go's way: a fresh thread per namespace, which unshares, opens it and ends.
fn fresh_thread_creations(n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|_| {
            std::thread::spawn(|| {
                // SAFETY: plain syscalls on a thread that ends right after.
                check(unsafe { libc::unshare(libc::CLONE_NEWNET) }, "unshare");
                open_thread_self_net()
            })
            .join()
            .unwrap()
        })
        .collect()
}

fn open_thread_self_net() -> OwnedFd {
    const PATH: &CStr = c"/proc/thread-self/ns/net";
    // SAFETY: a valid C string; the result is checked before use.
    let fd = unsafe { libc::open(PATH.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    check(fd, "open");
    // SAFETY: a new fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn unsafe_setns(fd: RawFd) -> i32 {
    // SAFETY: setns only reads the fd; callers keep it open.
    unsafe { libc::setns(fd, libc::CLONE_NEWNET) }
}

/// `n` bare cookie reads, timed.
fn bare_cookies(n: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(bare_cookie());
    }
    started.elapsed()
}

fn bare_cookie() -> u64 {
    // SAFETY: plain syscalls on memory we own; results checked.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(fd, "socket");
        let mut cookie = 0u64;
        let mut len = size_of::<u64>() as libc::socklen_t;
        let rc = libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_NETNS_COOKIE,
            (&raw mut cookie).cast(),
            &mut len,
        );
        check(rc, "getsockopt");
        libc::close(fd);
        cookie
    }
}

fn bare_loopback_up() {
    // SAFETY: plain syscalls on a zeroed `ifreq` we own; results checked.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        check(fd, "socket");
        let mut req: libc::ifreq = std::mem::zeroed();
        req.ifr_name[0] = b'l' as libc::c_char;
        req.ifr_name[1] = b'o' as libc::c_char;
        check(
            libc::ioctl(fd, libc::SIOCGIFFLAGS, &raw mut req),
            "SIOCGIFFLAGS",
        );
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        check(
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &raw const req),
            "SIOCSIFFLAGS",
        );
        libc::close(fd);
    }
}

fn check(rc: i32, what: &str) {
    assert!(rc >= 0, "{what}: {}", std::io::Error::last_os_error());
}

// ------------------------------------------------------------ measurement

/// Runs `ours` (one operation) and `base` (n operations, timed by itself)
/// in alternating rounds; returns the median time per operation of each.
fn interleave(
    n: usize,
    mut ours: impl FnMut(),
    mut base: impl FnMut(usize) -> Duration,
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..n {
            ours();
        }
        a.push(started.elapsed() / n as u32);
        b.push(base(n) / n as u32);
    }
    (median(a), median(b))
}

fn rounds(n: usize, mut f: impl FnMut(usize) -> Duration) -> Duration {
    median((0..ROUNDS).map(|_| f(n) / n as u32).collect())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[derive(Default)]
struct Table {
    rows: Vec<(String, Duration, String, Duration, Option<f64>)>,
}

impl Table {
    fn row(&mut self, ours: &str, t: Duration, base: &str, b: Duration, target: Option<f64>) {
        self.rows.push((ours.into(), t, base.into(), b, target));
    }

    fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        println!(
            "{:<40} {:>10} | {:<42} {:>10} | {:>6} | target",
            "ours", "µs/op", "baseline", "µs/op", "ratio"
        );
        for (ours, t, base, b, target) in &self.rows {
            let ratio = t.as_secs_f64() / b.as_secs_f64();
            let target = match target {
                Some(max) => format!("<= {max}x: {}", verdict(ratio <= *max)),
                None => "(reference)".into(),
            };
            println!(
                "{ours:<40} {:>10.2} | {base:<42} {:>10.2} | {ratio:>6.2} | {target}",
                us(*t),
                us(*b)
            );
        }
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// Memory figures per namespace between two readings.
struct PerItem {
    kernel_kb: f64,
    process_kb: f64,
    slab_kb: Option<f64>,
}

struct Memory {
    available_kb: u64,
    rss_kb: u64,
    slab_kb: Option<u64>,
}

impl Memory {
    fn now() -> Memory {
        let field = |file: &str, key: &str| -> u64 {
            std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            available_kb: field("/proc/meminfo", "MemAvailable:"),
            rss_kb: field("/proc/self/status", "VmRSS:"),
            slab_kb: slab_kb(),
        }
    }

    fn per_item_since(&self, before: &Memory, n: usize) -> PerItem {
        let n = n as f64;
        PerItem {
            kernel_kb: before.available_kb.saturating_sub(self.available_kb) as f64 / n,
            process_kb: self.rss_kb.saturating_sub(before.rss_kb) as f64 / n,
            slab_kb: match (self.slab_kb, before.slab_kb) {
                (Some(a), Some(b)) => Some(a.saturating_sub(b) as f64 / n),
                _ => None,
            },
        }
    }
}

/// Total slab memory from /proc/slabinfo (root only), in kB.
fn slab_kb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let bytes: u64 = text
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Active objects: freed ones that the cache keeps are not in use.
            let objects: u64 = f.get(1)?.parse().ok()?;
            let size: u64 = f.get(3)?.parse().ok()?;
            Some(objects * size)
        })
        .sum();
    Some(bytes / 1024)
}

/// Waits for the kernel to finish freeing namespaces (it does so
/// asynchronously, in batches that can take seconds for thousands), so that
/// one phase's cleanup does not land in the next: until free memory has
/// stayed put for three readings half a second apart.
fn settle() {
    let mut last = Memory::now().available_kb;
    let mut still = 0;
    for _ in 0..120 {
        std::thread::sleep(Duration::from_millis(500));
        let now = Memory::now().available_kb;
        still = if now.abs_diff(last) < 1_024 {
            still + 1
        } else {
            0
        };
        if still == 3 {
            return;
        }
        last = now;
    }
}

// ------------------------------------------------------------- the suites

fn suite_binaries() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let newest = |prefix: &str| {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(prefix) && !name.contains('.')
            })
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
    };
    Some((
        newest("suite_netns-")?,
        newest("suite_plain-")?,
        newest("suite_floor-")?,
    ))
}

fn test_names(bin: &Path) -> Vec<String> {
    let out = output_within(
        Command::new(bin).args(["--list", "--format", "terse"]),
        CHILD_PATIENCE,
    )
    .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Each test in a process of its own, in a new user and network namespace,
/// `parallel` processes at a time.
fn process_per_test(bin: &Path, names: &[String], parallel: usize) -> bool {
    let mut running = Vec::new();
    let mut ok = true;
    for name in names {
        if running.len() == parallel {
            let child: std::process::Child = running.remove(0);
            ok &= wait(child);
        }
        running.push(
            Command::new("unshare")
                .args(["-rn"])
                .arg(bin)
                .args(["--exact", name.as_str(), "-q"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    for child in running {
        ok &= wait(child);
    }
    ok
}

/// The kernel's floor for the same suite: each test on a fresh thread that
/// unshares a namespace, brings `lo` up and runs the body, with bare calls,
/// `parallel` tests at a time — no harness, no checks, no libtest.
fn bare_suite(tests: usize, parallel: usize) -> bool {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < tests {
                    std::thread::spawn(|| {
                        // SAFETY: plain syscalls on a thread that ends right after.
                        check(unsafe { libc::unshare(libc::CLONE_NEWNET) }, "unshare");
                        bare_loopback_up();
                        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                        let client = std::net::TcpStream::connect(listener.local_addr().unwrap());
                        // Connected, so the connection is queued: a
                        // non-blocking accept takes it, and never waits.
                        listener.set_nonblocking(true).unwrap();
                        drop((client.unwrap(), listener.accept().unwrap()));
                    })
                    .join()
                    .unwrap();
                }
            });
        }
    });
    true
}

/// Waits for `child` for at most a minute (then kills it): whether it succeeded.
fn wait(mut child: std::process::Child) -> bool {
    wait_within(&mut child, CHILD_PATIENCE).is_ok_and(|s| s.success())
}

/// `Command::status`, for at most a minute: then the command is killed, and
/// it is an error.
fn status_within(command: &mut Command) -> std::io::Result<std::process::ExitStatus> {
    let mut child = command.spawn()?;
    wait_within(&mut child, CHILD_PATIENCE)
}

// ---------------------------------------------------------------- context

fn world_line(mode: &netns_test::Mode) -> String {
    format!("{mode}, uid {}", nix::unistd::getuid())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn raise_fd_limit(want: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
