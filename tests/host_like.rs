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
