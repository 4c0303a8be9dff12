//! Spare namespaces: a test's network namespace, made ahead of time.
//!
//! Creating a network namespace is most of what a test costs (about 0.4 ms
//! of kernel work here), and the test waits for it. So when a process's
//! second `#[netns_test]` starts (a process that runs tests one after
//! another), a helper thread starts keeping [`SPARES`] new namespaces ready,
//! `lo` up, made by netns-core's factories while the tests run, on a core
//! the tests leave idle. A test whose `lo` is to be up takes one where
//! there is one, and its thread enters it; otherwise it creates its own on
//! the spot. Each spare is brand-new and goes to one test: made for it,
//! entered by nothing before.
//!
//! What it costs: [`SPARES`] namespaces and one thread, for the life of a
//! process that runs more than one test (a process per test, as under
//! `cargo nextest`, makes none). Where a creation meets the namespace
//! limit (`ENOSPC`, `user.max_net_namespaces`), the spares are dropped and
//! no more are made in that process: the limit is the tests'. A forked
//! child leaves its parent's alone, and makes none.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex};

use netns_core::__private::fork_generation;
use netns_core::NetNs;

/// How many are kept ready.
const SPARES: usize = 2;

/// The spares, with the process and fork generation that made them. Tests
/// take them with `try_lock` only: a child forked while the helper held the
/// lock must not wait for ever (it makes its own namespaces).
static READY: Mutex<Vec<Spare>> = Mutex::new(Vec::new());

/// Tells the helper a spare was taken.
static TAKEN: Condvar = Condvar::new();

/// Whether the helper was started, or spares were given up for good.
static STATE: AtomicU8 = AtomicU8::new(NOT_STARTED);
const NOT_STARTED: u8 = 0;
const MAKING: u8 = 1;
const RETIRED: u8 = 2;

struct Spare {
    ns: NetNs,
    pid: u32,
    generation: u64,
}

/// A new namespace with `lo` up, made ahead of time for the calling test,
/// if one is ready.
pub(crate) fn take() -> Option<NetNs> {
    if STATE.load(Ordering::Acquire) != MAKING {
        return None;
    }
    let mut ready = READY.try_lock().ok()?;
    let (pid, generation) = (std::process::id(), fork_generation());
    // A forked child's are its parent's.
    ready.retain(|spare| spare.pid == pid && spare.generation == generation);
    let spare = ready.pop();
    drop(ready);
    TAKEN.notify_one();
    spare.map(|spare| spare.ns)
}

/// Whether a test of this process has ended.
static ONE_ENDED: AtomicBool = AtomicBool::new(false);

/// Called when a test has ended.
pub(crate) fn test_ended() {
    ONE_ENDED.store(true, Ordering::Release);
}

/// Called when a test starts: if one ended before it, the process runs
/// tests one after another, and the helper is started (once) so that the
/// tests after this one find their namespaces made.
pub(crate) fn test_starts() {
    if !ONE_ENDED.load(Ordering::Acquire)
        || STATE
            .compare_exchange(NOT_STARTED, MAKING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return;
    }
    let started = std::thread::Builder::new()
        .name("netns-spares".into())
        .spawn(make);
    if started.is_err() {
        retire();
    }
}

/// Drops the spares and makes no more: the namespace limit is reached.
pub(crate) fn retire() {
    STATE.store(RETIRED, Ordering::Release);
    if let Ok(mut ready) = READY.try_lock() {
        ready.clear();
    }
    TAKEN.notify_one();
}

/// The helper: keeps [`SPARES`] ready until spares are given up.
fn make() {
    let (pid, generation) = (std::process::id(), fork_generation());
    let Ok(mut ready) = READY.lock() else {
        return retire();
    };
    while STATE.load(Ordering::Acquire) == MAKING {
        if ready.len() >= SPARES {
            ready = match TAKEN.wait(ready) {
                Ok(ready) => ready,
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
            Ok(ns) if STATE.load(Ordering::Acquire) == MAKING => ready.push(Spare {
                ns,
                pid,
                generation,
            }),
            // Retired meanwhile: drop it.
            Ok(_) => {}
            // The limit, or anything else: creating is the tests' to do.
            Err(_) => {
                drop(ready);
                return retire();
            }
        }
    }
    ready.clear();
}

/// The cookies of the spares ready now (for the tests: how many there are,
/// and which namespace a test gets).
pub fn ready() -> Vec<u64> {
    READY.lock().map_or(Vec::new(), |ready| {
        ready
            .iter()
            .filter_map(|spare| spare.ns.cookie().ok())
            .collect()
    })
}
