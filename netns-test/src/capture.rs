//! `#[netns_test(capture)]`: every packet on every interface of a test's
//! namespaces, recorded while the body runs, into one pcapng file.
//!
//! Each namespace gets one `AF_PACKET` socket, opened from a thread inside
//! it: such a socket sees every interface of its namespace, including
//! those made later, and needs only `CAP_NET_RAW` over the namespace, which
//! an unprivileged test has in the namespaces it made. One thread reads
//! them all until the body ends.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use netns_core::NetNs;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, LinkAddr, MsgFlags, SockFlag, SockProtocol, SockType,
    recvmsg, setsockopt, socket, sockopt,
};
use nix::sys::time::TimeSpec;

mod pcapng;

use pcapng::{Direction, Writer};

/// The environment variable that decides, for every `#[netns_test]`,
/// whether packets are captured and which captures are kept: `off`,
/// `on-failure` or `always`. It overrides the `capture` option; unset, a
/// test with `capture` keeps its capture if it fails.
pub const CAPTURE_ENV: &str = "NETNS_TEST_CAPTURE";

/// The environment variable naming the folder captures are written to,
/// instead of `<target dir>/netns-test/<test binary>/`.
pub const CAPTURE_DIR_ENV: &str = "NETNS_TEST_CAPTURE_DIR";

/// How much of a packet is kept (what `tcpdump` keeps by default).
const SNAPLEN: usize = 262_144;

/// A capture stops keeping packets past this size; it says how many it
/// left out.
const MAX_BYTES: usize = 64 << 20;

/// The kernel's queue of each packet socket, so that a burst the reader
/// has not caught up with yet is not dropped (root may exceed
/// `net.core.rmem_max`; others get up to it).
const SOCKET_BUFFER: usize = 8 << 20;

/// How long the reader may take to finish after the body ends.
const FINISH_PATIENCE: Duration = Duration::from_secs(10);

/// How long the last read of each socket may go on, for a body that keeps
/// sending after a timeout.
const LAST_READ: Duration = Duration::from_millis(200);

/// Which captures are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    OnFailure,
    Always,
}

/// Whether this test captures, and which captures it keeps:
/// [`CAPTURE_ENV`] if set, else `on-failure` if the test asked for
/// `capture`; an invalid value is an error naming the valid ones.
pub(crate) fn keep(asked: bool) -> Result<Option<Keep>, String> {
    if std::env::var_os(CAPTURE_ENV).is_none_or(|value| value.is_empty()) {
        return Ok(asked.then_some(Keep::OnFailure));
    }
    crate::harness::env_choice(
        CAPTURE_ENV,
        &[
            ("off", None),
            ("on-failure", Some(Keep::OnFailure)),
            ("always", Some(Keep::Always)),
        ],
        "`off`, `on-failure` (keep the captures of failing tests) or `always`",
    )
}

/// Where the capture of `test` goes:
/// `<target dir>/netns-test/<test binary>/<test, :: as ->.pcapng`, or the
/// same file name in [`CAPTURE_DIR_ENV`].
pub(crate) fn file_for(test: &str) -> Result<PathBuf, String> {
    let name = format!("{}.pcapng", test.replace("::", "-").replace('/', "-"));
    if let Some(dir) = std::env::var_os(CAPTURE_DIR_ENV).filter(|dir| !dir.is_empty()) {
        let dir = std::path::absolute(&dir)
            .map_err(|e| format!("{CAPTURE_DIR_ENV}={dir:?} is not a usable folder: {e}"))?;
        return Ok(dir.join(name));
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the test binary to put its capture beside: {e}"))?;
    let binary = exe
        .file_name()
        .map(|name| without_hash(&name.to_string_lossy()).to_owned())
        .unwrap_or_else(|| "tests".to_owned());
    // Cargo marks its target dir with CACHEDIR.TAG; test binaries live in
    // `<target>/[<triple>/]<profile>/deps`.
    let target = exe
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .or_else(|| exe.ancestors().nth(3))
        .unwrap_or(Path::new("."));
    Ok(target.join("netns-test").join(binary).join(name))
}

/// `suite-0123456789abcdef` → `suite`: cargo's hash dropped.
fn without_hash(binary: &str) -> &str {
    match binary.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => binary,
    }
}

/// A capture going on; [`Recording::finish`] ends it.
#[derive(Debug)]
pub(crate) struct Recording {
    keep: Keep,
    file: PathBuf,
    stop: Arc<EventFd>,
    /// Set before `stop` when the capture is not kept: the reader then
    /// neither drains nor counts what is left.
    discard: Arc<AtomicBool>,
    recorded: mpsc::Receiver<Recorded>,
}

/// One packet socket, the name of the namespace it sees, and the
/// interfaces that namespace had when the capture started.
#[derive(Debug)]
struct Tap {
    node: String,
    socket: OwnedFd,
    interfaces: Vec<Seen>,
}

/// An interface as the capture first saw it.
#[derive(Debug)]
struct Seen {
    ifindex: i32,
    name: String,
    /// Its ARP hardware type (`ARPHRD_*`).
    hatype: u16,
}

/// Starts capturing in each namespace of `places`: (name, namespace). The
/// calling thread is in the first one.
pub(crate) fn start(
    keep: Keep,
    file: PathBuf,
    places: &[(String, &NetNs)],
) -> Result<Recording, String> {
    let mut taps = Vec::with_capacity(places.len());
    for (index, (node, ns)) in places.iter().enumerate() {
        let failed = |e: &dyn std::fmt::Display| format!("cannot capture in {node}: {e}");
        let opened = if index == 0 {
            open_tap()
        } else {
            ns.run(open_tap).map_err(|e| failed(&e))?
        };
        let (socket, interfaces) =
            opened.map_err(|e| failed(&format!("socket(AF_PACKET) failed: {e}")))?;
        let node = node.clone();
        taps.push(Tap {
            node,
            socket,
            interfaces,
        });
    }
    let stop = EventFd::from_flags(EfdFlags::EFD_CLOEXEC)
        .map(Arc::new)
        .map_err(|e| format!("cannot capture: eventfd failed: {e}"))?;
    let (done, recorded) = mpsc::channel();
    let stopped = Arc::clone(&stop);
    let discard = Arc::new(AtomicBool::new(false));
    let discarded = Arc::clone(&discard);
    std::thread::Builder::new()
        .name("netns-capture".into())
        .spawn(move || {
            let recorded = record(&taps, &stopped, &discarded);
            let _ = done.send(recorded);
            // Closing a packet socket waits for an RCU grace period (some
            // milliseconds); the test need not wait for that, only the
            // namespaces it holds a moment longer.
            drop(taps);
        })
        .map_err(|e| format!("cannot start the capture's thread: {e}"))?;
    Ok(Recording {
        keep,
        file,
        stop,
        discard,
        recorded,
    })
}

/// A packet socket on every interface of the calling thread's namespace,
/// with the kernel's receive time on each packet, and the interfaces
/// there now.
fn open_tap() -> nix::Result<(OwnedFd, Vec<Seen>)> {
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let tap = socket(
        AddressFamily::Packet,
        SockType::Raw,
        flags,
        SockProtocol::EthAll,
    )?;
    setsockopt(&tap, sockopt::ReceiveTimestampns, &true)?;
    if setsockopt(&tap, sockopt::RcvBufForce, &SOCKET_BUFFER).is_err() {
        // Best effort: the default queue still works, and drops are counted.
        let _ = setsockopt(&tap, sockopt::RcvBuf, &SOCKET_BUFFER);
    }
    let interfaces = nix::net::if_::if_nameindex()?
        .iter()
        .filter_map(|interface| {
            let ifindex = i32::try_from(interface.index()).ok()?;
            let name = interface.name().to_string_lossy().into_owned();
            let hatype = hardware_type(tap.as_fd(), &name)?;
            Some(Seen {
                ifindex,
                name,
                hatype,
            })
        })
        .collect();
    Ok((tap, interfaces))
}

impl Recording {
    /// Ends the capture; keeps the file if the test `failed` (or always, on
    /// request) and prints `netns_test: capture: <path>`, else deletes any
    /// file an earlier run left there.
    pub(crate) fn finish(self, failed: bool) {
        let kept = match self.keep {
            Keep::Always => true,
            Keep::OnFailure => failed,
        };
        self.discard.store(!kept, Ordering::Release);
        let _ = self.stop.write(1);
        if !kept {
            let _ = std::fs::remove_file(&self.file);
            return;
        }
        let file = self.file.display();
        let recorded = match self.recorded.recv_timeout(FINISH_PATIENCE) {
            Ok(recorded) => recorded,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                println!(
                    "netns_test: the capture for {file} did not finish within \
                     {FINISH_PATIENCE:?}; nothing was written"
                );
                return;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                println!("netns_test: the capture for {file} failed (its thread panicked)");
                return;
            }
        };
        let summary = recorded.summary();
        match write_atomically(&self.file, &recorded.pcapng()) {
            Ok(()) => {
                println!("netns_test: capture: {file}");
                println!("netns_test: {summary}");
            }
            Err(error) => println!(
                "netns_test: cannot write the capture to {file}: {error} (set {CAPTURE_DIR_ENV} \
                 to a folder this user can write)"
            ),
        }
    }
}

/// Writes `bytes` to a temporary file beside `file`, then renames it, so
/// that a reader never sees half a capture.
fn write_atomically(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut partial = file.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

impl Drop for Recording {
    fn drop(&mut self) {
        // The reader ends when told; a harness that returns early tells it
        // here (and nobody reads what it would have kept).
        self.discard.store(true, Ordering::Release);
        let _ = self.stop.write(1);
    }
}

/// One packet as read.
struct Packet {
    time: Duration,
    interface: u32,
    direction: Direction,
    data: Vec<u8>,
    length: usize,
}

/// What the reader made of the packets.
struct Recorded {
    /// Every interface, as (label, link type), in the file's order.
    interfaces: Vec<(String, u16)>,
    /// Each interface once seen: (tap, ifindex) → its number in the file.
    numbers: HashMap<(usize, i32), u32>,
    packets: Vec<Packet>,
    bytes: usize,
    left_out: u64,
    dropped: u64,
    errors: Vec<String>,
}

impl Recorded {
    /// The pcapng file: every interface, then the packets in time order
    /// (each socket is read in batches, so they arrive a little out of it).
    fn pcapng(mut self) -> Vec<u8> {
        let mut writer = Writer::new("netns-test");
        for (label, linktype) in &self.interfaces {
            writer.interface(label, *linktype, SNAPLEN as u32);
        }
        self.packets.sort_by_key(|packet| packet.time);
        for packet in &self.packets {
            writer.packet(
                packet.interface,
                packet.time,
                packet.direction,
                &packet.data,
                packet.length,
            );
        }
        writer.into_bytes()
    }

    /// A line saying what the file holds and what it lacks.
    fn summary(&self) -> String {
        let mut line = format!(
            "captured {} packets on {} interfaces",
            self.packets.len(),
            self.interfaces.len()
        );
        if self.left_out > 0 {
            let _ = write!(
                line,
                "; the {} after the first {} MiB were left out",
                self.left_out,
                MAX_BYTES >> 20
            );
        }
        if self.dropped > 0 {
            let _ = write!(
                line,
                "; {} dropped by the kernel before they were read",
                self.dropped
            );
        }
        for error in &self.errors {
            let _ = write!(line, "; {error}");
        }
        line
    }
}

/// At most this many packets are read from one socket before the others,
/// and the stop signal, get their turn.
const BATCH: usize = 64;

/// Reads every tap until `stop` fires, then what they still hold (for at
/// most [`LAST_READ`]), unless the capture is to be `discard`ed.
fn record(taps: &[Tap], stop: &EventFd, discard: &AtomicBool) -> Recorded {
    let mut recorded = Recorded {
        interfaces: Vec::new(),
        numbers: HashMap::new(),
        packets: Vec::new(),
        bytes: 0,
        left_out: 0,
        dropped: 0,
        errors: Vec::new(),
    };
    for (index, tap) in taps.iter().enumerate() {
        for seen in &tap.interfaces {
            recorded.add_interface(index, tap, seen.ifindex, &seen.name, seen.hatype);
        }
    }
    let mut buffer = vec![0; SNAPLEN];
    // The taps still read: one whose socket failed is left out, or its
    // error would wake the poll for ever.
    let mut live: Vec<usize> = (0..taps.len()).collect();
    'polling: loop {
        let mut fds: Vec<PollFd<'_>> = std::iter::once(stop.as_fd())
            .chain(live.iter().map(|&index| taps[index].socket.as_fd()))
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        loop {
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(error) => {
                    recorded.errors.push(format!("poll failed: {error}"));
                    break 'polling;
                }
            }
            let readable = |fd: &PollFd<'_>| fd.any().unwrap_or(true);
            if readable(&fds[0]) {
                break 'polling;
            }
            let mut failed = Vec::new();
            for (slot, &index) in live.iter().enumerate() {
                if readable(&fds[slot + 1])
                    && recorded.read(index, &taps[index], &mut buffer, BATCH) == Read::Failed
                {
                    failed.push(index);
                }
            }
            if !failed.is_empty() {
                live.retain(|index| !failed.contains(index));
                continue 'polling;
            }
        }
    }
    if discard.load(Ordering::Acquire) {
        return recorded;
    }
    let until = Instant::now() + LAST_READ;
    for index in live {
        while Instant::now() < until
            && recorded.read(index, &taps[index], &mut buffer, BATCH) == Read::More
        {}
    }
    for tap in taps {
        recorded.dropped += u64::from(drops(tap.socket.as_fd()));
    }
    recorded
}

/// What reading a tap found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// It read its budget: there may be more.
    More,
    /// Nothing more to read now.
    Empty,
    /// Its socket failed (the error is recorded): read it no more.
    Failed,
}

impl Recorded {
    /// Records up to `budget` packets that `tap` holds.
    fn read(&mut self, index: usize, tap: &Tap, buffer: &mut [u8], budget: usize) -> Read {
        for _ in 0..budget {
            let mut space = nix::cmsg_space!(TimeSpec);
            let mut iov = [IoSliceMut::new(buffer)];
            // MSG_TRUNC: the packet's whole length, though only SNAPLEN
            // bytes are copied.
            let flags = MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT;
            let message =
                recvmsg::<LinkAddr>(tap.socket.as_raw_fd(), &mut iov, Some(&mut space), flags);
            let message = match message {
                Ok(message) => message,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Read::Empty,
                // The interface went away, or similar: the socket goes on.
                Err(Errno::ENETDOWN | Errno::ENXIO) => continue,
                Err(error) => {
                    self.errors
                        .push(format!("reading {} failed: {error}", tap.node));
                    return Read::Failed;
                }
            };
            let length = message.bytes;
            let time = message.cmsgs().ok().and_then(|mut cmsgs| {
                cmsgs.find_map(|cmsg| match cmsg {
                    ControlMessageOwned::ScmTimestampns(at) => Some(Duration::new(
                        u64::try_from(at.tv_sec()).unwrap_or(0),
                        u32::try_from(at.tv_nsec()).unwrap_or(0),
                    )),
                    _ => None,
                })
            });
            let Some(from) = message.address else {
                continue;
            };
            let time = time.unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
            });
            self.packet(
                index,
                tap,
                &from,
                time,
                &buffer[..length.min(SNAPLEN)],
                length,
            );
        }
        Read::More
    }

    fn packet(
        &mut self,
        index: usize,
        tap: &Tap,
        from: &LinkAddr,
        time: Duration,
        data: &[u8],
        length: usize,
    ) {
        let outgoing = from.pkttype() == libc::PACKET_OUTGOING;
        // Loopback shows every packet twice, going and coming; keep one,
        // as tcpdump does.
        if outgoing && from.hatype() == libc::ARPHRD_LOOPBACK {
            return;
        }
        // Past the limit nothing more is kept, so that the file has no
        // gaps, only an end.
        if self.left_out > 0 || self.bytes + data.len() > MAX_BYTES {
            self.left_out += 1;
            return;
        }
        let ifindex = i32::try_from(from.ifindex()).unwrap_or(0);
        let interface = match self.numbers.get(&(index, ifindex)) {
            Some(interface) => *interface,
            // One made after the capture started.
            None => {
                let name = interface_name(tap.socket.as_fd(), ifindex)
                    .unwrap_or_else(|| format!("if{ifindex}"));
                self.add_interface(index, tap, ifindex, &name, from.hatype())
            }
        };
        let direction = if outgoing {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        self.bytes += data.len();
        self.packets.push(Packet {
            time,
            interface,
            direction,
            data: data.to_vec(),
            length,
        });
    }

    /// Describes interface `ifindex` of tap `index`; its number in the file.
    fn add_interface(
        &mut self,
        index: usize,
        tap: &Tap,
        ifindex: i32,
        name: &str,
        hatype: u16,
    ) -> u32 {
        let linktype = match hatype {
            libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => pcapng::LINKTYPE_ETHERNET,
            // Tunnels and the like: the packet starts at its IP header.
            _ => pcapng::LINKTYPE_RAW,
        };
        let number = u32::try_from(self.interfaces.len()).unwrap_or(u32::MAX);
        self.interfaces
            .push((format!("{}/{name}", tap.node), linktype));
        self.numbers.insert((index, ifindex), number);
        number
    }
}

/// The ARP hardware type of interface `name` in the namespace of `socket`
/// (`SIOCGIFHWADDR`).
fn hardware_type(socket: BorrowedFd<'_>, name: &str) -> Option<u16> {
    let mut request = crate::ifreq::named(name)?;
    // SAFETY: SIOCGIFHWADDR reads the NUL-terminated name (the rest of
    // ifr_name is zero) and writes ifru_hwaddr, within `request`.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &raw mut request) };
    if rc != 0 {
        return None;
    }
    // SAFETY: after a successful SIOCGIFHWADDR the union holds the address.
    Some(unsafe { request.ifr_ifru.ifru_hwaddr.sa_family })
}

/// The name of interface `ifindex` in the namespace of `socket`
/// (`SIOCGIFNAME` asks the socket's namespace, not the thread's).
fn interface_name(socket: BorrowedFd<'_>, ifindex: i32) -> Option<String> {
    // SAFETY: ifreq is plain data, for which all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    request.ifr_ifru.ifru_ifindex = ifindex;
    // SAFETY: SIOCGIFNAME reads ifru_ifindex and writes a NUL-terminated
    // name into ifr_name, both within `request`.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFNAME, &raw mut request) };
    if rc != 0 {
        return None;
    }
    let name: Vec<u8> = request
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&name).into_owned())
}

/// How many packets the kernel dropped on `socket` for want of room.
fn drops(socket: BorrowedFd<'_>) -> u32 {
    // SAFETY: tpacket_stats is plain data, for which zeroes are valid.
    let mut stats: libc::tpacket_stats = unsafe { std::mem::zeroed() };
    let mut size = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: PACKET_STATISTICS writes at most `size` bytes into `stats`
    // and the written size into `size`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut stats).cast(),
            &raw mut size,
        )
    };
    if rc == 0 { stats.tp_drops } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_name_loses_cargos_hash() {
        assert_eq!(without_hash("failures-0123456789abcdef"), "failures");
        assert_eq!(without_hash("suite_netns-fedcba9876543210"), "suite_netns");
        assert_eq!(without_hash("my-tests"), "my-tests");
        assert_eq!(without_hash("x-0123456789abcdeg"), "x-0123456789abcdeg");
    }
}
