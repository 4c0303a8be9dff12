//! Runs a command the way an unprivileged user on a locked-down machine would:
//! as uid and gid 65534, inside a user namespace whose
//! `user.max_user_namespaces` is 0, so that it can create no user namespace
//! (nor network namespace) of its own.
//!
//! ```text
//! without-userns [--limit NAME=VALUE]... COMMAND [ARGS...]
//! ```
//!
//! With `--limit`, it sets those `/proc/sys/user/NAME` limits instead (e.g.
//! `--limit max_net_namespaces=0`: user namespaces work, network namespaces
//! do not, and the command cannot read that limit from the user namespace it
//! makes for itself).
//!
//! It must run as root. CI uses it for the third privilege world, where the
//! tests must fail with netns-test's actionable message (or skip on request),
//! and for the worlds with low namespace limits.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid, execvp, fork, setgroups, setresgid, setresuid};

const NOBODY: u32 = 65534;

const USAGE: &str = "usage: without-userns [--limit NAME=VALUE]... COMMAND [ARGS...]";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    let mut limits = Vec::new();
    while args.peek().is_some_and(|a| a == "--limit") {
        args.next();
        let Some((name, value)) = args.next().and_then(|a| {
            let a = a.into_string().ok()?;
            let (name, value) = a.split_once('=')?;
            let valid = !name.contains('/') && value.parse::<u32>().is_ok();
            valid.then(|| (name.to_owned(), value.to_owned()))
        }) else {
            return fail(USAGE);
        };
        limits.push((name, value));
    }
    if limits.is_empty() {
        limits.push(("max_user_namespaces".to_owned(), "0".to_owned()));
    }
    let args: Vec<CString> = match args.map(|a| CString::new(a.into_encoded_bytes())).collect() {
        Ok(args) => args,
        Err(e) => return fail(&format!("argument with a NUL byte: {e}")),
    };
    if args.is_empty() {
        return fail(USAGE);
    }
    let (mut parent_end, mut child_end) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => return fail(&format!("socketpair: {e}")),
    };
    // SAFETY: this program starts no threads, so the child is a complete copy.
    match unsafe { fork() } {
        Err(e) => fail(&format!("fork: {e}")),
        Ok(ForkResult::Child) => {
            drop(parent_end);
            let error = become_nobody(&mut child_end, &limits).and_then(|()| {
                execvp(&args[0], &args).map_err(|e| format!("exec {:?}: {e}", args[0]))
            });
            fail(&error.err().unwrap_or_default())
        }
        Ok(ForkResult::Parent { child }) => {
            drop(child_end);
            if let Err(e) = map_ids(child.as_raw(), &mut parent_end) {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(child, None);
                return fail(&e);
            }
            match wait_within(child, PATIENCE) {
                Ok(WaitStatus::Exited(_, code)) => ExitCode::from(code as u8),
                Ok(status) => fail(&format!("command ended with {status:?}")),
                Err(e) => fail(&e),
            }
        }
    }
}

/// In the child: enter a user namespace, wait to be mapped, set `limits`
/// (by default, close the door to further user namespaces), and drop to
/// uid/gid 65534 (losing every capability).
fn become_nobody(parent: &mut UnixStream, limits: &[(String, String)]) -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    parent
        .write_all(b"u")
        .map_err(|e| format!("tell parent: {e}"))?;
    let mut byte = [0];
    parent
        .read_exact(&mut byte)
        .map_err(|e| format!("wait for the id map: {e}"))?;
    for (name, value) in limits {
        std::fs::write(format!("/proc/sys/user/{name}"), value)
            .map_err(|e| format!("write user.{name}: {e}"))?;
    }
    setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    let gid = Gid::from_raw(NOBODY);
    setresgid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    let uid = Uid::from_raw(NOBODY);
    setresuid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))
}

/// In the parent (real root): map ids 0..65536 of the child's namespace to
/// the same host ids, so that 65534 inside is 65534 outside.
fn map_ids(child: i32, stream: &mut UnixStream) -> Result<(), String> {
    let mut byte = [0];
    stream
        .read_exact(&mut byte)
        .map_err(|e| format!("wait for the child: {e}"))?;
    for map in ["uid_map", "gid_map"] {
        let path = format!("/proc/{child}/{map}");
        std::fs::write(&path, "0 0 65536")
            .map_err(|e| format!("write {path}: {e} (run as root)"))?;
    }
    stream
        .write_all(b"m")
        .map_err(|e| format!("tell child: {e}"))
}

/// How long the command may run: a whole test binary, with room to spare.
const PATIENCE: Duration = Duration::from_secs(15 * 60);

/// Waits for `child` for up to `patience`; kills it after that.
fn wait_within(child: Pid, patience: Duration) -> Result<WaitStatus, String> {
    let started = Instant::now();
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if started.elapsed() < patience => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(WaitStatus::StillAlive) => {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(child, None);
                return Err(format!("the command ran past {patience:?} and was killed"));
            }
            Ok(status) => return Ok(status),
            Err(e) => return Err(format!("waitpid: {e}")),
        }
    }
}

fn fail(why: &str) -> ExitCode {
    eprintln!("without-userns: {why}");
    ExitCode::from(125)
}
