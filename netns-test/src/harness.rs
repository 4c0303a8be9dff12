//! What a `#[netns_test]` does at run time.

use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::process::{ExitCode, Termination};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use netns_core::{Error, NetNs, get_netns_cookie};

use crate::create::{create_here, refused};
use crate::mode::{Mode, NEVER_RAN, startup};
#[cfg(feature = "network")]
use crate::network::{Network, NetworkBuilder};
use crate::{capture, run_netns, settings, snapshot, spare};

/// The environment variable that decides what a test does where network
/// namespaces are unavailable: `fail` (the default) or `skip`. Any other
/// value fails every `#[netns_test]` with a message listing these two.
pub const UNSUPPORTED_ENV: &str = "NETNS_TEST_UNSUPPORTED";

/// What to do where network namespaces are unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsupported {
    Fail,
    Skip,
}

impl Unsupported {
    /// The policy [`UNSUPPORTED_ENV`] asks for; unset or empty means `fail`.
    fn from_env() -> Result<Unsupported, String> {
        env_choice(
            UNSUPPORTED_ENV,
            &[("fail", Unsupported::Fail), ("skip", Unsupported::Skip)],
            "`fail` (the default: a test that cannot have a network namespace fails, saying \
             why) or `skip` (it passes with a `skipped:` line)",
        )
    }
}

/// The value of environment variable `name` among `choices` (any case);
/// unset or empty means the first. Another value is an error naming
/// `meanings`.
pub(crate) fn env_choice<T: Copy>(
    name: &str,
    choices: &[(&str, T)],
    meanings: &str,
) -> Result<T, String> {
    let Some(value) = std::env::var_os(name) else {
        return Ok(choices[0].1);
    };
    let lower = value.to_str().map(str::to_ascii_lowercase);
    match lower.as_deref() {
        Some("") => Some(choices[0].1),
        Some(text) => choices
            .iter()
            .find(|(key, _)| *key == text)
            .map(|(_, v)| *v),
        None => None,
    }
    .ok_or_else(|| format!("{name}={value:?} is not a valid value; use {meanings}"))
}

/// Options of one test, as the attribute and its other attributes set them.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Bring `lo` up before the body runs.
    pub loopback: bool,
    /// `Some(expected)` for a `#[should_panic]` test (`""` if it names no text).
    pub should_panic: Option<&'static str>,
    /// `timeout = "..."`: how long the body may run, its network built
    /// (building it is not counted); `None`: the [`TIMEOUT_ENV`] default,
    /// if any, else no limit.
    pub timeout: Option<Duration>,
    /// `capture`: record the test's packets, kept if it fails (unless
    /// [`CAPTURE_ENV`](crate::CAPTURE_ENV) says otherwise).
    pub capture: bool,
}

/// The environment variable that gives every `#[netns_test]` without a
/// `timeout` option a limit: `500ms`, `5s`, `2m`.
pub const TIMEOUT_ENV: &str = "NETNS_TEST_TIMEOUT";

/// `500ms`, `5s` or `2m`: a whole number and a unit, more than zero.
/// (`#[netns_test(timeout = ...)]` is checked the same way at compile time.)
fn parse_duration(text: &str) -> Option<Duration> {
    // The same rules as the macro's `parse_millis` (a proc-macro crate
    // cannot share code with this one).
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let number: u64 = number.parse().ok()?;
    let millis = match unit {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        _ => return None,
    };
    (millis > 0).then(|| Duration::from_millis(millis))
}

/// The body's time limit: the test's own, else [`TIMEOUT_ENV`]'s.
fn time_limit(options: Options) -> Result<Option<Duration>, String> {
    if options.timeout.is_some() {
        return Ok(options.timeout);
    }
    let Some(value) = std::env::var_os(TIMEOUT_ENV) else {
        return Ok(None);
    };
    match value.to_str().and_then(parse_duration) {
        Some(limit) => Ok(Some(limit)),
        None => Err(format!(
            "{TIMEOUT_ENV}={value:?} is not a valid time limit; write a whole number and a \
             unit: `500ms`, `5s` or `2m`"
        )),
    }
}

/// Runs `body` inside a new network namespace and reports its result there.
///
/// The steps, each of which fails the test with a message naming the cause:
/// check the world the process is in and the environment variables; create
/// the namespace (retrying `ENOSPC`); on a new thread inside it, reset the
/// host's settings and check by cookie that the thread is isolated from the
/// host; then run the body with a private `/run/netns` (a mount namespace
/// of its own; where mounting is refused, a note says so once and the test
/// goes on) and, if it fails, a snapshot of its network; after it, close
/// the namespace and check that the calling thread never left the host's
/// namespace. With a time limit, the body runs on a thread of its own,
/// abandoned if the limit passes.
///
/// The body's result is turned into an [`ExitCode`] on its own thread, so
/// its error type need not be `Send`; libtest then prints the error (as for
/// any test returning `Result`) and fails the test.
#[track_caller]
pub fn run<T: Termination>(
    options: Options,
    body: impl FnOnce(&NetNs) -> T + Send + 'static,
) -> ExitCode {
    run_checked(options, |_| Ok(()), |ns, ()| body(ns))
}

/// [`run`], with a two-host [`Network::pair`] built (from inside the test's
/// namespace) before the body and dropped after it.
#[cfg(feature = "network")]
#[track_caller]
pub fn run_with_network<T: Termination>(
    options: Options,
    body: impl FnOnce(&NetNs, &Network) -> T + Send + 'static,
) -> ExitCode {
    let pair =
        |_: &NetNs| Network::pair().map_err(|e| format!("cannot build the test's network: {e}"));
    run_checked(options, pair, body)
}

/// [`run`], with the test's own namespace as node `test` of an uplink
/// network (see [`network::uplink`](crate::network::uplink)): `eth0`,
/// addresses and default routes through a silent gateway, built before the
/// body and dropped after it.
#[cfg(feature = "network")]
#[track_caller]
pub fn run_with_uplink<T: Termination>(
    options: Options,
    body: impl FnOnce(&NetNs, &Network) -> T + Send + 'static,
) -> ExitCode {
    let uplink = |ns: &NetNs| {
        let own = ns
            .try_clone()
            .map_err(|e| format!("cannot keep a handle to the test's namespace: {e}"))?;
        crate::network::uplink::around(own)
            .map_err(|e| format!("cannot build the test's uplink: {e}"))
    };
    run_checked(options, uplink, body)
}

/// What a `#[netns_test]` fn may take, recognised by its type however the
/// fn spells it (`use netns_test::NetNs as Ns; fn t(ns: &Ns)`).
#[diagnostic::on_unimplemented(
    message = "a #[netns_test] fn takes `&NetNs` (its namespace) or `&Network` (its network), not `&{Self}`",
    label = "not the test's namespace or network"
)]
pub trait Param: Sync + 'static {
    /// Whether it is the test's network.
    const IS_NETWORK: bool;

    /// Runs the test: `body` gets the test's namespace and this.
    fn run<T: Termination>(
        options: Options,
        body: impl FnOnce(&NetNs, &Self) -> T + Send + 'static,
    ) -> ExitCode;

    /// This, from the test's namespace and the network an option built.
    #[cfg(feature = "network")]
    fn from_network<'a>(ns: &'a NetNs, net: &'a Network) -> &'a Self;
}

impl Param for NetNs {
    const IS_NETWORK: bool = false;

    #[track_caller]
    fn run<T: Termination>(
        options: Options,
        body: impl FnOnce(&NetNs, &Self) -> T + Send + 'static,
    ) -> ExitCode {
        run(options, |ns| body(ns, ns))
    }

    #[cfg(feature = "network")]
    fn from_network<'a>(ns: &'a NetNs, _: &'a Network) -> &'a Self {
        ns
    }
}

#[cfg(feature = "network")]
impl Param for Network {
    const IS_NETWORK: bool = true;

    #[track_caller]
    fn run<T: Termination>(
        options: Options,
        body: impl FnOnce(&NetNs, &Self) -> T + Send + 'static,
    ) -> ExitCode {
        run_with_network(options, body)
    }

    fn from_network<'a>(_: &'a NetNs, net: &'a Network) -> &'a Self {
        net
    }
}

/// [`run`] for a test whose parameter is recognised by its type.
#[track_caller]
pub fn run_param<P: Param, T: Termination>(
    options: Options,
    body: impl FnOnce(&NetNs, &P) -> T + Send + 'static,
) -> ExitCode {
    P::run(options, body)
}

/// A test's own network, as `#[netns_test(network = path, node = "name")]`
/// describes it.
#[cfg(feature = "network")]
#[derive(Debug, Clone, Copy)]
pub struct Topology {
    /// The fn `network = ...` names.
    pub describe: fn() -> NetworkBuilder,
    /// Its path, for messages.
    pub name: &'static str,
    /// `node = ...`: the node whose namespace is the test's own, in which
    /// the body runs. `None`: the body runs in a namespace outside the
    /// network.
    pub node: Option<&'static str>,
}

/// [`run`], with the test's network built from `topology` before the body
/// and dropped after it; with a `node`, the test's own namespace is that
/// node, so the body runs inside it.
#[cfg(feature = "network")]
#[track_caller]
pub fn run_with_topology<T: Termination>(
    options: Options,
    topology: Topology,
    body: impl FnOnce(&NetNs, &Network) -> T + Send + 'static,
) -> ExitCode {
    let build = |ns: &NetNs| {
        // A panic here is the topology's, not the body's: it must not pass
        // a `#[should_panic]` test.
        let builder = std::panic::catch_unwind(topology.describe).map_err(|_| {
            format!(
                "{}() panicked describing the test's network (its message is above)",
                topology.name
            )
        })?;
        let built = match topology.node {
            None => builder.build(),
            Some(node) => {
                let own = ns
                    .try_clone()
                    .map_err(|e| format!("cannot keep a handle to the test's namespace: {e}"))?;
                builder.build_around(node, own)
            }
        };
        built.map_err(|e| {
            let name = topology.name;
            match topology.node {
                Some(node) => {
                    format!("cannot build the test's network {name}() with the body in node {node:?}: {e}")
                }
                None => format!("cannot build the test's network {name}(): {e}"),
            }
        })
    };
    run_checked(options, build, body)
}

/// The harness: `setup` makes what the body is given besides its namespace
/// (a network, built inside it) or returns `Err` for a failure of the
/// harness's own (reported like the others); then `body` runs, see
/// [`watched`] and [`within`].
#[track_caller]
fn run_checked<S: Built + Send + Sync + 'static, T: Termination>(
    options: Options,
    setup: impl FnOnce(&NetNs) -> Result<S, String> + Send,
    body: impl FnOnce(&NetNs, &S) -> T + Send + 'static,
) -> ExitCode {
    let policy = match Unsupported::from_env() {
        Ok(policy) => policy,
        Err(why) => return setup_failed(options, why),
    };
    let limit = match time_limit(options) {
        Ok(limit) => limit,
        Err(why) => return setup_failed(options, why),
    };
    let snapshot = match snapshot::enabled() {
        Ok(on) => on,
        Err(why) => return setup_failed(options, why),
    };
    let capture = match capture::keep(options.capture) {
        Ok(None) => None,
        Ok(Some(keep)) => match capture::file_for(&test_name()) {
            Ok(file) => Some((keep, file)),
            Err(why) => return setup_failed(options, why),
        },
        Err(why) => return setup_failed(options, why),
    };
    let Some(startup) = startup() else {
        return setup_failed(options, NEVER_RAN.to_owned());
    };
    if let Mode::Unavailable(error) = &startup.mode {
        return unavailable(options, policy, &startup.mode, error);
    }
    spare::test_starts();
    let host = match &startup.host_cookie {
        Ok(cookie) => *cookie,
        Err(error) => {
            return setup_failed(options, format!("cannot read the host's cookie: {error}"));
        }
    };
    // The body's thread enters a namespace made for it ahead of time (see
    // `spare`), or creates one on the spot and moves into it
    // (`NetNs::enter_new`): `NetNs::new` + `NetNs::run`'s promise (a new
    // namespace, a fresh thread in it that ends with the test, the caller
    // never moves), with the creation off the test's path where it can be.
    let ran = on_fresh_thread(|| -> Result<ExitCode, Failure> {
        let ns = match options.loopback.then(spare::take).flatten() {
            Some(spare) => match enter_spare(spare)? {
                Some(ns) => ns,
                None => create_here(options.loopback).map_err(Failure::Create)?,
            },
            None => create_here(options.loopback).map_err(Failure::Create)?,
        };
        // The cookie of the namespace the body will run in, read right after
        // the `unshare` by the thread that made it (for a spare, checked
        // against this thread's own above).
        let inside = ns
            .cookie()
            .map_err(|error| Failure::Harness(format!("cannot read its cookie: {error}")))?;
        if inside == host {
            return Err(Failure::Harness(format!(
                "the body is not isolated: its namespace cookie is the host's, {host}"
            )));
        }
        settings::reset().map_err(|(path, error)| {
            Failure::Harness(format!(
                "cannot reset {path} to the kernel's default: {error}"
            ))
        })?;
        // Set up first, while this thread's state is still the process's,
        // so that a network's nodes come from the long-lived helpers.
        let given = setup(&ns).map_err(Failure::Harness)?;
        let recording = match capture {
            Some((keep, file)) => {
                let places = given.places(&ns);
                let taps: Vec<_> = places.into_iter().map(|(name, _, ns)| (name, ns)).collect();
                Some(capture::start(keep, file, &taps).map_err(Failure::Harness)?)
            }
            None => None,
        };
        let (ran, private, given) = match limit {
            None => {
                let private = run_netns::make_private();
                let ran = watched(options, snapshot, &ns, &given, body);
                (Ok(ran), Some(private), Some(given))
            }
            Some(limit) => {
                let ran = within(limit, options, snapshot, &ns, Arc::new(given), body);
                (ran, None, None)
            }
        };
        if let Some(recording) = recording {
            // A time-out (`Err`) is a failure too.
            recording.finish(
                ran.as_ref()
                    .map_or(true, |ran| fails_the_test(options, ran)),
            );
        }
        // The test's network and namespace go before its mount namespace
        // may go on to another test.
        drop((given, ns));
        if let Some(private) = private {
            private.release(ran.as_ref().is_ok_and(passed));
        }
        match ran.map_err(Failure::Harness)? {
            Ok(code) => Ok(code),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    });
    let code = match ran {
        Ok(Ok(code)) => code,
        Ok(Err(Failure::Create(error))) if refused(&error) => {
            return unavailable(options, policy, &startup.mode, &error);
        }
        Ok(Err(Failure::Create(error))) => {
            return setup_failed(options, format!("cannot create a namespace: {error}"));
        }
        Ok(Err(Failure::Harness(why))) => return setup_failed(options, why),
        Err(error) => {
            return setup_failed(options, format!("cannot start the test's thread: {error}"));
        }
    };
    spare::test_ended();
    match get_netns_cookie() {
        Ok(after) if after == host => code,
        Ok(after) => setup_failed(
            options,
            format!("the test's own thread left the host namespace (cookie {after}, host {host})"),
        ),
        Err(error) => setup_failed(
            options,
            format!("cannot read the cookie after the test: {error}"),
        ),
    }
}

/// Moves the calling thread (the body's) into `spare`, a namespace made
/// ahead of time for it (see [`spare`]), and checks by cookie that it is
/// there. `None` if it cannot enter it (a seccomp profile that refuses
/// `setns`, say): the thread is where it was, and spares are given up.
fn enter_spare(spare: NetNs) -> Result<Option<NetNs>, Failure> {
    if nix::sched::setns(&spare, nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
        spare::retire();
        return Ok(None);
    }
    let here = get_netns_cookie()
        .map_err(|error| Failure::Harness(format!("cannot read its cookie: {error}")))?;
    match spare.cookie() {
        Ok(cookie) if cookie == here => Ok(Some(spare)),
        Ok(cookie) => Err(Failure::Harness(format!(
            "the body's thread is not in the namespace made for it: cookie {here}, not {cookie}"
        ))),
        Err(error) => Err(Failure::Harness(format!("cannot read its cookie: {error}"))),
    }
}

/// Why the body's thread could not run the body.
enum Failure {
    /// Creating the test's namespace failed.
    Create(Error),
    /// Another step of the harness's failed, as its message says.
    Harness(String),
}

/// Runs `f` on a thread of its own, named as the calling thread (libtest
/// names a test's thread after the test), and waits for it; a panic in `f`
/// resumes here with its payload.
fn on_fresh_thread<T: Send>(f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let thread = named_as_this_thread().spawn_scoped(scope, f)?;
        Ok(thread
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
    })
}

/// A thread builder named as the calling thread: libtest names a test's
/// thread after the test, so the body's panics and `skip` lines name it.
fn named_as_this_thread() -> std::thread::Builder {
    let thread = std::thread::Builder::new();
    match std::thread::current().name() {
        Some(name) => thread.name(name.to_owned()),
        None => thread,
    }
}

/// Says, where it will be seen, that the calling test could not exercise
/// its subject here and why: a line `skipped: TEST: WHY` on the process's
/// standard error (libtest captures a test's `println!`/`eprintln!` and
/// shows it only if the test fails, and a skip that passes silently would
/// look like success). `TEST` is the thread's name: libtest names a test's
/// thread after the test, and a `#[netns_test]` body's thread and tokio
/// runtime carry that name; other threads print `this test`. The test goes
/// on; return from it to end it. (`cargo nextest run` shows a passing
/// test's standard error only with `--success-output`.)
///
/// ```
/// # #[cfg(feature = "network")]
/// # mod example {
/// use netns_test::network::{Netem, Network, NetworkError};
///
/// # fn f() -> Result<(), NetworkError> {
/// let net = Network::pair()?;
/// let delay = Netem::new().delay(std::time::Duration::from_millis(200));
/// match net.impair("server", "eth0", &delay) {
///     Ok(()) => { /* exercise the delay */ }
///     Err(error @ NetworkError::Unsupported { .. }) => {
///         netns_test::skip(error); // skipped: TEST: netem (...) is unsupported: ...
///         return Ok(());
///     }
///     Err(error) => return Err(error),
/// }
/// # Ok(()) }
/// # }
/// ```
pub fn skip(why: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "{}", skip_line(why));
}

/// `skipped: TEST: WHY`, `TEST` the calling thread's name.
fn skip_line(why: impl std::fmt::Display) -> String {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    format!("skipped: {test}: {why}")
}

/// Runs the body on the calling thread (its private `/run/netns` made),
/// with the failure snapshot watching it; a panic comes back as `Err`.
fn watched<S: Built, T: Termination>(
    options: Options,
    snapshot: bool,
    ns: &NetNs,
    given: &S,
    body: impl FnOnce(&NetNs, &S) -> T,
) -> std::thread::Result<ExitCode> {
    // The snapshot is taken by the panic hook while the body's sockets
    // still exist, or after the body if it failed otherwise.
    let watch = snapshot.then(|| {
        let expects_panic = options.should_panic.is_some();
        snapshot::watch(scene(ns, given), !expects_panic)
    });
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| body(ns, given).report()));
    if let Some(watch) = watch {
        watch.finish(failed(options, &ran), ran.is_err());
    }
    ran
}

/// Whether the body returned success without panicking: what a test may
/// hand its mount namespace on after (a panic may have skipped its
/// clean-up).
fn passed(ran: &std::thread::Result<ExitCode>) -> bool {
    matches!(ran, Ok(code) if *code == ExitCode::SUCCESS)
}

/// Whether the body's outcome fails the test. A `#[should_panic]` test
/// passes if it panics (or fails for the wrong text, which is not the
/// network's doing) and fails if not.
fn failed(options: Options, ran: &std::thread::Result<ExitCode>) -> bool {
    match ran {
        Ok(code) => *code != ExitCode::SUCCESS || options.should_panic.is_some(),
        Err(_) => options.should_panic.is_none(),
    }
}

/// Whether libtest fails the test for the body's outcome: as [`failed`],
/// and also a `#[should_panic(expected = ...)]` test that panicked with
/// other text.
fn fails_the_test(options: Options, ran: &std::thread::Result<ExitCode>) -> bool {
    match (ran, options.should_panic) {
        (Err(payload), Some(expected)) => {
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            !text.is_some_and(|text| text.contains(expected))
        }
        _ => failed(options, ran),
    }
}

/// The running test's name: libtest names each test's thread after it.
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        // Not run by libtest: a name of its own, so as not to overwrite
        // another's capture.
        _ => format!("unnamed-test-{}", nix::unistd::gettid()),
    }
}

/// [`watched`] on a thread of its own (started here, so in the test's
/// namespace), waiting for it at most `limit`. After that the test fails
/// with a snapshot, and the body's thread is left running: a thread cannot
/// be stopped from outside. It keeps the test's namespace and network
/// alive until it returns or the process ends.
fn within<S: Built + Send + Sync + 'static, T: Termination>(
    limit: Duration,
    options: Options,
    snapshot: bool,
    ns: &NetNs,
    given: Arc<S>,
    body: impl FnOnce(&NetNs, &S) -> T + Send + 'static,
) -> Result<std::thread::Result<ExitCode>, String> {
    let own = ns
        .try_clone()
        .map_err(|e| format!("cannot keep a handle to the test's namespace: {e}"))?;
    let shared = Arc::clone(&given);
    let (done, outcome) = mpsc::channel();
    named_as_this_thread()
        .spawn(move || {
            let private = run_netns::make_private();
            let ran = watched(options, snapshot, &own, &*shared, body);
            let passed = passed(&ran);
            // Let go of the network and namespace before answering, so that
            // the harness, not this thread, drops them last; and of the
            // mount namespace, so that the next test may have it.
            drop((own, shared));
            private.release(passed);
            let _ = done.send(ran);
        })
        .map_err(|e| format!("cannot start the body's thread: {e}"))?;
    match outcome.recv_timeout(limit) {
        Ok(ran) => Ok(ran),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the body's thread ended without a result".to_owned())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            if snapshot {
                snapshot::print(&scene(ns, &*given));
            }
            Err(format!(
                "timed out after {limit:?}: the body had not returned. Its thread is left \
                 running (a thread cannot be stopped from outside) and keeps the test's \
                 namespace until it ends"
            ))
        }
    }
}

/// What the harness built for a body besides its namespace: nothing, or
/// its network.
trait Built {
    /// Every namespace of the test, its own first: (its name in a
    /// capture, its heading in a snapshot, the namespace).
    fn places<'a>(&'a self, ns: &'a NetNs) -> Vec<(String, String, &'a NetNs)>;

    /// The veth pairs and their impairments as they are when called, for
    /// a snapshot.
    fn wiring(&self) -> Box<dyn Fn() -> Vec<String>>;
}

impl Built for () {
    fn places<'a>(&'a self, ns: &'a NetNs) -> Vec<(String, String, &'a NetNs)> {
        vec![("test".into(), "the test's namespace".into(), ns)]
    }

    fn wiring(&self) -> Box<dyn Fn() -> Vec<String>> {
        Box::new(Vec::new)
    }
}

/// The test's own namespace is `test`, or its node's name if it is a
/// node; a LAN's switch is named for the LAN.
#[cfg(feature = "network")]
impl Built for Network {
    fn places<'a>(&'a self, ns: &'a NetNs) -> Vec<(String, String, &'a NetNs)> {
        let mut places = match self.nodes().find(|node| node.ns() == ns) {
            Some(node) => vec![(
                node.name().to_owned(),
                format!("the test's namespace (node {})", node.name()),
                ns,
            )],
            None => ().places(ns),
        };
        for node in self.nodes().filter(|node| node.ns() != ns) {
            let heading = format!("node {}", node.name());
            places.push((node.name().to_owned(), heading, node.ns()));
        }
        for switch in self.switches() {
            let heading = format!("LAN {} (its switch)", switch.name());
            places.push((switch.name().to_owned(), heading, switch.ns()));
        }
        places
    }

    fn wiring(&self) -> Box<dyn Fn() -> Vec<String>> {
        let wiring = Network::wiring(self);
        Box::new(move || wiring.lines())
    }
}

/// What a snapshot of this test shows: the test's namespace and every
/// other node of its network, each through a handle of the scene's own.
fn scene<S: Built + ?Sized>(ns: &NetNs, given: &S) -> snapshot::Scene {
    let namespaces = given
        .places(ns)
        .into_iter()
        .map(|(_, heading, ns)| {
            let handle = ns
                .try_clone()
                .map_err(|e| format!("cannot keep a handle to it: {e}"));
            (heading, handle)
        })
        .collect();
    snapshot::Scene {
        namespaces,
        wiring: given.wiring(),
    }
}

/// Fails the test for a reason of the harness's, not the body's.
///
/// Usually by panicking with the message. But a `#[should_panic]` test
/// would *pass* on any panic (on one containing its expected text, with
/// `expected`), so there the message is printed (libtest shows a failed
/// test's output) and the test returns without the panic it expects,
/// which fails it.
#[track_caller]
fn setup_failed(options: Options, why: String) -> ExitCode {
    let message = format!("netns_test: {why}");
    if options.should_panic.is_some() {
        println!("{message}");
        return ExitCode::FAILURE;
    }
    panic!("{message}")
}

/// Fails the test with the reason and the fixes, or skips it on request.
#[track_caller]
fn unavailable(options: Options, policy: Unsupported, mode: &Mode, error: &Error) -> ExitCode {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if policy == Unsupported::Fail {
        let tried = match mode {
            Mode::Unavailable(_) => {
                "this process lacks CAP_SYS_ADMIN, so before main it tried to enter an \
                 unprivileged user namespace"
            }
            Mode::UserNamespace => {
                "before main this process entered a user namespace of its own; in it, it \
                 tried to create a network namespace"
            }
            Mode::Privileged => {
                "this process has CAP_SYS_ADMIN; it tried to create a network namespace"
            }
        };
        // netns-core's advice for ENOSPC is to retry; here retrying is over.
        let why = if error.errno() == Some(netns_core::Errno::ENOSPC) {
            "Why: `user.max_net_namespaces` is 0 in this process's user namespace or one \
             enclosing it, so no network namespace can ever be made.\n"
        } else {
            ""
        };
        return setup_failed(
            options,
            format!(
                "{test} needs a network namespace, and none can be had.\n\
                 What was tried: {tried}.\n\
                 What failed: {error}\n\
                 {why}\
                 Fix one of: run the tests as root; allow unprivileged user namespaces \
                 (sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, \
                 sysctl -w user.max_user_namespaces=15000); allow network namespaces \
                 (sysctl -w user.max_net_namespaces=15000; in a container, a seccomp profile \
                 that allows unshare and setns, e.g. docker run --security-opt \
                 seccomp=unconfined); or set {UNSUPPORTED_ENV}=skip to pass these tests with a \
                 `skipped:` line instead."
            ),
        );
    }
    let line = skip_line(format_args!(
        "network namespaces are unavailable ({UNSUPPORTED_ENV}=skip): {error}"
    ));
    let _ = writeln!(std::io::stderr(), "{line}");
    match options.should_panic {
        // The panic it expects (its text contains the expected text), so
        // that it passes like every skipped test.
        Some(expected) => panic!("{line} (the test expects a panic with: {expected})"),
        None => ExitCode::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_are_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        for bad in [
            "",
            "5",
            "s",
            "0s",
            "1.5s",
            "5 s",
            "-1s",
            "5h",
            "99999999999999999999m",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
