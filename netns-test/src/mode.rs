//! The world a test process runs in, settled once before `main`.
//!
//! `unshare(CLONE_NEWUSER)` works only while a process has one thread, and
//! libtest starts threads before any test runs. So the decision happens in
//! an `.init_array` constructor that every `#[netns_test]` emits into the
//! test binary: the dynamic loader (or the static start-up code) calls it
//! before `main`, while the process is still single-threaded. Programs that
//! are not tests are never moved unless they call [`init`].

use std::fmt;
use std::sync::OnceLock;

use netns_core::{Errno, Error, NetNs, enter_user_namespace, get_netns_cookie, has_cap_sys_admin};

/// Which of the three worlds the test process is in.
///
/// Settled once: before `main` in test binaries (by the constructor every
/// `#[netns_test]` emits), or by [`init`] in other programs. Read it with
/// [`mode`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Mode {
    /// The process had `CAP_SYS_ADMIN` in the user namespace it started in
    /// (it runs as root, or as root of a container or of a user namespace
    /// made by whoever started it): it creates network namespaces there.
    Privileged,
    /// The process lacked `CAP_SYS_ADMIN` and entered a user namespace of its
    /// own before `main`, where it is uid 0 with every capability over the
    /// namespaces it creates.
    UserNamespace,
    /// Network namespaces cannot be had; the error says why and what to do.
    Unavailable(Error),
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Privileged => f.write_str("privileged (CAP_SYS_ADMIN)"),
            Mode::UserNamespace => f.write_str("unprivileged, inside a user namespace"),
            Mode::Unavailable(error) => write!(f, "network namespaces unavailable: {error}"),
        }
    }
}

/// What the constructor found out.
#[derive(Debug)]
pub(crate) struct Startup {
    pub(crate) mode: Mode,
    /// The cookie of the namespace the process started in, read before any
    /// test could run.
    pub(crate) host_cookie: Result<u64, Error>,
    /// Whether `user.max_net_namespaces` is 0 in the user namespace the
    /// process started in or one enclosing it: no namespace will ever come.
    /// The kernel counts a namespace against the limit of every enclosing
    /// user namespace, but a process can read only its own's, so this is
    /// settled before entering a user namespace of ours (whose limits are
    /// fresh): read where it can be, tried where it cannot.
    pub(crate) net_limit_was_zero: bool,
}

static STARTUP: OnceLock<Startup> = OnceLock::new();

/// The `.init_array` entry that every `#[netns_test]` expands to (through
/// [`before_main!`](crate::before_main)): the dynamic loader (or the static
/// start-up code) calls it before `main`, while the process is still
/// single-threaded. Only test binaries have one, so no other program is
/// moved into a user namespace unless it asks ([`init`]).
pub extern "C" fn before_main() {
    // A panic must not unwind out of an `extern "C"` fn (it would abort the
    // process before main); settle() does not panic, this is a backstop.
    let _ = std::panic::catch_unwind(|| STARTUP.get_or_init(|| settle(true)));
}

/// Settles the world of this process, as every `#[netns_test]` binary does
/// before `main`: if the process lacks `CAP_SYS_ADMIN`, it enters a user
/// namespace of its own (and a mount namespace), where it can create network
/// namespaces; see the [crate docs](crate#without-root). Returns the world
/// it is in.
///
/// Test binaries need not call it. Other programs that use this crate (a
/// tool, an example, a benchmark) call it first thing in `main`, while the
/// process is single-threaded: entering a user namespace changes what the
/// whole process is (uid 0 inside, no supplementary groups), so nothing
/// does it behind a program's back. Calling it again returns the first
/// answer.
///
/// ```no_run
/// // First thing in `main`:
/// match netns_test::init() {
///     netns_test::Mode::Unavailable(error) => eprintln!("no namespaces here: {error}"),
///     mode => println!("running {mode}"),
/// }
/// // ... NetNs::new(), Network::builder() ...
/// ```
pub fn init() -> &'static Mode {
    &STARTUP.get_or_init(|| settle(true)).mode
}

fn settle(may_enter: bool) -> Startup {
    crate::settings::note_inheritance();
    let mut net_limit_was_zero = net_namespace_limit_is_zero();
    let mode = match has_cap_sys_admin() {
        Ok(true) => Mode::Privileged,
        Ok(false) | Err(_) if !may_enter => Mode::Unavailable(not_initialized()),
        // enter_user_namespace leaves the process as it was where entering
        // cannot complete (it probes first), so Unavailable is exact.
        Ok(false) | Err(_) => match enter_user_namespace() {
            Ok(()) => {
                // A mount namespace of our own lets tests pin namespaces
                // (bind mounts) without touching the host's mounts. Tests
                // that do not pin never notice; if it fails, `pin` reports
                // EPERM itself.
                let _ = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS);
                Mode::UserNamespace
            }
            Err(error) => Mode::Unavailable(error),
        },
    };
    // Unprivileged, entering tried a network namespace already (a zero
    // limit anywhere makes that fail); privileged in the initial user
    // namespace, there is no enclosing limit. Privileged in a nested one
    // (root of a container's user namespace), one creation tells.
    if matches!(mode, Mode::Privileged) && !net_limit_was_zero && !in_initial_user_namespace() {
        net_limit_was_zero = limit_is_zero_further_out();
    }
    Startup {
        mode,
        host_cookie: get_netns_cookie(),
        net_limit_was_zero,
    }
}

/// Whether creating a namespace meets `ENOSPC` for a whole second: a limit
/// of 0 in a user namespace enclosing ours (a full one frees up sooner).
fn limit_is_zero_further_out() -> bool {
    crate::create::patiently(std::time::Duration::from_secs(1), NetNs::new)
        .is_err_and(|e| e.errno() == Some(Errno::ENOSPC))
}

/// Whether the process is in the initial user namespace, whose uid map is
/// the identity over every uid.
fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|map| map.split_whitespace().eq(["0", "0", "4294967295"]))
}

/// Whether `user.max_net_namespaces` is 0 in the calling thread's user namespace.
pub(crate) fn net_namespace_limit_is_zero() -> bool {
    std::fs::read_to_string("/proc/sys/user/max_net_namespaces").is_ok_and(|v| v.trim() == "0")
}

fn not_initialized() -> Error {
    Error::Syscall {
        op: netns_core::Op::New,
        syscall: netns_core::Syscall::UnshareNet,
        path: None,
        errno: netns_core::Errno::EPERM,
    }
}

/// What the constructor found, or `None` if it never ran.
pub(crate) fn startup() -> Option<&'static Startup> {
    STARTUP.get()
}

/// Returns the world this process is in: privileged, inside a user
/// namespace, or without network namespaces (with the reason).
///
/// In a test binary (one with a `#[netns_test]`, or [`before_main!`](crate::before_main))
/// or after [`init`], that is what was settled before the tests ran. In any
/// other program it only looks: `Privileged` with `CAP_SYS_ADMIN`, else
/// `Unavailable` (call [`init`] to enter a user namespace).
pub fn mode() -> &'static Mode {
    // Looking must not settle: a later `init` still enters.
    static LOOKED: OnceLock<Startup> = OnceLock::new();
    match STARTUP.get() {
        Some(startup) => &startup.mode,
        None => &LOOKED.get_or_init(|| settle(false)).mode,
    }
}

pub(crate) const NEVER_RAN: &str = "netns-test: its start-up constructor (.init_array) never ran, \
     so the process could not enter a user namespace before main; netns-test needs Linux and a \
     linker that keeps .init_array sections (GNU ld, gold, lld and mold all do)";

/// Settles the world of a binary before `main`, as every `#[netns_test]`
/// does: for test binaries whose tests use this crate's API (a
/// [`Network`](crate::network::Network), `NetNs::new`) under a plain
/// `#[test]`, so that they too run in a user namespace when unprivileged.
/// Write it once, at the top level of the test file:
///
/// ```no_run
/// netns_test::before_main!();
///
/// // #[test]
/// fn builds_a_network() {
///     let net = netns_test::network::Network::pair().unwrap();
///     assert_eq!(net.nodes().count(), 2);
/// }
/// # fn main() { builds_a_network() }
/// ```
///
/// It expands to an `.init_array` entry calling the same constructor as
/// `#[netns_test]`; more than one in a binary is harmless (the first one
/// decides). A program with a `main` of its own calls [`init`] instead.
#[macro_export]
macro_rules! before_main {
    () => {
        const _: () = {
            #[used]
            #[unsafe(link_section = ".init_array")]
            static NETNS_TEST_BEFORE_MAIN: extern "C" fn() = $crate::__private::before_main;
        };
    };
}
