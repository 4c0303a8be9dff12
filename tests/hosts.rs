//! Real hosts: what a test process meets outside a tidy CI machine.
//!
//! Each scenario is a whole process (a forked child that starts
//! single-threaded; see `netns_tests::scenarios`): threads that dropped
//! capabilities or entered a mount namespace of their own, forked children
//! (PID 1 of a new pid namespace among them), low namespace limits, a
//! process without `/proc`, set-uid processes, seccomp profiles that refuse
//! network namespaces, `unpin` on what is not a pin, and programs that are
//! not tests. A scenario that cannot exercise its subject in this world
//! prints a `skipped:` line.

use std::ffi::c_int;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use netns_core::{Errno, Error, NetNs, Op, enter_user_namespace, has_cap_sys_admin, unpin};
use netns_test::__private::{Options, run, run_with_network};
use netns_test::Mode;
use netns_tests::bounded::{CHILD_PATIENCE, output_within};
use netns_tests::scenarios::{self, Scenario, check, privileged};

const SCENARIOS: &[Scenario] = &[
    (
        "a_thread_without_cap_net_admin_leaves_no_helper_without_it",
        dropped_capability_stays_with_its_thread,
    ),
    (
        "a_thread_in_a_mount_namespace_of_its_own_leaves_no_helper_in_it",
        private_mount_namespace_stays_with_its_thread,
    ),
    (
        "forked_children_racing_first_use_never_hang",
        forks_racing_first_use,
    ),
    (
        "pid_1_forked_from_pid_1_creates_namespaces",
        pid_1_forked_from_pid_1,
    ),
    (
        "at_a_limit_of_1_every_test_gets_its_namespace",
        limit_of_one,
    ),
    (
        "at_a_limit_of_8_network_tests_wait_for_room",
        limit_of_eight_with_networks,
    ),
    (
        "privilege_is_read_from_the_kernel_not_proc",
        privilege_without_proc,
    ),
    (
        "a_set_uid_process_is_left_as_it_started",
        set_uid_is_left_alone,
    ),
    (
        "refused_network_namespaces_leave_the_process_as_it_started",
        seccomp_refusal_is_left_alone,
    ),
    (
        "a_probe_killed_by_seccomp_leaves_the_process_as_it_started",
        seccomp_kill_is_left_alone,
    ),
    (
        "a_read_only_proc_sys_is_reported_not_fatal",
        read_only_proc_sys,
    ),
    (
        "tests_run_where_mounting_is_refused",
        mount_refused_tests_still_run,
    ),
    ("unpin_unmounts_only_namespace_pins", unpin_only_pins),
    (
        "a_test_never_touches_the_hosts_run_netns",
        host_run_netns_untouched,
    ),
    (
        "an_unknown_unsupported_policy_fails_with_the_valid_values",
        unknown_policy,
    ),
    (
        "programs_that_are_not_tests_are_not_moved",
        plain_programs_stay,
    ),
];

fn main() {
    scenarios::main(SCENARIOS)
}

/// `CAP_NET_ADMIN`, which bringing `lo` up needs.
const CAP_NET_ADMIN: u32 = 12;

/// Whether this process is root of the initial user namespace (CI's first
/// world), where it may change uids and mount over `/proc`.
fn real_root() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().eq(["0", "0", "4294967295"]))
}

fn skip(what: &str, why: &str) -> Result<(), String> {
    eprintln!("skipped: {what}: {why}");
    Ok(())
}

/// The inode of a namespace file of this process.
fn ns_inode(path: &str) -> Result<u64, String> {
    nix::sys::stat::stat(path)
        .map(|st| st.st_ino)
        .map_err(|e| format!("stat {path}: {e}"))
}

/// Runs `f` on `threads` threads at once and collects every error.
fn on_threads(
    threads: usize,
    f: impl Fn(usize) -> Result<(), String> + Sync,
) -> Result<(), String> {
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads).map(|i| scope.spawn(move || f(i))).collect();
        let errors: Vec<String> = handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(result) => result.err(),
                Err(_) => Some("a thread panicked (its message is above)".to_owned()),
            })
            .collect();
        check(errors.is_empty(), || errors.join("; "))
    })
}

/// Whether this process is still in user namespace `user_ns` (an inode)
/// with effective uid `uid`, as it was before a refused attempt to enter one.
fn left_as_it_started(user_ns: u64, uid: nix::unistd::Uid) -> Result<(), String> {
    check(ns_inode("/proc/self/ns/user")? == user_ns, || {
        "the process was moved into a user namespace all the same".into()
    })?;
    let now = nix::unistd::geteuid();
    check(now == uid, || {
        format!("effective uid changed from {uid} to {now}")
    })
}

/// Drops `cap` from every set of the calling thread (capabilities are per thread).
fn drop_capability(cap: u32) -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset read and write one header and two data structs
    // of the v3 ABI, which live on our stack for the whole calls.
    unsafe {
        if libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) != 0 {
            return Err(format!("capget: {}", std::io::Error::last_os_error()));
        }
        let word = &mut data[(cap / 32) as usize];
        let bit = !(1 << (cap % 32));
        word.effective &= bit;
        word.permitted &= bit;
        word.inheritable &= bit;
        if libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) != 0 {
            return Err(format!("capset: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Creations from many threads at once, so that several helpers serve them.
fn create_everywhere(loopback: bool) -> Result<(), String> {
    on_threads(4, |_| {
        for _ in 0..5 {
            let created = if loopback {
                NetNs::new_with_loopback()
            } else {
                NetNs::new()
            };
            created.map_err(|e| format!("a later creation failed: {e}"))?;
        }
        Ok(())
    })
}

fn dropped_capability_stays_with_its_thread() -> Result<(), String> {
    privileged()?;
    // A thread without CAP_NET_ADMIN creates twice: the first creation of a
    // process runs on a fresh thread, the second starts a helper from it.
    std::thread::spawn(|| {
        drop_capability(CAP_NET_ADMIN)?;
        for _ in 0..2 {
            // Its own creations may fail: `lo` cannot come up without the
            // capability it dropped. They must end, and leave nothing behind.
            let _ = NetNs::new_with_loopback();
        }
        // Nor can it open a namespace through a socket (SIOCGSKNS): the
        // handle of one it enters comes from /proc instead.
        let ns = NetNs::enter_new(false).map_err(|e| format!("enter_new: {e}"))?;
        let current = NetNs::current().map_err(|e| format!("current: {e}"))?;
        check(ns == current, || {
            format!("enter_new's handle is {ns:?}, the thread is in {current:?}")
        })?;
        Ok::<(), String>(())
    })
    .join()
    .map_err(|_| "the capability-dropping thread panicked".to_owned())??;
    create_everywhere(true)
}

fn private_mount_namespace_stays_with_its_thread() -> Result<(), String> {
    privileged()?;
    let process_mnt = ns_inode("/proc/self/ns/mnt")?;
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
            .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
        for _ in 0..2 {
            NetNs::new().map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    })
    .join()
    .map_err(|_| "the unsharing thread panicked".to_owned())??;
    create_everywhere(false)?;
    // Every thread still alive (the helpers among them) is in the process's
    // mount namespace: none keeps the private one alive.
    for task in std::fs::read_dir("/proc/self/task").map_err(|e| e.to_string())? {
        let task = task.map_err(|e| e.to_string())?.path();
        let Ok(mnt) = ns_inode(&format!("{}/ns/mnt", task.display())) else {
            continue; // the thread ended meanwhile
        };
        check(mnt == process_mnt, || {
            format!(
                "thread {} is in mount namespace {mnt}, not the process's {process_mnt}",
                task.display()
            )
        })?;
    }
    Ok(())
}

/// Waits for child `pid` until `patience` runs out (then kills it);
/// returns its exit code.
fn wait_child(pid: nix::unistd::Pid, patience: Duration) -> Result<i32, String> {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let started = Instant::now();
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)).map_err(|e| format!("waitpid: {e}"))? {
            WaitStatus::StillAlive if started.elapsed() < patience => {
                std::thread::sleep(Duration::from_millis(1));
            }
            WaitStatus::StillAlive => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return Err(format!("child {pid} hung: killed after {patience:?}"));
            }
            WaitStatus::Exited(_, code) => return Ok(code),
            other => return Err(format!("child {pid} ended with {other:?}")),
        }
    }
}

/// Forks; the child runs `f` and exits with 0 if it returned `Ok`.
fn fork_and(f: impl FnOnce() -> Result<(), String>) -> Result<nix::unistd::Pid, String> {
    // SAFETY: the child only calls what is safe after fork in glibc (its
    // allocator is fork-safe) and exits without returning.
    match unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}"))? {
        nix::unistd::ForkResult::Parent { child } => Ok(child),
        nix::unistd::ForkResult::Child => {
            let code = match f() {
                Ok(()) => 0,
                Err(why) => {
                    eprintln!("{why}");
                    1
                }
            };
            // SAFETY: _exit ends the process without running the parent's
            // atexit handlers a second time.
            unsafe { libc::_exit(code) }
        }
    }
}

fn create_a_few() -> Result<(), String> {
    for _ in 0..3 {
        NetNs::new().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn forks_racing_first_use() -> Result<(), String> {
    const FORKS: usize = 100;
    privileged()?;
    for round in 0..FORKS {
        // A fresh process each round, so that every fork races the *first*
        // use of the helpers: two threads start creating at once while the
        // process forks, a little later each round.
        let parent = fork_and(move || {
            let busy: Vec<_> = (0..2).map(|_| std::thread::spawn(create_a_few)).collect();
            let spin = Instant::now();
            while spin.elapsed() < Duration::from_micros((round * 7 % 400) as u64) {
                std::hint::spin_loop();
            }
            let child = fork_and(create_a_few)?;
            let code = wait_child(child, Duration::from_secs(20))?;
            for thread in busy {
                thread.join().map_err(|_| "a creating thread panicked")??;
            }
            check(code == 0, || format!("the forked child failed ({code})"))
        })?;
        let code = wait_child(parent, Duration::from_secs(30))?;
        check(code == 0, || {
            format!("round {round} failed ({code}); see above")
        })?;
    }
    Ok(())
}

fn pid_1_forked_from_pid_1() -> Result<(), String> {
    use nix::sched::{CloneFlags, unshare};
    privileged()?;
    let new_pid_namespace =
        || unshare(CloneFlags::CLONE_NEWPID).map_err(|e| format!("unshare(CLONE_NEWPID): {e}"));
    new_pid_namespace()?;
    let first = fork_and(|| {
        check(std::process::id() == 1, || "not PID 1".into())?;
        // Helpers now run in this PID 1.
        create_a_few()?;
        create_everywhere(false)?;
        new_pid_namespace()?;
        let second = fork_and(|| {
            check(std::process::id() == 1, || "not PID 1".into())?;
            create_a_few()
        })?;
        let code = wait_child(second, Duration::from_secs(20))?;
        check(code == 0, || format!("the second PID 1 failed ({code})"))
    })?;
    let code = wait_child(first, Duration::from_secs(40))?;
    check(code == 0, || format!("PID 1 failed ({code}); see above"))
}

/// Enters a user namespace of our own (whatever our privilege: its limits
/// are ours to set) and sets `user.max_net_namespaces` there.
fn with_net_limit(limit: u32) -> Result<(), String> {
    enter_user_namespace().map_err(|e| e.to_string())?;
    check(matches!(netns_test::init(), Mode::Privileged), || {
        "root of our own user namespace is not privileged?".into()
    })?;
    std::fs::write("/proc/sys/user/max_net_namespaces", limit.to_string())
        .map_err(|e| format!("write max_net_namespaces: {e}"))
}

/// `each` tests on each of two threads, as libtest runs them on two cores:
/// each binds port 80 on `lo` and connects to it.
fn loopback_tests_on_two_threads(each: usize) -> Result<(), String> {
    on_threads(2, |_| {
        for _ in 0..each {
            run(OPTIONS, |_| {
                let listener = std::net::TcpListener::bind("127.0.0.1:80").unwrap();
                std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            });
        }
        Ok(())
    })
}

const OPTIONS: Options = Options {
    loopback: true,
    should_panic: None,
    timeout: None,
    capture: false,
};

fn limit_of_one() -> Result<(), String> {
    with_net_limit(1)?;
    // Like libtest with two threads: tests that each need one namespace,
    // where only one can exist at a time. Every one must get its turn.
    loopback_tests_on_two_threads(4)
}

fn limit_of_eight_with_networks() -> Result<(), String> {
    with_net_limit(8)?;
    // Each test needs three namespaces (its own and two nodes); three at
    // once need nine.
    on_threads(3, |_| {
        for _ in 0..4 {
            run_with_network(OPTIONS, |_, net| {
                assert_eq!(net.nodes().count(), 2);
            });
        }
        Ok(())
    })
}

/// A mount namespace of our own, whose mounts no one else sees.
fn private_mounts() -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make / private: {e}"))
}

fn privilege_without_proc() -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    privileged()?;
    private_mounts()?;
    mount(
        Some("none"),
        "/proc",
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| format!("mount a tmpfs over /proc: {e}"))?;
    check(std::fs::metadata("/proc/self").is_err(), || {
        "/proc still shows processes".into()
    })?;
    check(matches!(has_cap_sys_admin(), Ok(true)), || {
        format!("has_cap_sys_admin without /proc: {:?}", has_cap_sys_admin())
    })?;
    check(matches!(netns_test::init(), Mode::Privileged), || {
        format!(
            "a privileged process without /proc was taken for {}",
            netns_test::mode()
        )
    })
}

fn set_uid_is_left_alone() -> Result<(), String> {
    use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
    if !real_root() {
        return skip(
            "a_set_uid_process_is_left_as_it_started",
            "needs real root to become a set-uid-like process",
        );
    }
    let nobody = Gid::from_raw(65534);
    setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    setresgid(nobody, nobody, nobody).map_err(|e| format!("setresgid: {e}"))?;
    // As a set-uid binary: real uid 65534, effective uid 1000. The kernel
    // makes such a process non-dumpable, so its /proc/self files are root's.
    setresuid(
        Uid::from_raw(65534),
        Uid::from_raw(1000),
        Uid::from_raw(65534),
    )
    .map_err(|e| format!("setresuid: {e}"))?;
    let before = ns_inode("/proc/self/ns/user")?;
    let error = enter_user_namespace()
        .err()
        .ok_or("a set-uid process entered a user namespace")?;
    let text = error.to_string();
    check(
        matches!(
            &error,
            Error::Syscall {
                op: Op::EnterUserNamespace,
                errno: Errno::EACCES | Errno::EPERM,
                ..
            }
        ) && text.contains("set-uid")
            && text.contains("left as it was"),
        || format!("expected a set-uid refusal, got: {text}"),
    )?;
    left_as_it_started(before, nix::unistd::Uid::from_raw(1000))
}

/// What a seccomp filter of [`refuse`] refuses.
#[derive(Clone, Copy)]
enum Refused {
    /// `unshare` and `clone` with `CLONE_NEWNET`, as container profiles
    /// and AppArmor's `unprivileged_userns` do in effect.
    NetworkNamespaces,
    /// `mount`, as Docker's default AppArmor profile does.
    Mount,
}

/// Installs a seccomp filter that answers what `refused` names with
/// `refusal` (`EPERM`, or death), and allows everything else.
#[cfg(target_arch = "x86_64")]
fn refuse(refused: Refused, refusal: u32) -> Result<(), String> {
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let allow = stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW);
    let refuse = stmt(libc::BPF_RET | libc::BPF_K, refusal);
    let mut filter = vec![
        stmt(load, 4), // arch
        jump(AUDIT_ARCH_X86_64, 1, 0),
        allow,
        stmt(load, 0), // syscall number
    ];
    match refused {
        Refused::NetworkNamespaces => filter.extend([
            jump(libc::SYS_unshare as u32, 1, 0),
            jump(libc::SYS_clone as u32, 0, 2),
            stmt(load, 16), // the flags: args[0], low half
            libc::sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16,
                jt: 1,
                jf: 0,
                k: libc::CLONE_NEWNET as u32,
            },
            allow,
            refuse,
        ]),
        Refused::Mount => filter.extend([jump(libc::SYS_mount as u32, 0, 1), refuse, allow]),
    }
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl reads the program, which outlives the call; no_new_privs
    // first, as an unprivileged seccomp filter requires.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(format!(
                "PR_SET_NO_NEW_PRIVS: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &raw const program,
        ) != 0
        {
            return Err(format!(
                "PR_SET_SECCOMP: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
fn refuse(_: Refused, _: u32) -> Result<(), String> {
    unreachable!("the scenarios skip themselves off x86_64")
}

fn mount_refused_tests_still_run() -> Result<(), String> {
    if cfg!(not(target_arch = "x86_64")) {
        return skip(
            "tests_run_where_mounting_is_refused",
            "the seccomp filter is written for x86_64",
        );
    }
    privileged()?;
    netns_test::init();
    refuse(Refused::Mount, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32)?;
    // No private /run/netns can be had: the tests run all the same (and a
    // note says so on stderr).
    loopback_tests_on_two_threads(2)
}

fn seccomp_refusal_is_left_alone() -> Result<(), String> {
    refused_under_seccomp(
        "refused_network_namespaces_leave_the_process_as_it_started",
        libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        &["CLONE_NEWNET", "apparmor_restrict_unprivileged_userns"],
    )
}

fn seccomp_kill_is_left_alone() -> Result<(), String> {
    refused_under_seccomp(
        "a_probe_killed_by_seccomp_leaves_the_process_as_it_started",
        libc::SECCOMP_RET_KILL_THREAD,
        &["killed before it finished", "seccomp"],
    )
}

/// As an ordinary user under a seccomp filter that answers network
/// namespaces with `refusal`: `init` must leave the process as it started
/// and say why, with each of `needles`.
fn refused_under_seccomp(name: &str, refusal: u32, needles: &[&str]) -> Result<(), String> {
    use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
    if cfg!(not(target_arch = "x86_64")) {
        return skip(name, "the seccomp filter is written for x86_64");
    }
    if has_cap_sys_admin().map_err(|e| e.to_string())? {
        // Become an ordinary user, as the unprivileged worlds are.
        let (uid, gid) = (Uid::from_raw(65534), Gid::from_raw(65534));
        setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
        setresgid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
        setresuid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
        // A uid change makes the process non-dumpable; an ordinary one is.
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    }
    refuse(Refused::NetworkNamespaces, refusal)?;
    let before = ns_inode("/proc/self/ns/user")?;
    let uid = nix::unistd::geteuid();
    let mode = netns_test::init();
    let Mode::Unavailable(error) = mode else {
        return Err(format!(
            "network namespaces are refused, yet the mode is {mode}"
        ));
    };
    let text = error.to_string();
    check(
        error.errno() == Some(Errno::EPERM)
            && needles.iter().all(|needle| text.contains(needle))
            && text.contains("left as it was"),
        || format!("expected the probe's refusal naming {needles:?}, got: {text}"),
    )?;
    left_as_it_started(before, uid)
}

fn unpin_only_pins() -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    privileged()?;
    private_mounts()?;
    let dir = std::env::temp_dir().join(format!("netns-unpin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    mount(
        Some("none"),
        &dir,
        Some("tmpfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .map_err(|e| format!("mount a tmpfs on {}: {e}", dir.display()))?;
    let data = dir.join("data");
    std::fs::write(&data, "kept").map_err(|e| e.to_string())?;

    let not_a_pin = |path: &std::path::Path| match unpin(path) {
        Err(Error::NotANamespace { op: Op::Unpin, .. }) => Ok(()),
        other => Err(format!("unpin({}) = {other:?}", path.display())),
    };
    not_a_pin(&dir)?; // a tmpfs mount point
    not_a_pin(&data)?; // a plain file
    check(
        std::fs::read_to_string(&data).is_ok_and(|s| s == "kept"),
        || "unpin took the tmpfs away".into(),
    )?;
    not_a_pin("/proc/self/ns/net".as_ref())?; // a namespace, but a link in /proc
    // And a real pin goes, but not through a symbolic link to it.
    let pin = dir.join("pin");
    let ns = NetNs::new().map_err(|e| e.to_string())?;
    ns.pin(&pin).map_err(|e| e.to_string())?;
    let link = dir.join("link");
    std::os::unix::fs::symlink(&pin, &link).map_err(|e| e.to_string())?;
    not_a_pin(&link)?;
    check(NetNs::open_pinned(&pin).is_ok(), || {
        "unpin through a link took the pin away".into()
    })?;
    match unpin("/run/netns/a\0b") {
        Err(Error::InvalidPath { op: Op::Unpin, .. }) => {}
        other => return Err(format!("unpin of a path with a NUL byte = {other:?}")),
    }
    unpin(&pin).map_err(|e| format!("unpin of a real pin: {e}"))?;
    check(!pin.exists(), || "the pin file is still there".into())
}

fn read_only_proc_sys() -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    privileged()?;
    netns_test::init();
    // As a container without --privileged has it.
    private_mounts()?;
    mount(
        Some("/proc/sys"),
        "/proc/sys",
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| format!("bind /proc/sys: {e}"))?;
    mount(
        None::<&str>,
        "/proc/sys",
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .map_err(|e| format!("make /proc/sys read-only: {e}"))?;
    check(
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").is_err(),
        || "/proc/sys is still writable".into(),
    )?;
    // The tests still run (whatever the host's settings; they are reported).
    loopback_tests_on_two_threads(3)
}

fn host_run_netns_untouched() -> Result<(), String> {
    privileged()?;
    netns_test::init();
    let listing = || -> Option<Vec<std::ffi::OsString>> {
        let mut names: Vec<_> = std::fs::read_dir("/run/netns")
            .ok()?
            .filter_map(|entry| entry.ok().map(|entry| entry.file_name()))
            .collect();
        names.sort();
        Some(names)
    };
    let before = listing();
    on_threads(2, |i| {
        run(OPTIONS, move |_| {
            let ns = NetNs::new().unwrap();
            ns.pin(format!("/run/netns/netns-test-leak-check-{i}"))
                .unwrap();
        });
        Ok(())
    })?;
    let after = listing();
    check(before == after, || {
        format!("/run/netns was {before:?} before the tests, {after:?} after")
    })
}

fn unknown_policy() -> Result<(), String> {
    privileged()?;
    netns_test::init();
    // SAFETY: this scenario's process is single-threaded here.
    unsafe { std::env::set_var(netns_test::UNSUPPORTED_ENV, "sikp") };
    // The harness's panic is the expected outcome: keep it off the output.
    std::panic::set_hook(Box::new(|_| {}));
    let panic = std::panic::catch_unwind(|| {
        run(OPTIONS, |_| {});
    })
    .err()
    .ok_or("a test ran with NETNS_TEST_UNSUPPORTED=sikp")?;
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    check(
        text.contains("\"sikp\"") && text.contains("`fail`") && text.contains("`skip`"),
        || format!("the message does not list the valid values: {text}"),
    )
}

fn plain_programs_stay() -> Result<(), String> {
    if !real_root() {
        return skip(
            "programs_that_are_not_tests_are_not_moved",
            "needs real root to start a program as another user",
        );
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_plain-program"));
    command.uid(65534).gid(65534); // std drops supplementary groups when root changes uid
    let out = output_within(&mut command, CHILD_PATIENCE)
        .map_err(|e| format!("run plain-program as uid 65534: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let expected = format!(
        "uid 65534, user namespace {}",
        ns_inode("/proc/self/ns/user")?
    );
    check(out.status.success() && text.contains(&expected), || {
        format!(
            "expected `{expected}` from a program that merely uses netns-test, got: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
