//! What a `#[netns_test]` does at run time.

use std::io::Write;
use std::process::{ExitCode, Termination};
use std::time::{Duration, Instant};

use netns_core::{Errno, Error, NetNs, get_netns_cookie};

use crate::mode::{Mode, NEVER_RAN, startup};

/// The environment variable that decides what a test does where network
/// namespaces are unavailable: `fail` (the default) or `skip`.
pub const UNSUPPORTED_ENV: &str = "NETNS_TEST_UNSUPPORTED";

/// How long to keep retrying `ENOSPC`: the kernel frees namespaces tens of
/// milliseconds after their last user is gone, so a suite at the
/// `user.max_net_namespaces` limit frees room soon.
const ENOSPC_PATIENCE: Duration = Duration::from_secs(10);

/// Options of one test, as the attribute's arguments set them.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Bring `lo` up before the body runs.
    pub loopback: bool,
}

/// Runs `body` inside a new network namespace and reports its result there.
///
/// The steps, each of which fails the test with a message naming the cause:
/// check the world the process is in; create the namespace (retrying
/// `ENOSPC`); on a new thread inside it, check by cookie that the thread is
/// isolated from the host, then run the body; after it, close the namespace
/// and check that the calling thread never left the host's namespace.
///
/// The body's result is turned into an [`ExitCode`] on the namespace thread,
/// so its error type need not be `Send`; libtest then prints the error (as
/// for any test returning `Result`) and fails the test.
#[track_caller]
pub fn run<T: Termination>(options: Options, body: impl FnOnce(&NetNs) -> T + Send) -> ExitCode {
    let Some(startup) = startup() else {
        panic!("{NEVER_RAN}");
    };
    if let Mode::Unavailable(error) = &startup.mode {
        return unavailable(error);
    }
    let host = match &startup.host_cookie {
        Ok(cookie) => *cookie,
        Err(error) => panic!("netns_test: cannot read the host namespace's cookie: {error}"),
    };
    let ns = create(options.loopback)
        .unwrap_or_else(|error| panic!("netns_test: cannot create the test's namespace: {error}"));
    let expected = ns.cookie().unwrap_or_else(|error| {
        panic!("netns_test: cannot read the test namespace's cookie: {error}")
    });
    let code = ns
        .run(|| {
            let inside = get_netns_cookie().unwrap_or_else(|error| {
                panic!("netns_test: cannot read the body's cookie: {error}")
            });
            assert!(
                inside != host && inside == expected,
                "netns_test: the body is not isolated: its namespace cookie is {inside}, the \
                 host's is {host}, and the test namespace's is {expected}"
            );
            body(&ns).report()
        })
        .unwrap_or_else(|error| panic!("netns_test: cannot enter the test's namespace: {error}"));
    drop(ns);
    let after = get_netns_cookie().unwrap_or_else(|error| {
        panic!("netns_test: cannot read the cookie after the test: {error}")
    });
    assert_eq!(
        after, host,
        "netns_test: the test's own thread left the host namespace (cookie {after}, host {host})"
    );
    code
}

/// `NetNs::new`, retrying `ENOSPC` with a bounded exponential backoff.
fn create(loopback: bool) -> Result<NetNs, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let created = if loopback {
            NetNs::new_with_loopback()
        } else {
            NetNs::new()
        };
        match created {
            Err(error)
                if error.errno() == Some(Errno::ENOSPC) && started.elapsed() < ENOSPC_PATIENCE =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Fails the test with the reason and the fixes, or skips it on request.
#[track_caller]
fn unavailable(error: &Error) -> ExitCode {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let skip = std::env::var(UNSUPPORTED_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("skip"));
    if skip {
        // Straight to the process's stderr: libtest would swallow the
        // captured output of a passing test, and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {test}: network namespaces are unavailable ({UNSUPPORTED_ENV}=skip): {error}"
        );
        return ExitCode::SUCCESS;
    }
    panic!(
        "netns_test: {test} needs a network namespace, and none can be had.\n\
         What was tried: this process lacks CAP_SYS_ADMIN, so before main it tried to enter an \
         unprivileged user namespace.\n\
         What failed: {error}\n\
         Fix one of: run the tests as root; allow unprivileged user namespaces \
         (sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, \
         sysctl -w user.max_user_namespaces=15000, or a container without its seccomp \
         profile); or set {UNSUPPORTED_ENV}=skip to pass these tests with a `skipped:` line \
         instead."
    )
}
