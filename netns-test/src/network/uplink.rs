//! `#[netns_test(uplink)]`: the test's namespace as a host linked to a
//! gateway behind a firewall, which answers for itself and lets nothing
//! through.
//!
//! Real test suites assume a machine with an interface that is not `lo`,
//! default routes, and a network that swallows what it does not route:
//! a connect to an unroutable address such as 10.255.255.1 *times out*
//! (rather than failing at once with `ENETUNREACH`), multicast joins find
//! an interface, and link-creating code finds a real lower device.
//!
//! | node | interface | IPv4 | IPv6 |
//! |---|---|---|---|
//! | `test` (the test's own namespace) | `eth0` | 10.0.2.15/24 | fd00:2::15/64 |
//! | `gateway` | `eth0` | 10.0.2.2/24 | fd00:2::2/64 |
//!
//! The test has default routes through 10.0.2.2 and fd00:2::2 (the
//! addresses QEMU's user-mode network gives a guest and its gateway). The
//! gateway answers ARP, neighbour discovery and ping on its own addresses;
//! TCP and UDP to itself and anything for another address it drops without
//! a word (policy-routing rules send them to a blackhole, so not even an
//! ICMP error or a TCP reset comes back). Other protocols to its own
//! addresses (SCTP, say) get the kernel's usual answer.
//!
//! The test's own namespace is set up as a node: besides the kernel's
//! defaults, IPv6 duplicate address detection is off and IPv6 addresses are
//! kept while a link is down (`accept_dad=0`, `keep_addr_on_down=1` for
//! interfaces made from then on), as on every node. A kernel without IPv6
//! cannot have an uplink.

use netlink_packet_route::IpProtocol;
use netns_core::NetNs;

use super::{Endpoint, Network, NetworkError};

/// The name of the test's own namespace in its uplink [`Network`].
pub const TEST_NODE: &str = "test";
/// The name of the gateway node.
pub const GATEWAY: &str = "gateway";

/// `RT_TABLE_LOCAL`: the table of the node's own addresses.
const LOCAL_TABLE: u32 = 255;

/// Builds the uplink network around `ns`, the test's namespace.
pub(crate) fn around(ns: NetNs) -> Result<Network, NetworkError> {
    let net = Network::builder()
        .node(TEST_NODE)
        .node(GATEWAY)
        .link(
            Endpoint::new(TEST_NODE, "eth0")
                .address("10.0.2.15/24")
                .address("fd00:2::15/64"),
            Endpoint::new(GATEWAY, "eth0")
                .address("10.0.2.2/24")
                .address("fd00:2::2/64"),
        )
        .route(TEST_NODE, "default", "10.0.2.2")
        .route(TEST_NODE, "default", "fd00:2::2")
        .build_around(TEST_NODE, ns)?;
    silence(&net)?;
    Ok(net)
}

/// Makes the gateway drop, silently, all but ARP, neighbour discovery and
/// ICMP to its own addresses.
///
/// The rules, for IPv4 and IPv6 alike: TCP and UDP go to a blackhole before
/// anything else (no reset, no port unreachable); then the node's own
/// addresses (the `local` table, moved from priority 0, where nothing could
/// come before it); then its connected routes (`main`); whatever is left —
/// a packet for an address beyond it — goes to a blackhole too (with
/// forwarding off, IPv6 would otherwise answer with an ICMP error).
fn silence(net: &Network) -> Result<(), NetworkError> {
    let gateway = net.node(GATEWAY)?;
    let mut rtnl = gateway.rtnl();
    let failed = |what: &str| {
        let what = format!("gateway rule: {what}");
        move |e| gateway.netlink(what, e)
    };
    for v6 in [false, true] {
        rtnl.add_rule(v6, 10, Some(IpProtocol::Tcp), None)
            .map_err(failed("drop TCP"))?;
        rtnl.add_rule(v6, 11, Some(IpProtocol::Udp), None)
            .map_err(failed("drop UDP"))?;
        rtnl.add_rule(v6, 100, None, Some(LOCAL_TABLE))
            .map_err(failed("look up local addresses after that"))?;
        rtnl.delete_rule(v6, 0, LOCAL_TABLE)
            .map_err(failed("stop looking them up first"))?;
        rtnl.add_rule(v6, 40_000, None, None)
            .map_err(failed("drop the rest"))?;
    }
    Ok(())
}
