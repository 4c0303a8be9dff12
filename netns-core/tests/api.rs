//! The public API of netns-core, end to end, in whichever world the process
//! is in: as root directly, or unprivileged inside the user namespace that
//! netns-test's constructor enters before `main`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

// Unprivileged, these tests run in a user namespace of their own, as
// `#[netns_test]`s would.
netns_test::before_main!();

use netns_core::{Errno, Error, NetNs, NsKind, Op, get_netns_cookie};

/// Links and checks netns-test's constructor: without it, an unprivileged
/// run could not create namespaces at all.
fn world() -> &'static netns_test::Mode {
    let mode = netns_test::mode();
    assert!(
        !matches!(mode, netns_test::Mode::Unavailable(_)),
        "these tests need network namespaces: {mode}"
    );
    mode
}

fn thread_ns_ino() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .expect("stat /proc/thread-self/ns/net")
}

fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// A fresh path in the system's temp dir; not created.
fn temp_path(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("netns-core-{tag}-{}-{n}", std::process::id()))
}

#[test]
fn current_is_the_calling_threads_namespace() {
    world();
    let current = NetNs::current().unwrap();
    assert_eq!(current.id().ino(), thread_ns_ino());
    assert_eq!(current.cookie().unwrap(), get_netns_cookie().unwrap());
}

#[test]
fn new_leaves_the_caller_where_it_was() {
    world();
    let before = (get_netns_cookie().unwrap(), thread_ns_ino());
    let ns = NetNs::new().unwrap();
    assert_eq!((get_netns_cookie().unwrap(), thread_ns_ino()), before);
    assert_ne!(ns.id().ino(), before.1);
    assert_ne!(ns.cookie().unwrap(), before.0);
}

#[test]
fn run_happens_on_another_thread_inside_the_namespace() {
    world();
    let ns = NetNs::new().unwrap();
    let caller = (gettid(), get_netns_cookie().unwrap());
    let (tid, cookie, current) = ns
        .run(|| {
            (
                gettid(),
                get_netns_cookie().unwrap(),
                NetNs::current().unwrap(),
            )
        })
        .unwrap();
    assert_ne!(tid, caller.0, "run must not use the calling thread");
    assert_eq!(cookie, ns.cookie().unwrap());
    assert_eq!(current, ns);
    assert_eq!(get_netns_cookie().unwrap(), caller.1, "the caller moved");
}

#[test]
fn run_borrows_from_the_caller_and_returns_the_value() {
    world();
    let ns = NetNs::new().unwrap();
    let mut seen = Vec::new();
    let n = ns.run(|| {
        seen.push(get_netns_cookie().unwrap());
        seen.len()
    });
    assert_eq!(n.unwrap(), 1);
    assert_eq!(seen, [ns.cookie().unwrap()]);
}

#[test]
fn run_resumes_a_panic_with_its_original_payload() {
    world();
    let ns = NetNs::new().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.run(|| -> () { std::panic::panic_any(String::from("boom 42")) })
    }))
    .unwrap_err();
    // The very payload, not a copy of its text: a `String` stays a `String`.
    assert_eq!(
        caught.downcast_ref::<String>().map(String::as_str),
        Some("boom 42")
    );
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.run(|| std::panic::panic_any(7_u32))
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<u32>(), Some(&7));
    // The handle is still good afterwards.
    assert_eq!(
        ns.run(get_netns_cookie).unwrap().unwrap(),
        ns.cookie().unwrap()
    );
}

#[test]
fn threads_and_processes_started_by_run_inherit_the_namespace() {
    world();
    let ns = NetNs::new().unwrap();
    let (from_thread, from_child) = ns
        .run(|| {
            let thread = std::thread::spawn(|| NetNs::current().unwrap())
                .join()
                .unwrap();
            let link = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
            let child = std::process::Command::new("readlink")
                .arg("/proc/self/ns/net")
                .output()
                .unwrap();
            (thread, (link, String::from_utf8(child.stdout).unwrap()))
        })
        .unwrap();
    assert_eq!(from_thread, ns);
    let (link, child) = from_child;
    assert_eq!(link.to_str().unwrap(), child.trim());
    assert_eq!(child.trim(), format!("net:[{}]", ns.id().ino()));
}

#[test]
fn namespaces_have_distinct_cookies_and_handles_of_one_share_it() {
    world();
    let host = get_netns_cookie().unwrap();
    let a = NetNs::new().unwrap();
    let b = NetNs::new().unwrap();
    let (ca, cb) = (a.cookie().unwrap(), b.cookie().unwrap());
    assert!(ca != cb && ca != host && cb != host, "{ca} {cb} {host}");
    assert_ne!(a, b);

    let a2 = a.try_clone().unwrap();
    assert_eq!(a2, a);
    assert_ne!(a2.fd(), a.fd());
    // A second handle opened independently: the cookie is read afresh.
    let tid_ns = a
        .run(|| NetNs::from_thread(std::process::id(), gettid() as u32))
        .unwrap();
    let a3 = tid_ns.unwrap();
    assert_eq!(a3, a);
    assert_eq!(a3.cookie().unwrap(), ca);
    let set: std::collections::HashSet<_> = [a, a2, a3, b].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn cookie_is_not_the_inode() {
    world();
    let ns = NetNs::new().unwrap();
    assert_ne!(ns.cookie().unwrap(), ns.id().ino());
}

#[test]
fn the_host_namespace_is_served_to_a_caller_inside_it() {
    // In the user-namespace world the host namespace cannot be entered with
    // setns (EPERM); a caller already in it still gets its cookie and can run.
    world();
    let host = NetNs::current().unwrap();
    assert_eq!(host.cookie().unwrap(), get_netns_cookie().unwrap());
    assert_eq!(
        host.run(get_netns_cookie).unwrap().unwrap(),
        get_netns_cookie().unwrap()
    );
}

#[test]
fn the_host_namespace_cannot_be_entered_from_a_user_namespace() {
    if !matches!(world(), netns_test::Mode::UserNamespace) {
        return;
    }
    let host = NetNs::current().unwrap();
    let ns = NetNs::new().unwrap();
    let error = ns.run(|| host.run(|| ())).unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Syscall {
                op: Op::Run,
                errno: Errno::EPERM,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("owns it"), "{error}");
}

#[test]
fn lo_is_down_in_a_new_namespace_until_brought_up() {
    world();
    let ns = NetNs::new().unwrap();
    let refused = ns.run(|| std::net::TcpListener::bind("127.0.0.1:0").map(|l| l.local_addr()));
    // Binding works with lo down, connecting does not.
    let addr = refused.unwrap().unwrap().unwrap();
    let error = ns
        .run(|| std::net::TcpStream::connect(addr))
        .unwrap()
        .unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::ENETUNREACH), "{error}");

    ns.set_loopback_up().unwrap();
    ns.run(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:7").unwrap();
        std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    })
    .unwrap();
}

#[test]
fn new_with_loopback_can_connect_on_the_same_port_as_other_namespaces() {
    world();
    let namespaces: Vec<NetNs> = (0..3)
        .map(|_| NetNs::new_with_loopback().unwrap())
        .collect();
    let listeners: Vec<_> = namespaces
        .iter()
        .map(|ns| {
            ns.run(|| std::net::TcpListener::bind("127.0.0.1:8080").unwrap())
                .unwrap()
        })
        .collect();
    for (ns, listener) in namespaces.iter().zip(&listeners) {
        ns.run(|| std::net::TcpStream::connect("127.0.0.1:8080").unwrap())
            .unwrap();
        let (_, peer) = listener.accept().unwrap();
        assert!(peer.ip().is_loopback());
    }
}

#[test]
fn open_pinned_accepts_network_namespace_files() {
    world();
    let ns = NetNs::open_pinned("/proc/thread-self/ns/net").unwrap();
    assert_eq!(ns, NetNs::current().unwrap());
    assert_eq!(ns.path(), Some("/proc/thread-self/ns/net".as_ref()));
    let me = NetNs::from_pid(std::process::id()).unwrap();
    assert!(format!("{me:?}").contains(&format!("/proc/{}/ns/net", std::process::id())));
}

#[test]
fn open_pinned_rejects_a_missing_path() {
    let error = NetNs::open_pinned("/nonexistent/netns").unwrap_err();
    assert!(
        matches!(
            error,
            Error::Syscall {
                errno: Errno::ENOENT,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.path(), Some("/nonexistent/netns".as_ref()));
    assert!(error.to_string().contains("/nonexistent/netns"), "{error}");
}

#[test]
fn open_pinned_rejects_a_directory_and_a_regular_file() {
    let error = NetNs::open_pinned("/proc").unwrap_err();
    assert!(matches!(error, Error::NotANamespace { .. }), "{error:?}");
    assert!(
        error.to_string().contains("not a namespace file"),
        "{error}"
    );

    let file = temp_path("regular");
    std::fs::write(&file, b"not a namespace").unwrap();
    let error = NetNs::open_pinned(&file).unwrap_err();
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(error, Error::NotANamespace { .. }), "{error:?}");
    assert_eq!(error.path(), Some(file.as_path()));
}

#[test]
fn paths_with_a_nul_byte_are_typed_errors_naming_the_path() {
    world();
    let ns = NetNs::new().unwrap();
    let errors = [
        NetNs::open_pinned("/run/netns/a\0b").unwrap_err(),
        ns.pin("/tmp/a\0b").unwrap_err(),
        netns_core::unpin("/run/netns/a\0b").unwrap_err(),
    ];
    for error in errors {
        assert!(
            matches!(&error, Error::InvalidPath { path, .. } if path.as_os_str() == "/run/netns/a\0b" || path.as_os_str() == "/tmp/a\0b"),
            "{error:?}"
        );
        assert!(error.errno().is_none(), "an invented errno: {error:?}");
        assert!(error.to_string().contains("NUL byte"), "{error}");
    }
}

#[test]
fn open_pinned_rejects_other_kinds_of_namespace() {
    let error = NetNs::open_pinned("/proc/self/ns/mnt").unwrap_err();
    assert!(
        matches!(
            error,
            Error::WrongNamespaceKind {
                found: NsKind::Mount,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("mnt namespace, not a network namespace"),
        "{error}"
    );
}

#[test]
fn from_name_rejects_names_that_are_not_plain_file_names() {
    for name in ["", ".", "..", "a/b", "../etc", "a\0b"] {
        let error = NetNs::from_name(name).unwrap_err();
        assert!(
            matches!(error, Error::InvalidName { .. }),
            "{name:?}: {error:?}"
        );
    }
    let error = NetNs::from_name("netns-core-test-no-such-name").unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ENOENT));
    assert!(
        error
            .to_string()
            .contains("/run/netns/netns-core-test-no-such-name"),
        "{error}"
    );
}

#[test]
fn fds_that_are_not_namespaces_are_rejected() {
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let error = NetNs::from_fd(&file).unwrap_err();
    assert!(
        matches!(error, Error::NotANamespace { op: Op::FromFd, .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("NetNs::from_fd: "), "{error}");
    let error = NetNs::try_from(OwnedFd::from(file)).unwrap_err();
    assert!(
        matches!(
            error,
            Error::NotANamespace {
                op: Op::TryFromFd,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("NetNs::try_from(OwnedFd): "),
        "{error}"
    );

    let mnt = std::fs::File::open("/proc/self/ns/mnt").unwrap();
    let error = NetNs::try_from(OwnedFd::from(mnt)).unwrap_err();
    assert!(
        matches!(error, Error::WrongNamespaceKind { .. }),
        "{error:?}"
    );
}

#[test]
fn handles_convert_to_and_from_owned_fds() {
    world();
    let ns = NetNs::new().unwrap();
    let id = ns.id();
    let raw = ns.as_fd().as_raw_fd();
    assert_eq!(raw, ns.fd());
    let fd: OwnedFd = ns.into();
    assert_eq!(fd.as_raw_fd(), raw);
    let back = NetNs::try_from(fd).unwrap();
    assert_eq!(back.id(), id);
    let dup = NetNs::from_fd(&back).unwrap();
    assert_eq!(dup, back);
    back.close().unwrap();
    dup.close().unwrap();
}

#[test]
fn pin_outlives_the_handle_and_unpin_removes_it() {
    world();
    let path = temp_path("pin");
    let ns = NetNs::new().unwrap();
    let cookie = ns.cookie().unwrap();
    ns.pin(&path).unwrap();
    drop(ns);
    let pinned = NetNs::open_pinned(&path).unwrap();
    assert_eq!(pinned.cookie().unwrap(), cookie);

    // Pinning over an existing file is refused and leaves the file alone.
    let error = pinned.pin(&path).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Syscall {
                op: Op::Pin,
                errno: Errno::EEXIST,
                ..
            }
        ),
        "{error:?}"
    );

    netns_core::unpin(&path).unwrap();
    assert!(!path.exists());
    let error = netns_core::unpin(&path).unwrap_err();
    assert!(
        matches!(error, Error::Syscall { op: Op::Unpin, .. }),
        "{error:?}"
    );
}

#[test]
fn pin_into_a_missing_directory_fails_with_the_path() {
    world();
    let ns = NetNs::new().unwrap();
    let path = temp_path("missing-dir").join("ns");
    let error = ns.pin(&path).unwrap_err();
    assert_eq!(error.errno(), Some(Errno::ENOENT));
    assert_eq!(error.path(), Some(path.as_path()));
}

#[test]
fn entering_a_user_namespace_from_a_threaded_process_is_a_typed_error() {
    // libtest runs this on its own thread, so the process has several.
    let error = netns_core::enter_user_namespace().unwrap_err();
    match error {
        Error::ProcessHasThreads { threads: Some(n) } => assert!(n >= 2, "{n}"),
        other => panic!("expected ProcessHasThreads, got {other:?}"),
    }
}

#[test]
fn capability_check_matches_the_world() {
    let has = netns_core::has_cap_sys_admin().unwrap();
    match world() {
        // Inside the user namespace we are root over it, so we have it too.
        netns_test::Mode::Privileged | netns_test::Mode::UserNamespace => assert!(has),
        _ => unreachable!(),
    }
}

#[test]
fn debug_shows_fd_inode_path_and_cookie_where_known() {
    world();
    let ns = NetNs::new().unwrap();
    let text = format!("{ns:?}");
    assert!(text.contains(&format!("fd: {}", ns.fd())), "{text}");
    assert!(text.contains(&format!("ino: {}", ns.id().ino())), "{text}");
    assert!(
        text.contains(&format!("cookie: {}", ns.cookie().unwrap())),
        "{text}"
    );
    let opened = NetNs::open_pinned("/proc/thread-self/ns/net").unwrap();
    assert!(
        format!("{opened:?}").contains("path: \"/proc/thread-self/ns/net\""),
        "{opened:?}"
    );
}

// ------------------------------------------------------------- Worker

#[test]
fn a_worker_runs_every_call_inside_its_namespace_on_one_thread() {
    world();
    let ns = NetNs::new_with_loopback().unwrap();
    let worker = ns.worker().unwrap();
    let caller = gettid();
    let tids: Vec<i32> = (0..100)
        .map(|_| {
            let (tid, cookie) = worker
                .run(|| (gettid(), get_netns_cookie().unwrap()))
                .unwrap();
            assert_eq!(cookie, ns.cookie().unwrap());
            tid
        })
        .collect();
    assert!(tids.iter().all(|tid| *tid == tids[0] && *tid != caller));
    // The caller never moved.
    assert_ne!(get_netns_cookie().unwrap(), ns.cookie().unwrap());
    assert_eq!(worker.id(), ns.id());
}

#[test]
fn a_worker_borrows_returns_and_resumes_panics() {
    world();
    let ns = NetNs::new().unwrap();
    let worker = ns.worker().unwrap();
    let mut seen = Vec::new();
    let text = String::from("borrowed");
    let len = worker.run(|| {
        seen.push(text.len());
        text.len() * 2
    });
    assert_eq!(len.unwrap(), 16);
    assert_eq!(seen, [8]);
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        worker.run(|| std::panic::panic_any(42_u32)).unwrap()
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    // It serves on after a panic.
    assert_eq!(worker.run(|| 7).unwrap(), 7);
}

#[test]
fn a_workers_thread_locals_persist_between_calls() {
    world();
    thread_local!(static CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let ns = NetNs::new().unwrap();
    let worker = ns.worker().unwrap();
    for expected in 1..=3 {
        let calls = worker.run(|| {
            CALLS.with(|c| {
                c.set(c.get() + 1);
                c.get()
            })
        });
        assert_eq!(calls.unwrap(), expected);
    }
}

#[test]
fn a_closure_that_leaves_the_namespace_does_not_take_the_next_call_with_it() {
    world();
    let ns = NetNs::new().unwrap();
    let other = NetNs::new().unwrap();
    let worker = ns.worker().unwrap();
    let expected = ns.cookie().unwrap();
    // setns to another namespace, then unshare a new one.
    let moved = worker.run(|| {
        nix::sched::setns(other.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        get_netns_cookie().unwrap()
    });
    assert_eq!(moved.unwrap(), other.cookie().unwrap());
    assert_eq!(worker.run(get_netns_cookie).unwrap().unwrap(), expected);
    worker
        .run(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap())
        .unwrap();
    assert_eq!(worker.run(get_netns_cookie).unwrap().unwrap(), expected);
}

#[test]
fn a_worker_in_a_namespace_it_cannot_reenter_stops_once_moved() {
    // In the user-namespace world the host namespace can be stayed in, not
    // entered: a worker made there can only check where it is.
    if !matches!(world(), netns_test::Mode::UserNamespace) {
        return;
    }
    let host = NetNs::current().unwrap();
    let worker = host.worker().unwrap();
    let cookie = get_netns_cookie().unwrap();
    assert_eq!(worker.run(get_netns_cookie).unwrap().unwrap(), cookie);
    worker
        .run(|| nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap())
        .unwrap();
    let error = worker.run(get_netns_cookie).unwrap_err();
    assert!(
        matches!(error, Error::WorkerMoved { errno: None }),
        "{error:?}"
    );
    assert!(error.to_string().contains("make a new one"), "{error}");
    // And so on, without running anything; try_run hands the closure back.
    assert!(worker.run(|| unreachable!()).is_err());
    assert!(!worker.is_usable());
    let back = worker.try_run(|| 3).unwrap_err();
    assert_eq!(back(), 3);
}

#[test]
fn a_worker_serves_calls_from_many_threads_one_at_a_time() {
    world();
    fn shared<T: Send + Sync>(_: &T) {}
    let ns = NetNs::new().unwrap();
    let worker = ns.worker().unwrap();
    shared(&worker);
    let busy = std::sync::atomic::AtomicBool::new(false);
    let served = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..200 {
                    worker
                        .run(|| {
                            assert!(!busy.swap(true, Ordering::SeqCst), "two calls at once");
                            served.fetch_add(1, Ordering::SeqCst);
                            busy.store(false, Ordering::SeqCst);
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(served.load(Ordering::SeqCst), 800);
}

#[test]
fn a_worker_cannot_be_made_for_a_namespace_out_of_reach() {
    if !matches!(world(), netns_test::Mode::UserNamespace) {
        return;
    }
    let host = NetNs::current().unwrap();
    let ns = NetNs::new().unwrap();
    let error = ns.run(|| host.worker().map(drop)).unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Syscall {
                op: Op::Worker,
                errno: Errno::EPERM,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn dropping_a_worker_ends_its_thread() {
    world();
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    let ns = NetNs::new().unwrap();
    let before = threads();
    let worker = ns.worker().unwrap();
    worker.run(|| ()).unwrap();
    drop(worker);
    // Other tests start threads too; this one's worker is gone once its
    // own count is back (joined in drop, so at once).
    assert!(
        threads() <= before + 3,
        "{} threads, {before} before",
        threads()
    );
}

// ------------------------------------------------- cookies of opened handles

#[test]
fn every_handle_has_its_cookie_even_one_the_process_cannot_enter() {
    world();
    let ns = NetNs::new().unwrap();
    let opened = NetNs::from_fd(ns.as_fd()).unwrap();
    assert_eq!(opened.cookie().unwrap(), ns.cookie().unwrap());
    let host = get_netns_cookie().unwrap();
    // From inside another namespace, the host's handle (which a user
    // namespace cannot enter) still has its cookie where the kernel has
    // NS_GET_ID (Linux 6.18).
    let current = NetNs::current().unwrap();
    let seen = ns.run(|| current.cookie()).unwrap();
    match seen {
        Ok(cookie) => assert_eq!(cookie, host),
        Err(error) => {
            assert!(
                matches!(world(), netns_test::Mode::UserNamespace),
                "{error}"
            );
            assert_eq!(error.errno(), Some(Errno::EPERM), "{error}");
            eprintln!("skipped: the host's cookie from inside: this kernel has no NS_GET_ID");
        }
    }
}

#[test]
fn a_busy_worker_gives_the_closure_back_and_serves_its_own_calls_at_once() {
    world();
    let ns = NetNs::new().unwrap();
    let worker = ns.worker().unwrap();
    // From inside a call, a call to the same worker runs on the spot.
    let nested = worker.run(|| worker.run(gettid).unwrap() == gettid());
    assert!(nested.unwrap());
    // While another thread holds it, try_run hands the closure back.
    // Every wait is bounded: a worker that never runs the call fails the
    // test instead of hanging it.
    let patience = std::time::Duration::from_secs(10);
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            worker
                .run(move || {
                    entered_tx.send(()).unwrap();
                    let _ = release_rx.recv_timeout(patience);
                })
                .unwrap()
        });
        entered
            .recv_timeout(patience)
            .expect("the worker never ran the call");
        let back = worker.try_run(|| 1).unwrap_err();
        release.send(()).unwrap();
        assert_eq!(back(), 1);
    });
    assert_eq!(worker.try_run(|| 2).ok().unwrap().unwrap(), 2);
    assert!(worker.is_usable());
}

/// A created handle holds a close-on-exec descriptor of the namespace it
/// names (opened through a socket where the kernel allows, else /proc).
#[test]
fn created_handles_are_close_on_exec() {
    world();
    let close_on_exec = |ns: &NetNs| {
        // SAFETY: F_GETFD only reads the flags of a descriptor the handle owns.
        let flags = unsafe { libc::fcntl(ns.fd(), libc::F_GETFD) };
        assert!(
            flags >= 0 && flags & libc::FD_CLOEXEC != 0,
            "{ns:?}: {flags}"
        );
    };
    close_on_exec(&NetNs::new().unwrap());
    close_on_exec(&NetNs::new_with_loopback().unwrap());
    for loopback in [false, true] {
        std::thread::spawn(move || {
            let ns = NetNs::enter_new(loopback).unwrap();
            close_on_exec(&ns);
            assert_eq!(ns, NetNs::current().unwrap());
        })
        .join()
        .unwrap();
    }
}

#[test]
fn enter_new_moves_the_calling_thread_into_a_new_namespace() {
    world();
    let host = get_netns_cookie().unwrap();
    let (ns, inside, connected) = std::thread::spawn(|| {
        let ns = NetNs::enter_new(true).unwrap();
        let inside = get_netns_cookie().unwrap();
        // `lo` is up: 127.0.0.1 is reachable.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let connected = std::net::TcpStream::connect(listener.local_addr().unwrap()).is_ok();
        (ns, inside, connected)
    })
    .join()
    .unwrap();
    assert_ne!(inside, host);
    assert_eq!(ns.cookie().unwrap(), inside);
    assert!(connected);
    // This thread never moved.
    assert_eq!(get_netns_cookie().unwrap(), host);
    let without = std::thread::spawn(|| {
        let ns = NetNs::enter_new(false).unwrap();
        let refused = std::net::TcpStream::connect("127.0.0.1:9").unwrap_err();
        (ns, refused.raw_os_error())
    })
    .join()
    .unwrap();
    assert_eq!(without.1, Some(libc::ENETUNREACH));
}
