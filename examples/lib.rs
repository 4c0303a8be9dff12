//! A line-echo service shared by the examples: a server that answers each
//! line with the same line, and a client that sends one line and reads the
//! answer. Small enough to read, real enough to need a network.
//!
//! Every wait in it has an upper bound (see [`bounded`]): a broken network
//! fails a test with a message saying what did not come, instead of hanging it.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, ToSocketAddrs};
use std::thread::JoinHandle;

use bounded::{PATIENCE, accept_within, connect_within, waited_for};

/// Serves `connections` connections on `listener`, one after the other,
/// echoing every line; returns how many lines it echoed. It gives up, with
/// an error, when no client comes or a client goes quiet for [`PATIENCE`].
pub fn serve(listener: TcpListener, connections: usize) -> io::Result<usize> {
    let mut lines = 0;
    for _ in 0..connections {
        let (stream, peer) = accept_within(&listener, PATIENCE)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let mut line = String::new();
        while reader
            .read_line(&mut line)
            .map_err(waited_for(format!("line from {peer}")))?
            > 0
        {
            writer.write_all(line.as_bytes())?;
            lines += 1;
            line.clear();
        }
    }
    Ok(lines)
}

/// Starts [`serve`] on a thread of its own. The thread inherits the calling
/// thread's network namespace.
pub fn spawn_server(listener: TcpListener, connections: usize) -> JoinHandle<io::Result<usize>> {
    std::thread::spawn(move || serve(listener, connections))
}

/// Sends `line` to the echo server at `addr` and returns its answer; gives
/// up, with an error, after [`PATIENCE`] without a connection or an answer.
pub fn echo(addr: impl ToSocketAddrs, line: &str) -> io::Result<String> {
    let mut stream = connect_within(addr, PATIENCE)?;
    let server = stream.peer_addr()?;
    stream.write_all(line.as_bytes())?;
    stream.write_all(b"\n")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(waited_for(format!("answer from {server}")))?;
    Ok(answer.trim_end_matches('\n').to_owned())
}

/// Waits with an upper bound: for a connection, a client, an answer, a
/// child process, a condition.
///
/// Every wait of the suite goes through these, so that a broken network (a
/// router that forwards when it should not, a link that drops everything)
/// fails the test within seconds, with a message that says what did not
/// come, instead of hanging it. The bounds are generous: they only turn
/// hangs into failures, and no test asserts that anything is fast.
pub mod bounded {
    use std::fmt::Display;
    use std::future::Future;
    use std::io::{self, ErrorKind, Read};
    use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
    use std::process::{Child, Command, ExitStatus, Output, Stdio};
    use std::sync::{Arc, Mutex, PoisonError, mpsc};
    use std::time::{Duration, Instant};

    /// How long a test waits for the network: a connection, a client, an
    /// answer. Streams from [`connect_within`] and [`accept_within`] read
    /// and write with it as their timeout.
    pub const PATIENCE: Duration = Duration::from_secs(5);

    /// How long a test waits for a child process to end.
    pub const CHILD_PATIENCE: Duration = Duration::from_secs(60);

    /// Connects to `addr` (to each of its addresses in turn), giving up on
    /// each after `patience`; the stream reads and writes with [`PATIENCE`]
    /// as timeout. A connection that times out is an `ErrorKind::TimedOut`
    /// error that names the address; other errors are the system's, as
    /// they are (`raw_os_error` included).
    pub fn connect_within(addr: impl ToSocketAddrs, patience: Duration) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, patience) {
                Ok(stream) => return with_timeouts(stream),
                Err(error) if error.kind() == ErrorKind::TimedOut => {
                    last = Some(timed_out(format!(
                        "no connection to {addr} within {patience:?}"
                    )));
                }
                Err(error) => last = Some(error),
            }
        }
        Err(last
            .unwrap_or_else(|| io::Error::new(ErrorKind::InvalidInput, "no address to connect to")))
    }

    /// Accepts a connection on `listener`, giving up after `patience` with
    /// an `ErrorKind::TimedOut` error that names the listener's address.
    /// The stream is blocking, and reads and writes with [`PATIENCE`] as
    /// timeout. (The listener is non-blocking during the call only.)
    pub fn accept_within(
        listener: &TcpListener,
        patience: Duration,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let deadline = Instant::now() + patience;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let accepted = loop {
            match listener.accept() {
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    match readable_before(listener.as_fd(), deadline) {
                        Ok(true) => {}
                        Ok(false) => {
                            break Err(timed_out(format!(
                                "no client connected to {addr} within {patience:?}"
                            )));
                        }
                        Err(error) => break Err(error),
                    }
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                accepted => break accepted,
            }
        };
        listener.set_nonblocking(false)?;
        let (stream, peer) = accepted?;
        stream.set_nonblocking(false)?;
        Ok((with_timeouts(stream)?, peer))
    }

    /// For `map_err` after a read or write on a stream from
    /// [`connect_within`] or [`accept_within`]: if its timeout expired, an
    /// error of the same kind that says "no {what} within 5s" (std reports
    /// an expired socket timeout as `WouldBlock`); any other error, as it is.
    pub fn waited_for(what: impl Display) -> impl FnOnce(io::Error) -> io::Error {
        move |error| match error.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                io::Error::new(error.kind(), format!("no {what} within {PATIENCE:?}"))
            }
            _ => error,
        }
    }

    /// Awaits `io` for at most `patience`; then fails with an
    /// `ErrorKind::TimedOut` error that says "no {what} within {patience}".
    /// Needs tokio's timer, which the runtimes of `#[netns_test]` and
    /// `Node::block_on` have.
    pub async fn within<T>(
        what: impl Display,
        patience: Duration,
        io: impl Future<Output = io::Result<T>>,
    ) -> io::Result<T> {
        match tokio::time::timeout(patience, io).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(format!("no {what} within {patience:?}"))),
        }
    }

    /// Calls `attempt` until it succeeds, pausing 10 ms between tries, and
    /// returns its value; after `patience`, panics with a message naming
    /// `what` was waited for and the last try's error.
    #[track_caller]
    pub fn retry<T, E: Display>(
        what: impl Display,
        patience: Duration,
        mut attempt: impl FnMut() -> Result<T, E>,
    ) -> T {
        let deadline = Instant::now() + patience;
        loop {
            match attempt() {
                Ok(value) => return value,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(error) => {
                    panic!("gave up waiting for {what} after {patience:?}; the last try: {error}")
                }
            }
        }
    }

    /// Waits for `child` to end, for at most `patience`; then kills it and
    /// fails with an `ErrorKind::TimedOut` error.
    pub fn wait_within(child: &mut Child, patience: Duration) -> io::Result<ExitStatus> {
        if ended_within(child.id(), patience)? {
            return child.wait();
        }
        child.kill()?;
        child.wait()?;
        Err(timed_out(format!(
            "process {} did not end within {patience:?}, and was killed",
            child.id()
        )))
    }

    /// Runs `command` as `Command::output` does (stdin empty, stdout and
    /// stderr captured), for at most `patience`; then kills it and fails
    /// with an `ErrorKind::TimedOut` error that shows the command and what
    /// it printed so far.
    pub fn output_within(command: &mut Command, patience: Duration) -> io::Result<Output> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = Drain::start(child.stdout.take());
        let stderr = Drain::start(child.stderr.take());
        let status = wait_within(&mut child, patience);
        // The pipes close as the child ends, unless a process it started
        // still holds them: wait for that a while, not forever.
        let until = Instant::now() + PATIENCE;
        let (stdout, stderr) = (stdout.finish(until), stderr.finish(until));
        match status {
            Ok(status) => Ok(Output {
                status,
                stdout,
                stderr,
            }),
            Err(error) => Err(io::Error::new(
                error.kind(),
                format!(
                    "{command:?}: {error}; its output until then:\n{}{}",
                    String::from_utf8_lossy(&stdout),
                    String::from_utf8_lossy(&stderr)
                ),
            )),
        }
    }

    /// Whether process `pid`, a child of ours not yet waited for, ends
    /// within `patience`. It is left for the caller to reap (or kill).
    pub fn ended_within(pid: u32, patience: Duration) -> io::Result<bool> {
        let pid =
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from(ErrorKind::InvalidInput))?;
        // SAFETY: pidfd_open(2) reads two integers and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new fd, which nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        // A pidfd is readable once its process has ended.
        readable_before(pidfd.as_fd(), Instant::now() + patience)
    }

    /// Waits with poll(2) until `fd` is readable (or in error), or until
    /// `deadline`: whether it became readable.
    fn readable_before(fd: BorrowedFd<'_>, deadline: Instant) -> io::Result<bool> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let mut pollfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // Rounded up, so that the last wait is not a spin at 0 ms.
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one pollfd, on our stack for the whole call.
            match unsafe { libc::poll(&mut pollfd, 1, ms) } {
                0 => {} // timed out: the deadline is checked above
                n if n > 0 => return Ok(true),
                _ => {
                    let error = io::Error::last_os_error();
                    if error.kind() != ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
        }
    }

    fn with_timeouts(stream: TcpStream) -> io::Result<TcpStream> {
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        Ok(stream)
    }

    fn timed_out(message: String) -> io::Error {
        io::Error::new(ErrorKind::TimedOut, message)
    }

    /// A pipe read to its end on a thread of its own, into a buffer that can
    /// be taken at any time: what a child printed, even if it never ends.
    struct Drain {
        bytes: Arc<Mutex<Vec<u8>>>,
        /// Disconnected when the reading thread is done.
        done: mpsc::Receiver<()>,
    }

    impl Drain {
        fn start(pipe: Option<impl Read + Send + 'static>) -> Drain {
            let bytes = Arc::new(Mutex::new(Vec::new()));
            let (finished, done) = mpsc::channel();
            if let Some(mut pipe) = pipe {
                let bytes = Arc::clone(&bytes);
                std::thread::spawn(move || {
                    let _finished = finished;
                    let mut chunk = [0; 8192];
                    loop {
                        match pipe.read(&mut chunk) {
                            Ok(0) => break,
                            Ok(n) => bytes
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .extend_from_slice(&chunk[..n]),
                            Err(error) if error.kind() == ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                });
            }
            Drain { bytes, done }
        }

        /// What was read, once the pipe has closed or at `until`, whichever
        /// comes first.
        fn finish(self, until: Instant) -> Vec<u8> {
            let _ = self
                .done
                .recv_timeout(until.saturating_duration_since(Instant::now()));
            std::mem::take(&mut *self.bytes.lock().unwrap_or_else(PoisonError::into_inner))
        }
    }
}
