//! An async echo server and client on tokio's multi-thread runtime.
//!
//! ```text
//! cargo test --example tokio_echo
//! ```
//!
//! With the `tokio` feature of netns-test, `#[netns_test]` takes `async fn`
//! tests. The runtime is built inside the test's namespace, so its worker
//! threads, and blocking threads started later, are all in it too.

use netns_examples::bounded::{PATIENCE, within};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Echoes every line of every connection, each connection on a task of its
/// own. A test server: it stops when no client has come for [`PATIENCE`],
/// and drops a client that sends nothing for as long.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    loop {
        let (stream, _) = within(format!("client on {addr}"), PATIENCE, listener.accept()).await?;
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            // Until the client closes, or goes quiet for PATIENCE.
            while let Ok(Some(line)) = within("line", PATIENCE, lines.next_line()).await {
                let answer = format!("{line}\n");
                let echoed = within(
                    "room for the answer",
                    PATIENCE,
                    write.write_all(answer.as_bytes()),
                );
                if echoed.await.is_err() {
                    break;
                }
            }
        });
    }
}

/// Sends one line and reads the answer; gives up, with an error, after
/// [`PATIENCE`] without a connection or an answer.
pub async fn echo(addr: &str, line: &str) -> std::io::Result<String> {
    let connect = TcpStream::connect(addr);
    let stream = within(format!("connection to {addr}"), PATIENCE, connect).await?;
    let (read, mut write) = stream.into_split();
    let exchange = async {
        write.write_all(format!("{line}\n").as_bytes()).await?;
        let mut answer = String::new();
        BufReader::new(read).read_line(&mut answer).await?;
        Ok(answer)
    };
    let answer = within(format!("answer from {addr}"), PATIENCE, exchange).await?;
    Ok(answer.trim_end().to_owned())
}

fn main() {
    println!("run the tests: cargo test --example tokio_echo");
}

#[cfg(test)]
mod tests {
    use super::*;
    use netns_test::{NetNs, get_netns_cookie, netns_test};

    #[netns_test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_clients_at_once(ns: &NetNs) {
        let listener = TcpListener::bind("127.0.0.1:80").await.unwrap();
        let server = tokio::spawn(serve(listener));
        let expected = ns.cookie().unwrap();
        let clients: Vec<_> = (0..32)
            .map(|i| {
                tokio::spawn(async move {
                    // Whichever worker runs this task, it is in the test's namespace.
                    assert_eq!(get_netns_cookie().unwrap(), expected);
                    echo("127.0.0.1:80", &format!("client {i}")).await.unwrap()
                })
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            assert_eq!(client.await.unwrap(), format!("client {i}"));
        }
        server.abort();
    }

    #[netns_test]
    async fn a_timeout_fires_when_nobody_answers() {
        // A listener that never accepts nor answers.
        let _silent = TcpListener::bind("127.0.0.1:80").await.unwrap();
        let answer = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            echo("127.0.0.1:80", "hi"),
        )
        .await;
        assert!(answer.is_err(), "expected a timeout, got {answer:?}");
    }
}
