//! The factories: long-lived threads that create namespaces and look inside them.
//!
//! Why threads of their own: `unshare(CLONE_NEWNET)` moves the *calling thread*
//! into the new namespace, and the caller of `NetNs::new` must stay where it
//! is. Going back with `setns` is not an option in general: inside an
//! unprivileged user namespace the host namespace cannot be entered again
//! (`EPERM`). Go's `New` uses a fresh OS thread per call, which makes a
//! creation about 1.6 times as slow as on a thread kept for the purpose
//! (BENCHMARKS.md), so we keep some: one per core, so that tests creating
//! namespaces in parallel are not serialized behind one thread.
//!
//! Between tasks a factory *parks* in a namespace of its own, made when it
//! starts. It may always return there (it owns it, even unprivileged), and
//! while parked it keeps none of the namespaces it made alive: a namespace
//! from `NetNs::new` lives exactly as long as its handles and the threads and
//! sockets in it. If a factory ever fails to get back to its parking spot, it
//! exits rather than do unrelated work in a foreign namespace, and the next
//! call starts a new one.
//!
//! A parking spot is one more namespace to create, so a process's first
//! task runs on a fresh thread instead, and factories start with the second:
//! a process that creates one namespace (a test under `cargo nextest`, one
//! process per test) pays for one.
//!
//! What the factories must survive:
//!
//! - **The thread that starts one.** Credentials, capabilities, the mount
//!   namespace and the root and working directories are per thread, and a
//!   new thread inherits its starter's. A factory whose state differs from
//!   the process's (see `thread_state`) serves the one task it was started
//!   for and ends, so a thread that dropped capabilities or entered a mount
//!   namespace of its own never leaves that state behind in a helper.
//! - **`fork`.** A child has the parent's memory but none of its other
//!   threads, and any lock one of them held stays held. A `pthread_atfork`
//!   handler (registered before `main`) bumps a generation number in every
//!   child, and a table of factories of another generation (or process id,
//!   for children made by a raw `clone`) is left alone for good: the child
//!   makes a table of its own, whatever the parent was doing when it forked.
//! - **The namespace limit.** Once a parking spot or a creation meets
//!   `ENOSPC` (`user.max_net_namespaces`), parking spots would take
//!   namespaces from callers, so the factories retire and every later task
//!   runs on a fresh thread.

use std::hash::{Hash, Hasher};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::socket::AddressFamily;

use crate::cookie::{self, get_netns_cookie};
use crate::error::{Error, Op, Result, Syscall};
use crate::nsfile::{self, NsId, THREAD_SELF_NET};
use crate::thread_state;
use crate::{loopback, socket};

/// Work for a factory. A task owns the fd it works on (a duplicate of the
/// caller's), so a caller that stops waiting can close its own at once.
enum Task {
    /// `unshare(CLONE_NEWNET)`, open the new namespace, optionally bring `lo` up.
    Create { loopback: bool },
    /// Read the cookie of the namespace behind this fd.
    Cookie(OwnedFd),
    /// Bring `lo` up in the namespace behind this fd.
    Loopback(OwnedFd),
}

impl Task {
    fn op(&self) -> Op {
        match self {
            Task::Create { .. } => Op::New,
            Task::Cookie(_) => Op::Cookie,
            Task::Loopback(_) => Op::Loopback,
        }
    }
}

/// What a factory hands back.
enum Answer {
    Created(OwnedFd, NsId, Option<u64>),
    Cookie(u64),
    Done,
}

/// The caller side of a running factory thread.
struct Factory {
    tasks: Sender<Task>,
    /// Each answer comes with `true` if the thread exits after it.
    answers: Receiver<(Result<Answer>, bool)>,
}

/// The factories of one process, each started on first use. A lock is held
/// for a whole task: a factory does one task at a time anyway, and holding
/// it keeps the task and its answer paired. A second factory starts only
/// when the first is busy.
struct Table {
    /// The process the table belongs to.
    owner: Process,
    /// How many tasks this process has asked for.
    tasks: AtomicUsize,
    slots: Vec<Mutex<Option<Factory>>>,
}

const MAX_FACTORIES: usize = 8;

/// The current table; see [`table`].
static TABLE: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());

/// Bumped in every child `fork` makes; see the module docs.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Set once the namespace limit was met; see the module docs.
static NO_PARKING: AtomicBool = AtomicBool::new(false);

// Registered before `main`, while the process is single-threaded, so that
// no fork can come before it. `table` names it, which keeps it linked.
#[used]
#[unsafe(link_section = ".init_array")]
static REGISTER_FORK_HANDLER: extern "C" fn() = register_fork_handler;

extern "C" fn register_fork_handler() {
    // SAFETY: the handler only bumps an atomic, which is async-signal-safe as
    // code running in a forked child must be. Failing (ENOMEM) leaves the
    // process-id check, which covers every fork but one into a new pid
    // namespace that gets the parent's pid.
    unsafe { libc::pthread_atfork(None, None, Some(forked)) };
}

unsafe extern "C" fn forked() {
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Whether a creation or a parking spot of this process met the namespace
/// limit (`ENOSPC`); see the module docs.
pub fn limit_met() -> bool {
    NO_PARKING.load(Ordering::Relaxed)
}

/// This process, as forks tell it apart: what was made under another
/// belongs to a process this one was forked (or cloned) from. Its id, which
/// a raw `clone` changes, and its fork generation, which every `fork`
/// bumps, even one into a new pid namespace that gets the parent's id.
/// (netns-test keeps its test mount namespaces and spares by it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    pid: u32,
    generation: u64,
}

impl Process {
    /// The calling process.
    pub fn this() -> Process {
        std::hint::black_box(&REGISTER_FORK_HANDLER);
        Process {
            pid: std::process::id(),
            generation: GENERATION.load(Ordering::Acquire),
        }
    }
}

impl Table {
    fn new(owner: Process) -> Table {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Table {
            owner,
            tasks: AtomicUsize::new(0),
            slots: (0..cores.clamp(1, MAX_FACTORIES))
                .map(|_| Mutex::new(None))
                .collect(),
        }
    }

    /// The first idle factory, or else the one this thread is assigned to.
    fn free_slot(&self) -> MutexGuard<'_, Option<Factory>> {
        for slot in &self.slots {
            match slot.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let mut hasher = std::hash::DefaultHasher::new();
        std::thread::current().id().hash(&mut hasher);
        let slot = &self.slots[hasher.finish() as usize % self.slots.len()];
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Retires every idle factory, freeing its parking spot.
    fn retire_idle(&self) {
        for slot in &self.slots {
            match slot.try_lock() {
                Ok(mut guard) => *guard = None,
                Err(TryLockError::Poisoned(poisoned)) => *poisoned.into_inner() = None,
                Err(TryLockError::WouldBlock) => {}
            }
        }
    }
}

/// This process's table of factories, made on first use (and anew in a
/// forked child).
fn table() -> &'static Table {
    let this = Process::this();
    loop {
        let current = TABLE.load(Ordering::Acquire);
        // SAFETY: a published table is never freed, so a non-null pointer
        // stays valid.
        if let Some(table) = unsafe { current.as_ref() } {
            if table.owner == this {
                return table;
            }
        }
        let fresh = Box::into_raw(Box::new(Table::new(this)));
        match TABLE.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // A table this replaces is a parent's, inherited by fork: its
            // threads are not in this process and its locks may be held for
            // ever, so it is left alone (leaked), never touched again.
            // SAFETY: published just now, and never freed.
            Ok(_) => return unsafe { &*fresh },
            // Another thread published one first; use that.
            // SAFETY: `fresh` was never published, so it is still only ours.
            Err(_) => drop(unsafe { Box::from_raw(fresh) }),
        }
    }
}

/// Creates a namespace; returns its fd, id and, where the kernel has them, cookie.
pub(crate) fn create(loopback: bool) -> Result<(OwnedFd, NsId, Option<u64>)> {
    match call(Task::Create { loopback })? {
        Answer::Created(fd, id, cookie) => Ok((fd, id, cookie)),
        _ => Err(lost(Op::New)),
    }
}

/// Reads the cookie of the namespace behind `fd`.
pub(crate) fn cookie(fd: BorrowedFd<'_>) -> Result<u64> {
    match call(Task::Cookie(duplicate(Op::Cookie, fd)?))? {
        Answer::Cookie(cookie) => Ok(cookie),
        _ => Err(lost(Op::Cookie)),
    }
}

/// Brings `lo` up in the namespace behind `fd`.
pub(crate) fn loopback(fd: BorrowedFd<'_>) -> Result<()> {
    match call(Task::Loopback(duplicate(Op::Loopback, fd)?))? {
        Answer::Done => Ok(()),
        _ => Err(lost(Op::Loopback)),
    }
}

fn duplicate(op: Op, fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(|e| Error::io(op, Syscall::Dup, None, e))
}

/// Runs `task` on a factory (or, see the module docs, a fresh thread) and
/// waits for its answer.
fn call(task: Task) -> Result<Answer> {
    let table = table();
    if NO_PARKING.load(Ordering::Relaxed) || table.tasks.fetch_add(1, Ordering::Relaxed) == 0 {
        return on_fresh_thread(task);
    }
    let op = task.op();
    let mut slot = table.free_slot();
    let factory = match &mut *slot {
        Some(factory) => factory,
        None => slot.insert(Factory::spawn(op)?),
    };
    if factory.tasks.send(task).is_err() {
        *slot = None;
        return Err(lost(op));
    }
    let (answer, retired) = match wait_briefly_then_block(&factory.answers, CALLER_SPIN) {
        Ok(pair) => pair,
        // Gone or stuck: a stuck one answers into a channel nobody reads,
        // with an fd of its own.
        Err(error) => {
            *slot = None;
            return Err(match error {
                RecvTimeoutError::Disconnected => lost(op),
                RecvTimeoutError::Timeout => silent(op),
            });
        }
    };
    if answer
        .as_ref()
        .is_err_and(|error| error.errno() == Some(crate::Errno::ENOSPC))
    {
        NO_PARKING.store(true, Ordering::Relaxed);
    }
    if retired || NO_PARKING.load(Ordering::Relaxed) {
        *slot = None;
    }
    // Once parking is off (this task met the limit, or a factory could not
    // park), every idle factory gives its parking spot back too.
    if NO_PARKING.load(Ordering::Relaxed) {
        drop(slot);
        table.retire_idle();
    }
    answer
}

/// Does `task` on a thread of its own, which ends right after: no parking
/// spot needed.
fn on_fresh_thread(task: Task) -> Result<Answer> {
    let op = task.op();
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("netns-factory".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || perform(task).1)
            .map_err(|source| Error::Thread { op, source })?;
        thread.join().unwrap_or_else(|_| Err(lost(op)))
    })
}

fn lost(op: Op) -> Error {
    Error::Thread {
        op,
        source: std::io::Error::other("the namespace factory thread exited unexpectedly"),
    }
}

fn silent(op: Op) -> Error {
    Error::Thread {
        op,
        source: std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "the namespace factory thread did not answer within {} s",
                FACTORY_PATIENCE.as_secs()
            ),
        ),
    }
}

/// Our threads need little stack: a few syscalls deep.
const STACK: usize = 256 * 1024;

impl Factory {
    fn spawn(op: Op) -> Result<Factory> {
        let (tasks, task_rx) = channel();
        let (answer_tx, answers) = channel();
        std::thread::Builder::new()
            .name("netns-factory".into())
            .stack_size(STACK)
            .spawn(move || serve(task_rx, answer_tx))
            .map_err(|source| Error::Thread { op, source })?;
        Ok(Factory { tasks, answers })
    }
}

/// A factory thread's main loop.
fn serve(tasks: Receiver<Task>, answers: Sender<(Result<Answer>, bool)>) {
    // Without a parking spot (see the module docs), it serves one task and
    // ends, as a fresh thread would.
    let park = if thread_state::matches_process() {
        parking_spot()
    } else {
        None
    };
    loop {
        let task = match wait_briefly_then_block(&tasks, FACTORY_SPIN) {
            Ok(task) => task,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let (moved, answer) = perform(task);
        // Back to the parking spot; a thread that cannot get there retires,
        // though its answer (a namespace, a cookie) is good.
        let parked = park
            .as_ref()
            .is_some_and(|park| !moved || setns(park, CloneFlags::CLONE_NEWNET).is_ok());
        if answers.send((answer, !parked)).is_err() || !parked {
            return;
        }
    }
}

/// Moves this thread into a namespace of its own to wait in between tasks.
fn parking_spot() -> Option<OwnedFd> {
    match unshare(CloneFlags::CLONE_NEWNET) {
        Ok(()) => nsfile::open(Op::New, THREAD_SELF_NET.as_ref()).ok(),
        Err(errno) => {
            if errno == Errno::ENOSPC {
                NO_PARKING.store(true, Ordering::Relaxed);
            }
            None
        }
    }
}

/// How long a caller polls for its answer before sleeping: a little more
/// than a creation (220-250 µs here), which is what most calls wait for.
/// Measured with 2 and 8 test threads on 2 cores: no cost to parallel suites.
const CALLER_SPIN: Duration = Duration::from_micros(400);
/// How long an idle factory polls for the next task before sleeping.
const FACTORY_SPIN: Duration = Duration::from_micros(100);

/// How long a caller waits for a factory's answer before giving up on it:
/// far more than any creation takes, even while the kernel is busy freeing
/// thousands of namespaces.
const FACTORY_PATIENCE: Duration = Duration::from_secs(60);

/// Polls `rx` for up to `spin`, yielding the CPU in between, then blocks
/// for up to [`FACTORY_PATIENCE`] (an idle factory waits for its next task
/// as long as the process lives: it times out only to poll again).
///
/// Waking a thread that sleeps in the kernel costs tens of microseconds on
/// a virtual machine (an inter-processor interrupt to a halted virtual CPU),
/// which was 8% of a creation. Creations come in bursts (a test suite, a
/// benchmark) and take a few hundred microseconds, so both sides watch for a
/// while before sleeping; `yield_now` lets anything else runnable on the
/// core go first.
fn wait_briefly_then_block<T>(rx: &Receiver<T>, spin: Duration) -> Result<T, RecvTimeoutError> {
    let started = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(value) => return Ok(value),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if started.elapsed() < spin => std::thread::yield_now(),
            Err(TryRecvError::Empty) => return rx.recv_timeout(FACTORY_PATIENCE),
        }
    }
}

/// Does one task on the calling thread; the flag says whether the thread
/// moved to another namespace doing it.
fn perform(task: Task) -> (bool, Result<Answer>) {
    match task {
        Task::Create { loopback } => match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => (
                true,
                create_here(loopback).map(|(fd, id, cookie)| Answer::Created(fd, id, cookie)),
            ),
            Err(errno) => (
                false,
                Err(Error::sys(Op::New, Syscall::UnshareNet, None, errno)),
            ),
        },
        Task::Cookie(fd) => match enter(Op::Cookie, &fd) {
            Ok(()) => (true, get_netns_cookie().map(Answer::Cookie)),
            Err(error) => (false, Err(error)),
        },
        Task::Loopback(fd) => match enter(Op::Loopback, &fd) {
            Ok(()) => (
                true,
                loopback::bring_up(Op::Loopback).map(|()| Answer::Done),
            ),
            Err(error) => (false, Err(error)),
        },
    }
}

/// Unshares the calling thread into a new namespace and opens it; see
/// `NetNs::enter_new`.
pub(crate) fn unshare_here(loopback: bool) -> Result<(OwnedFd, NsId, Option<u64>)> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|errno| Error::sys(Op::New, Syscall::UnshareNet, None, errno))?;
    create_here(loopback)
}

/// Opens the namespace this thread has just unshared into: its fd, id and
/// cookie.
fn create_here(loopback: bool) -> Result<(OwnedFd, NsId, Option<u64>)> {
    // One socket serves three ends: it opens the namespace (SIOCGSKNS, with
    // `/proc/thread-self/ns/net` as the fallback), brings `lo` up, and reads
    // the cookie while we are inside (a getsockopt, ~1% of a creation; the
    // handle never has to come back here for it). Kernels before 5.14 have
    // no cookies; `NetNs::cookie` reports that when asked.
    let socket = if loopback {
        Some(loopback::inet_socket(Op::New)?)
    } else {
        // An AF_UNIX socket needs no protocol module and exists in every
        // netns; without one, only the cookie is missing.
        socket::datagram(Op::New, AddressFamily::Unix, Syscall::SocketUnix).ok()
    };
    let fd = match socket.as_ref().and_then(|s| nsfile::of_socket(s.as_fd())) {
        Some(fd) => fd,
        None => nsfile::open(Op::New, THREAD_SELF_NET.as_ref())?,
    };
    let id = nsfile::id_of(Op::New, &fd)?;
    if let (true, Some(socket)) = (loopback, &socket) {
        loopback::up_with(Op::New, socket.as_fd())?;
    }
    let cookie = socket.and_then(|s| cookie::cookie_of(s.as_fd()).ok());
    Ok((fd, id, cookie))
}

fn enter(op: Op, fd: &OwnedFd) -> Result<()> {
    setns(fd, CloneFlags::CLONE_NEWNET)
        .map_err(|errno| Error::sys(op, Syscall::SetnsNet, None, errno))
}
