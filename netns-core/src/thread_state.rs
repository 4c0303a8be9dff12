//! Whether a thread is in the process's state, or in one of its own.
//!
//! Credentials, capabilities, the mount namespace and the root and working
//! directories are per thread in Linux: a thread may `capset`, `setresuid`
//! by raw system call, `unshare(CLONE_NEWNS)` or `unshare(CLONE_FS)` and
//! `chdir`, and the threads it starts inherit what it did. A long-lived
//! helper must not carry such a state for the rest of the process.

use std::path::Path;

use nix::sys::stat::stat;

use crate::userns::Capabilities;

/// The lines of `/proc/.../status` that hold a thread's credentials.
const CREDENTIALS: [&str; 10] = [
    "Uid:",
    "Gid:",
    "Groups:",
    "NoNewPrivs:",
    "Seccomp:",
    "CapInh:",
    "CapPrm:",
    "CapEff:",
    "CapBnd:",
    "CapAmb:",
];

/// Files whose identity differs between threads that differ in namespace,
/// root or working directory.
const PLACES: [(&str, &str); 4] = [
    ("/proc/thread-self/ns/mnt", "/proc/self/ns/mnt"),
    ("/proc/thread-self/ns/user", "/proc/self/ns/user"),
    ("/proc/thread-self/root", "/proc/self/root"),
    ("/proc/thread-self/cwd", "/proc/self/cwd"),
];

/// Whether the calling thread has the credentials, capabilities, seccomp
/// filters, CPU affinity, namespaces (but the network namespace), root and
/// working directory of the process's main thread (`/proc/self`). `false`
/// where `/proc` cannot tell. A kernel without time namespaces has no
/// `ns/time` for either, which counts as the same.
pub fn matches_process() -> bool {
    let main = std::process::id() as i32;
    let same_caps = match (Capabilities::of_thread(0), Capabilities::of_thread(main)) {
        (Ok(mine), Ok(main)) => mine == main,
        _ => false,
    };
    same_caps
        && credentials("/proc/thread-self/status")
            .is_some_and(|mine| credentials("/proc/self/status").is_some_and(|main| mine == main))
        && PLACES.iter().all(|(mine, main)| same_file(mine, main))
}

fn credentials(status: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(status).ok()?;
    Some(
        text.lines()
            .filter(|line| CREDENTIALS.iter().any(|key| line.starts_with(key)))
            .map(str::to_owned)
            .collect(),
    )
}

fn same_file(a: &str, b: &str) -> bool {
    match (stat(Path::new(a)), stat(Path::new(b))) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        (Err(nix::errno::Errno::ENOENT), Err(nix::errno::Errno::ENOENT)) => true,
        _ => false,
    }
}
