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
use std::sync::Once;

use netns_core::NetNs;

/// The environment variable that turns the snapshot off: `off`.
pub const SNAPSHOT_ENV: &str = "NETNS_TEST_SNAPSHOT";

/// At most this many lines of one kind (sockets, routes, ...) per namespace.
const MAX_LINES: usize = 40;

/// Whether failing tests print a snapshot (unless `NETNS_TEST_SNAPSHOT=off`).
pub(crate) fn enabled() -> bool {
    std::env::var_os(SNAPSHOT_ENV).is_none_or(|value| !value.eq_ignore_ascii_case("off"))
}

/// What a failing test's snapshot shows.
pub(crate) struct Scene {
    /// The heading of the test's own namespace, which the body's thread is in.
    pub(crate) own: String,
    /// The other namespaces, with their headings (or why one is missing).
    pub(crate) others: Vec<(String, Result<NetNs, netns_core::Error>)>,
}

impl Scene {
    /// The snapshot; read from the calling thread for the test's own
    /// namespace and from a thread inside each of the others.
    fn render(&self) -> String {
        let mut text = format!(
            "netns_test: the network when the test failed ({SNAPSHOT_ENV}=off turns this off):\n"
        );
        text.push_str(&of_this_thread(&self.own));
        for (name, ns) in &self.others {
            let state = ns
                .as_ref()
                .map_err(ToString::to_string)
                .and_then(|ns| ns.run(|| of_this_thread(name)).map_err(|e| e.to_string()));
            match state {
                Ok(state) => text.push_str(&state),
                Err(error) => {
                    let _ = writeln!(text, "--- {name} ---\ncannot enter it: {error}");
                }
            }
        }
        text
    }
}

thread_local! {
    /// The scene of the body running on this thread, while it runs, and
    /// whether the panic hook should show it.
    static WATCHED: RefCell<Option<(Scene, bool)>> = const { RefCell::new(None) };
}

/// Watches the body about to run on the calling thread: if it panics, the
/// panic hook prints `scene` (with `on_panic`) before the body's locals,
/// its sockets among them, are dropped by the unwinding.
pub(crate) fn watch(scene: Scene, on_panic: bool) -> Watch {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // Taken out, so that it is printed once even if the body
            // panics again while unwinding.
            let watched = WATCHED.with(|watched| {
                let mut watched = watched.try_borrow_mut().ok()?;
                match &*watched {
                    Some((_, true)) => watched.take(),
                    _ => None,
                }
            });
            if let Some((scene, _)) = watched {
                print!("{}", scene.render());
            }
        }));
    });
    WATCHED.with(|watched| *watched.borrow_mut() = Some((scene, on_panic)));
    Watch(())
}

/// The body is being watched; see [`watch`].
#[must_use]
pub(crate) struct Watch(());

impl Watch {
    /// The body has ended: prints the scene if it `failed` and the panic
    /// hook has not printed it already.
    pub(crate) fn finish(self, failed: bool) {
        let watched = WATCHED.with(|watched| watched.borrow_mut().take());
        if let (true, Some((scene, _))) = (failed, watched) {
            print!("{}", scene.render());
        }
    }
}

/// The state of the calling thread's network namespace, headed by `name`.
pub(crate) fn of_this_thread(name: &str) -> String {
    let mut out = format!("--- {name} ---\n");
    let interfaces = interfaces();
    section(
        &mut out,
        "links",
        interfaces.iter().map(Interface::link_line),
    );
    section(
        &mut out,
        "addresses",
        interfaces.iter().filter_map(Interface::address_line),
    );
    section(&mut out, "routes", routes());
    section(&mut out, "neighbours", neighbours());
    section(&mut out, "sockets", sockets());
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

/// Appends `lines` under `title`, indented, at most [`MAX_LINES`] of them.
fn section(out: &mut String, title: &str, lines: impl IntoIterator<Item = String>) {
    let lines: Vec<String> = lines.into_iter().collect();
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
        let addresses: Vec<String> = self
            .addresses
            .iter()
            .map(|(address, prefix)| format!("{address}/{prefix}"))
            .collect();
        Some(format!("{:<15} {}", self.name, addresses.join(" ")))
    }
}

/// Every interface of the calling thread's namespace, in the kernel's order.
fn interfaces() -> Vec<Interface> {
    let mut found: Vec<Interface> = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocates to `list`, which we free
    // below with freeifaddrs and do not use after.
    if unsafe { libc::getifaddrs(&raw mut list) } != 0 {
        return found;
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
    found
}

/// The MTU of interface `name` (`SIOCGIFMTU`), in the calling thread's
/// namespace.
fn mtu(name: &str) -> Option<i32> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: a plain socket(2) call; the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a new socket that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data, for which all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (to, from) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as libc::c_char;
    }
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
fn table(name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/thread-self/net/{name}")).unwrap_or_default();
    text.lines()
        .skip(1)
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The main table's IPv4 routes and the IPv6 routes, as `ip route` writes
/// them, without the kernel's own local, multicast and unreachable entries.
fn routes() -> Vec<String> {
    let mut lines = Vec::new();
    for row in table("route") {
        let [device, destination, gateway, _flags, _, _, metric, mask, ..] = &row[..] else {
            continue;
        };
        let (Some(destination), Some(gateway), Some(mask)) =
            (hex_v4(destination), hex_v4(gateway), hex_v4(mask))
        else {
            continue;
        };
        let prefix = u32::from(mask).count_ones();
        let gateway = IpAddr::V4(gateway);
        let metric = metric.parse().unwrap_or(0);
        lines.push(route_line(
            destination.into(),
            prefix,
            gateway,
            device,
            metric,
        ));
    }
    const RTF_REJECT: u32 = 0x0200;
    const RTF_LOCAL: u32 = 0x8000_0000;
    for row in table("ipv6_route") {
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
        let prefix = u8::from_str_radix(prefix, 16).unwrap_or(0);
        let flags = u32::from_str_radix(flags, 16).unwrap_or(0);
        if flags & (RTF_REJECT | RTF_LOCAL) != 0 || destination.is_multicast() {
            continue;
        }
        let metric = u32::from_str_radix(metric, 16).unwrap_or(0);
        let prefix = u32::from(prefix);
        lines.push(route_line(
            destination.into(),
            prefix,
            gateway.into(),
            device,
            metric,
        ));
    }
    lines
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
fn neighbours() -> Vec<String> {
    const ATF_COM: u32 = 0x02;
    table("arp")
        .into_iter()
        .filter_map(|row| {
            let [address, _, flags, mac, _, device] = &row[..] else {
                return None;
            };
            let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
            let state = if flags & ATF_COM != 0 {
                format!("lladdr {mac}")
            } else {
                "INCOMPLETE (no answer yet)".to_owned()
            };
            Some(format!("{address} dev {device} {state}"))
        })
        .collect()
}

/// TCP and UDP sockets, as `ss -tuna` shows them.
fn sockets() -> Vec<String> {
    let mut lines = Vec::new();
    for (file, protocol) in [
        ("tcp", "tcp"),
        ("tcp6", "tcp"),
        ("udp", "udp"),
        ("udp6", "udp"),
    ] {
        for row in table(file) {
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
    }
    lines
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
