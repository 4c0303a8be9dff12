//! `async fn` tests: a tokio runtime whose every thread is in the test's namespace.

use std::future::Future;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use netns_core::NetNs;
use nix::sched::{CloneFlags, setns};

/// The runtime a test asked for with `flavor` and `worker_threads`.
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    /// `flavor = "current_thread"`, the default: everything on the test's thread.
    CurrentThread,
    /// `flavor = "multi_thread"`, with `worker_threads` or tokio's default.
    MultiThread {
        /// `worker_threads = N`.
        worker_threads: Option<usize>,
    },
}

/// Builds a runtime on the calling thread, which is inside `ns`, and runs `future` on it.
///
/// Built here, the runtime's worker threads inherit the namespace. Its
/// blocking pool starts threads later, from whichever thread calls
/// `spawn_blocking`, which may be outside (a `Handle` can travel); so every
/// thread it starts enters `ns` first, in `on_thread_start`.
pub fn block_on<F: Future>(ns: &NetNs, flavor: Flavor, future: F) -> F::Output {
    let mut builder = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread { worker_threads } => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = worker_threads {
                builder.worker_threads(n);
            }
            builder
        }
    };
    let fd: Arc<OwnedFd> = match ns.try_clone() {
        Ok(ns) => Arc::new(ns.into()),
        Err(error) => panic!("netns_test: cannot keep a handle for the tokio runtime: {error}"),
    };
    let runtime = builder
        .enable_all()
        .on_thread_start(move || {
            if let Err(errno) = setns(&*fd, CloneFlags::CLONE_NEWNET) {
                panic!("netns_test: a tokio thread could not enter the test's namespace: setns: {errno}");
            }
        })
        .build()
        .unwrap_or_else(|error| panic!("netns_test: cannot build the tokio runtime: {error}"));
    runtime.block_on(future)
}
