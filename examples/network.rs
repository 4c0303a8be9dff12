//! Real networks between namespaces: hosts, veth links, a router, routes.
//!
//! ```text
//! cargo run --example network      # a client, a router and a server talk
//! cargo test --example network     # the tests below
//! ```
//!
//! Each node of a `netns_test::network::Network` is a namespace of its own,
//! joined to others by veth links, with real IPv4/IPv6 addresses and routes,
//! all set up over netlink: no `ip` binary, no root needed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use netns_examples::bounded::{PATIENCE, accept_within, connect_within, waited_for};
use netns_test::network::{Endpoint, Network, NetworkError};

/// A tiny line protocol: the server answers `GET name` with `HELLO name`.
/// Each wait gives up after a while, so that a broken network is an error,
/// not a hang.
fn serve(listener: &TcpListener) -> std::io::Result<()> {
    let (stream, peer) = accept_within(listener, PATIENCE)?;
    let mut request = String::new();
    BufReader::new(&stream)
        .read_line(&mut request)
        .map_err(waited_for(format!("request from {peer}")))?;
    let name = request.trim().strip_prefix("GET ").unwrap_or("stranger");
    (&stream).write_all(format!("HELLO {name}\n").as_bytes())
}

/// The client side: one request, one answer.
fn get(addr: &str, name: &str) -> std::io::Result<String> {
    let stream = connect_within(addr, PATIENCE)?;
    (&stream).write_all(format!("GET {name}\n").as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(waited_for(format!("answer from {addr}")))?;
    Ok(answer.trim().to_owned())
}

/// client — router — server, each on its own subnet.
fn routed() -> Result<Network, NetworkError> {
    Network::builder()
        .node("client")
        .router("router")
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
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Unprivileged, enter a user namespace of our own first, while the
    // process is single-threaded (test binaries do this before main).
    println!("world: {}", netns_test::init());
    let net = routed()?;
    let listener = net
        .node("server")?
        .run(|| TcpListener::bind("10.0.2.1:80"))??;
    let server = std::thread::spawn(move || serve(&listener));
    let answer = net
        .node("client")?
        .run(|| get("10.0.2.1:80", "from 10.0.1.1"))??;
    server.join().expect("server thread")?;
    println!("client 10.0.1.1 -> router -> server 10.0.2.1: {answer}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netns_test::netns_test;

    #[netns_test]
    fn a_client_and_a_server_on_two_hosts(net: &Network) {
        let listener = net
            .node("server")
            .unwrap()
            .run(|| TcpListener::bind("10.0.0.2:80"))
            .unwrap()
            .unwrap();
        let server = std::thread::spawn(move || serve(&listener));
        let answer = net
            .node("client")
            .unwrap()
            .run(|| get("10.0.0.2:80", "there"))
            .unwrap();
        assert_eq!(answer.unwrap(), "HELLO there");
        server.join().unwrap().unwrap();
    }

    #[netns_test]
    fn through_a_router() -> Result<(), Box<dyn std::error::Error>> {
        let net = routed()?;
        let listener = net
            .node("server")?
            .run(|| TcpListener::bind("10.0.2.1:80"))??;
        let server = std::thread::spawn(move || serve(&listener));
        assert_eq!(
            net.node("client")?.run(|| get("10.0.2.1:80", "router"))??,
            "HELLO router"
        );
        server.join().unwrap()?;
        Ok(())
    }

    /// With 200 ms of delay on the server's link, a client that gives up
    /// after 100 ms gives up. (Where the kernel has no netem, `impair` says
    /// so with a typed error, and the test prints a `skipped:` line.)
    #[netns_test]
    fn a_slow_link_fires_the_clients_timeout(net: &Network) {
        use netns_test::network::Netem;
        use std::net::TcpStream;
        use std::time::Duration;
        let _listener = net
            .node("server")
            .unwrap()
            .run(|| TcpListener::bind("10.0.0.2:80"))
            .unwrap();
        let delay = Netem::new().delay(Duration::from_millis(200));
        match net.impair("server", "eth0", &delay) {
            Ok(()) => {
                let addr = "10.0.0.2:80".parse().unwrap();
                let connect = || TcpStream::connect_timeout(&addr, Duration::from_millis(100));
                let error = net
                    .node("client")
                    .unwrap()
                    .run(connect)
                    .unwrap()
                    .unwrap_err();
                assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
            }
            // Nothing to time here: say so where it is seen.
            Err(error @ NetworkError::Unsupported { .. }) => netns_test::skip(error),
            Err(other) => panic!("{other}"),
        }
    }

    #[netns_test]
    fn the_client_notices_a_cut_link() -> Result<(), Box<dyn std::error::Error>> {
        let net = routed()?;
        let _listener = net
            .node("server")?
            .run(|| TcpListener::bind("10.0.2.1:80"))??;
        net.link_down("client", "eth0")?;
        let error = net
            .node("client")?
            .run(|| get("10.0.2.1:80", "anyone"))
            .map(|r| r.unwrap_err())?;
        assert_eq!(
            error.raw_os_error(),
            Some(101),
            "ENETUNREACH expected, got {error}"
        );
        Ok(())
    }
}
