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
//! process per test) pays for one. A forked child, which inherits the
//! factories' state but not their threads, also uses fresh threads.

use std::hash::{Hash, Hasher};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvError, Sender, TryRecvError, channel};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns, unshare};

use crate::cookie::{self, get_netns_cookie};
use crate::error::{Error, Op, Result};
use crate::loopback;
use crate::nsfile::{self, NsId, THREAD_SELF_NET};

/// Work for a factory.
#[derive(Clone, Copy)]
enum Task {
    /// `unshare(CLONE_NEWNET)`, open the new namespace, optionally bring `lo` up.
    Create { loopback: bool },
    /// Read the cookie of the namespace behind this fd.
    Cookie(RawFd),
    /// Bring `lo` up in the namespace behind this fd.
    Loopback(RawFd),
}

impl Task {
    fn op(self) -> Op {
        match self {
            Task::Create { .. } => Op::New,
            Task::Cookie(_) => Op::Cookie,
            Task::Loopback(_) => Op::Loopback,
        }
    }
}

/// What a factory hands back.
enum Answer {
    Ready,
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

/// The factories, each started on first use. A lock is held for a whole
/// task: a factory does one task at a time anyway, and holding it keeps the
/// task and its answer paired. A second factory starts only when the first
/// is busy.
static FACTORIES: LazyLock<Vec<Mutex<Option<Factory>>>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..cores.clamp(1, MAX_FACTORIES))
        .map(|_| Mutex::new(None))
        .collect()
});

const MAX_FACTORIES: usize = 8;

/// The process that started the factories (0: none yet).
static OWNER: AtomicU32 = AtomicU32::new(0);

/// How many tasks this process has asked for.
static TASKS: AtomicUsize = AtomicUsize::new(0);

/// Creates a namespace; returns its fd, id and, where the kernel has them, cookie.
pub(crate) fn create(loopback: bool) -> Result<(OwnedFd, NsId, Option<u64>)> {
    match call(Task::Create { loopback })? {
        Answer::Created(fd, id, cookie) => Ok((fd, id, cookie)),
        _ => Err(lost(Op::New)),
    }
}

/// Reads the cookie of the namespace behind `fd`.
pub(crate) fn cookie(fd: BorrowedFd<'_>) -> Result<u64> {
    // The borrow outlives `call`, which keeps the fd open as `Task` requires.
    match call(Task::Cookie(fd.as_raw_fd()))? {
        Answer::Cookie(cookie) => Ok(cookie),
        _ => Err(lost(Op::Cookie)),
    }
}

/// Brings `lo` up in the namespace behind `fd`.
pub(crate) fn loopback(fd: BorrowedFd<'_>) -> Result<()> {
    match call(Task::Loopback(fd.as_raw_fd()))? {
        Answer::Done => Ok(()),
        _ => Err(lost(Op::Loopback)),
    }
}

/// Runs `task` on a factory (or, see the module docs, a fresh thread) and
/// waits for its answer.
///
/// The fd in a `Cookie` or `Loopback` task must stay open until this returns.
fn call(task: Task) -> Result<Answer> {
    let pid = std::process::id();
    let owner = OWNER.load(Ordering::Relaxed);
    if (owner != 0 && owner != pid) || TASKS.fetch_add(1, Ordering::Relaxed) == 0 {
        return on_fresh_thread(task);
    }
    let op = task.op();
    let mut slot = free_factory();
    let factory = match &mut *slot {
        Some(factory) => factory,
        None => {
            OWNER.store(pid, Ordering::Relaxed);
            slot.insert(Factory::spawn(op)?)
        }
    };
    if factory.tasks.send(task).is_err() {
        *slot = None;
        return Err(lost(op));
    }
    match wait_briefly_then_block(&factory.answers, CALLER_SPIN) {
        Ok((answer, retired)) => {
            if retired {
                *slot = None;
            }
            answer
        }
        // The thread is gone, so it no longer uses the task's fd.
        Err(_) => {
            *slot = None;
            Err(lost(op))
        }
    }
}

/// Does `task` on a thread of its own, which ends right after: no parking
/// spot needed.
fn on_fresh_thread(task: Task) -> Result<Answer> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("netns-factory".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || perform(task).1)
            .map_err(|source| Error::Thread {
                op: task.op(),
                source,
            })?;
        thread.join().unwrap_or_else(|_| Err(lost(task.op())))
    })
}

/// The first idle factory, or else the one this thread is assigned to.
fn free_factory() -> MutexGuard<'static, Option<Factory>> {
    let factories = &*FACTORIES;
    for slot in factories {
        match slot.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
    }
    let mut hasher = std::hash::DefaultHasher::new();
    std::thread::current().id().hash(&mut hasher);
    let slot = &factories[hasher.finish() as usize % factories.len()];
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lost(op: Op) -> Error {
    Error::Thread {
        op,
        source: std::io::Error::other("the namespace factory thread exited unexpectedly"),
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
            .spawn(move || serve(op, task_rx, answer_tx))
            .map_err(|source| Error::Thread { op, source })?;
        match answers.recv() {
            Ok((Ok(_), _)) => Ok(Factory { tasks, answers }),
            Ok((Err(error), _)) => Err(error),
            Err(_) => Err(lost(op)),
        }
    }
}

/// A factory thread's main loop.
fn serve(op: Op, tasks: Receiver<Task>, answers: Sender<(Result<Answer>, bool)>) {
    let park = match make_parking_spot(op) {
        Ok(park) => park,
        Err(error) => {
            let _ = answers.send((Err(error), true));
            return;
        }
    };
    if answers.send((Ok(Answer::Ready), false)).is_err() {
        return;
    }
    while let Ok(task) = wait_briefly_then_block(&tasks, FACTORY_SPIN) {
        let (moved, answer) = perform(task);
        // Back to the parking spot; a thread that cannot get there retires,
        // though its answer (a namespace, a cookie) is good.
        let parked = !moved || setns(&park, CloneFlags::CLONE_NEWNET).is_ok();
        if answers.send((answer, !parked)).is_err() || !parked {
            return;
        }
    }
}

/// How long a caller polls for its answer before sleeping: a little more
/// than a creation (220-250 µs here), which is what most calls wait for.
/// Measured with 2 and 8 test threads on 2 cores: no cost to parallel suites.
const CALLER_SPIN: Duration = Duration::from_micros(400);
/// How long an idle factory polls for the next task before sleeping.
const FACTORY_SPIN: Duration = Duration::from_micros(100);

/// Polls `rx` for up to `spin`, yielding the CPU in between, then blocks.
///
/// Waking a thread that sleeps in the kernel costs tens of microseconds on
/// a virtual machine (an inter-processor interrupt to a halted virtual CPU),
/// which was 8% of a creation. Creations come in bursts (a test suite, a
/// benchmark) and take a few hundred microseconds, so both sides watch for a
/// while before sleeping; `yield_now` lets anything else runnable on the
/// core go first.
fn wait_briefly_then_block<T>(rx: &Receiver<T>, spin: Duration) -> Result<T, RecvError> {
    let started = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(value) => return Ok(value),
            Err(TryRecvError::Disconnected) => return Err(RecvError),
            Err(TryRecvError::Empty) if started.elapsed() < spin => std::thread::yield_now(),
            Err(TryRecvError::Empty) => return rx.recv(),
        }
    }
}

/// Moves this thread into a namespace of its own to wait in between tasks.
fn make_parking_spot(op: Op) -> Result<OwnedFd> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|errno| Error::sys(op, "unshare(CLONE_NEWNET) for the factory", None, errno))?;
    nsfile::open(op, THREAD_SELF_NET.as_ref())
}

/// Does one task on the calling thread; the flag says whether the thread
/// moved to another namespace doing it.
fn perform(task: Task) -> (bool, Result<Answer>) {
    match task {
        Task::Create { loopback } => match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => (true, create_here(loopback)),
            Err(errno) => (
                false,
                Err(Error::sys(Op::New, "unshare(CLONE_NEWNET)", None, errno)),
            ),
        },
        Task::Cookie(fd) => match enter(Op::Cookie, fd) {
            Ok(()) => (true, get_netns_cookie().map(Answer::Cookie)),
            Err(error) => (false, Err(error)),
        },
        Task::Loopback(fd) => match enter(Op::Loopback, fd) {
            Ok(()) => (
                true,
                loopback::bring_up(Op::Loopback).map(|()| Answer::Done),
            ),
            Err(error) => (false, Err(error)),
        },
    }
}

/// Opens the namespace this thread has just unshared into.
fn create_here(loopback: bool) -> Result<Answer> {
    let fd = nsfile::open(Op::New, THREAD_SELF_NET.as_ref())?;
    let id = nsfile::id_of(Op::New, &fd)?;
    // While we are inside, read the cookie: a getsockopt, ~1% of a creation,
    // and the handle never has to come back here for it. Kernels before 5.14
    // have no cookies; `NetNs::cookie` reports that when asked. With `lo`
    // to bring up, one socket serves both.
    let cookie = if loopback {
        let socket = loopback::inet_socket(Op::New)?;
        loopback::up_with(Op::New, socket.as_fd())?;
        cookie::cookie_of(socket.as_fd()).ok()
    } else {
        get_netns_cookie().ok()
    };
    Ok(Answer::Created(fd, id, cookie))
}

fn enter(op: Op, fd: RawFd) -> Result<()> {
    // SAFETY: `call`'s contract: the caller keeps `fd` open until we answer.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    setns(fd, CloneFlags::CLONE_NEWNET)
        .map_err(|errno| Error::sys(op, "setns(CLONE_NEWNET)", None, errno))
}
