//! netns-core's whole-process behaviour: privilege errors, entering a user
//! namespace, and the network-namespace limit. Each scenario runs in a
//! forked, single-threaded child (see `netns_tests::scenarios`).

use std::time::{Duration, Instant};

use netns_core::{Errno, Error, NetNs, Op, enter_user_namespace, has_cap_sys_admin};
use netns_tests::scenarios::{self, Scenario, check};

const SCENARIOS: &[Scenario] = &[
    (
        "new_without_cap_sys_admin_is_eperm_with_the_fix",
        new_without_privilege,
    ),
    (
        "enter_user_namespace_then_create_as_uid_0",
        enter_then_create,
    ),
    (
        "exhausted_max_net_namespaces_is_enospc_and_recovers",
        exhausted_limit,
    ),
];

fn main() {
    scenarios::main(SCENARIOS)
}

/// Drops every capability of this (single-threaded) process with capset(2).
fn drop_all_capabilities() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset reads one header and two data structs of the v3 ABI,
    // which live on our stack for the whole call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) };
    check(rc == 0, || {
        format!("capset: {}", std::io::Error::last_os_error())
    })
}

fn new_without_privilege() -> Result<(), String> {
    drop_all_capabilities()?;
    check(!has_cap_sys_admin().map_err(|e| e.to_string())?, || {
        "CAP_SYS_ADMIN still there after dropping it".into()
    })?;
    let error = NetNs::new()
        .err()
        .ok_or("NetNs::new worked without privileges")?;
    check(
        matches!(
            error,
            Error::Syscall {
                op: Op::New,
                errno: Errno::EPERM,
                ..
            }
        ),
        || format!("expected EPERM from NetNs::new, got {error:?}"),
    )?;
    let text = error.to_string();
    check(
        text.contains("unshare(CLONE_NEWNET)")
            && text.contains("CAP_SYS_ADMIN")
            && text.contains("enter_user_namespace"),
        || format!("message lacks the syscall or the fix: {text}"),
    )
}

fn enter_then_create() -> Result<(), String> {
    enter_user_namespace().map_err(|e| e.to_string())?;
    check(nix::unistd::geteuid().is_root(), || {
        "not uid 0 inside".into()
    })?;
    check(has_cap_sys_admin().map_err(|e| e.to_string())?, || {
        "no CAP_SYS_ADMIN inside the user namespace".into()
    })?;
    let ns = NetNs::new_with_loopback().map_err(|e| e.to_string())?;
    let port = ns
        .run(|| std::net::TcpListener::bind("127.0.0.1:80").map(|l| l.local_addr()))
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("bind port 80 inside: {e}"))?;
    check(port.is_ok(), || "no local address".into())
}

fn exhausted_limit() -> Result<(), String> {
    const LIMIT: usize = 4;
    enter_user_namespace().map_err(|e| e.to_string())?;
    // The limit is per user namespace, so this one is ours to set.
    std::fs::write("/proc/sys/user/max_net_namespaces", LIMIT.to_string())
        .map_err(|e| format!("write max_net_namespaces: {e}"))?;
    let mut held = Vec::new();
    let error = loop {
        match NetNs::new() {
            Ok(ns) => held.push(ns),
            Err(error) => break error,
        }
        check(held.len() <= LIMIT, || {
            format!("created {} past a limit of {LIMIT}", held.len())
        })?;
    };
    check(
        matches!(
            error,
            Error::Syscall {
                op: Op::New,
                errno: Errno::ENOSPC,
                ..
            }
        ),
        || format!("expected ENOSPC, got {error:?}"),
    )?;
    check(error.to_string().contains("max_net_namespaces"), || {
        format!("message does not name the limit: {error}")
    })?;
    // Room comes back once the kernel has freed what we release, which it
    // does asynchronously.
    drop(held);
    let started = Instant::now();
    loop {
        match NetNs::new() {
            Ok(_) => return Ok(()),
            Err(e)
                if e.errno() == Some(Errno::ENOSPC)
                    && started.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("no room after releasing every namespace: {e}")),
        }
    }
}
