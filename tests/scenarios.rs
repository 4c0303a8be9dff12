//! A test runner for scenarios that each need a whole, single-threaded process.
//!
//! libtest starts threads before the first test, and the kernel lets only a
//! single-threaded process enter a user namespace; so each scenario runs in
//! a child forked from a `main` that never starts a thread. The runner prints
//! libtest-like lines and a closing `N passed, N failed`, and answers
//! `--list --format terse` so that `cargo nextest run` can drive it. A
//! scenario that has not ended after [`SCENARIO_PATIENCE`] is killed, and fails.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// How long a scenario may run before it is killed and fails.
pub const SCENARIO_PATIENCE: Duration = crate::bounded::CHILD_PATIENCE;

/// A named scenario; `Err` says what went wrong.
pub type Scenario = (&'static str, fn() -> Result<(), String>);

/// Runs the scenarios selected by the command line and exits.
pub fn main(scenarios: &[Scenario]) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let ignored_only = args.iter().any(|a| a == "--ignored");
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-') && !matches!(a.as_str(), "terse" | "json" | "pretty"))
        .map(String::as_str)
        .collect();
    let selected = scenarios.iter().filter(|(name, _)| {
        !ignored_only
            && (filters.is_empty()
                || filters
                    .iter()
                    .any(|f| if exact { name == f } else { name.contains(f) }))
    });
    if args.iter().any(|a| a == "--list") {
        for (name, _) in selected {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in selected {
        match in_child(*scenario) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED\n    {why}");
                failed += 1;
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 })
}

/// Runs `scenario` in a forked child and returns its verdict (its message,
/// if it failed, is on stderr); kills it if it has not ended after
/// [`SCENARIO_PATIENCE`]. Scenarios use it too, for what a forked child of
/// a test process does.
pub fn in_child(scenario: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    // SAFETY: the runner's process never starts a thread (scenarios run only
    // in children), so the child is a complete single-threaded copy; a
    // scenario forks when its own threads have ended, and glibc's allocator
    // is fork-safe.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let code = match scenario() {
                Ok(()) => 0,
                Err(why) => {
                    eprintln!("{why}");
                    1
                }
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => {
            // A pidfd and poll(2): no thread, which this process must not start.
            let ended =
                crate::bounded::ended_within(child.as_raw().unsigned_abs(), SCENARIO_PATIENCE);
            if !matches!(ended, Ok(true)) {
                let _ = kill(child, Signal::SIGKILL);
            }
            let status = waitpid(child, None).map_err(|e| format!("waitpid: {e}"))?;
            match (ended, status) {
                (Ok(true), WaitStatus::Exited(_, 0)) => Ok(()),
                (Ok(true), status) => {
                    Err(format!("child ended with {status:?}; its message is above"))
                }
                (Ok(false), _) => Err(format!(
                    "child did not end within {SCENARIO_PATIENCE:?}, and was killed; its output until then is above"
                )),
                (Err(e), _) => Err(format!(
                    "cannot wait for the child with a deadline, so killed it: pidfd_open: {e}"
                )),
            }
        }
    }
}

/// Makes this single-threaded process able to create namespaces: as it is,
/// with `CAP_SYS_ADMIN`, or in a user namespace of its own.
pub fn privileged() -> Result<(), String> {
    if !netns_core::has_cap_sys_admin().map_err(|e| e.to_string())? {
        netns_core::enter_user_namespace().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `Ok` if `ok`, else `Err` with the message `what` builds.
pub fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}
