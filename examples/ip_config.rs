//! Configuring a test's namespace with `ip`, then using what was configured.
//!
//! ```text
//! cargo test --example ip_config
//! ```
//!
//! Child processes started in the body inherit its namespace, so the usual
//! tools work on it: here `ip` (from iproute2) adds a veth pair with an
//! address on one end, and the test binds a server to that address. Nothing of it
//! reaches the host, and it all goes away with the namespace.

use std::process::Command;

use netns_examples::bounded::{CHILD_PATIENCE, output_within};

/// Runs `ip ARGS...` and returns its standard output (an error if it has
/// not ended after a minute).
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = output_within(Command::new("ip").args(args), CHILD_PATIENCE).map_err(|e| {
        match e.kind() {
            // It names the command and shows what it printed.
            std::io::ErrorKind::TimedOut => e.to_string(),
            _ => format!("cannot run ip (is iproute2 installed?): {e}"),
        }
    })?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    println!("run the tests: cargo test --example ip_config");
}

#[cfg(test)]
mod tests {
    use super::ip;
    use netns_examples::{echo, spawn_server};
    use netns_test::netns_test;

    #[netns_test]
    fn a_veth_pair_with_an_address() -> Result<(), String> {
        ip(&[
            "link", "add", "svc0", "type", "veth", "peer", "name", "svc1",
        ])?;
        ip(&["addr", "add", "192.0.2.10/24", "dev", "svc0"])?;
        ip(&["link", "set", "svc0", "up"])?;
        ip(&["link", "set", "svc1", "up"])?;

        let addrs = ip(&["-o", "-4", "addr", "show", "dev", "svc0"])?;
        assert!(addrs.contains("192.0.2.10/24"), "{addrs}");
        let routes = ip(&["-4", "route", "show", "dev", "svc0"])?;
        assert!(routes.contains("192.0.2.0/24"), "{routes}");

        let listener = std::net::TcpListener::bind("192.0.2.10:80").map_err(|e| e.to_string())?;
        let server = spawn_server(listener, 1);
        assert_eq!(
            echo("192.0.2.10:80", "via svc0").map_err(|e| e.to_string())?,
            "via svc0"
        );
        server.join().unwrap().map_err(|e| e.to_string())?;
        Ok(())
    }

    #[netns_test]
    fn the_namespace_starts_with_only_lo_up() -> Result<(), String> {
        let links = ip(&["-o", "link", "show", "up"])?;
        let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
        assert_eq!(names, ["lo"], "{links}");
        Ok(())
    }
}
