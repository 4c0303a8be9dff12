//! The factory: one long-lived thread that creates namespaces and looks inside them.
//!
//! Why threads of their own: `unshare(CLONE_NEWNET)` moves the *calling thread*
//! into the new namespace, and the caller of `NetNs::new` must stay where it
//! is. Going back with `setns` is not an option in general: inside an
//! unprivileged user namespace the host namespace cannot be entered again
//! (`EPERM`). Go's `New` uses a fresh OS thread per call; a thread costs about
//! 15% of a creation, so we keep one instead.
//!
//! Between tasks the factory *parks* in a namespace of its own, made when it
//! starts. It may always return there (it owns it, even unprivileged), and
//! while parked it keeps none of the namespaces it made alive: a namespace
//! from `NetNs::new` lives exactly as long as its handles and the threads and
//! sockets in it. If the factory ever fails to get back to its parking spot, it
//! exits rather than do unrelated work in a foreign namespace, and the next
//! call starts a new one.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::mpsc::{Receiver, RecvError, Sender, TryRecvError, channel};
use std::time::{Duration, Instant};
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError, TryLockError};

use nix::sched::{CloneFlags, setns, unshare};

use crate::cookie::{self, get_netns_cookie};
use crate::error::{Error, Op, Result};
use crate::loopback;
use crate::nsfile::{self, NsId, THREAD_SELF_NET};

/// Work for the factory thread.
enum Task {
    /// `unshare(CLONE_NEWNET)`, open the new namespace, optionally bring `lo` up.
    Create { loopback: bool },
    /// Read the cookie of the namespace behind this fd.
    Cookie(RawFd),
    /// Bring `lo` up in the namespace behind this fd.
    Loopback(RawFd),
}

/// What the factory hands back.
enum Answer {
    Ready,
    Created(OwnedFd, NsId, Option<u64>),
    Cookie(u64),
    Done,
}

/// The caller side of a running factory thread.
struct Factory {
    /// The process the thread runs in: a forked child inherits this struct
    /// but not the thread, and must start its own.
    pid: u32,
    tasks: Sender<Task>,
    /// Each answer comes with `true` if the thread exits after it.
    answers: Receiver<(Result<Answer>, bool)>,
}

/// The factories, each started on first use. A lock is held for a whole
/// task: a factory does one task at a time anyway, and holding it keeps the
/// task and its answer paired. There are as many as cores (up to
/// [`MAX_FACTORIES`]), so that tests creating namespaces in parallel are not
/// serialized behind one thread: the kernel creates namespaces concurrently.
/// A second factory starts only when the first is busy.
static FACTORIES: LazyLock<Vec<Mutex<Option<Factory>>>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..cores.clamp(1, MAX_FACTORIES)).map(|_| Mutex::new(None)).collect()
});

const MAX_FACTORIES: usize = 8;

/// Creates a namespace; returns its fd, id and, where the kernel has them, cookie.
pub(crate) fn create(loopback: bool) -> Result<(OwnedFd, NsId, Option<u64>)> {
    match call(Op::New, Task::Create { loopback })? {
        Answer::Created(fd, id, cookie) => Ok((fd, id, cookie)),
        _ => Err(lost(Op::New)),
    }
}

/// Reads the cookie of the namespace behind `fd`.
pub(crate) fn cookie(fd: BorrowedFd<'_>) -> Result<u64> {
    // The borrow outlives `call`, which keeps the fd open as `Task` requires.
    match call(Op::Cookie, Task::Cookie(fd.as_raw_fd()))? {
        Answer::Cookie(cookie) => Ok(cookie),
        _ => Err(lost(Op::Cookie)),
    }
}

/// Brings `lo` up in the namespace behind `fd`.
pub(crate) fn loopback(fd: BorrowedFd<'_>) -> Result<()> {
    match call(Op::Loopback, Task::Loopback(fd.as_raw_fd()))? {
        Answer::Done => Ok(()),
        _ => Err(lost(Op::Loopback)),
    }
}

/// Runs `task` on the factory thread and waits for its answer.
///
/// The fd in a `Cookie` or `Loopback` task must stay open until this returns.
fn call(op: Op, task: Task) -> Result<Answer> {
    let mut slot = free_factory();
    let pid = std::process::id();
    if slot.as_ref().is_some_and(|f| f.pid != pid) {
        *slot = None;
    }
    let factory = match &mut *slot {
        Some(factory) => factory,
        None => slot.insert(Factory::spawn(op, pid)?),
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

impl Factory {
    fn spawn(op: Op, pid: u32) -> Result<Factory> {
        let (tasks, task_rx) = channel();
        let (answer_tx, answers) = channel();
        std::thread::Builder::new()
            .name("netns-factory".into())
            .stack_size(256 * 1024)
            .spawn(move || serve(task_rx, answer_tx))
            .map_err(|source| Error::Thread { op, source })?;
        match answers.recv() {
            Ok((Ok(_), _)) => Ok(Factory {
                pid,
                tasks,
                answers,
            }),
            Ok((Err(error), _)) => Err(error),
            Err(_) => Err(lost(op)),
        }
    }
}

/// The factory thread's main loop.
fn serve(tasks: Receiver<Task>, answers: Sender<(Result<Answer>, bool)>) {
    let park = match make_parking_spot() {
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
        let (answer, parked) = perform(task, &park);
        if answers.send((answer, !parked)).is_err() || !parked {
            return;
        }
    }
}

const CALLER_SPIN: Duration = Duration::from_micros(400);
const FACTORY_SPIN: Duration = Duration::from_micros(100);

/// Polls `rx` for up to `spin`, yielding the CPU in between, then blocks.
///
/// Waking a thread that sleeps in the kernel costs tens of microseconds on
/// a virtual machine (an inter-processor interrupt to a halted virtual CPU),
/// as much as a tenth of a namespace's creation. Creations come in bursts
/// (a test suite, a benchmark) and take a few hundred microseconds, so both
/// sides watch for a while before sleeping; `yield_now` lets anything else
/// runnable on the core go first.
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
fn make_parking_spot() -> Result<OwnedFd> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|errno| Error::sys(Op::New, "unshare(CLONE_NEWNET)", None, errno))?;
    nsfile::open(Op::New, THREAD_SELF_NET.as_ref())
}

/// Does one task; the flag says whether the thread is back in its parking spot.
fn perform(task: Task, park: &OwnedFd) -> (Result<Answer>, bool) {
    let (op, answer) = match task {
        Task::Create { loopback } => {
            if let Err(errno) = unshare(CloneFlags::CLONE_NEWNET) {
                let error = Error::sys(Op::New, "unshare(CLONE_NEWNET)", None, errno);
                return (Err(error), true);
            }
            (Op::New, create_here(loopback))
        }
        Task::Cookie(fd) => match enter(Op::Cookie, fd) {
            Ok(()) => (Op::Cookie, get_netns_cookie().map(Answer::Cookie)),
            Err(error) => return (Err(error), true),
        },
        Task::Loopback(fd) => match enter(Op::Loopback, fd) {
            Ok(()) => (
                Op::Loopback,
                loopback::bring_up_loopback().map(|()| Answer::Done),
            ),
            Err(error) => return (Err(error), true),
        },
    };
    match setns(park, CloneFlags::CLONE_NEWNET) {
        Ok(()) => (answer, true),
        Err(errno) => {
            // The answer is still good; only this thread is no longer usable.
            let answer = answer.and(Err(Error::sys(op, "setns(parking namespace)", None, errno)));
            (answer, false)
        }
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
        let socket = loopback::inet_socket()?;
        loopback::up_with(socket.as_fd())?;
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
