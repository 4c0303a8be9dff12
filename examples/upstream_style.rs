//! Socket tests written the way published crates write them, passing
//! unchanged in a host-like namespace.
//!
//! ```text
//! cargo test --example upstream_style
//! ```
//!
//! Test suites of networking crates assume a machine: a port they can bind,
//! an interface that is not `lo`, default routes, a network that swallows
//! what it does not route, a writable `/run/netns`, a real device to hang
//! links on. A bare namespace has none of it: `connect` to an unroutable
//! address fails at once with `ENETUNREACH` instead of timing out,
//! multicast joins fail with `ENODEV`, `ip netns add` fails with `EACCES`
//! unprivileged (and as root writes the host's `/run/netns`).
//!
//! `#[netns_test(uplink)]` gives each test such a machine, as root and
//! unprivileged alike: `eth0` at 10.0.2.15/24 and fd00:2::15/64, default
//! routes through a gateway (10.0.2.2) that drops what it does not answer,
//! and a `/run/netns` of the test's own. The bodies below are what an
//! upstream suite has under `#[test]`: only the attribute changed (and every
//! wait has a bound, which this project asks of all its tests).

fn main() {
    println!("run the tests: cargo test --example upstream_style");
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read, Write};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::process::Command;
    use std::time::Duration;

    use netns_examples::bounded::{CHILD_PATIENCE, PATIENCE, accept_within, output_within};
    use netns_test::{NetNs, netns_test};

    /// Runs `ip ARGS...`, panicking with its error output if it fails.
    fn ip(args: &[&str]) -> String {
        let out = output_within(Command::new("ip").args(args), CHILD_PATIENCE)
            .unwrap_or_else(|e| panic!("ip {}: {e} (is iproute2 installed?)", args.join(" ")));
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    // What the suites trip on without `uplink`: a bare namespace fails at
    // once where a host would wait, and has no interface for multicast.
    #[netns_test]
    fn a_bare_namespace_is_not_a_host() {
        let addr: SocketAddr = "10.255.255.1:80".parse().unwrap();
        let err = TcpStream::connect_timeout(&addr, Duration::from_millis(250)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENETUNREACH), "{err}");
        let socket = UdpSocket::bind("0.0.0.0:5353").unwrap();
        let group = Ipv4Addr::new(224, 0, 0, 251);
        let err = socket
            .join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
    }

    // socket2's own test, with `std` in place of its `Socket`.
    #[netns_test(uplink)]
    fn connect_timeout_unrouteable() {
        // This IP is unroutable, so connections should always time out.
        let addr: SocketAddr = "10.255.255.1:80".parse().unwrap();
        match TcpStream::connect_timeout(&addr, Duration::from_millis(250)) {
            Ok(_) => panic!("unexpected success"),
            Err(ref err) if err.kind() == io::ErrorKind::TimedOut => {}
            Err(err) => panic!("unexpected error {err}"),
        }
    }

    // Fixed ports: every test binds 8080 on every address, at the same time.
    macro_rules! echo_on_8080 {
        ($($name:ident)*) => {$(
            #[netns_test(uplink)]
            fn $name() {
                let listener = TcpListener::bind("0.0.0.0:8080").unwrap();
                let server = std::thread::spawn(move || {
                    let (mut stream, _) = accept_within(&listener, PATIENCE).unwrap();
                    let mut buf = [0; 5];
                    stream.read_exact(&mut buf).unwrap();
                    stream.write_all(&buf).unwrap();
                });
                // The host's own address, as a client elsewhere would use it.
                let addr = "10.0.2.15:8080".parse().unwrap();
                let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                stream.write_all(b"hello").unwrap();
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"hello");
                server.join().unwrap();
            }
        )*};
    }
    echo_on_8080! { echo_8080_a echo_8080_b echo_8080_c echo_8080_d }

    // The `local-ip-address` idiom: the source address of the default route.
    #[netns_test(uplink)]
    fn local_ip_is_the_default_routes_source() {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.connect("8.8.8.8:53").unwrap();
        assert_eq!(
            socket.local_addr().unwrap().ip(),
            Ipv4Addr::new(10, 0, 2, 15)
        );
        let socket = UdpSocket::bind("[::]:0").unwrap();
        socket.connect("[2001:4860:4860::8888]:53").unwrap();
        let expected: Ipv6Addr = "fd00:2::15".parse().unwrap();
        assert_eq!(socket.local_addr().unwrap().ip(), expected);
    }

    // Multicast joins on "any interface", as mDNS crates do; the kernel
    // picks the interface by route, so a bare namespace says ENODEV.
    #[netns_test(uplink)]
    fn join_multicast_v4_and_receive() {
        let group = Ipv4Addr::new(224, 0, 0, 251);
        let receiver = UdpSocket::bind("0.0.0.0:5353").unwrap();
        receiver
            .join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
            .unwrap();
        receiver.set_read_timeout(Some(PATIENCE)).unwrap();
        let sender = UdpSocket::bind("0.0.0.0:0").unwrap();
        sender.set_multicast_loop_v4(true).unwrap();
        sender.send_to(b"query", (group, 5353)).unwrap();
        let mut buf = [0; 16];
        let (n, from) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"query");
        assert_eq!(from.ip(), Ipv4Addr::new(10, 0, 2, 15));
        receiver
            .leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)
            .unwrap();
    }

    #[netns_test(uplink)]
    fn join_multicast_v6_on_the_default_interface() {
        let group: Ipv6Addr = "ff02::fb".parse().unwrap();
        let socket = UdpSocket::bind("[::]:5353").unwrap();
        socket.join_multicast_v6(&group, 0).unwrap();
        socket.leave_multicast_v6(&group, 0).unwrap();
    }

    // Tools that manage named namespaces: `ip netns add` writes the test's
    // own /run/netns, unprivileged too, and the host never sees it.
    #[netns_test(uplink)]
    fn ip_netns_add_and_delete() {
        ip(&["netns", "add", "upstream"]);
        assert!(ip(&["netns", "list"]).contains("upstream"));
        let ns = NetNs::from_name("upstream").unwrap();
        assert_ne!(ns, NetNs::current().unwrap());
        drop(ns);
        ip(&["netns", "delete", "upstream"]);
        assert!(!ip(&["netns", "list"]).contains("upstream"));
    }

    // rtnetlink's kind of test: a link on top of a real lower device.
    #[netns_test(uplink)]
    fn macvlan_on_eth0() {
        ip(&[
            "link", "add", "link", "eth0", "name", "mv0", "type", "macvlan", "mode", "bridge",
        ]);
        ip(&["link", "set", "mv0", "up"]);
        let shown = ip(&["-d", "link", "show", "mv0"]);
        assert!(shown.contains("mv0@eth0"), "{shown}");
        assert!(shown.contains("macvlan mode bridge"), "{shown}");
        ip(&["link", "del", "mv0"]);
    }

    #[netns_test(uplink)]
    fn default_routes_go_through_the_gateway() {
        let v4 = ip(&["-4", "route", "show", "default"]);
        assert!(v4.contains("via 10.0.2.2 dev eth0"), "{v4}");
        let v6 = ip(&["-6", "route", "show", "default"]);
        assert!(v6.contains("via fd00:2::2 dev eth0"), "{v6}");
    }
}
