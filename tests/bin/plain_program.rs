//! A program that uses an item of `netns-test` without being a test.
//!
//! It prints its uid and user namespace: a program that does not ask for
//! it (with `netns_test::init()`) must run as it was started, never moved
//! into a user namespace before `main`. `tests/hosts.rs` checks.

use std::os::unix::fs::MetadataExt;

fn main() -> std::process::ExitCode {
    // An item of netns-test, so that everything it links is linked here.
    let builder = netns_test::network::Network::builder().node("a");
    drop(builder);
    let userns = match std::fs::metadata("/proc/self/ns/user") {
        Ok(meta) => meta.ino(),
        Err(error) => {
            eprintln!("plain-program: stat /proc/self/ns/user: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "uid {}, user namespace {userns}, world: {}",
        nix::unistd::geteuid(),
        netns_test::mode()
    );
    std::process::ExitCode::SUCCESS
}
