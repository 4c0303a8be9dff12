//! Test networks end to end: links, addresses, routes, a router, faults,
//! and clean-up, as root and in the user-namespace world.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use netns_test::network::{Endpoint, Network, NetworkError};
use netns_tests::bounded::{PATIENCE, accept_within, connect_within, retry, waited_for, within};

/// A listener on `addr`, made in `node`'s namespace.
fn listen(net: &Network, node: &str, addr: &str) -> TcpListener {
    net.node(node)
        .unwrap()
        .run(|| TcpListener::bind(addr))
        .unwrap()
        .unwrap()
}

/// Connects from the client node with its own tokio runtime, while a
/// thread accepts on the server's `listener`.
fn connect_async(net: &Network, listener: TcpListener, addr: &'static str) {
    let server = std::thread::spawn(move || accept_within(&listener, PATIENCE).map(|_| ()));
    let client = net.node("client").unwrap();
    let connected = client.block_on(within(format!("connection to {addr}"), PATIENCE, async {
        tokio::net::TcpStream::connect(addr).await.map(|_| ())
    }));
    connected.unwrap().unwrap();
    server.join().unwrap().unwrap();
}

/// A connection from `node` to `addr`, made in `node`'s namespace (see
/// [`connect_within`]).
fn connect_from(
    net: &Network,
    node: &str,
    addr: &str,
    patience: Duration,
) -> std::io::Result<TcpStream> {
    net.node(node)
        .unwrap()
        .run(|| connect_within(addr, patience))
        .unwrap()
}

/// A line server on `addr` in `node` that answers one connection.
fn serve_once(net: &Network, node: &str, addr: &str) -> std::thread::JoinHandle<String> {
    let listener = listen(net, node, addr);
    std::thread::spawn(move || {
        let (stream, peer) = accept_within(&listener, PATIENCE).unwrap();
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .map_err(waited_for(format!("line from {peer}")))
            .unwrap();
        (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
        format!("{peer}")
    })
}

/// Sends a line from `node` to `addr` and returns the answer. Connecting
/// gives up after 1 s (`TimedOut`), waiting for the answer after 5 s
/// (`WouldBlock`, as std reports a read timeout).
fn ask(net: &Network, node: &str, addr: &str, line: &str) -> std::io::Result<String> {
    ask_within(net, node, addr, line, Duration::from_secs(1))
}

/// [`ask`], connecting with `patience`.
fn ask_within(
    net: &Network,
    node: &str,
    addr: &str,
    line: &str,
    patience: Duration,
) -> std::io::Result<String> {
    let stream = connect_from(net, node, addr, patience)?;
    (&stream).write_all(format!("{line}\n").as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(waited_for(format!("answer from {addr}")))?;
    Ok(answer.trim_end().to_owned())
}

#[test]
fn two_hosts_talk_over_ipv4_and_ipv6() {
    let net = Network::pair().unwrap();
    let server = serve_once(&net, "server", "10.0.0.2:80");
    assert_eq!(
        ask(&net, "client", "10.0.0.2:80", "hello").unwrap(),
        "HELLO"
    );
    assert!(server.join().unwrap().starts_with("10.0.0.1:"));
    // IPv6 works at once: no duplicate address detection to wait for.
    let server = serve_once(&net, "server", "[fd00::2]:80");
    assert_eq!(ask(&net, "client", "[fd00::2]:80", "six").unwrap(), "SIX");
    assert!(server.join().unwrap().starts_with("[fd00::1]:"));
}

#[test]
fn every_node_is_its_own_namespace() {
    let net = Network::pair().unwrap();
    let client = net.node("client").unwrap();
    let server = net.node("server").unwrap();
    assert_ne!(client.ns(), server.ns());
    assert_ne!(client.ns(), &netns_test::NetNs::current().unwrap());
    // The server's address is not the client's.
    let error = client
        .run(|| TcpListener::bind("10.0.0.2:80"))
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrNotAvailable);
    assert_eq!(
        net.nodes().map(|n| n.name()).collect::<Vec<_>>(),
        ["client", "server"]
    );
}

/// Client — router — server on two subnets (IPv4 and IPv6), each end
/// with `routes` (`node, destination, gateway`) through the router.
fn client_router_server(routes: &[(&str, &str, &str)]) -> Network {
    let mut builder = netns_tests::topologies::client_router_server();
    for (node, destination, gateway) in routes {
        builder = builder.route(node, destination, gateway);
    }
    builder.build().unwrap()
}

/// The client reaches the server through the router, over IPv4 and IPv6.
fn assert_routed(net: &Network) {
    let server = serve_once(net, "server", "10.0.2.1:80");
    assert_eq!(
        ask(net, "client", "10.0.2.1:80", "routed").unwrap(),
        "ROUTED"
    );
    assert!(
        server.join().unwrap().starts_with("10.0.1.1:"),
        "the server sees the client's own address"
    );
    let server = serve_once(net, "server", "[fd02::1]:80");
    assert_eq!(
        ask(net, "client", "[fd02::1]:80", "routed6").unwrap(),
        "ROUTED6"
    );
    server.join().unwrap();
}

#[test]
fn client_router_server_with_routes() {
    let net = client_router_server(&[
        ("client", "default", "10.0.1.254"),
        ("server", "default", "10.0.2.254"),
        ("client", "fd02::/64", "fd01::fe"),
        ("server", "default", "fd02::fe"),
    ]);
    assert_routed(&net);
}

#[test]
fn default_routes_may_be_written_as_prefixes() {
    let net = client_router_server(&[
        ("client", "0.0.0.0/0", "10.0.1.254"),
        ("client", "::/0", "fd01::fe"),
        ("server", "0.0.0.0/0", "10.0.2.254"),
        ("server", "::/0", "fd02::fe"),
    ]);
    assert_routed(&net);
}

#[test]
fn without_forwarding_the_router_drops_traffic() {
    let net = Network::builder()
        .node("client")
        .node("router") // not .router(): no forwarding
        .node("server")
        .link(
            Endpoint::new("client", "eth0").address("10.0.1.1/24"),
            Endpoint::new("router", "eth0").address("10.0.1.254/24"),
        )
        .link(
            Endpoint::new("router", "eth1").address("10.0.2.254/24"),
            Endpoint::new("server", "eth0").address("10.0.2.1/24"),
        )
        .route("client", "default", "10.0.1.254")
        .route("server", "default", "10.0.2.254")
        .build()
        .unwrap();
    let _listener = listen(&net, "server", "10.0.2.1:80");
    // The router drops the client's SYN: connecting times out. Had it
    // forwarded it, the server's kernel would complete the handshake, and
    // the answer, which the never-accepting listener does not send, would
    // time out instead: a `WouldBlock` error, which fails this test.
    let error = ask(&net, "client", "10.0.2.1:80", "lost").unwrap_err();
    assert_eq!(
        error.kind(),
        std::io::ErrorKind::TimedOut,
        "the router forwarded: {error}"
    );
}

#[test]
fn cutting_the_link_is_noticed_and_mending_it_works() {
    let net = Network::pair().unwrap();
    net.link_down("client", "eth0").unwrap();
    assert!(!net.interface("client", "eth0").unwrap().up);
    let error = ask(&net, "client", "10.0.0.2:80", "anyone?").unwrap_err();
    // With the link down its route is gone: the kernel says so at once.
    assert_eq!(error.raw_os_error(), Some(libc::ENETUNREACH), "{error}");

    net.link_up("client", "eth0").unwrap();
    assert!(net.interface("client", "eth0").unwrap().up);
    let server = serve_once(&net, "server", "10.0.0.2:80");
    assert_eq!(ask(&net, "client", "10.0.0.2:80", "back").unwrap(), "BACK");
    server.join().unwrap();
}

#[test]
fn ipv6_addresses_and_the_descriptions_routes_come_back_with_the_link() {
    let net = client_router_server(&[
        ("client", "default", "10.0.1.254"),
        ("server", "default", "10.0.2.254"),
        ("client", "fd02::/64", "fd01::fe"),
        ("server", "default", "fd02::fe"),
    ]);
    for (node, interface) in [("client", "eth0"), ("router", "eth1"), ("server", "eth0")] {
        net.link_down(node, interface).unwrap();
        net.link_up(node, interface).unwrap();
    }
    assert_routed(&net);
}

#[test]
fn nodes_list_their_interfaces_with_state_and_addresses() {
    let net = Network::pair().unwrap();
    let interfaces = net.node("client").unwrap().interfaces().unwrap();
    let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lo", "eth0"]);
    let eth0 = &interfaces[1];
    assert!(eth0.up && eth0.carrier, "{eth0:?}");
    assert_eq!(eth0.mtu, Some(1500));
    assert_eq!(eth0.mac.as_ref().map(Vec::len), Some(6), "{eth0:?}");
    for address in [("10.0.0.1", 24), ("fd00::1", 64)] {
        let address = (address.0.parse().unwrap(), address.1);
        assert!(eth0.addresses.contains(&address), "{address:?} in {eth0:?}");
    }
    assert_eq!(&net.interface("client", "eth0").unwrap(), eth0);
    // The other end down: up, but no carrier.
    net.link_down("server", "eth0").unwrap();
    let eth0 = net.interface("client", "eth0").unwrap();
    assert!(eth0.up && !eth0.carrier, "{eth0:?}");
}

#[test]
fn sysctls_are_set_and_read_per_node_and_checked() {
    let net = Network::builder()
        .node("a")
        .node("b")
        .link(
            Endpoint::new("a", "eth0").address("10.0.0.1/24"),
            Endpoint::new("b", "eth0").address("10.0.0.2/24"),
        )
        .sysctl("a", "net.ipv4.conf.eth0.rp_filter", "1")
        .build()
        .unwrap();
    let (a, b) = (net.node("a").unwrap(), net.node("b").unwrap());
    let rp_filter = "net.ipv4.conf.eth0.rp_filter";
    assert_eq!(a.read_sysctl(rp_filter).unwrap(), "1");
    assert_eq!(b.read_sysctl(rp_filter).unwrap(), "0");
    a.sysctl("net.ipv4.ip_forward", "1").unwrap();
    assert_eq!(a.read_sysctl("net.ipv4.ip_forward").unwrap(), "1");
    assert_eq!(b.read_sysctl("net.ipv4.ip_forward").unwrap(), "0");
    // Read, not written: a key that escaped /proc/sys/net must not be able
    // to change the host.
    for key in [
        "net.//.//.kernel.hostname",
        "net.ipv4.conf.//.//.//.kernel.hostname",
        "net.",
    ] {
        let error = a.read_sysctl(key).unwrap_err();
        assert!(
            matches!(error, NetworkError::InvalidSysctl { .. }),
            "{key}: {error:?}"
        );
    }
    for key in [
        "kernel.hostname",
        "net.ipv4.no_such_setting",
        "net.ipv4.conf.eth9.rp_filter",
    ] {
        let error = a.sysctl(key, "1").unwrap_err();
        assert!(
            matches!(error, NetworkError::InvalidSysctl { .. }),
            "{key}: {error:?}"
        );
        assert!(error.to_string().contains(key), "{error}");
    }
    let error = Network::builder()
        .node("a")
        .sysctl("a", "net.ipv4.no_such_setting", "1")
        .build()
        .unwrap_err();
    assert!(
        matches!(error, NetworkError::InvalidSysctl { .. }),
        "{error:?}"
    );
}

#[test]
fn a_cut_in_the_middle_of_a_conversation_times_out_the_client() {
    let net = Network::pair().unwrap();
    let listener = listen(&net, "server", "10.0.0.2:80");
    let stream = connect_from(&net, "client", "10.0.0.2:80", PATIENCE).unwrap();
    let (_server_side, _) = accept_within(&listener, PATIENCE).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    net.link_down("server", "eth0").unwrap();
    (&stream).write_all(b"ping\n").unwrap();
    let mut answer = String::new();
    let error = BufReader::new(&stream).read_line(&mut answer).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::WouldBlock, "{error}");
}

#[test]
fn mtu_is_set_per_interface() {
    let net = Network::builder()
        .node("a")
        .node("b")
        .link(
            Endpoint::new("a", "eth0").mtu(1280),
            Endpoint::new("b", "eth0").mtu(9000),
        )
        .build()
        .unwrap();
    assert_eq!(net.interface("a", "eth0").unwrap().mtu, Some(1280));
    assert_eq!(net.interface("b", "eth0").unwrap().mtu, Some(9000));
}

#[test]
fn servers_spawned_on_a_node_live_in_it() {
    let net = Network::pair().unwrap();
    let server = net
        .node("server")
        .unwrap()
        .spawn(|| {
            let listener = TcpListener::bind("10.0.0.2:7").unwrap();
            let (stream, peer) = accept_within(&listener, PATIENCE).unwrap();
            let mut line = String::new();
            BufReader::new(&stream)
                .read_line(&mut line)
                .map_err(waited_for(format!("line from {peer}")))
                .unwrap();
            (&stream).write_all(line.as_bytes()).unwrap();
        })
        .unwrap();
    // The server binds asynchronously: retry until it listens.
    let answer = retry("an answer from 10.0.0.2:7", PATIENCE, || {
        ask(&net, "client", "10.0.0.2:7", "echo")
    });
    assert_eq!(answer, "echo");
    server.join().unwrap();
}

#[test]
fn a_node_has_a_tokio_runtime_of_its_own() {
    let net = Network::pair().unwrap();
    let listener = listen(&net, "server", "10.0.0.2:80");
    connect_async(&net, listener, "10.0.0.2:80");
}

#[test]
fn unknown_nodes_and_interfaces_are_typed_errors() {
    let net = Network::pair().unwrap();
    assert!(matches!(
        net.node("nobody"),
        Err(NetworkError::UnknownNode { .. })
    ));
    let error = net.link_down("client", "eth9").unwrap_err();
    assert!(matches!(error, NetworkError::Netlink { .. }), "{error:?}");
    assert!(error.to_string().contains("eth9"), "{error}");
}

/// The shortest way: a parameter of type `&Network` gets a two-host network.
#[netns_test::netns_test]
fn a_two_host_test_in_a_few_lines(net: &Network) {
    let server = net.node("server").unwrap().spawn(|| {
        let listener = TcpListener::bind("10.0.0.2:80").unwrap();
        let (stream, _) = accept_within(&listener, PATIENCE).unwrap();
        (&stream).write_all(b"hello\n").unwrap();
    });
    // The server binds asynchronously: retry until it listens.
    let stream = retry("a connection to 10.0.0.2:80", PATIENCE, || {
        connect_from(net, "client", "10.0.0.2:80", PATIENCE)
    });
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(waited_for("hello from 10.0.0.2:80"))
        .unwrap();
    assert_eq!(line, "hello\n");
    server.unwrap().join().unwrap();
}

#[netns_test::netns_test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_test_gets_its_network_too(net: &Network) {
    let listener = listen(net, "server", "[fd00::2]:80");
    connect_async(net, listener, "[fd00::2]:80");
}

/// netem delay: the client's short timeout fires, a longer one does not,
/// and clearing the impairment makes the link fast again. On a kernel
/// without netem (as on this project's CI machine) the call must say so
/// with the typed error, which the kernel's `ENOENT` for an unknown qdisc
/// kind produces only for a well-formed request.
#[test]
fn a_netem_delay_fires_the_clients_timeout() {
    use netns_test::network::Netem;
    let net = Network::pair().unwrap();
    let connect = |timeout_ms| {
        net.node("client")
            .unwrap()
            .run(|| {
                TcpStream::connect_timeout(
                    &"10.0.0.2:80".parse().unwrap(),
                    Duration::from_millis(timeout_ms),
                )
            })
            .unwrap()
    };
    let listener = listen(&net, "server", "10.0.0.2:80");
    let delay = Netem::new().delay(Duration::from_millis(200));
    match net.impair("server", "eth0", &delay) {
        Ok(()) => {
            let error = connect(100).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
            let started = std::time::Instant::now();
            connect(2_000).unwrap();
            assert!(
                started.elapsed() >= Duration::from_millis(200),
                "{:?}",
                started.elapsed()
            );
            net.clear_impairment("server", "eth0").unwrap();
            connect(100).unwrap();
        }
        Err(error @ NetworkError::Unsupported { fix, .. }) => {
            assert!(fix.contains("CONFIG_NET_SCH_NETEM"), "{fix}");
            netns_test::skip(error);
        }
        Err(other) => panic!("{other:?}"),
    }
    drop(listener);
}

/// Sends `bytes` from the client to the server of `net` and returns how
/// long it took until the server had them all.
fn send_through(net: &Network, bytes: usize) -> Duration {
    use std::io::Read;
    let listener = listen(net, "server", "10.0.0.2:80");
    let server = std::thread::spawn(move || {
        let (mut stream, _) = accept_within(&listener, PATIENCE).unwrap();
        let mut got = Vec::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
            .read_to_end(&mut got)
            .map_err(waited_for("data"))
            .unwrap();
        got.len()
    });
    let started = std::time::Instant::now();
    let stream = connect_from(net, "client", "10.0.0.2:80", PATIENCE).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    (&stream).write_all(&vec![7; bytes]).unwrap();
    drop(stream);
    assert_eq!(server.join().unwrap(), bytes);
    started.elapsed()
}

/// A rate limit alone works with or without netem (`tbf` stands in): 150
/// kB at 800 kbit/s cannot arrive in less than about 1.5 s (a lower bound
/// only: a busy machine makes it slower, never faster). Clearing it
/// removes it.
#[test]
fn a_rate_limit_slows_the_link_with_or_without_netem() {
    use netns_test::network::Netem;
    let net = Network::pair().unwrap();
    net.impair("client", "eth0", &Netem::new().rate(800_000))
        .unwrap();
    let took = send_through(&net, 150_000);
    assert!(took >= Duration::from_secs(1), "150 kB in {took:?}");
    net.clear_impairment("client", "eth0").unwrap();
    send_through(&net, 150_000);
    // Anything more than a rate limit needs netem itself.
    let lossy = Netem::new().rate(800_000).loss(1.0);
    match net.impair("client", "eth0", &lossy) {
        Ok(()) => net.clear_impairment("client", "eth0").unwrap(),
        Err(error @ NetworkError::Unsupported { .. }) => {
            netns_test::skip(format_args!("netem loss: {error}"));
        }
        Err(other) => panic!("{other:?}"),
    }
}

/// Eight hosts, `h1` (10.0.3.1, fd00:3::1) to `h8`, on LAN `office`.
fn office() -> Network {
    let hosts: Vec<String> = (1..=8).map(|i| format!("h{i}")).collect();
    let mut builder = Network::builder();
    for host in &hosts {
        builder = builder.node(host);
    }
    builder
        .lan(
            "office",
            hosts.iter().enumerate().map(|(i, host)| {
                Endpoint::new(host, "eth0")
                    .address(&format!("10.0.3.{}/24", i + 1))
                    .address(&format!("fd00:3::{}/64", i + 1))
            }),
        )
        .build()
        .unwrap()
}

/// A line server on port 80 of every address given, in `node`; answers
/// one connection on each.
fn serve_all(net: &Network, node: &str, addrs: &[String]) -> Vec<std::thread::JoinHandle<String>> {
    addrs
        .iter()
        .map(|addr| serve_once(net, node, &format!("{addr}:80")))
        .collect()
}

#[test]
fn eight_hosts_on_a_lan_reach_each_other_over_ipv4_and_ipv6() {
    let net = office();
    // Each host talks to the next (and h8 to h1), so every host resolves a
    // neighbour with ARP and with neighbour discovery across the bridge.
    for i in 1..=8 {
        let next = i % 8 + 1;
        let addrs = [format!("10.0.3.{next}"), format!("[fd00:3::{next}]")];
        let servers = serve_all(&net, &format!("h{next}"), &addrs);
        for addr in &addrs {
            let answer = ask(&net, &format!("h{i}"), &format!("{addr}:80"), "hi").unwrap();
            assert_eq!(answer, "HI", "h{i} -> {addr}");
        }
        for server in servers {
            server.join().unwrap();
        }
    }
    let switch = net.lan("office").unwrap();
    let names: Vec<String> = switch
        .interfaces()
        .unwrap()
        .into_iter()
        .map(|interface| interface.name)
        .collect();
    let ports: Vec<String> = (0..8).map(|n| format!("port{n}")).collect();
    assert_eq!(names[..2], ["lo", "br0"]);
    assert_eq!(names[2..], ports);
    assert!(matches!(
        net.lan("lobby").unwrap_err(),
        NetworkError::UnknownLan { .. }
    ));
}

/// `IP_MULTICAST_IF`: sends `socket`'s multicast from the interface with
/// address `local` (h1 has no route for multicast; std has no setter).
fn multicast_from(socket: &std::net::UdpSocket, local: std::net::Ipv4Addr) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let address = libc::in_addr {
        s_addr: u32::from(local).to_be(),
    };
    // SAFETY: IP_MULTICAST_IF reads one in_addr, which lives on our stack
    // for the whole call; the socket is open for as long as `socket` is.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&raw const address).cast(),
            size_of::<libc::in_addr>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn broadcast_and_multicast_reach_every_member_of_a_lan() {
    use std::net::{Ipv4Addr, UdpSocket};
    let net = office();
    let group = Ipv4Addr::new(239, 1, 2, 3);
    let receivers: Vec<UdpSocket> = (2..=8)
        .map(|i| {
            let node = net.node(&format!("h{i}")).unwrap();
            let socket = node
                .run(|| UdpSocket::bind("0.0.0.0:9999"))
                .unwrap()
                .unwrap();
            socket
                .join_multicast_v4(&group, &Ipv4Addr::new(10, 0, 3, i))
                .unwrap();
            socket.set_read_timeout(Some(PATIENCE)).unwrap();
            socket
        })
        .collect();
    let sender = net
        .node("h1")
        .unwrap()
        .run(|| UdpSocket::bind("10.0.3.1:0"))
        .unwrap()
        .unwrap();
    sender.set_broadcast(true).unwrap();
    multicast_from(&sender, Ipv4Addr::new(10, 0, 3, 1)).unwrap();
    for (to, what) in [
        ("10.0.3.255:9999", "broadcast"),
        ("239.1.2.3:9999", "multicast"),
    ] {
        sender.send_to(what.as_bytes(), to).unwrap();
        for (i, socket) in receivers.iter().enumerate() {
            let mut buffer = [0; 16];
            let (n, from) = socket
                .recv_from(&mut buffer)
                .map_err(waited_for(format!("{what} at h{}", i + 2)))
                .unwrap();
            assert_eq!(&buffer[..n], what.as_bytes());
            assert_eq!(from.ip().to_string(), "10.0.3.1");
        }
    }
}

#[test]
fn lan_members_can_be_cut_mended_and_impaired() {
    use netns_test::network::Netem;
    let net = office();
    net.link_down("h2", "eth0").unwrap();
    // h1 gets no answer to its ARP requests for 10.0.3.2.
    let error = ask(&net, "h1", "10.0.3.2:80", "anyone?").unwrap_err();
    assert!(
        error.kind() == std::io::ErrorKind::TimedOut
            || error.raw_os_error() == Some(libc::EHOSTUNREACH),
        "{error}"
    );
    net.link_up("h2", "eth0").unwrap();
    for addr in ["10.0.3.2:80", "[fd00:3::2]:80"] {
        let server = serve_once(&net, "h2", addr);
        // h1 is still asking for h2's address at its ARP pace (a probe a
        // second), as a host on a real LAN would be.
        let answer = ask_within(&net, "h1", addr, "back", PATIENCE).unwrap();
        assert_eq!(answer, "BACK");
        server.join().unwrap();
    }
    net.impair("h3", "eth0", &Netem::new().rate(1_000_000))
        .unwrap();
    // It was set: there is a qdisc to remove, and then none.
    net.clear_impairment("h3", "eth0").unwrap();
    assert!(net.clear_impairment("h3", "eth0").is_err());
}

#[test]
fn netem_values_out_of_range_are_refused_before_the_kernel_sees_them() {
    use netns_test::network::Netem;
    let net = Network::pair().unwrap();
    for bad in [
        Netem::new().loss(101.0),
        Netem::new().reorder(10.0),
        Netem::new().rate(1),
    ] {
        let error = net.impair("client", "eth0", &bad).unwrap_err();
        assert!(
            matches!(error, NetworkError::InvalidImpairment { .. }),
            "{error:?}"
        );
    }
    let error = net
        .impair("client", "eth7", &Netem::new().loss(1.0))
        .unwrap_err();
    assert!(matches!(error, NetworkError::Netlink { .. }), "{error:?}");
}
