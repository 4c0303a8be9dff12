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
//! Reading ~90 files per namespace would cost more than creating it, and
//! what the kernel copies is the same for every namespace (with
//! `devconf_inherit_init_net` 0 or 1 it comes from the initial namespace,
//! not the creator's), so the first namespace is read in full and only the
//! values that differed are written in later ones: on a host with the
//! kernel's defaults, nothing at all. With `devconf_inherit_init_net=3` a
//! namespace copies its creator's, which may be a router's, so there every
//! namespace is read. A host whose settings change while the tests run is
//! seen only by the next test process.
//!
//! Where `/proc/sys` is read-only (a container run without `--privileged`
//! mounts it so, in every namespace made inside it), nothing can be reset:
//! a line on stderr says which host settings the tests then see.

use std::io::Write;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

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
/// first one. Not a `OnceLock`: a child forked while another thread fills
/// it would wait for ever; two threads may learn it at once, harmlessly.
static CORRECTIONS: AtomicPtr<Vec<(String, &'static str)>> = AtomicPtr::new(ptr::null_mut());

/// `net.core.devconf_inherit_init_net`, as [`note_inheritance`] read it
/// (`UNKNOWN` until then, or where it cannot be read).
static INHERITANCE: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = u8::MAX;

/// Reads `net.core.devconf_inherit_init_net`, which only the initial
/// namespace shows: called where the host's namespace is at hand (before
/// `main` in a test binary, where a `Network` is built). Once is enough.
pub(crate) fn note_inheritance() {
    if INHERITANCE.load(Ordering::Relaxed) != UNKNOWN {
        return;
    }
    if let Some(mode) = std::fs::read_to_string("/proc/sys/net/core/devconf_inherit_init_net")
        .ok()
        .and_then(|text| text.trim().parse::<u8>().ok())
    {
        INHERITANCE.store(mode, Ordering::Relaxed);
    }
}

/// The settings of the calling thread's namespace that differ from [`expected`].
fn differences() -> Vec<(String, &'static str)> {
    expected()
        .filter(|(path, value)| std::fs::read_to_string(path).is_ok_and(|now| now.trim() != *value))
        .collect()
}

/// Resets the calling thread's network namespace (`/proc/sys/net` shows the
/// namespace of the thread that opens it) to the kernel's defaults; see the
/// module docs. A file the kernel does not have (an older kernel, no IPv6)
/// is skipped; a read-only `/proc/sys` is reported once on stderr.
///
/// # Errors
///
/// The file and the error, if a setting that differs cannot be written for
/// another reason.
pub(crate) fn reset() -> Result<(), (String, std::io::Error)> {
    let fresh;
    let corrections: &[(String, &str)] = if INHERITANCE.load(Ordering::Relaxed) == 3 {
        fresh = differences();
        &fresh
    } else {
        learnt()
    };
    for (path, value) in corrections {
        match std::fs::write(path, value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EROFS) => {
                read_only(corrections);
                return Ok(());
            }
            Err(e) => return Err((path.clone(), e)),
        }
    }
    Ok(())
}

/// The corrections learnt from the first namespace (the calling thread's,
/// if it is the first).
fn learnt() -> &'static [(String, &'static str)] {
    let known = CORRECTIONS.load(Ordering::Acquire);
    // SAFETY: a published list is never freed, so a non-null pointer stays valid.
    if let Some(known) = unsafe { known.as_ref() } {
        return known;
    }
    let mine = Box::into_raw(Box::new(differences()));
    match CORRECTIONS.compare_exchange(ptr::null_mut(), mine, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: published just now, and never freed.
        Ok(_) => unsafe { &*mine },
        Err(theirs) => {
            // SAFETY: `mine` was never published, so it is still only ours.
            drop(unsafe { Box::from_raw(mine) });
            // SAFETY: `theirs` is published, hence never freed.
            unsafe { &*theirs }
        }
    }
}

/// Says once, past libtest's capture, that the host's settings stay.
fn read_only(kept: &[(String, &str)]) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if SAID.swap(true, Ordering::Relaxed) {
        return;
    }
    let kept: Vec<String> = kept
        .iter()
        .map(|(path, value)| {
            let now = std::fs::read_to_string(path).unwrap_or_default();
            format!("{path} = {} (the kernel's default: {value})", now.trim())
        })
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "netns_test: warning: /proc/sys is read-only here (a container run without \
         --privileged?), so test namespaces keep these host settings:\n  {}",
        kept.join("\n  ")
    );
}

/// Writes `value` to each of `paths` in the calling thread's namespace; a
/// file that a kernel without IPv6 or bridge netfilter lacks is skipped.
#[cfg(feature = "network")]
pub(crate) fn write(paths: &[&str], value: &str) -> Result<(), (String, std::io::Error)> {
    for path in paths {
        match std::fs::write(path, value) {
            // A kernel without IPv6, or without bridge netfilter, lacks
            // these files; nothing to set there.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && (path.contains("/ipv6/") || path.contains("/bridge/")) => {}
            result => result.map_err(|e| ((*path).to_owned(), e))?,
        }
    }
    Ok(())
}
