//! A test's mount namespace (its private `/run/netns`) is handed on to the
//! next test of the process when the test left it as it found it, and never
//! when it left something in it or behind it.
//!
//! Each scenario is a whole single-threaded process (see
//! `netns_tests::scenarios`), so that no other test takes or gives back a
//! namespace between the ones it runs: each run takes the namespace the run
//! before it gave back, if any.

use std::os::unix::fs::PermissionsExt;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use netns_test::__private::{Options, run};
use netns_tests::bounded::{CHILD_PATIENCE, PATIENCE, output_within};
use netns_tests::scenarios::{self, Scenario, check};

const SCENARIOS: &[Scenario] = &[
    (
        "a_namespace_left_as_found_serves_the_next_test",
        left_as_found,
    ),
    (
        "a_namespace_is_never_handed_on_with_what_a_test_left",
        left_something,
    ),
    ("a_forked_child_never_takes_its_parents", forked_child),
    (
        "a_mount_the_process_makes_reaches_later_tests",
        process_mounts,
    ),
    ("a_chrooted_process_keeps_its_root", chrooted),
];

fn main() {
    scenarios::main(SCENARIOS)
}

const OPTIONS: Options = Options {
    loopback: true,
    should_panic: None,
    timeout: None,
    capture: false,
};

/// What a body saw of its mount namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// The unique id of its root mount (never reused while the system
    /// runs, unlike namespace inode numbers): one per mount namespace.
    mnt: u64,
    /// Its working directory.
    cwd: PathBuf,
    /// How many entries `/run/netns` held.
    entries: usize,
    /// `/run/netns`'s permission bits.
    mode: u32,
}

/// `STATX_MNT_ID_UNIQUE` (Linux 6.8).
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;

/// The unique id of the root mount of the calling thread's mount namespace.
fn root_mount_id() -> u64 {
    // SAFETY: `statx` is plain old data for which all-zero bytes are valid.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a buffer we own.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c"/".as_ptr(),
            0,
            STATX_MNT_ID_UNIQUE,
            &raw mut st,
        )
    };
    assert_eq!(rc, 0, "statx(/): {}", std::io::Error::last_os_error());
    assert!(
        st.stx_mask & STATX_MNT_ID_UNIQUE != 0,
        "this kernel has no unique mount ids (Linux 6.8)"
    );
    st.stx_mnt_id
}

fn seen() -> Seen {
    let meta = std::fs::metadata("/run/netns").unwrap();
    Seen {
        mnt: root_mount_id(),
        cwd: std::env::current_dir().unwrap(),
        entries: std::fs::read_dir("/run/netns").unwrap().count(),
        mode: meta.permissions().mode() & 0o7777,
    }
}

/// Runs a passing test whose body does `then` after looking around.
fn run_seeing(then: impl FnOnce() + Send + 'static) -> Result<Seen, String> {
    let (tx, rx) = mpsc::channel();
    let code = run(OPTIONS, move |_| {
        tx.send(seen()).unwrap();
        then();
    });
    check(code == std::process::ExitCode::SUCCESS, || {
        "the test failed".to_owned()
    })?;
    rx.recv_timeout(PATIENCE)
        .map_err(|e| format!("the body never reported: {e}"))
}

/// Makes this single-threaded process able to create namespaces.
/// [`scenarios::privileged`], with netns-test's start-up done (a
/// scenario's process has no `#[netns_test]` constructor of its own).
fn privileged() -> Result<(), String> {
    scenarios::privileged()?;
    netns_test::init();
    Ok(())
}

fn left_as_found() -> Result<(), String> {
    privileged()?;
    let first = run_seeing(|| ())?;
    let process_cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    check(first.cwd == process_cwd && first.entries == 0, || {
        format!("the first test saw {first:?}")
    })?;
    // A body that waited for the process it started, or joined the thread
    // it started last thing (which lets go of the namespace a moment after
    // the join), leaves nothing behind.
    let waited = run_seeing(|| {
        output_within(&mut Command::new("true"), CHILD_PATIENCE).unwrap();
    })?;
    let joined = run_seeing(|| std::thread::spawn(|| ()).join().unwrap())?;
    // Nor does a child process that another thread of the process started.
    let (stop, stopped) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let child = Command::new("sleep").arg("20").spawn();
        let _ = stopped.recv_timeout(Duration::from_secs(20));
        child.map(kill)
    });
    let beside = run_seeing(|| ());
    let _ = stop.send(());
    let held = holder
        .join()
        .map_err(|_| "the holder panicked".to_owned())?;
    held.map_err(|e| format!("sleep: {e}"))?;
    let beside = beside?;
    for (what, second) in [
        ("waited for a child", waited),
        ("joined a thread", joined),
        ("another thread has a child", beside),
    ] {
        check(second == first, || {
            format!("not handed on ({what}): the first test saw {first:?}, the next {second:?}")
        })?;
    }
    // The working directory is the process's as it is now.
    std::env::set_current_dir("/tmp").map_err(|e| e.to_string())?;
    let third = run_seeing(|| ());
    std::env::set_current_dir(&process_cwd).map_err(|e| e.to_string())?;
    let third = third?;
    check(
        third.mnt == first.mnt && third.cwd == std::path::Path::new("/tmp"),
        || format!("after a chdir to /tmp, a test saw {third:?}"),
    )
}

/// What a test may leave, with what undoes it once the next test has run.
type Leaving = (
    &'static str,
    fn(mpsc::Sender<Undo>) -> Box<dyn FnOnce() + Send>,
);

/// Undoes what a test left.
type Undo = Box<dyn FnOnce() + Send>;

const LEFT: &[Leaving] = &[
    ("a thread still running", |undo| {
        Box::new(move || {
            let (stop, stopped) = mpsc::channel::<()>();
            std::thread::spawn(move || {
                let _ = stopped.recv_timeout(Duration::from_secs(20));
            });
            undo.send(Box::new(move || {
                let _ = stop.send(());
            }))
            .unwrap();
        })
    }),
    ("a child process still running", |undo| {
        Box::new(move || {
            let child = Command::new("sleep").arg("20").spawn().unwrap();
            undo.send(Box::new(move || kill(child))).unwrap();
        })
    }),
    ("an orphan: a child of a thread it joined", |undo| {
        Box::new(move || {
            // The child outlives its parent thread, and goes to the main
            // thread.
            let child = std::thread::spawn(|| Command::new("sleep").arg("20").spawn().unwrap())
                .join()
                .unwrap();
            undo.send(Box::new(move || kill(child))).unwrap();
        })
    }),
    ("a file in /run/netns", |_| {
        Box::new(|| std::fs::write("/run/netns/left", "x").unwrap())
    }),
    ("/run/netns's mode", |_| {
        Box::new(|| {
            std::fs::set_permissions("/run/netns", std::fs::Permissions::from_mode(0o700)).unwrap();
        })
    }),
    ("a pinned namespace", |_| {
        Box::new(|| {
            netns_core::NetNs::new()
                .unwrap()
                .pin("/run/netns/left")
                .unwrap();
        })
    }),
    ("a mount outside /run/netns", |_| {
        Box::new(|| {
            // A tmpfs over /tmp, in this test's mount namespace only.
            tmpfs("left-by-a-test", "/tmp").unwrap();
        })
    }),
    ("a panic", |_| Box::new(|| panic!("a test that fails"))),
];

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn left_something() -> Result<(), String> {
    privileged()?;
    // The failing test's panic and snapshot: keep them off the output.
    std::panic::set_hook(Box::new(|_| {}));
    // SAFETY: this scenario's process is single-threaded here.
    unsafe { std::env::set_var("NETNS_TEST_SNAPSHOT", "off") };
    for (what, leave) in LEFT {
        let clean = run_seeing(|| ())?;
        let (undo_tx, undo) = mpsc::channel();
        let leave = leave(undo_tx);
        let (seen_tx, seen_rx) = mpsc::channel();
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run(OPTIONS, move |_| {
                seen_tx.send(seen()).unwrap();
                leave();
            })
        }))
        .map_err(|_| "panicked");
        let leaving = seen_rx
            .recv_timeout(PATIENCE)
            .map_err(|e| format!("{what}: the body never reported: {e}"));
        let next = run_seeing(|| ());
        // Undone before any verdict, so that nothing outlives the scenario.
        if let Ok(undo) = undo.try_recv() {
            undo();
        }
        let (leaving, next) = (leaving?, next?);
        check(leaving.mnt == clean.mnt, || {
            format!("{what}: the test did not get the namespace the one before gave back")
        })?;
        check(
            next.mnt != clean.mnt && next.entries == 0 && next.mode == 0o755,
            || format!("after a test left {what} ({ran:?}), the next saw {next:?}"),
        )?;
    }
    Ok(())
}

fn forked_child() -> Result<(), String> {
    privileged()?;
    let first = run_seeing(|| ())?;
    scenarios::in_child(|| {
        let seen = run_seeing(|| ())?;
        check(seen.mnt != first.mnt, || {
            format!("the child's test got its parent's namespace: {seen:?}")
        })
    })?;
    // The parent's is still there for the parent.
    let after = run_seeing(|| ())?;
    check(after.mnt == first.mnt, || {
        format!("the parent lost its namespace: {first:?} then {after:?}")
    })
}

/// Makes this scenario's process a mount namespace of its own, private, so
/// that what it mounts reaches nothing else.
fn private_mounts() -> Result<(), String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("mount --make-rprivate /: {e}"))
}

fn tmpfs(what: &str, place: &str) -> Result<(), String> {
    nix::mount::mount(
        Some(what),
        place,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| format!("mount a tmpfs on {place}: {e}"))
}

/// A mount the process makes after a test's namespace was copied is
/// missing from that copy (nothing propagates into it here): the next test
/// gets a new copy, and sees the mount.
fn process_mounts() -> Result<(), String> {
    privileged()?;
    private_mounts()?;
    let first = run_seeing(|| ())?;
    tmpfs("left-by-the-process", "/tmp")?;
    let (tx, rx) = mpsc::channel();
    let ran = run_seeing(move || {
        let mounts = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
        tx.send(mounts.contains("left-by-the-process")).unwrap();
    });
    nix::mount::umount("/tmp").map_err(|e| format!("umount /tmp: {e}"))?;
    let second = ran?;
    let saw = rx.recv_timeout(PATIENCE).map_err(|e| e.to_string())?;
    check(saw && second.mnt != first.mnt, || {
        format!("the test after the process mounted /tmp saw it: {saw}; {first:?} then {second:?}")
    })
}

/// In a chroot, a test's root is the chroot: entering a kept namespace
/// would put its thread at the namespace's real root, so none is kept.
fn chrooted() -> Result<(), String> {
    privileged()?;
    private_mounts()?;
    // On a tmpfs of this process's own, so that nothing is left on the host.
    tmpfs("chroot-base", "/tmp")?;
    let dir = "/tmp/root".to_owned();
    std::fs::create_dir(&dir).map_err(|e| format!("mkdir {dir}: {e}"))?;
    nix::mount::mount(
        Some("/"),
        dir.as_str(),
        None::<&str>,
        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| format!("mount --rbind / {dir}: {e}"))?;
    // What only the chroot has: a tmpfs on its /mnt with a file.
    tmpfs("chroot-only", &format!("{dir}/mnt"))?;
    std::fs::write(format!("{dir}/mnt/inside"), "x").map_err(|e| e.to_string())?;
    nix::unistd::chroot(dir.as_str()).map_err(|e| format!("chroot {dir}: {e}"))?;
    std::env::set_current_dir("/").map_err(|e| e.to_string())?;
    for test in ["first", "second", "third"] {
        let (tx, rx) = mpsc::channel();
        run_seeing(move || {
            tx.send(std::path::Path::new("/mnt/inside").exists())
                .unwrap()
        })?;
        let inside = rx.recv_timeout(PATIENCE).map_err(|e| e.to_string())?;
        check(inside, || format!("the {test} test is not in the chroot"))?;
    }
    Ok(())
}
