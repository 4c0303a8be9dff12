//! The settings every namespace this crate hands out starts from, whatever
//! the host's.
//!
//! With `net.core.devconf_inherit_init_net=0` (the default) the kernel
//! copies the initial namespace's `net.ipv4.conf.{all,default}` into every
//! new network namespace, and `lo` takes `default`'s values when it is made.
//! A Docker host or a CI runner has `net.ipv4.ip_forward=1`, so every
//! namespace there would forward, and `rp_filter` or the redirect settings
//! would follow whatever the host chose. A test must see the same network
//! on every host, so each namespace is reset to the kernel's compiled-in
//! values ([`IPV4_CONF`], and IPv6 forwarding off).
//!
//! Reading ~80 files per namespace would cost more than creating it, and
//! what the kernel copies is the same for every namespace (it comes from the
//! initial namespace, not the creator's), so the first namespace is read in
//! full and only the values that differed are written in later ones: on a
//! host with the kernel's defaults, nothing at all. A host whose settings
//! change while the tests run is seen only by the next test process.

use std::sync::OnceLock;

/// `net.ipv4.conf.*` keys and the kernel's compiled-in values for `all`,
/// `default` and `lo` (`ipv4_devconf`, `ipv4_devconf_dflt` in
/// `net/ipv4/devinet.c`; `lo` is made from `default`, then has the IPsec
/// policy checks turned off). Checked against a namespace made with
/// `devconf_inherit_init_net=2` by the integration suite.
///
/// `forwarding` comes first: writing it makes the kernel set
/// `accept_redirects` and every interface's `forwarding` too, which the
/// later entries then settle.
const IPV4_CONF: &[(&str, [&str; 3])] = &[
    ("forwarding", ["0", "0", "0"]),
    ("rp_filter", ["0", "0", "0"]),
    ("accept_redirects", ["1", "1", "1"]),
    ("secure_redirects", ["1", "1", "1"]),
    ("send_redirects", ["1", "1", "1"]),
    ("accept_source_route", ["0", "1", "1"]),
    ("accept_local", ["0", "0", "0"]),
    ("route_localnet", ["0", "0", "0"]),
    ("log_martians", ["0", "0", "0"]),
    ("src_valid_mark", ["0", "0", "0"]),
    ("bc_forwarding", ["0", "0", "0"]),
    ("proxy_arp", ["0", "0", "0"]),
    ("proxy_arp_pvlan", ["0", "0", "0"]),
    ("arp_filter", ["0", "0", "0"]),
    ("arp_announce", ["0", "0", "0"]),
    ("arp_ignore", ["0", "0", "0"]),
    ("arp_accept", ["0", "0", "0"]),
    ("arp_notify", ["0", "0", "0"]),
    ("arp_evict_nocarrier", ["1", "1", "1"]),
    ("drop_gratuitous_arp", ["0", "0", "0"]),
    ("drop_unicast_in_l2_multicast", ["0", "0", "0"]),
    ("ignore_routes_with_linkdown", ["0", "0", "0"]),
    ("promote_secondaries", ["0", "0", "0"]),
    ("shared_media", ["1", "1", "1"]),
    ("bootp_relay", ["0", "0", "0"]),
    ("force_igmp_version", ["0", "0", "0"]),
    (
        "igmpv2_unsolicited_report_interval",
        ["10000", "10000", "10000"],
    ),
    (
        "igmpv3_unsolicited_report_interval",
        ["1000", "1000", "1000"],
    ),
    ("disable_policy", ["0", "0", "1"]),
    ("disable_xfrm", ["0", "0", "1"]),
];

/// The interfaces of [`IPV4_CONF`]'s columns.
const IPV4_DIRS: [&str; 3] = ["all", "default", "lo"];

/// IPv6 settings (not copied from the host unless
/// `devconf_inherit_init_net=1`, but set all the same).
const IPV6: &[(&str, &str)] = &[
    ("/proc/sys/net/ipv6/conf/all/forwarding", "0"),
    ("/proc/sys/net/ipv6/conf/default/forwarding", "0"),
];

/// Every file this module looks after, with the value it should hold.
pub fn expected() -> impl Iterator<Item = (String, &'static str)> {
    let ipv4 = IPV4_CONF.iter().flat_map(|(key, values)| {
        IPV4_DIRS
            .iter()
            .zip(values)
            .map(move |(dir, value)| (format!("/proc/sys/net/ipv4/conf/{dir}/{key}"), *value))
    });
    let ipv6 = IPV6
        .iter()
        .map(|(path, value)| ((*path).to_owned(), *value));
    ipv4.chain(ipv6)
}

/// The writes that bring a new namespace to [`expected`], learnt from the
/// first one.
static CORRECTIONS: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();

/// Resets the calling thread's network namespace (`/proc/sys/net` shows the
/// namespace of the thread that opens it) to the kernel's defaults; see the
/// module docs. A file the kernel does not have (an older kernel, no IPv6)
/// is skipped.
///
/// # Errors
///
/// The file and the error, if a setting that differs cannot be written.
pub(crate) fn reset() -> Result<(), (String, std::io::Error)> {
    let corrections = CORRECTIONS.get_or_init(|| {
        expected()
            .filter(|(path, value)| {
                std::fs::read_to_string(path).is_ok_and(|now| now.trim() != *value)
            })
            .collect()
    });
    for (path, value) in corrections {
        std::fs::write(path, value).map_err(|e| (path.clone(), e))?;
    }
    Ok(())
}

/// Writes `value` to each of `paths` in the calling thread's namespace; an
/// IPv6 file a kernel without IPv6 lacks is skipped.
pub(crate) fn write(paths: &[&str], value: &str) -> Result<(), (String, std::io::Error)> {
    for path in paths {
        match std::fs::write(path, value) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.contains("ipv6") => {}
            result => result.map_err(|e| ((*path).to_owned(), e))?,
        }
    }
    Ok(())
}
