//! A TCP echo server and client on a fixed port, each test in its own namespace.
//!
//! ```text
//! cargo run --example echo          # the server and client, in a fresh namespace
//! cargo test --example echo         # the tests below
//! ```
//!
//! A fixed port is what real services use, and what makes tests collide
//! when they share the host's network; with `#[netns_test]` every test has
//! port 7 to itself.

use std::net::TcpListener;

use netns_core::NetNs;
use netns_examples::{echo, spawn_server};

const ADDR: &str = "127.0.0.1:7";

fn main() -> std::process::ExitCode {
    // Unprivileged, enter a user namespace of our own first, while the
    // process is single-threaded (test binaries do this before main).
    println!("world: {}", netns_test::init());
    match serve_and_ask() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve_and_ask() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_with_loopback()?;
    let answer = ns.run(|| -> std::io::Result<String> {
        let server = spawn_server(TcpListener::bind(ADDR)?, 1);
        let answer = echo(ADDR, "hello from a namespace")?;
        server.join().expect("server thread")?;
        Ok(answer)
    })??;
    println!("echo server on {ADDR} in {} answered: {answer}", ns.id());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netns_test::netns_test;

    #[netns_test]
    fn echoes_a_line() {
        let server = spawn_server(TcpListener::bind(ADDR).unwrap(), 1);
        assert_eq!(echo(ADDR, "ping").unwrap(), "ping");
        assert_eq!(server.join().unwrap().unwrap(), 1);
    }

    #[netns_test]
    fn serves_several_clients_in_turn() -> std::io::Result<()> {
        let server = spawn_server(TcpListener::bind(ADDR)?, 3);
        for word in ["one", "two", "three"] {
            assert_eq!(echo(ADDR, word)?, word);
        }
        assert_eq!(server.join().unwrap()?, 3);
        Ok(())
    }

    #[netns_test]
    fn no_server_means_connection_refused() {
        // Nothing else in this namespace listens on port 7.
        let error = echo(ADDR, "anyone?").unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
