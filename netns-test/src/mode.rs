//! The world a test process runs in, settled once before `main`.
//!
//! `unshare(CLONE_NEWUSER)` works only while a process has one thread, and
//! libtest starts threads before any test runs. So the decision happens in
//! an `.init_array` constructor: the dynamic loader (or the static start-up
//! code) calls it before `main`, while the process is still single-threaded.

use std::fmt;
use std::sync::OnceLock;

use netns_core::{Error, enter_user_namespace, get_netns_cookie, has_cap_sys_admin};

/// Which of the three worlds the test process is in.
///
/// Settled once, before `main`, by a constructor that `netns-test` links into
/// every binary that uses it. Read it with [`mode`].
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
}

static STARTUP: OnceLock<Startup> = OnceLock::new();

// The constructor: `.init_array` entries run before `main`.
// `#[used]` keeps the entry although nothing names it; `mode` and
// `startup` refer to it, so the linker keeps this object file as well.
#[used]
#[unsafe(link_section = ".init_array")]
static CONSTRUCTOR: extern "C" fn() = before_main;

extern "C" fn before_main() {
    // A panic must not unwind out of an `extern "C"` fn (it would abort the
    // process before main); settle() does not panic, this is a backstop.
    let _ = std::panic::catch_unwind(|| STARTUP.get_or_init(settle));
}

fn settle() -> Startup {
    let mode = match has_cap_sys_admin() {
        Ok(true) => Mode::Privileged,
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
    Startup {
        mode,
        host_cookie: get_netns_cookie(),
    }
}

/// What the constructor found, or `None` if it never ran.
pub(crate) fn startup() -> Option<&'static Startup> {
    std::hint::black_box(&CONSTRUCTOR);
    STARTUP.get()
}

/// Returns the world this test process is in: privileged, inside a user
/// namespace, or without network namespaces (with the reason).
///
/// # Panics
///
/// If the `.init_array` constructor of `netns-test` never ran, which happens
/// only on platforms or linkers that do not support it; the message says so.
pub fn mode() -> &'static Mode {
    match startup() {
        Some(startup) => &startup.mode,
        None => panic!("{NEVER_RAN}"),
    }
}

pub(crate) const NEVER_RAN: &str = "netns-test: its start-up constructor (.init_array) never ran, \
     so the process could not enter a user namespace before main; netns-test needs Linux and a \
     linker that keeps .init_array sections (GNU ld, gold, lld and mold all do)";
