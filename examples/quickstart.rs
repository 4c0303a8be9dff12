//! The main demonstration: three network namespaces, one port.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! It prints the host's namespace cookie, creates three namespaces, binds
//! the same TCP port in each (impossible in one namespace) and talks to
//! each listener from inside its namespace, checking all along that the
//! calling thread never left the host namespace. It works as root, and as an
//! unprivileged user where user namespaces are allowed.

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use netns_core::{NetNs, get_netns_cookie};

const PORT: u16 = 8080;

fn main() -> std::process::ExitCode {
    match set_up().and_then(|()| demonstrate()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Display, not Debug: netns-core's messages name the cause and the fix.
            eprintln!("quickstart: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn set_up() -> Result<(), Box<dyn std::error::Error>> {
    // Without CAP_SYS_ADMIN, become root in a user namespace of our own.
    // Only a single-threaded process may, so this comes first. A program
    // is never moved without asking: this call is the asking (test
    // binaries with a `#[netns_test]` do the same before `main`).
    if !netns_core::has_cap_sys_admin()? {
        netns_core::enter_user_namespace()?;
        println!("no CAP_SYS_ADMIN: entered a user namespace of our own");
    }
    Ok(())
}

/// Everything after the set-up, so that the test below can run it too.
fn demonstrate() -> Result<(), Box<dyn std::error::Error>> {
    let host = get_netns_cookie()?;
    println!("host namespace cookie: {host}");

    let mut namespaces = Vec::new();
    for i in 1..=3 {
        let ns = NetNs::new_with_loopback()?;
        println!("namespace {i}: cookie {}, {}", ns.cookie()?, ns.id());
        namespaces.push(ns);
    }
    let mut cookies: Vec<u64> = namespaces
        .iter()
        .map(NetNs::cookie)
        .collect::<Result<_, _>>()?;
    cookies.push(host);
    cookies.sort_unstable();
    cookies.dedup();
    assert_eq!(cookies.len(), 4, "every namespace has its own cookie");

    // The same port in each namespace. The listeners outlive `run`: a socket
    // stays in the namespace it was created in, whichever thread uses it.
    let listeners = namespaces
        .iter()
        .map(|ns| ns.run(|| TcpListener::bind(("127.0.0.1", PORT)))?)
        .collect::<Result<Vec<_>, _>>()?;
    println!("bound 127.0.0.1:{PORT} in all three");

    for (i, (ns, listener)) in namespaces.iter().zip(&listeners).enumerate() {
        let inside = ns.run(|| -> std::io::Result<u64> {
            let to = std::net::SocketAddr::from(([127, 0, 0, 1], PORT));
            TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
            Ok(get_netns_cookie()?)
        })??;
        // The connection is complete, so it is waiting to be accepted: a
        // non-blocking accept takes it, and could never hang.
        listener.set_nonblocking(true)?;
        let (_, peer) = listener.accept()?;
        println!(
            "namespace {}: connected from {peer} inside cookie {inside}",
            i + 1
        );
        assert_eq!(inside, ns.cookie()?);
        assert_eq!(get_netns_cookie()?, host, "the caller never moves");
    }

    // In the host namespace, the port is still free.
    let host_listener = TcpListener::bind(("127.0.0.1", PORT));
    println!(
        "host 127.0.0.1:{PORT}: {}",
        if host_listener.is_ok() {
            "free"
        } else {
            "in use by something else"
        }
    );
    println!(
        "caller's cookie after all that: {} (unchanged)",
        get_netns_cookie()?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    // Before main, enter a user namespace if this test process is
    // unprivileged, as `main` does for the program.
    netns_test::before_main!();

    #[test]
    fn the_demonstration_runs() {
        assert!(!matches!(
            netns_test::mode(),
            netns_test::Mode::Unavailable(_)
        ));
        super::demonstrate().unwrap();
    }
}
