//! A thread that stays in one namespace and runs closures there, one at a
//! time: [`NetNs::run`] without a thread per call.
//!
//! The caller hands the worker a pointer to its closure and waits until the
//! worker says it is done; both sides spin briefly before they sleep, so a
//! run of calls costs a cache-line handoff each, not two wake-ups.

use std::os::fd::AsFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use crate::error::{Error, Op, Result};
use crate::netns::NetNs;
use crate::nsfile::NsId;

/// How long each side spins before it sleeps: long enough to catch the
/// next call of a caller making many, short enough not to matter on a busy
/// machine.
const SPIN: Duration = Duration::from_micros(50);

/// No call is in progress.
const IDLE: u8 = 0;
/// A call is waiting for the worker.
const CALLED: u8 = 1;
/// The worker has run the call.
const DONE: u8 = 2;
/// The worker is to exit.
const STOP: u8 = 3;

/// A thread resident in one network namespace, running closures there.
///
/// Made by [`NetNs::worker`]. [`Worker::run`] has the contract of
/// [`NetNs::run`] — the closure runs inside the namespace, may borrow, its
/// value is returned and its panic resumes on the caller — but every call
/// runs on the same thread, which enters the namespace once. Calls from
/// several threads are served one at a time, in no promised order.
///
/// What differs from [`NetNs::run`]:
///
/// - Thread-locals persist from one call to the next (a cache kept in one
///   is seen by the next closure), and so does anything else a closure does
///   to its thread: its name is `netns-worker`, its signal mask, its
///   capabilities, its mount namespace.
/// - If a closure moves the thread to another network namespace (`setns`,
///   `unshare(CLONE_NEWNET)`), the worker moves it back before the next
///   call; where it cannot (it lacks the privilege to enter its own
///   namespace again), later calls fail with [`Error::WorkerMoved`] and no
///   closure ever runs in the wrong namespace.
/// - A closure that never returns blocks every later call.
/// - The thread was started by whoever made the worker, so under
///   `cargo test` a closure's `println!` goes to that test's output.
///
/// Dropping the worker ends its thread: the drop waits for the call in
/// progress, if another thread is in one (as long as its closure runs,
/// like every later call). The worker keeps its own handle to the
/// namespace, so the namespace lives at least as long.
///
/// ```no_run
/// use netns_core::{NetNs, get_netns_cookie};
///
/// # fn main() -> Result<(), netns_core::Error> {
/// let ns = NetNs::new_with_loopback()?;
/// let worker = ns.worker()?;
/// for _ in 0..1000 {
///     assert_eq!(worker.run(get_netns_cookie)??, ns.cookie()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Worker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Held for a whole call: calls are served one at a time.
    calls: Mutex<()>,
    id: NsId,
}

/// A closure the caller lent the worker, its lifetime erased.
struct Call(*mut (dyn FnMut() + Send + 'static));

// SAFETY: the pointee is `Send` (see `Worker::run`), and the pointer is
// only used by the worker while the caller waits for it.
unsafe impl Send for Call {}

/// What the caller and the worker share.
#[derive(Debug)]
struct Shared {
    state: AtomicU8,
    /// The call in progress and the thread to wake when it is done.
    call: Mutex<Option<(Call, Thread)>>,
    /// Set once a closure moved the thread out of the namespace and it
    /// could not go back: the `setns` error, if that was what failed.
    moved: OnceLock<Option<crate::Errno>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Call")
    }
}

/// How the worker makes sure each call starts in its namespace.
#[derive(Debug, Clone, Copy)]
enum Return {
    /// `setns` back after every call (one system call; asking where the
    /// thread is would be a path lookup in `/proc`).
    Setns,
    /// The namespace cannot be entered, only stayed in (the host's, from
    /// a user namespace): check after every call that it is still there.
    Check,
}

impl NetNs {
    /// Starts a [`Worker`]: a thread that enters this namespace once and
    /// runs closures there for as long as the `Worker` lives.
    ///
    /// For many calls into one namespace; each [`Worker::run`] costs about
    /// a `setns` where [`NetNs::run`] costs a thread.
    ///
    /// # Errors
    ///
    /// As [`NetNs::run`]: [`Error::Syscall`] for
    /// [`setns(CLONE_NEWNET)`](https://man7.org/linux/man-pages/man2/setns.2.html)
    /// (`EPERM` without `CAP_SYS_ADMIN` over the namespace's owner),
    /// [`Error::Thread`] if the thread cannot be started, and `EMFILE` if
    /// the worker's own handle cannot be opened.
    pub fn worker(&self) -> Result<Worker> {
        let ns = self.try_clone()?;
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            call: Mutex::new(None),
            moved: OnceLock::new(),
        });
        let (started, answer) = std::sync::mpsc::sync_channel(1);
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("netns-worker".into())
            .spawn(move || {
                let entered = enter(&ns);
                let how = entered.as_ref().ok().copied();
                let _ = started.send(entered.map(drop));
                if let Some(how) = how {
                    serve(&serving, &ns, how);
                }
            })
            .map_err(|source| Error::Thread {
                op: Op::Worker,
                source,
            })?;
        // The thread answers right after its setns, whatever happens; a
        // thread that ends without answering (it cannot), or does not
        // answer in a minute, is reported as not started.
        match answer.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(waited) => {
                // Should it enter after all, it finds it is to stop.
                shared.state.store(STOP, Ordering::Release);
                thread.thread().unpark();
                let source = std::io::Error::other(format!(
                    "the worker's thread did not say it entered the namespace ({waited})"
                ));
                return Err(Error::Thread {
                    op: Op::Worker,
                    source,
                });
            }
        }
        Ok(Worker {
            shared,
            thread: Some(thread),
            calls: Mutex::new(()),
            id: self.id(),
        })
    }
}

/// Enters `ns` on the calling thread, as [`NetNs::run`] does, and tells
/// how the thread can make sure it stays there.
fn enter(ns: &NetNs) -> Result<Return> {
    // A thread there already that may not enter (the host's namespace, seen
    // from a user namespace) can only check.
    if ns.enter_here(Op::Worker)? {
        Ok(Return::Setns)
    } else {
        Ok(Return::Check)
    }
}

/// The worker's loop: wait for a call, run it, make sure the thread is back
/// in `ns`, say it is done.
fn serve(shared: &Shared, ns: &NetNs, how: Return) {
    loop {
        if wait_for(&shared.state, |state| state == CALLED || state == STOP) == STOP {
            return;
        }
        let taken = lock(&shared.call).take();
        let Some((Call(call), caller)) = taken else {
            // Cannot happen: a caller stores its call before CALLED.
            shared.state.store(DONE, Ordering::Release);
            continue;
        };
        // SAFETY: the caller keeps the closure alive and does not touch it
        // until it sees DONE, which is stored below, after the call.
        unsafe { (*call)() };
        let back = match how {
            Return::Setns => setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(Some),
            Return::Check if ns.is_current_thread_ns() => Ok(()),
            Return::Check => Err(None),
        };
        let stop = back.is_err();
        if let Err(errno) = back {
            let _ = shared.moved.set(errno.map(crate::Errno::from_nix));
        }
        shared.state.store(DONE, Ordering::Release);
        caller.unpark();
        if stop {
            return;
        }
    }
}

impl Worker {
    /// Runs `f` on the worker's thread, inside its namespace, and returns
    /// its value; see [`Worker`] for how this differs from [`NetNs::run`].
    ///
    /// A panic in `f` resumes on the caller with the original payload.
    ///
    /// # Errors
    ///
    /// [`Error::WorkerMoved`] if an earlier closure moved the worker's
    /// thread out of its namespace and it could not go back. Errors of `f`
    /// itself are in its return value.
    pub fn run<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        if self.is_current_thread() {
            return self.run_here(f);
        }
        let turn = lock(&self.calls);
        self.serve_call(turn, f)
    }

    /// [`run`](Worker::run), unless the worker cannot take `f` now: then
    /// `f` comes back untouched, to run elsewhere (e.g. with
    /// [`NetNs::run`]). That is so while it serves another call, and for
    /// good once a closure moved its thread
    /// ([`is_usable`](Worker::is_usable) tells the two apart). A call from
    /// inside a closure the worker runs is run at once, on the spot.
    ///
    /// # Errors
    ///
    /// In the inner `Result`: [`Error::WorkerMoved`] for a call on the
    /// spot from a closure that moved the thread.
    pub fn try_run<F, T>(&self, f: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        if self.is_current_thread() {
            return Ok(self.run_here(f));
        }
        let turn = match self.calls.try_lock() {
            Ok(turn) => turn,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(f),
        };
        // A worker that can serve nothing more gives the closure back too.
        if self.shared.moved.get().is_some() {
            return Err(f);
        }
        Ok(self.serve_call(turn, f))
    }

    /// Whether the worker can still serve calls: `false` once a closure
    /// moved its thread out of its namespace for good (see
    /// [`Error::WorkerMoved`]).
    pub fn is_usable(&self) -> bool {
        self.shared.moved.get().is_none()
    }

    /// Whether the calling thread is the worker's own (a closure calling
    /// back into its worker, which waiting would deadlock).
    fn is_current_thread(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| thread.thread().id() == std::thread::current().id())
    }

    /// `f`, on the worker's thread from inside one of its calls, if the
    /// thread is still in the worker's namespace (the outer closure may
    /// have moved it).
    fn run_here<F: FnOnce() -> T, T>(&self, f: F) -> Result<T> {
        if !self.id.is_the_calling_threads() {
            return Err(Error::WorkerMoved { errno: None });
        }
        Ok(f())
    }

    fn serve_call<F, T>(&self, _turn: std::sync::MutexGuard<'_, ()>, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        if let Some(&errno) = self.shared.moved.get() {
            return Err(Error::WorkerMoved { errno });
        }
        let mut f = Some(f);
        let mut outcome: Option<std::thread::Result<T>> = None;
        let mut call = || {
            if let Some(f) = f.take() {
                outcome = Some(std::panic::catch_unwind(AssertUnwindSafe(f)));
            }
        };
        let call: &mut (dyn FnMut() + Send) = &mut call;
        // SAFETY: only the lifetime is erased. The worker calls the closure
        // while this function waits below for DONE, which it stores only
        // after the call, so the closure and what it borrows outlive every
        // use. `F` and `T` are `Send`, so the closure may run there.
        let call: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(call) };
        *lock(&self.shared.call) = Some((Call(call), std::thread::current()));
        self.shared.state.store(CALLED, Ordering::Release);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
        wait_for(&self.shared.state, |state| state == DONE);
        self.shared.state.store(IDLE, Ordering::Relaxed);
        match outcome {
            Some(Ok(value)) => Ok(value),
            Some(Err(payload)) => std::panic::resume_unwind(payload),
            // The worker said DONE without calling it, which it does only
            // for a call it could not find (it cannot happen).
            None => Err(Error::WorkerMoved { errno: None }),
        }
    }

    /// The identity of the worker's namespace.
    pub fn id(&self) -> NsId {
        self.id
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.is_current_thread() {
            // Dropped by one of its own closures (or a thread-local of its
            // thread): it cannot wait for itself. It ends when that call
            // returns.
            self.shared.state.store(STOP, Ordering::Release);
            return;
        }
        let _turn = lock(&self.calls);
        self.shared.state.store(STOP, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The worker is idle (no call holds `calls`), so it exits at
            // once; if it stopped serving, it has exited already.
            let _ = thread.join();
        }
    }
}

/// Waits until `state` satisfies `ready`: spins for [`SPIN`], then parks
/// (the other side unparks this thread after changing the state). Returns
/// the state seen.
fn wait_for(state: &AtomicU8, ready: impl Fn(u8) -> bool) -> u8 {
    let started = Instant::now();
    let mut spins = 0_u32;
    loop {
        let seen = state.load(Ordering::Acquire);
        if ready(seen) {
            return seen;
        }
        spins = spins.wrapping_add(1);
        if spins % 64 != 0 || started.elapsed() < SPIN {
            std::hint::spin_loop();
        } else {
            std::thread::park();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one is intact.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
