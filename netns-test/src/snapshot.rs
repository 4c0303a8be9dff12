//! What a failing test's network looked like: links, addresses, routes,
//! neighbours, sockets and forwarding, read from inside a namespace.
//!
//! Everything comes from `/proc/thread-self/net` and `/proc/sys/net`, which
//! show the namespace of the thread that opens them, and from
//! `getifaddrs(3)`, so nothing here needs `ip`, `ss` or a netlink library:
//! a test with no `Network` pays for none of it.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::AssertUnwindSafe;
use std::sync::{Once, mpsc};
use std::time::Duration;

use netns_core::NetNs;

/// The environment variable that turns the snapshot off: `off`.
pub const SNAPSHOT_ENV: &str = "NETNS_TEST_SNAPSHOT";

/// At most this many lines of one kind (sockets, routes, ...) per namespace.
const MAX_LINES: usize = 40;

/// Whether failing tests print a snapshot: `on` (the default) or `off`;
/// another value of `NETNS_TEST_SNAPSHOT` is an error naming both.
pub(crate) fn enabled() -> Result<bool, String> {
    crate::harness::env_choice(
        SNAPSHOT_ENV,
        &[("on", true), ("off", false)],
        "`on` (the default: a failing test shows its network) or `off`",
    )
}

/// At most this many addresses of one interface.
const MAX_ADDRESSES: usize = 8;

/// How long reading one namespace may take.
const READ_PATIENCE: Duration = Duration::from_secs(5);

/// At most this many namespaces in one snapshot.
const MAX_NAMESPACES: usize = 16;

/// At most this many snapshots taken by the panic hook for one body (a body
/// may catch its own panics, e.g. a property test shrinking).
const MAX_RENDERS: u8 = 3;

/// What a failing test's snapshot shows: (heading, namespace), the test's
/// own namespace first, then the other nodes of its network; a namespace
/// it could not keep a handle to says why.
pub(crate) struct Scene {
    pub(crate) namespaces: Vec<(String, Result<NetNs, String>)>,
    /// The test network's veth pairs and their impairments, a line each,
    /// as they are when the snapshot is taken.
    pub(crate) wiring: Box<dyn Fn() -> Vec<String>>,
}

impl Scene {
    /// The snapshot, each namespace read from a thread of its own inside
    /// it. Never panics (it runs in the panic hook, where a panic aborts).
    fn render(&self) -> String {
        let mut text = format!(
            "netns_test: the network when the test failed ({SNAPSHOT_ENV}=off turns this off):\n"
        );
        for (name, ns) in self.namespaces.iter().take(MAX_NAMESPACES) {
            match ns {
                Ok(ns) => text.push_str(&read_inside(ns, name)),
                Err(why) => {
                    let _ = writeln!(text, "--- {name} ---\n{why}");
                }
            }
        }
        if self.namespaces.len() > MAX_NAMESPACES {
            let more = self.namespaces.len() - MAX_NAMESPACES;
            let _ = writeln!(text, "... and {more} more nodes");
        }
        let wiring = std::panic::catch_unwind(AssertUnwindSafe(&self.wiring)).unwrap_or_default();
        if !wiring.is_empty() {
            text.push_str("--- the network's veth pairs ---\n");
            section(&mut text, "cables", Ok(wiring));
        }
        text
    }
}

/// [`of_this_thread`] inside `ns`, on threads of its
/// own (the calling thread may have moved, and may be deep in a panic),
/// waiting at most [`READ_PATIENCE`]; any failure is a line of the
/// snapshot, never a panic.
fn read_inside(ns: &NetNs, name: &str) -> String {
    // The reading thread may outlive the wait: it takes a handle of its own.
    let read = ns
        .try_clone()
        .map_err(|error| format!("cannot open it: {error}"))
        .and_then(|ns| {
            let (done, answer) = mpsc::channel();
            let heading = name.to_owned();
            std::thread::Builder::new()
                .name("netns-snapshot".into())
                .spawn(move || {
                    let read = ns.run(|| std::panic::catch_unwind(|| of_this_thread(&heading)));
                    let _ = done.send(read);
                })
                .map_err(|error| format!("cannot start a thread to read it: {error}"))?;
            match answer.recv_timeout(READ_PATIENCE) {
                Ok(Ok(Ok(text))) => Ok(text),
                Ok(Ok(Err(_))) => Err("reading it panicked".to_owned()),
                Ok(Err(error)) => Err(format!("cannot enter it: {error}")),
                Err(_) => Err(format!("reading it took more than {READ_PATIENCE:?}")),
            }
        });
    read.unwrap_or_else(|why| format!("--- {name} ---\n{why}\n"))
}

/// Prints the snapshot of `scene` now (for a body that has not returned).
pub(crate) fn print(scene: &Scene) {
    print!("{}", scene.render());
}

/// The scene of the body running on this thread, and what the panic hook
/// made of it.
struct Watched {
    scene: Scene,
    on_panic: bool,
    /// The snapshot the hook took at the last panic, while the body's
    /// sockets still existed.
    rendered: Option<String>,
    renders: u8,
}

thread_local! {
    static WATCHED: RefCell<Option<Watched>> = const { RefCell::new(None) };
}

/// Watches the body about to run on the calling thread: if it panics (and
/// `on_panic`), the panic hook takes the snapshot of `scene` before the
/// body's locals, its sockets among them, are dropped by the unwinding.
/// [`Watch::finish`] prints it if the test failed.
pub(crate) fn watch(scene: Scene, on_panic: bool) -> Watch {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // Nothing here may panic: a panic in the hook aborts. So no
            // printing (stdout may be a closed pipe); the snapshot is kept
            // and printed by `finish`, if the panic was not caught.
            let _ = WATCHED.try_with(|watched| {
                let Ok(mut watched) = watched.try_borrow_mut() else {
                    return;
                };
                if let Some(watched) = watched.as_mut() {
                    if !watched.on_panic {
                        return;
                    }
                    // Past the cap, an older snapshot would be stale:
                    // `finish` takes a fresh one instead.
                    watched.rendered =
                        (watched.renders < MAX_RENDERS).then(|| watched.scene.render());
                    watched.renders = watched.renders.saturating_add(1);
                }
            });
        }));
    });
    let watched = Watched {
        scene,
        on_panic,
        rendered: None,
        renders: 0,
    };
    WATCHED.with(|slot| *slot.borrow_mut() = Some(watched));
    Watch(())
}

/// The body is being watched; see [`watch`].
#[must_use]
pub(crate) struct Watch(());

impl Watch {
    /// The body has ended. If the test `failed`, prints the snapshot: the
    /// one the panic hook took if the body `panicked`, else one taken now.
    pub(crate) fn finish(self, failed: bool, panicked: bool) {
        let Some(watched) = WATCHED.with(|slot| slot.borrow_mut().take()) else {
            return;
        };
        if !failed {
            return;
        }
        let text = match watched.rendered {
            Some(text) if panicked => text,
            _ => watched.scene.render(),
        };
        print!("{text}");
    }
}

/// The state of the calling thread's network namespace, headed by `name`.
fn of_this_thread(name: &str) -> String {
    let mut out = format!("--- {name} ---\n");
    match interfaces() {
        Ok(interfaces) => {
            section(
                &mut out,
                "links",
                Ok(interfaces.iter().map(Interface::link_line).collect()),
            );
            let addresses = interfaces
                .iter()
                .filter_map(Interface::address_line)
                .collect();
            section(&mut out, "addresses", Ok(addresses));
        }
        Err(error) => section(&mut out, "links and addresses", Err(error)),
    }
    section(&mut out, "routes", routes());
    section(&mut out, "neighbours", neighbours());
    for (file, protocol) in [
        ("tcp", "tcp"),
        ("tcp6", "tcp"),
        ("udp", "udp"),
        ("udp6", "udp"),
    ] {
        section(
            &mut out,
            &format!("{file} sockets"),
            sockets(file, protocol),
        );
    }
    let forwarding = |path| {
        std::fs::read_to_string(path).map_or_else(|_| "?".to_owned(), |v| v.trim().to_owned())
    };
    let _ = writeln!(
        out,
        "forwarding: ipv4 {}, ipv6 {}",
        forwarding("/proc/sys/net/ipv4/ip_forward"),
        forwarding("/proc/sys/net/ipv6/conf/all/forwarding")
    );
    out
}

/// Appends `lines` under `title`, indented, at most [`MAX_LINES`] of them
/// (or why they could not be read).
fn section(out: &mut String, title: &str, lines: Result<Vec<String>, String>) {
    let lines = match lines {
        Ok(lines) => lines,
        Err(error) => {
            let _ = writeln!(out, "{title}: cannot read: {error}");
            return;
        }
    };
    if lines.is_empty() {
        let _ = writeln!(out, "{title}: none");
        return;
    }
    let _ = writeln!(out, "{title}:");
    for line in lines.iter().take(MAX_LINES) {
        let _ = writeln!(out, "  {line}");
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "  ... and {} more", lines.len() - MAX_LINES);
    }
}

/// One interface as `getifaddrs` reports it.
#[derive(Default)]
struct Interface {
    name: String,
    flags: u32,
    mac: Option<[u8; 6]>,
    addresses: Vec<(IpAddr, u32)>,
}

impl Interface {
    fn link_line(&self) -> String {
        let mut state = Vec::new();
        for (bit, word) in [
            (libc::IFF_UP, "UP"),
            (libc::IFF_RUNNING, "RUNNING"),
            (libc::IFF_LOWER_UP, "LOWER_UP"),
        ] {
            if self.flags & bit as u32 != 0 {
                state.push(word);
            }
        }
        let state = if state.is_empty() {
            "DOWN".to_owned()
        } else {
            state.join(",")
        };
        let mtu = mtu(&self.name).map_or_else(|| "?".to_owned(), |mtu| mtu.to_string());
        let mac = self.mac.map_or_else(String::new, |mac| {
            let hex: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
            format!("  {}", hex.join(":"))
        });
        format!("{:<15} {state:<24} mtu {mtu}{mac}", self.name)
    }

    fn address_line(&self) -> Option<String> {
        if self.addresses.is_empty() {
            return None;
        }
        let mut addresses: Vec<String> = self
            .addresses
            .iter()
            .take(MAX_ADDRESSES)
            .map(|(address, prefix)| format!("{address}/{prefix}"))
            .collect();
        if self.addresses.len() > MAX_ADDRESSES {
            addresses.push(format!(
                "... and {} more",
                self.addresses.len() - MAX_ADDRESSES
            ));
        }
        Some(format!("{:<15} {}", self.name, addresses.join(" ")))
    }
}

/// Every interface of the calling thread's namespace, in the kernel's order.
fn interfaces() -> Result<Vec<Interface>, String> {
    let mut found: Vec<Interface> = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocates to `list`, which we free
    // below with freeifaddrs and do not use after.
    if unsafe { libc::getifaddrs(&raw mut list) } != 0 {
        return Err(format!("getifaddrs: {}", std::io::Error::last_os_error()));
    }
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs made, alive
        // until freeifaddrs; its name is a NUL-terminated string, and its
        // address and netmask, when not null, point to sockaddrs of the
        // family they name (sockaddr_ll for AF_PACKET).
        unsafe {
            let ifa = &*entry;
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let index = match found.iter().position(|i| i.name == name) {
                Some(index) => index,
                None => {
                    found.push(Interface {
                        name,
                        ..Interface::default()
                    });
                    found.len() - 1
                }
            };
            let interface = &mut found[index];
            if !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_PACKET => {
                        interface.flags = ifa.ifa_flags;
                        let ll = &*ifa.ifa_addr.cast::<libc::sockaddr_ll>();
                        if ll.sll_halen == 6 {
                            let mut mac = [0; 6];
                            mac.copy_from_slice(&ll.sll_addr[..6]);
                            interface.mac = Some(mac);
                        }
                    }
                    libc::AF_INET => {
                        let address = &*ifa.ifa_addr.cast::<libc::sockaddr_in>();
                        let ip = Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr));
                        let prefix = if ifa.ifa_netmask.is_null() {
                            32
                        } else {
                            let mask = &*ifa.ifa_netmask.cast::<libc::sockaddr_in>();
                            mask.sin_addr.s_addr.count_ones()
                        };
                        interface.addresses.push((IpAddr::V4(ip), prefix));
                    }
                    libc::AF_INET6 => {
                        let address = &*ifa.ifa_addr.cast::<libc::sockaddr_in6>();
                        let ip = Ipv6Addr::from(address.sin6_addr.s6_addr);
                        let prefix = if ifa.ifa_netmask.is_null() {
                            128
                        } else {
                            let mask = &*ifa.ifa_netmask.cast::<libc::sockaddr_in6>();
                            mask.sin6_addr.s6_addr.iter().map(|b| b.count_ones()).sum()
                        };
                        interface.addresses.push((IpAddr::V6(ip), prefix));
                    }
                    _ => {}
                }
            }
            entry = ifa.ifa_next;
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once, here.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// The MTU of interface `name` (`SIOCGIFMTU`), in the calling thread's
/// namespace.
fn mtu(name: &str) -> Option<i32> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let mut request = crate::ifreq::named(name)?;
    // SAFETY: a plain socket(2) call; the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new socket that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCGIFMTU reads the NUL-terminated name (the rest of
    // ifr_name is zero) and writes ifru_mtu, within `request`.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFMTU, &raw mut request) };
    if rc != 0 {
        return None;
    }
    // SAFETY: after a successful SIOCGIFMTU the union holds the MTU.
    Some(unsafe { request.ifr_ifru.ifru_mtu })
}

/// A `/proc/thread-self/net` table's rows, split on white space, header
/// dropped.
fn table(name: &str) -> Result<Vec<Vec<String>>, String> {
    let path = format!("/proc/thread-self/net/{name}");
    let text = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
    Ok(text
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect())
}

/// The IPv4 and IPv6 routes, as `ip route` writes them, without the
/// kernel's own local, multicast, anycast and unreachable entries.
fn routes() -> Result<Vec<String>, String> {
    const RTF_UP: u32 = 0x0001;
    const RTF_REJECT: u32 = 0x0200;
    const RTF_ANYCAST: u32 = 0x0010_0000;
    const RTF_LOCAL: u32 = 0x8000_0000;
    let mut lines = Vec::new();
    for row in table("route")? {
        let [device, destination, gateway, flags, _, _, metric, mask, ..] = &row[..] else {
            continue;
        };
        let (Some(destination), Some(gateway), Some(mask)) =
            (hex_v4(destination), hex_v4(gateway), hex_v4(mask))
        else {
            continue;
        };
        let flags = u32::from_str_radix(flags, 16).unwrap_or(0);
        if flags & RTF_UP == 0 {
            continue;
        }
        let prefix = u32::from(mask).count_ones();
        let metric = metric.parse().unwrap_or(0);
        let line = route_line(destination.into(), prefix, gateway.into(), device, metric);
        lines.push(if flags & RTF_REJECT != 0 {
            format!("unreachable {line}")
        } else {
            line
        });
    }
    for row in table("ipv6_route")? {
        let [
            destination,
            prefix,
            _,
            _,
            gateway,
            metric,
            _,
            _,
            flags,
            device,
        ] = &row[..]
        else {
            continue;
        };
        let (Some(destination), Some(gateway)) = (hex_v6(destination), hex_v6(gateway)) else {
            continue;
        };
        let prefix = u32::from_str_radix(prefix, 16).unwrap_or(0);
        let flags = u32::from_str_radix(flags, 16).unwrap_or(0);
        if flags & (RTF_REJECT | RTF_LOCAL | RTF_ANYCAST) != 0 || destination.is_multicast() {
            continue;
        }
        let metric = u32::from_str_radix(metric, 16).unwrap_or(0);
        lines.push(route_line(
            destination.into(),
            prefix,
            gateway.into(),
            device,
            metric,
        ));
    }
    Ok(lines)
}

/// One route as `ip route` writes it.
fn route_line(
    destination: IpAddr,
    prefix: u32,
    gateway: IpAddr,
    device: &str,
    metric: u32,
) -> String {
    let mut line = if prefix == 0 {
        "default".to_owned()
    } else {
        format!("{destination}/{prefix}")
    };
    if !gateway.is_unspecified() {
        let _ = write!(line, " via {gateway}");
    }
    let _ = write!(line, " dev {device}");
    if metric != 0 {
        let _ = write!(line, " metric {metric}");
    }
    line
}

/// The IPv4 neighbour table (`/proc` has no IPv6 one).
fn neighbours() -> Result<Vec<String>, String> {
    const ATF_COM: u32 = 0x02;
    const ATF_PERM: u32 = 0x04;
    let rows = table("arp")?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let [address, _, flags, mac, _, device] = &row[..] else {
                return None;
            };
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
            let state = match (flags & ATF_COM != 0, flags & ATF_PERM != 0) {
                (true, true) => format!("lladdr {mac} PERMANENT"),
                (true, false) => format!("lladdr {mac}"),
                (false, _) => "INCOMPLETE or FAILED (no answer)".to_owned(),
            };
            Some(format!("{address} dev {device} {state}"))
        })
        .collect())
}

/// The sockets of one `/proc/net` table (`tcp`, `udp6`, ...), as `ss -tuna`
/// shows them.
fn sockets(file: &str, protocol: &str) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for row in table(file)? {
        let [_, local, remote, state, ..] = &row[..] else {
            continue;
        };
        let (Some(local), Some(remote)) = (endpoint(local), endpoint(remote)) else {
            continue;
        };
        let state = u8::from_str_radix(state, 16).unwrap_or(0);
        let state = if protocol == "udp" {
            if state == 1 { "ESTAB" } else { "UNCONN" }
        } else {
            tcp_state(state)
        };
        lines.push(format!("{protocol:<4} {state:<12} {local:<28} {remote}"));
    }
    Ok(lines)
}

fn tcp_state(state: u8) -> &'static str {
    match state {
        0x01 => "ESTAB",
        0x02 => "SYN-SENT",
        0x03 => "SYN-RECV",
        0x04 => "FIN-WAIT-1",
        0x05 => "FIN-WAIT-2",
        0x06 => "TIME-WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE-WAIT",
        0x09 => "LAST-ACK",
        0x0a => "LISTEN",
        0x0b => "CLOSING",
        0x0c => "SYN-RECV",
        _ => "?",
    }
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as
/// `/proc/net/tcp` writes them: `127.0.0.1:8080`, `[::1]:8080`; a zero
/// port is `*`.
fn endpoint(text: &str) -> Option<String> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let port = if port == 0 {
        "*".to_owned()
    } else {
        port.to_string()
    };
    match address.len() {
        8 => Some(format!("{}:{port}", hex_v4(address)?)),
        32 => Some(format!("[{}]:{port}", hex_v6_words(address)?)),
        _ => None,
    }
}

/// An IPv4 address as `/proc/net` writes it: the bytes in network order,
/// printed as a host-order (little-endian here) number.
fn hex_v4(text: &str) -> Option<Ipv4Addr> {
    let value = u32::from_str_radix(text, 16).ok()?;
    Some(Ipv4Addr::from(value.to_ne_bytes()))
}

/// An IPv6 address as `/proc/net/ipv6_route` writes it: 32 hex digits,
/// network order.
fn hex_v6(text: &str) -> Option<Ipv6Addr> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(Ipv6Addr::from(bytes))
}

/// An IPv6 address as `/proc/net/tcp6` writes it: four 32-bit words, each
/// printed as a host-order number.
fn hex_v6_words(text: &str) -> Option<Ipv6Addr> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(4).enumerate() {
        let word = u32::from_str_radix(&text[8 * i..8 * i + 8], 16).ok()?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn reads_proc_net_addresses() {
        assert_eq!(endpoint("0100007F:1F90").unwrap(), "127.0.0.1:8080");
        assert_eq!(endpoint("00000000:0000").unwrap(), "0.0.0.0:*");
        assert_eq!(
            endpoint("00000000000000000000000001000000:0050").unwrap(),
            "[::1]:80"
        );
        // fd00:2::15 as tcp6 writes it.
        assert_eq!(
            endpoint("020000FD000000000000000015000000:01BB").unwrap(),
            "[fd00:2::15]:443"
        );
        assert_eq!(
            hex_v6("fd000002000000000000000000000015").unwrap(),
            "fd00:2::15".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(hex_v4("0202000A").unwrap(), Ipv4Addr::new(10, 0, 2, 2));
        assert!(endpoint("zz").is_none());
    }

    #[test]
    fn names_tcp_states_as_ss_does() {
        assert_eq!(tcp_state(0x02), "SYN-SENT");
        assert_eq!(tcp_state(0x0a), "LISTEN");
    }
}
