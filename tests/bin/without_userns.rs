//! Runs a command the way an unprivileged user on a locked-down machine would:
//! as uid and gid 65534, inside a user namespace whose
//! `user.max_user_namespaces` is 0, so that it can create no user namespace
//! (nor network namespace) of its own.
//!
//! ```text
//! without-userns COMMAND [ARGS...]
//! ```
//!
//! It must run as root. CI uses it for the third privilege world, where the
//! tests must fail with netns-test's actionable message (or skip on request).

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Uid, execvp, fork, setgroups, setresgid, setresuid};

const NOBODY: u32 = 65534;

fn main() -> ExitCode {
    let args: Vec<CString> = match std::env::args_os()
        .skip(1)
        .map(|a| CString::new(a.into_encoded_bytes()))
        .collect()
    {
        Ok(args) => args,
        Err(e) => return fail(&format!("argument with a NUL byte: {e}")),
    };
    if args.is_empty() {
        return fail("usage: without-userns COMMAND [ARGS...]");
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
            let error = become_nobody(&mut child_end).and_then(|()| {
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
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => ExitCode::from(code as u8),
                Ok(status) => fail(&format!("command ended with {status:?}")),
                Err(e) => fail(&format!("waitpid: {e}")),
            }
        }
    }
}

/// In the child: enter a user namespace, wait to be mapped, close the door
/// to further user namespaces, and drop to uid/gid 65534 (losing every capability).
fn become_nobody(parent: &mut UnixStream) -> Result<(), String> {
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
    parent
        .write_all(b"u")
        .map_err(|e| format!("tell parent: {e}"))?;
    let mut byte = [0];
    parent
        .read_exact(&mut byte)
        .map_err(|e| format!("wait for the id map: {e}"))?;
    std::fs::write("/proc/sys/user/max_user_namespaces", "0")
        .map_err(|e| format!("write user.max_user_namespaces: {e}"))?;
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

fn fail(why: &str) -> ExitCode {
    eprintln!("without-userns: {why}");
    ExitCode::from(125)
}
