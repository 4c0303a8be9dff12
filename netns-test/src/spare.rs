//! Spare namespaces: a test's network namespace, made ahead of time.
//!
//! Creating a network namespace is most of what a test costs (about 0.4 ms
//! of kernel work here), and the test waits for it. So when a process's
//! second `#[netns_test]` starts (a process that runs tests one after
//! another), a helper thread starts keeping namespaces ready, `lo` up, made
//! by netns-core's factories while the tests run: one, and [`SPARES`] once
//! a test has taken one. From the third test on, a test whose `lo` is to be
//! up takes one where there is one, and its thread enters it; otherwise it
//! creates its own on the spot. Each spare is brand-new and goes to one
//! test: made for it, entered by nothing before. Where the tests leave a
//! core idle (one test at a time, tests that wait), their namespaces cost
//! them next to nothing; where every core is busy, the work is the same,
//! moved.
//!
//! What it costs: up to [`SPARES`] namespaces and this thread, and
//! netns-core's factory thread with its parking namespace if nothing had
//! started them, for the life of a process that runs more than one test (a
//! process per test, as under `cargo nextest`, makes none). Once a creation
//! of the process meets the namespace limit (`ENOSPC`,
//! `user.max_net_namespaces`, as netns-test and netns-core's factories see
//! it), the spares are dropped and no more are made: the limit is the
//! tests'. Where entering one fails, the test makes its own, and no more
//! are made. A forked child never takes its parent's.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use netns_core::__private::{Process, limit_met, matches_process};
use netns_core::NetNs;

/// How many are kept ready once tests take them.
const SPARES: usize = 2;

/// The spares, with the process and fork generation that made them. Tests
/// take them with `try_lock` only: a child forked while the helper held the
/// lock must not wait for ever (it makes its own namespaces).
static READY: Mutex<Vec<Spare>> = Mutex::new(Vec::new());

/// Tells the helper a spare was taken.
static TAKEN: Condvar = Condvar::new();

/// How long the helper sleeps between looks at [`STATE`] when it has
/// nothing to make: a retirement it missed (the lock was busy) takes effect
/// by then.
const LOOK_AGAIN: Duration = Duration::from_millis(250);

/// Whether the helper was started, or spares were given up for good.
static STATE: AtomicU8 = AtomicU8::new(NOT_STARTED);
const NOT_STARTED: u8 = 0;
const MAKING: u8 = 1;
const RETIRED: u8 = 2;

/// Whether a test of this process has ended, and whether one took a spare.
static ONE_ENDED: AtomicBool = AtomicBool::new(false);
static ONE_TAKEN: AtomicBool = AtomicBool::new(false);

struct Spare {
    ns: NetNs,
    /// The process that made it: a forked child never takes its parent's.
    owner: Process,
}

/// A new namespace with `lo` up, made ahead of time for the calling test,
/// if one is ready.
pub(crate) fn take() -> Option<NetNs> {
    if STATE.load(Ordering::Acquire) != MAKING {
        return None;
    }
    if limit_met() {
        retire();
        return None;
    }
    let mut ready = READY.try_lock().ok()?;
    // A forked child's are its parent's.
    let this = Process::this();
    ready.retain(|spare| spare.owner == this);
    let spare = ready.pop();
    drop(ready);
    if spare.is_some() {
        ONE_TAKEN.store(true, Ordering::Release);
    }
    TAKEN.notify_one();
    spare.map(|spare| spare.ns)
}

/// Called when a test has ended.
pub(crate) fn test_ended() {
    ONE_ENDED.store(true, Ordering::Release);
}

/// Called when a test starts: if one ended before it, the process runs
/// tests one after another, and the helper is started (once), from this
/// thread if it is as the process is (its credentials, namespaces, root:
/// what the helper and the factories it starts would inherit; if not, the
/// process makes no spares).
pub(crate) fn test_starts() {
    if !ONE_ENDED.load(Ordering::Acquire)
        || STATE.load(Ordering::Acquire) != NOT_STARTED
        || STATE
            .compare_exchange(NOT_STARTED, MAKING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return;
    }
    if !matches_process() {
        // Tests run from threads of their own making: no spares here.
        STATE.store(RETIRED, Ordering::Release);
        return;
    }
    let started = std::thread::Builder::new()
        .name("netns-spares".into())
        .stack_size(256 * 1024)
        .spawn(make);
    if started.is_err() {
        retire();
    }
}

/// Drops the spares and makes no more: the namespace limit is reached, or
/// spares cannot be entered. (If the lock is busy, the helper drops them
/// within [`LOOK_AGAIN`].)
pub(crate) fn retire() {
    STATE.store(RETIRED, Ordering::Release);
    if let Ok(mut ready) = READY.try_lock() {
        ready.clear();
    }
    TAKEN.notify_one();
}

/// The helper: keeps spares ready until they are given up.
fn make() {
    let owner = Process::this();
    let Ok(mut ready) = READY.lock() else {
        return retire();
    };
    while STATE.load(Ordering::Acquire) == MAKING && !limit_met() {
        let wanted = if ONE_TAKEN.load(Ordering::Acquire) {
            SPARES
        } else {
            1
        };
        if ready.len() >= wanted {
            ready = match TAKEN.wait_timeout(ready, LOOK_AGAIN) {
                Ok((ready, _)) => ready,
                Err(_) => return retire(),
            };
            continue;
        }
        // Made without the lock, so that tests can take what is ready.
        drop(ready);
        let made = NetNs::new_with_loopback();
        ready = match READY.lock() {
            Ok(ready) => ready,
            Err(_) => return retire(),
        };
        match made {
            Ok(ns) => ready.push(Spare { ns, owner }),
            // The limit, or anything else: creating is the tests' to do.
            Err(_) => break,
        }
    }
    ready.clear();
    drop(ready);
    retire();
}

/// The cookies of the spares ready now (for the tests: how many there are,
/// and which namespace a test gets), and whether the helper has stopped
/// for good.
pub fn ready() -> (Vec<u64>, bool) {
    let cookies = READY.lock().map_or(Vec::new(), |ready| {
        ready
            .iter()
            .filter_map(|spare| spare.ns.cookie().ok())
            .collect()
    });
    (cookies, STATE.load(Ordering::Acquire) == RETIRED)
}
