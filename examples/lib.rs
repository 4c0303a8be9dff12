//! A line-echo service shared by the examples: a server that answers each
//! line with the same line, and a client that sends one line and reads the
//! answer. Small enough to read, real enough to need a network.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::thread::JoinHandle;

/// Serves `connections` connections on `listener`, one after the other,
/// echoing every line; returns how many lines it echoed.
pub fn serve(listener: TcpListener, connections: usize) -> io::Result<usize> {
    let mut lines = 0;
    for stream in listener.incoming().take(connections) {
        let stream = stream?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        let mut line = String::new();
        while reader.read_line(&mut line)? > 0 {
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

/// Sends `line` to the echo server at `addr` and returns its answer.
pub fn echo(addr: impl ToSocketAddrs, line: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(line.as_bytes())?;
    stream.write_all(b"\n")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    Ok(answer.trim_end_matches('\n').to_owned())
}
