//! `#[netns_test]` end to end: every signature and option, isolation, and
//! what the body inherits. Failure paths are in `failures.rs`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netns_test::{NetNs, get_netns_cookie, netns_test};
use netns_tests::bounded::{
    CHILD_PATIENCE, PATIENCE, accept_within, connect_within, output_within, retry, waited_for,
};

/// The namespace of the process's main thread: the host's, in every world.
fn host() -> NetNs {
    NetNs::from_pid(std::process::id()).unwrap()
}

#[netns_test]
fn body_runs_in_a_fresh_namespace_with_lo_up() {
    let here = NetNs::current().unwrap();
    assert_ne!(here, host());
    // lo is up: a connection to ourselves works.
    let listener = TcpListener::bind("127.0.0.1:80").unwrap();
    let mut client = connect_within(listener.local_addr().unwrap(), PATIENCE).unwrap();
    let (mut server, _) = accept_within(&listener, PATIENCE).unwrap();
    client.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    server
        .read_exact(&mut buf)
        .map_err(waited_for("ping from the client"))
        .unwrap();
    assert_eq!(&buf, b"ping");
}

#[netns_test]
fn a_result_test_passes_on_ok() -> Result<(), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:443")?;
    connect_within(listener.local_addr()?, PATIENCE)?;
    Ok(())
}

#[netns_test]
fn a_result_test_may_return_an_error_that_is_not_send() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = "8080".parse()?;
    TcpListener::bind(("127.0.0.1", port))?;
    Ok(())
}

#[netns_test]
fn the_body_gets_its_namespace(ns: &NetNs) {
    assert_eq!(ns.cookie().unwrap(), get_netns_cookie().unwrap());
    assert_eq!(*ns, NetNs::current().unwrap());
    // Helpers can run in it from any thread...
    let cookie = std::thread::spawn(get_netns_cookie)
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(cookie, ns.cookie().unwrap());
    // ... and it can be pinned for tools that want a path.
    let path = std::env::temp_dir().join(format!("netns-tests-pin-{}", std::process::id()));
    ns.pin(&path).unwrap();
    assert_eq!(NetNs::open_pinned(&path).unwrap(), *ns);
    netns_test::netns_core::unpin(&path).unwrap();
}

#[netns_test(loopback = false)]
fn loopback_false_keeps_lo_down() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let error = connect_within(listener.local_addr().unwrap(), PATIENCE).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENETUNREACH), "{error}");
}

#[netns_test]
#[should_panic(expected = "the original message, 42")]
fn should_panic_sees_the_original_message() {
    panic!("the original message, {}", 42);
}

/// Doc comments and other attributes stay on the test.
#[netns_test]
#[ignore = "kept to show #[ignore] survives the attribute"]
fn ignored_tests_stay_ignored() {
    panic!("an ignored test ran");
}

// If the attribute dropped #[cfg], this would not compile.
#[netns_test]
#[cfg(any())]
fn cfg_removes_the_test() {
    this_does_not_exist();
}

#[netns_test]
fn child_processes_inherit_the_namespace() {
    let ip = |args: &[&str]| {
        let out = output_within(std::process::Command::new("ip").args(args), CHILD_PATIENCE)
            .unwrap_or_else(|error| panic!("run ip: {error}"));
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ip(&["addr", "add", "10.99.0.1/24", "dev", "veth0"]);
    ip(&["link", "set", "veth0", "up"]);
    assert!(ip(&["-o", "addr", "show", "dev", "veth0"]).contains("10.99.0.1/24"));
    // The address is ours: bind to it.
    TcpListener::bind("10.99.0.1:80").unwrap();
    // And the next namespace starts without it.
    let other = NetNs::new().unwrap();
    let seen = other.run(|| ip(&["-o", "link", "show"])).unwrap();
    assert!(!seen.contains("veth0"), "{seen}");
}

#[test]
fn the_calling_thread_stays_in_the_host_namespace() {
    let before = NetNs::current().unwrap();
    assert_eq!(before, host());
    let options = netns_test::__private::Options {
        loopback: true,
        should_panic: None,
        timeout: None,
        capture: false,
    };
    let (sender, inside) = std::sync::mpsc::channel();
    netns_test::__private::run(options, move |ns| {
        sender.send(ns.try_clone().unwrap()).unwrap();
    });
    let inside = inside.try_recv().unwrap();
    assert_ne!(inside, before);
    // Here, on the thread that called the harness, nothing moved.
    assert_eq!(NetNs::current().unwrap(), before);
}

// Fifty tests bind the same port; libtest runs them in parallel.
macro_rules! same_port_tests {
    ($($name:ident)*) => {$(
        #[netns_test]
        fn $name() {
            let listener = TcpListener::bind("127.0.0.1:9000").unwrap();
            let client = connect_within("127.0.0.1:9000", PATIENCE).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
            drop((client, accept_within(&listener, PATIENCE).unwrap()));
        }
    )*};
}

mod same_port {
    use super::*;
    same_port_tests! {
        p00 p01 p02 p03 p04 p05 p06 p07 p08 p09 p10 p11 p12 p13 p14 p15 p16 p17 p18 p19
        p20 p21 p22 p23 p24 p25 p26 p27 p28 p29 p30 p31 p32 p33 p34 p35 p36 p37 p38 p39
        p40 p41 p42 p43 p44 p45 p46 p47 p48 p49
    }
}

/// The same, with all fifty holding the port at the same instant: none goes
/// on until all have bound it (a barrier that gives up, should one never
/// get there, after a generous while: fifty namespaces on a loaded machine).
#[test]
fn fifty_bodies_hold_the_same_port_at_once() {
    const N: usize = 50;
    let bound = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let bound = Arc::clone(&bound);
            std::thread::spawn(move || {
                let options = netns_test::__private::Options {
                    loopback: true,
                    should_panic: None,
                    timeout: None,
                    capture: false,
                };
                netns_test::__private::run(options, move |_| {
                    let _listener = TcpListener::bind("127.0.0.1:9000").unwrap();
                    bound.fetch_add(1, Ordering::SeqCst);
                    let all = format!("all {N} bodies to hold 127.0.0.1:9000");
                    retry(all, Duration::from_secs(30), || {
                        match bound.load(Ordering::SeqCst) {
                            N => Ok(()),
                            n => Err(format!("{n} have bound it")),
                        }
                    });
                })
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), std::process::ExitCode::SUCCESS);
    }
}

#[test]
fn mode_is_known_and_usable() {
    let mode = netns_test::mode();
    assert!(
        matches!(
            mode,
            netns_test::Mode::Privileged | netns_test::Mode::UserNamespace
        ),
        "{mode}"
    );
}

mod tokio_tests {
    use super::*;
    use netns_tests::bounded::within;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[netns_test]
    async fn async_echo_on_the_current_thread_runtime() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:80").await.unwrap();
        let server = tokio::spawn(within("hello on 127.0.0.1:80", PATIENCE, async move {
            let (mut socket, _) = listener.accept().await?;
            let mut buf = [0; 5];
            socket.read_exact(&mut buf).await?;
            socket.write_all(&buf).await
        }));
        let connect = tokio::net::TcpStream::connect("127.0.0.1:80");
        let mut client = within("connection to 127.0.0.1:80", PATIENCE, connect)
            .await
            .unwrap();
        let mut buf = [0; 5];
        let exchange = async {
            client.write_all(b"hello").await?;
            client.read_exact(&mut buf).await
        };
        within("echo from 127.0.0.1:80", PATIENCE, exchange)
            .await
            .unwrap();
        assert_eq!(&buf, b"hello");
        server.await.unwrap().unwrap();
    }

    #[netns_test(flavor = "multi_thread", worker_threads = 3)]
    async fn every_runtime_thread_is_in_the_namespace(ns: &NetNs) {
        let expected = ns.cookie().unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|_| tokio::spawn(async { get_netns_cookie().unwrap() }))
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), expected);
        }
        let blocking = tokio::task::spawn_blocking(|| get_netns_cookie().unwrap());
        assert_eq!(blocking.await.unwrap(), expected);
    }

    #[netns_test(flavor = "multi_thread")]
    async fn blocking_threads_started_from_elsewhere_enter_the_namespace(ns: &NetNs) {
        let expected = ns.cookie().unwrap();
        let handle = tokio::runtime::Handle::current();
        // A thread in another namespace asks for the pool's first blocking
        // thread, which it starts, and which would inherit its namespace.
        let elsewhere = NetNs::new().unwrap();
        let task = elsewhere
            .run(|| {
                assert_ne!(get_netns_cookie().unwrap(), expected);
                handle.spawn_blocking(|| get_netns_cookie().unwrap())
            })
            .unwrap();
        assert_eq!(task.await.unwrap(), expected);
    }

    #[netns_test]
    async fn an_async_result_test_passes_on_ok() -> Result<(), std::io::Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:80").await?;
        let connect = tokio::net::TcpStream::connect(listener.local_addr()?);
        within("connection to the listener", PATIENCE, connect).await?;
        Ok(())
    }

    #[netns_test]
    #[should_panic(expected = "async panic")]
    async fn async_should_panic() {
        tokio::task::yield_now().await;
        panic!("async panic");
    }
}
