//! Host-like test namespaces: what real test suites expect of a machine.
//!
//! Every `#[netns_test]` body has a `/run/netns` of its own: empty,
//! writable, as root and unprivileged, shared with no other test and never
//! the host's, so `ip netns add` and pinning by name work in any world.

use std::io::Write;
use std::process::Command;

use netns_test::{NetNs, netns_test};
use netns_tests::bounded::{CHILD_PATIENCE, output_within};

#[netns_test]
fn run_netns_is_empty_and_writable() {
    let entries: Vec<_> = std::fs::read_dir("/run/netns")
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(
        entries.is_empty(),
        "another test's or the host's: {entries:?}"
    );
    std::fs::write("/run/netns/scratch", "x").unwrap();
}

/// Two tests pin the same name, maybe at the same time: each has its own
/// `/run/netns`, so neither meets the other's file.
#[netns_test]
fn a_name_pinned_in_one_test() {
    pin_and_find("same-name");
}

#[netns_test]
fn a_name_pinned_in_another_test() {
    pin_and_find("same-name");
}

fn pin_and_find(name: &str) {
    let ns = NetNs::new().unwrap();
    ns.pin(format!("/run/netns/{name}")).unwrap();
    assert_eq!(NetNs::from_name(name).unwrap(), ns);
}

/// The rest of the host's `/run` is still there around it.
#[netns_test]
fn the_hosts_run_is_still_there() {
    for entry in ["lock", "user", "systemd", "shm"] {
        let path = format!("/run/{entry}");
        let hosts = host_has(&path);
        assert_eq!(
            std::path::Path::new(&path).exists(),
            hosts,
            "{path} differs from the host's"
        );
    }
}

/// Whether the host (the main thread's mount namespace) has `path`.
fn host_has(path: &str) -> bool {
    let main = std::process::id();
    std::path::Path::new(&format!("/proc/{main}/root{path}")).exists()
}

#[netns_test]
fn ip_netns_add_works_in_the_body() {
    let ip = |args: &[&str]| {
        let mut command = Command::new("ip");
        command.args(args);
        output_within(&mut command, CHILD_PATIENCE)
    };
    let version = match ip(&["-V"]) {
        Ok(out) if out.status.success() => out,
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "skipped: ip_netns_add_works_in_the_body: no `ip` here (iproute2)"
            );
            return;
        }
    };
    drop(version);
    let added = ip(&["netns", "add", "blue"]).unwrap();
    assert!(
        added.status.success(),
        "ip netns add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let blue = NetNs::from_name("blue").unwrap();
    assert_ne!(blue, NetNs::current().unwrap());
    let listed = ip(&["netns", "list"]).unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("blue"));
    let deleted = ip(&["netns", "del", "blue"]).unwrap();
    assert!(deleted.status.success());
    assert!(NetNs::from_name("blue").is_err());
}

// --- `#[netns_test(uplink)]`: eth0, default routes, a silent gateway ---

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use netns_test::network::Network;

/// How long a connect that must time out is given.
const SHORT: Duration = Duration::from_millis(500);

fn assert_times_out(addr: &str) {
    let addr: SocketAddr = addr.parse().unwrap();
    let error = TcpStream::connect_timeout(&addr, SHORT).unwrap_err();
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::TimedOut,
        "connect to {addr}: {error} (a real host behind a firewall waits)"
    );
}

/// The source address the kernel picks to reach `to`: which route it takes.
fn source_for(to: &str) -> IpAddr {
    let socket = UdpSocket::bind(if to.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })
    .unwrap();
    socket.connect(to).unwrap();
    socket.local_addr().unwrap().ip()
}

#[netns_test(uplink)]
fn uplink_gives_eth0_addresses_and_default_routes(net: &Network) {
    let test = net.node("test").unwrap();
    assert_eq!(test.ns(), &NetNs::current().unwrap());
    let eth0 = net.interface("test", "eth0").unwrap();
    assert!(eth0.up && eth0.carrier, "{eth0:?}");
    for address in [("10.0.2.15", 24), ("fd00:2::15", 64)] {
        let address = (address.0.parse().unwrap(), address.1);
        assert!(eth0.addresses.contains(&address), "{address:?} in {eth0:?}");
    }
    // Anywhere is reached through eth0, by the default routes.
    assert_eq!(
        source_for("198.51.100.7:9"),
        "10.0.2.15".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        source_for("[2001:db8::7]:9"),
        "fd00:2::15".parse::<IpAddr>().unwrap()
    );
    assert!(net.node("gateway").is_ok());
}

#[netns_test(uplink)]
fn unroutable_and_refused_connects_time_out_as_behind_a_firewall() {
    assert_times_out("10.255.255.1:80"); // socket2's connect_timeout_unrouteable
    assert_times_out("10.0.2.2:80"); // the gateway itself: no reset
    assert_times_out("[2001:db8::1]:80");
    assert_times_out("[fd00:2::2]:80");
}

#[netns_test(uplink)]
fn the_gateway_answers_ping_and_nothing_else() {
    assert!(
        ping(IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2))),
        "no echo reply from 10.0.2.2"
    );
    assert!(
        ping("fd00:2::2".parse().unwrap()),
        "no echo reply from fd00:2::2"
    );
    // UDP to the gateway: no port unreachable comes back.
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket.connect("10.0.2.2:9").unwrap();
    socket.send(b"anyone?").unwrap();
    socket.set_read_timeout(Some(SHORT)).unwrap();
    let error = socket.recv(&mut [0; 16]).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
}

#[netns_test(uplink)]
fn multicast_joins_on_eth0_work() {
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let receiver = UdpSocket::bind("0.0.0.0:0").unwrap();
    receiver
        .join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
        .unwrap();
    let port = receiver.local_addr().unwrap().port();
    let sender = UdpSocket::bind("10.0.2.15:0").unwrap();
    sender.send_to(b"to the group", (group, port)).unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buffer = [0; 32];
    let (n, from) = receiver.recv_from(&mut buffer).unwrap();
    assert_eq!(&buffer[..n], b"to the group");
    assert_eq!(from.ip(), IpAddr::V4(Ipv4Addr::new(10, 0, 2, 15)));

    // SAFETY: a NUL-terminated name; the call only reads it.
    let index = unsafe { libc::if_nametoindex(c"eth0".as_ptr()) };
    assert_ne!(index, 0, "no eth0: {}", std::io::Error::last_os_error());
    let receiver6 = UdpSocket::bind("[::]:0").unwrap();
    let group6: Ipv6Addr = "ff02::1:2:3".parse().unwrap();
    receiver6.join_multicast_v6(&group6, index).unwrap();
}

#[netns_test(uplink)]
fn uplink_with_the_namespace_as_parameter(ns: &NetNs) {
    assert_eq!(ns, &NetNs::current().unwrap());
    assert_times_out("10.255.255.1:443");
}

#[netns_test(uplink)]
async fn uplink_in_an_async_test() {
    let connect = tokio::net::TcpStream::connect("10.255.255.1:80");
    assert!(
        tokio::time::timeout(SHORT, connect).await.is_err(),
        "not a timeout"
    );
}

/// Sends one ICMP echo request to `to` over a raw socket (the test is root
/// of its namespace) and waits up to 5 s for the reply.
fn ping(to: IpAddr) -> bool {
    let (family, protocol, request, reply) = match to {
        IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP, 8u8, 0u8),
        IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6, 128, 129),
    };
    // SAFETY: socket(2) with constant arguments; the fd is owned at once.
    let fd = unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_CLOEXEC, protocol) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: a new fd that nothing else owns.
    let socket = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let socket = std::net::UdpSocket::from(socket); // for its send_to, recv and timeout
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut echo = [request, 0, 0, 0, 0x12, 0x34, 0, 1, b'n', b's'];
    if to.is_ipv4() {
        // The kernel sums ICMPv6 itself, not ICMP.
        let sum = echo
            .chunks(2)
            .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
            .sum::<u32>();
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    socket.send_to(&echo, SocketAddr::new(to, 0)).unwrap();
    let mut buffer = [0u8; 256];
    while let Ok(n) = socket.recv(&mut buffer) {
        // IPv4 raw sockets see the IP header too.
        let icmp = if to.is_ipv4() {
            &buffer[usize::from(buffer[0] & 0xf) * 4..n]
        } else {
            &buffer[..n]
        };
        if icmp.first() == Some(&reply) && icmp.get(4..6) == Some(&[0x12, 0x34][..]) {
            return true;
        }
    }
    false
}

/// Entering the test's mount namespace must not move it: relative paths
/// in a body mean what they mean in the rest of the process.
#[netns_test]
fn the_working_directory_is_the_processs() {
    let process = std::fs::read_link("/proc/self/cwd").unwrap(); // the main thread's
    assert_eq!(std::env::current_dir().unwrap(), process);
}

// --- `#[netns_test(network = path, node = "name")]`: reusable topologies ---

use netns_test::get_netns_cookie;
use netns_test::network::{Endpoint, NetworkBuilder};
use netns_tests::bounded::{PATIENCE, accept_within, connect_within};

/// client — router — server, IPv4 and IPv6, with default routes.
fn routed() -> NetworkBuilder {
    netns_tests::topologies::client_router_server()
        .route("client", "default", "10.0.1.254")
        .route("client", "default", "fd01::fe")
        .route("server", "default", "10.0.2.254")
        .route("server", "default", "fd02::fe")
}

/// Serves one connection on `addr` in `node` of `net`, from a thread.
fn serve_one(net: &Network, node: &str, addr: &str) -> std::thread::JoinHandle<()> {
    let listener = net
        .node(node)
        .unwrap()
        .run(|| std::net::TcpListener::bind(addr))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        accept_within(&listener, PATIENCE).unwrap();
    })
}

#[netns_test(network = routed)]
fn the_topology_is_built_for_the_test(net: &Network) {
    let names: Vec<&str> = net.nodes().map(|node| node.name()).collect();
    assert_eq!(names, ["client", "router", "server"]);
    // Without `node`, the body is in a namespace of its own, in none of them.
    let body = get_netns_cookie().unwrap();
    for node in net.nodes() {
        assert_ne!(node.ns().cookie().unwrap(), body, "{}", node.name());
    }
    let server = serve_one(net, "server", "10.0.2.1:80");
    net.node("client")
        .unwrap()
        .run(|| connect_within("10.0.2.1:80", PATIENCE))
        .unwrap()
        .unwrap();
    server.join().unwrap();
}

#[netns_test(network = routed, node = "client")]
fn the_body_runs_in_its_node(net: &Network) {
    let client = net.node("client").unwrap();
    assert_eq!(get_netns_cookie().unwrap(), client.ns().cookie().unwrap());
    for addr in ["10.0.2.1:80", "[fd02::1]:80"] {
        let server = serve_one(net, "server", addr);
        connect_within(addr, PATIENCE).unwrap();
        server.join().unwrap();
    }
    // The node is still the test's: it has its private /run/netns.
    assert_eq!(std::fs::read_dir("/run/netns").unwrap().count(), 0);
}

#[netns_test(network = routed, node = "server")]
fn ns_is_the_nodes_namespace(ns: &NetNs) {
    assert_eq!(ns, &NetNs::current().unwrap());
    // Only the server has this address.
    std::net::TcpListener::bind("10.0.2.1:80").unwrap();
}

#[netns_test(network = routed, node = "client", flavor = "multi_thread")]
async fn an_async_body_runs_in_its_node(net: &Network) {
    let server = serve_one(net, "server", "10.0.2.1:80");
    let connect = tokio::net::TcpStream::connect("10.0.2.1:80");
    tokio::time::timeout(PATIENCE, connect)
        .await
        .expect("no connection within the patience")
        .unwrap();
    // Every worker of the runtime is in the node's namespace too.
    let cookie = tokio::task::spawn(async { get_netns_cookie().unwrap() })
        .await
        .unwrap();
    assert_eq!(cookie, net.node("client").unwrap().ns().cookie().unwrap());
    server.join().unwrap();
}

/// Three hosts on a LAN, the body on the first.
fn lan_of_three() -> NetworkBuilder {
    Network::builder().node("a").node("b").node("c").lan(
        "lan",
        ["a", "b", "c"].into_iter().enumerate().map(|(i, host)| {
            Endpoint::new(host, "eth0").address(&format!("192.168.7.{}/24", i + 1))
        }),
    )
}

#[netns_test(network = lan_of_three, node = "a", loopback = false)]
fn a_lan_topology_with_the_body_on_a_member(net: &Network) {
    // `loopback = false` applies to the test's own namespace, node "a".
    let lo = net.node("a").unwrap().interfaces().unwrap();
    assert_eq!(lo[0].name, "lo");
    assert!(!lo[0].up);
    for peer in ["192.168.7.2:80", "192.168.7.3:80"] {
        let node = if peer.contains(".2:") { "b" } else { "c" };
        let server = serve_one(net, node, peer);
        connect_within(peer, PATIENCE).unwrap();
        server.join().unwrap();
    }
}

/// Whatever a test leaves behind in its mount namespace, the next one must
/// not meet: files and folders in `/run/netns`, its mode, a mount, a pin.
/// These tests each check that they start clean, then leave something, in
/// a suite whose tests run in parallel and hand mount namespaces on to each
/// other (`tests/reuse.rs` checks each case one test after another).
fn starts_clean_then_leaves(what: usize) {
    use std::os::unix::fs::PermissionsExt;
    let entries = std::fs::read_dir("/run/netns").unwrap().count();
    assert_eq!(entries, 0, "/run/netns holds what an earlier test left");
    let mode = std::fs::metadata("/run/netns")
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755, "an earlier test's mode");
    let mounts = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
    assert!(
        !mounts.contains("left-by-a-test"),
        "an earlier test's mount:\n{mounts}"
    );
    match what % 4 {
        0 => {
            std::fs::write("/run/netns/file", "x").unwrap();
            std::fs::create_dir_all("/run/netns/dir/sub").unwrap();
            std::fs::write("/run/netns/dir/sub/file", "x").unwrap();
        }
        1 => {
            let mode = std::fs::Permissions::from_mode(0o700);
            std::fs::set_permissions("/run/netns", mode).unwrap();
        }
        2 => {
            // Outside /run/netns, on a folder of the host's that tests do
            // not use (mounted only in this test's mount namespace).
            let Some(place) = ["/srv", "/mnt", "/media", "/opt"]
                .into_iter()
                .find(|place| std::path::Path::new(place).is_dir())
            else {
                netns_test::skip("no /srv, /mnt, /media or /opt to mount on");
                return;
            };
            nix::mount::mount(
                Some("left-by-a-test"),
                place,
                Some("tmpfs"),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            )
            .unwrap();
        }
        _ => pin_and_find("left-behind"),
    }
}

#[netns_test]
fn leaves_files_0() {
    starts_clean_then_leaves(0);
}

#[netns_test]
fn leaves_a_mode_1() {
    starts_clean_then_leaves(1);
}

#[netns_test]
fn leaves_a_mount_2() {
    starts_clean_then_leaves(2);
}

#[netns_test]
fn leaves_a_pin_3() {
    starts_clean_then_leaves(3);
}

#[netns_test]
fn leaves_files_4() {
    starts_clean_then_leaves(4);
}

#[netns_test]
fn leaves_a_mode_5() {
    starts_clean_then_leaves(5);
}

#[netns_test]
fn leaves_a_mount_6() {
    starts_clean_then_leaves(6);
}

#[netns_test]
fn leaves_a_pin_7() {
    starts_clean_then_leaves(7);
}

/// A thread the body leaves running still uses the test's mount
/// namespace: it must not be handed to a later test while it does. (Among
/// parallel tests, another may take it in between: `tests/reuse.rs` checks
/// this one test after another.)
#[test]
fn a_namespace_a_leftover_thread_uses_is_not_reused() {
    use netns_test::__private::{Options, run};
    use std::os::unix::fs::MetadataExt;
    use std::sync::mpsc;
    use std::time::Duration;
    let options = Options {
        loopback: true,
        should_panic: None,
        timeout: None,
        capture: false,
    };
    let mount_ns = || std::fs::metadata("/proc/thread-self/ns/mnt").unwrap().ino();
    let (release, leftover) = mpsc::channel::<()>();
    let (first_tx, first) = mpsc::channel();
    run(options, move |_| {
        first_tx.send(mount_ns()).unwrap();
        // Left running past the body, in its mount namespace.
        std::thread::spawn(move || {
            let _ = leftover.recv_timeout(Duration::from_secs(20));
            let _ = std::fs::write("/run/netns/written-late", "x");
        });
    });
    let first = first.recv_timeout(PATIENCE).unwrap();
    let (second_tx, second) = mpsc::channel();
    run(options, move |_| {
        second_tx
            .send((mount_ns(), std::fs::read_dir("/run/netns").unwrap().count()))
            .unwrap();
    });
    release.send(()).unwrap();
    let (second, entries) = second.recv_timeout(PATIENCE).unwrap();
    assert_ne!(
        first, second,
        "the namespace was reused while a thread of the first test used it"
    );
    assert_eq!(entries, 0);
}
