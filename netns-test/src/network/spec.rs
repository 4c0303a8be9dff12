//! Describing a network, and checking the description before anything is made.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use netns_core::NetNs;

use super::{Network, NetworkError};

#[cfg(doc)]
use super::Node;

/// Describes a [`Network`]: its nodes, the links and LANs between them,
/// routes and settings.
///
/// Nothing is created until [`build`](NetworkBuilder::build), which checks
/// the whole description first and reports the first mistake as a typed
/// [`NetworkError`].
///
/// ```no_run
/// use netns_test::network::{Endpoint, Network};
///
/// // client — router — server, with default routes through the router.
/// let net = Network::builder()
///     .node("client")
///     .router("router")
///     .node("server")
///     .link(
///         Endpoint::new("client", "eth0").address("10.0.1.1/24"),
///         Endpoint::new("router", "eth0").address("10.0.1.254/24"),
///     )
///     .link(
///         Endpoint::new("router", "eth1").address("10.0.2.254/24"),
///         Endpoint::new("server", "eth0").address("10.0.2.1/24"),
///     )
///     .route("client", "default", "10.0.1.254")
///     .route("server", "default", "10.0.2.254")
///     .build()?;
/// # Ok::<(), netns_test::network::NetworkError>(())
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a network is made only by `build`"]
pub struct NetworkBuilder {
    nodes: Vec<(String, bool)>,
    links: Vec<(Endpoint, Endpoint)>,
    lans: Vec<(String, Vec<Endpoint>)>,
    routes: Vec<(String, String, String)>,
    sysctls: Vec<(String, String, String)>,
}

/// One end of a link, or a member of a LAN: an interface of a node, with
/// its addresses and MTU.
#[derive(Debug, Clone)]
#[must_use]
pub struct Endpoint {
    node: String,
    interface: String,
    addresses: Vec<String>,
    mtu: Option<u32>,
}

impl Endpoint {
    /// Interface `interface` (at most 15 bytes, as Linux allows) of node `node`.
    pub fn new(node: &str, interface: &str) -> Endpoint {
        Endpoint {
            node: node.to_owned(),
            interface: interface.to_owned(),
            addresses: Vec::new(),
            mtu: None,
        }
    }

    /// Adds an address, `IP/PREFIX`: IPv4 (`10.0.0.1/24`) or IPv6
    /// (`fd00::1/64`; it is usable at once: duplicate address detection is off).
    pub fn address(mut self, address: &str) -> Endpoint {
        self.addresses.push(address.to_owned());
        self
    }

    /// Sets the interface's MTU (the kernel's default for veth is 1500).
    pub fn mtu(mut self, mtu: u32) -> Endpoint {
        self.mtu = Some(mtu);
        self
    }
}

impl NetworkBuilder {
    /// Adds a node: a host with a network namespace of its own.
    pub fn node(mut self, name: &str) -> NetworkBuilder {
        self.nodes.push((name.to_owned(), false));
        self
    }

    /// Adds a node that forwards packets between its interfaces (IPv4 and IPv6).
    pub fn router(mut self, name: &str) -> NetworkBuilder {
        self.nodes.push((name.to_owned(), true));
        self
    }

    /// Joins two nodes with a veth link.
    pub fn link(mut self, a: Endpoint, b: Endpoint) -> NetworkBuilder {
        self.links.push((a, b));
        self
    }

    /// Puts the interfaces `members` on one Ethernet segment, LAN `name`:
    /// each member gets a veth whose other end is a port of a bridge (an
    /// unmanaged switch: no spanning tree, no IGMP/MLD snooping) in a
    /// namespace of the LAN's own, so ARP, neighbour discovery, broadcast
    /// and multicast reach every member. Members are described as link ends
    /// are (addresses, MTU: the same for all), from 1 to 1023 of them, and
    /// [`Network::link_down`], [`link_up`](Network::link_up) and
    /// [`impair`](Network::impair) work on a member's interface as on a link
    /// end (impairing what the member sends). [`Network::lan`] is the
    /// switch's namespace.
    ///
    /// ```no_run
    /// use netns_test::network::{Endpoint, Network};
    ///
    /// // Eight hosts, h1 10.0.3.1 to h8 10.0.3.8, on one segment.
    /// let hosts: Vec<String> = (1..=8).map(|i| format!("h{i}")).collect();
    /// let mut builder = Network::builder();
    /// for host in &hosts {
    ///     builder = builder.node(host);
    /// }
    /// let net = builder
    ///     .lan(
    ///         "office",
    ///         hosts.iter().enumerate().map(|(i, host)| {
    ///             Endpoint::new(host, "eth0").address(&format!("10.0.3.{}/24", i + 1))
    ///         }),
    ///     )
    ///     .build()?;
    /// # Ok::<(), netns_test::network::NetworkError>(())
    /// ```
    pub fn lan(
        mut self,
        name: &str,
        members: impl IntoIterator<Item = Endpoint>,
    ) -> NetworkBuilder {
        self.lans
            .push((name.to_owned(), members.into_iter().collect()));
        self
    }

    /// Adds a route on `node` to `destination` (`IP/PREFIX`, or `default`)
    /// via `gateway`, which must be in one of the node's subnets.
    pub fn route(mut self, node: &str, destination: &str, gateway: &str) -> NetworkBuilder {
        self.routes
            .push((node.to_owned(), destination.to_owned(), gateway.to_owned()));
        self
    }

    /// Sets the `net.` sysctl `key` (dotted: `net.ipv4.conf.eth0.rp_filter`)
    /// to `value` on `node`, once its interfaces exist and before routes
    /// are added; see [`Node::sysctl`](super::Node::sysctl).
    pub fn sysctl(mut self, node: &str, key: &str, value: &str) -> NetworkBuilder {
        self.sysctls
            .push((node.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    /// Checks the description, then makes the namespaces, links, addresses,
    /// settings and routes.
    ///
    /// # Errors
    ///
    /// For the description: [`NetworkError::DuplicateNode`] (of a node or
    /// LAN), [`UnknownNode`](NetworkError::UnknownNode),
    /// [`DuplicateInterface`](NetworkError::DuplicateInterface),
    /// [`InvalidInterfaceName`](NetworkError::InvalidInterfaceName) (`lo`
    /// included), [`InvalidLan`](NetworkError::InvalidLan),
    /// [`InvalidAddress`](NetworkError::InvalidAddress),
    /// [`ConflictingAddress`](NetworkError::ConflictingAddress),
    /// [`UnreachableGateway`](NetworkError::UnreachableGateway),
    /// [`DuplicateRoute`](NetworkError::DuplicateRoute),
    /// [`InvalidSysctl`](NetworkError::InvalidSysctl) (a key outside `net.`
    /// or malformed; one the kernel lacks is found while making it). While
    /// making it: [`Namespace`](NetworkError::Namespace) (no namespaces to
    /// be had), [`Netlink`](NetworkError::Netlink) (the kernel refused a
    /// request, e.g. `EOPNOTSUPP` for veth without `CONFIG_VETH`),
    /// [`Unsupported`](NetworkError::Unsupported) (a LAN on a kernel without
    /// bridges), [`Sysctl`](NetworkError::Sysctl). Whatever was made before an error
    /// is released.
    pub fn build(self) -> Result<Network, NetworkError> {
        super::build::build(self.plan()?, None)
    }

    /// [`build`](NetworkBuilder::build), with node `name` being `ns`, a
    /// namespace that exists already (the test's own, for `uplink` and
    /// `node = ...`).
    pub(crate) fn build_around(self, name: &str, ns: NetNs) -> Result<Network, NetworkError> {
        super::build::build(self.plan()?, Some((name, ns)))
    }

    fn plan(self) -> Result<Plan, NetworkError> {
        let mut nodes: Vec<NodeSpec> = Vec::new();
        for (name, router) in self.nodes {
            if nodes.iter().any(|n| n.name == name) {
                return Err(NetworkError::DuplicateNode { name });
            }
            nodes.push(NodeSpec { name, router });
        }
        let known = |name: &str| {
            if nodes.iter().any(|n| n.name == name) {
                Ok(())
            } else {
                Err(NetworkError::UnknownNode {
                    name: name.to_owned(),
                })
            }
        };
        let mut names: HashSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        for (name, _) in &self.lans {
            if !names.insert(name) {
                return Err(NetworkError::DuplicateNode { name: name.clone() });
            }
        }
        let mut ends = Ends::default();
        let mut links = Vec::new();
        for (a, b) in self.links {
            links.push((ends.check(a, &known)?, ends.check(b, &known)?));
        }
        let mut lans = Vec::new();
        for (name, members) in self.lans {
            let invalid = |reason| NetworkError::InvalidLan {
                name: name.clone(),
                reason,
            };
            if name.is_empty() {
                return Err(invalid("its name is empty"));
            }
            if members.is_empty() {
                return Err(invalid("it has no members"));
            }
            if members.len() > MAX_LAN_MEMBERS {
                return Err(invalid("a bridge has at most 1023 ports (MAX_LAN_MEMBERS)"));
            }
            // A bridge passes frames no larger than its smallest port's MTU
            // and drops larger ones without a word.
            if members.iter().any(|member| member.mtu != members[0].mtu) {
                return Err(invalid(
                    "its members have different MTUs: frames too large for one would be \
                     dropped silently; give every member the same",
                ));
            }
            let members = members
                .into_iter()
                .map(|member| ends.check(member, &known))
                .collect::<Result<_, _>>()?;
            lans.push(LanSpec { name, members });
        }
        let subnets = ends.subnets;
        let mut routes = Vec::new();
        for (node, destination, gateway) in self.routes {
            known(&node)?;
            let gateway: IpAddr = gateway.parse().map_err(|_| NetworkError::InvalidAddress {
                text: gateway.clone(),
                reason: "not an IP address".into(),
            })?;
            let (destination, prefix) = if destination == "default" {
                match gateway {
                    IpAddr::V4(_) => (IpAddr::from([0, 0, 0, 0]), 0),
                    IpAddr::V6(_) => (IpAddr::from([0u16; 8]), 0),
                }
            } else {
                parse_prefix(&destination)?
            };
            if destination.is_ipv4() != gateway.is_ipv4() {
                return Err(NetworkError::InvalidAddress {
                    text: gateway.to_string(),
                    reason: format!(
                        "the gateway and destination {destination} are of different IP versions"
                    ),
                });
            }
            let reachable = subnets.iter().any(|(owner, address, prefix)| {
                *owner == node && same_subnet(*address, gateway, *prefix)
            });
            if !reachable {
                return Err(NetworkError::UnreachableGateway { node, gateway });
            }
            let same = |route: &RouteSpec| {
                route.node == node && route.destination == destination && route.prefix == prefix
            };
            if routes.iter().any(same) {
                return Err(NetworkError::DuplicateRoute {
                    node,
                    destination: format!("{destination}/{prefix}"),
                });
            }
            routes.push(RouteSpec {
                node,
                destination,
                prefix,
                gateway,
            });
        }
        let mut sysctls = Vec::new();
        for (node, key, value) in self.sysctls {
            known(&node)?;
            super::sysctl_path(&key)?;
            sysctls.push((node, key, value));
        }
        Ok(Plan {
            nodes,
            links,
            lans,
            routes,
            sysctls,
        })
    }
}

/// The kernel's limit on a bridge's ports (`BR_MAX_PORTS` - 1).
const MAX_LAN_MEMBERS: usize = 1023;

/// The interfaces and addresses seen so far, to check each new one against.
#[derive(Default)]
struct Ends {
    interfaces: Vec<(String, String)>,
    owners: HashMap<IpAddr, String>,
    /// (node, address, prefix): what a gateway must be in.
    subnets: Vec<(String, IpAddr, u8)>,
}

impl Ends {
    /// Checks one end of a link or member of a LAN: a known node, a valid
    /// interface name it has not used, addresses nobody else has.
    fn check(
        &mut self,
        end: Endpoint,
        known: &impl Fn(&str) -> Result<(), NetworkError>,
    ) -> Result<EndSpec, NetworkError> {
        known(&end.node)?;
        check_interface_name(&end.interface)?;
        if end.interface == "lo" {
            return Err(NetworkError::InvalidInterfaceName {
                name: end.interface,
                reason: "every node has `lo` already: its loopback interface",
            });
        }
        let key = (end.node.clone(), end.interface.clone());
        if self.interfaces.contains(&key) {
            return Err(NetworkError::DuplicateInterface {
                node: end.node,
                interface: end.interface,
            });
        }
        self.interfaces.push(key);
        let here = format!("{}:{}", end.node, end.interface);
        let mut addresses = Vec::new();
        for text in &end.addresses {
            let (address, prefix) = parse_cidr(text)?;
            if let Some(first) = self.owners.insert(address, here.clone()) {
                return Err(NetworkError::ConflictingAddress {
                    address,
                    first,
                    second: here,
                });
            }
            self.subnets.push((end.node.clone(), address, prefix));
            addresses.push((address, prefix));
        }
        Ok(EndSpec {
            node: end.node,
            interface: end.interface,
            addresses,
            mtu: end.mtu,
        })
    }
}

/// A checked description, ready to be made.
pub(super) struct Plan {
    pub(super) nodes: Vec<NodeSpec>,
    pub(super) links: Vec<(EndSpec, EndSpec)>,
    pub(super) lans: Vec<LanSpec>,
    pub(super) routes: Vec<RouteSpec>,
    /// (node, key, value), keys checked.
    pub(super) sysctls: Vec<(String, String, String)>,
}

pub(super) struct NodeSpec {
    pub(super) name: String,
    pub(super) router: bool,
}

pub(super) struct LanSpec {
    pub(super) name: String,
    pub(super) members: Vec<EndSpec>,
}

pub(super) struct EndSpec {
    pub(super) node: String,
    pub(super) interface: String,
    pub(super) addresses: Vec<(IpAddr, u8)>,
    pub(super) mtu: Option<u32>,
}

#[derive(Debug)]
pub(super) struct RouteSpec {
    pub(super) node: String,
    pub(super) destination: IpAddr,
    pub(super) prefix: u8,
    pub(super) gateway: IpAddr,
}

/// The kernel's rules for interface names (`dev_valid_name`), and no NUL
/// byte (the kernel would read the name only up to it).
pub(super) fn check_interface_name(name: &str) -> Result<(), NetworkError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 15 {
        Some("it is longer than 15 bytes (IFNAMSIZ - 1)")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not interface names")
    } else if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        Some("it contains `/`, `:` or white space")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NetworkError::InvalidInterfaceName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// An interface's `IP/PREFIX`: [`parse_prefix`], and an address a host
/// can have.
fn parse_cidr(text: &str) -> Result<(IpAddr, u8), NetworkError> {
    let (address, prefix) = parse_prefix(text)?;
    if address.is_unspecified() || address.is_multicast() {
        return Err(NetworkError::InvalidAddress {
            text: text.to_owned(),
            reason: "an interface address cannot be unspecified or multicast".to_owned(),
        });
    }
    Ok((address, prefix))
}

/// `IP/PREFIX`, with the prefix checked against the address's length: a
/// route's destination (`0.0.0.0/0` and `::/0` are the default routes).
fn parse_prefix(text: &str) -> Result<(IpAddr, u8), NetworkError> {
    let invalid = |reason: &str| NetworkError::InvalidAddress {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let (address, prefix) = text.split_once('/').ok_or_else(|| invalid("no /PREFIX"))?;
    let address: IpAddr = address.parse().map_err(|_| invalid("not an IP address"))?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| invalid("the prefix is not a number"))?;
    let bits = if address.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return Err(invalid(if bits == 32 {
            "an IPv4 prefix is at most 32"
        } else {
            "an IPv6 prefix is at most 128"
        }));
    }
    Ok((address, prefix))
}

fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
        bytes
            .iter()
            .enumerate()
            .map(|(i, byte)| {
                let keep = (i32::from(prefix) - 8 * i as i32).clamp(0, 8) as u32;
                byte & (0xff_u16 << (8 - keep)) as u8
            })
            .collect()
    }
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            masked(&a.octets(), prefix) == masked(&b.octets(), prefix)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            masked(&a.octets(), prefix) == masked(&b.octets(), prefix)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(builder: NetworkBuilder) -> Result<Plan, NetworkError> {
        builder.plan()
    }

    #[test]
    fn subnets() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(same_subnet(ip("10.0.1.1"), ip("10.0.1.254"), 24));
        assert!(!same_subnet(ip("10.0.1.1"), ip("10.0.2.1"), 24));
        assert!(same_subnet(ip("10.0.1.1"), ip("10.0.1.7"), 29));
        assert!(!same_subnet(ip("10.0.1.1"), ip("10.0.1.9"), 29));
        assert!(same_subnet(ip("fd00::1"), ip("fd00::ffff"), 64));
        assert!(!same_subnet(ip("fd00::1"), ip("fd01::1"), 64));
        assert!(same_subnet(ip("1.2.3.4"), ip("9.9.9.9"), 0));
    }

    #[test]
    fn every_mistake_is_a_typed_error() {
        let two = || Network::builder().node("a").node("b");
        let end = Endpoint::new;
        type Expected = fn(&NetworkError) -> bool;
        let cases: Vec<(NetworkBuilder, Expected)> = vec![
            (two().node("a"), |e| {
                matches!(e, NetworkError::DuplicateNode { .. })
            }),
            (
                two().link(end("a", "eth0"), end("c", "eth0")),
                |e| matches!(e, NetworkError::UnknownNode { name } if name == "c"),
            ),
            (two().route("nowhere", "default", "10.0.0.1"), |e| {
                matches!(e, NetworkError::UnknownNode { .. })
            }),
            (
                two()
                    .link(end("a", "eth0"), end("b", "eth0"))
                    .link(end("a", "eth0"), end("b", "eth1")),
                |e| matches!(e, NetworkError::DuplicateInterface { node, .. } if node == "a"),
            ),
            (
                two().link(end("a", "a-very-long-name0"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidInterfaceName { .. }),
            ),
            (two().link(end("a", "eth/0"), end("b", "eth0")), |e| {
                matches!(e, NetworkError::InvalidInterfaceName { .. })
            }),
            (
                two().link(end("a", "").address("10.0.0.1/24"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidInterfaceName { .. }),
            ),
            (
                two().link(end("a", "eth0").address("10.0.0.1"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (
                two().link(end("a", "eth0\0zz"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidInterfaceName { reason, .. } if reason.contains("NUL")),
            ),
            (
                two().link(end("a", "eth0").address("10.0.0.1/33"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (
                two().link(end("a", "eth0").address("fd00::1/129"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (
                two().link(end("a", "eth0").address("10.0.0.300/24"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (
                two().link(end("a", "eth0").address("0.0.0.0/8"), end("b", "eth0")),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (
                two().link(
                    end("a", "eth0").address("10.0.0.1/24"),
                    end("b", "eth0").address("10.0.0.1/24"),
                ),
                |e| matches!(e, NetworkError::ConflictingAddress { .. }),
            ),
            (
                two()
                    .link(
                        end("a", "eth0").address("10.0.0.1/24"),
                        end("b", "eth0").address("10.0.0.2/24"),
                    )
                    .route("a", "default", "10.0.9.1"),
                |e| matches!(e, NetworkError::UnreachableGateway { node, .. } if node == "a"),
            ),
            (
                two()
                    .link(
                        end("a", "eth0").address("10.0.0.1/24"),
                        end("b", "eth0").address("10.0.0.2/24"),
                    )
                    .route("a", "fd00::/64", "10.0.0.2"),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
            (two().lan("l", []), |e| {
                matches!(e, NetworkError::InvalidLan { .. })
            }),
            (two().lan("", [end("a", "eth0")]), |e| {
                matches!(e, NetworkError::InvalidLan { .. })
            }),
            (
                two().lan("l", [end("a", "eth0").mtu(9000), end("b", "eth0")]),
                |e| matches!(e, NetworkError::InvalidLan { .. }),
            ),
            (two().link(end("a", "lo"), end("b", "eth0")), |e| {
                matches!(e, NetworkError::InvalidInterfaceName { .. })
            }),
            (
                two().lan("a", []),
                |e| matches!(e, NetworkError::DuplicateNode { name } if name == "a"),
            ),
            (
                two().lan("l", []).lan("l", []),
                |e| matches!(e, NetworkError::DuplicateNode { name } if name == "l"),
            ),
            (
                two().lan("l", [end("c", "eth0")]),
                |e| matches!(e, NetworkError::UnknownNode { name } if name == "c"),
            ),
            (
                two()
                    .link(end("a", "eth0"), end("b", "eth0"))
                    .lan("l", [end("a", "eth1"), end("b", "eth0")]),
                |e| matches!(e, NetworkError::DuplicateInterface { node, .. } if node == "b"),
            ),
            (
                two().lan(
                    "l",
                    [
                        end("a", "eth0").address("10.0.0.1/24"),
                        end("b", "eth0").address("10.0.0.1/24"),
                    ],
                ),
                |e| matches!(e, NetworkError::ConflictingAddress { .. }),
            ),
            (two().lan("l", [end("a", "a/b")]), |e| {
                matches!(e, NetworkError::InvalidInterfaceName { .. })
            }),
            (two().sysctl("a", "kernel.hostname", "x"), |e| {
                matches!(e, NetworkError::InvalidSysctl { .. })
            }),
            (two().sysctl("a", "net..ipv4", "1"), |e| {
                matches!(e, NetworkError::InvalidSysctl { .. })
            }),
            (two().sysctl("nobody", "net.ipv4.ip_forward", "1"), |e| {
                matches!(e, NetworkError::UnknownNode { .. })
            }),
            (
                two()
                    .link(
                        end("a", "eth0").address("10.0.0.1/24"),
                        end("b", "eth0").address("10.0.0.2/24"),
                    )
                    .route("a", "default", "10.0.0.2")
                    .route("a", "0.0.0.0/0", "10.0.0.2"),
                |e| matches!(e, NetworkError::DuplicateRoute { node, .. } if node == "a"),
            ),
            (
                two()
                    .link(
                        end("a", "eth0").address("10.0.0.1/24"),
                        end("b", "eth0").address("10.0.0.2/24"),
                    )
                    .route("a", "default", "not-an-ip"),
                |e| matches!(e, NetworkError::InvalidAddress { .. }),
            ),
        ];
        for (i, (builder, expected)) in cases.into_iter().enumerate() {
            match plan(builder) {
                Err(error) => {
                    assert!(expected(&error), "case {i}: unexpected error {error:?}");
                    assert!(!error.to_string().is_empty());
                }
                Ok(_) => panic!("case {i}: no error"),
            }
        }
    }

    #[test]
    fn a_sound_description_passes() {
        let planned = plan(
            Network::builder()
                .node("a")
                .router("r")
                .link(
                    Endpoint::new("a", "eth0")
                        .address("10.0.0.1/24")
                        .address("fd00::1/64"),
                    Endpoint::new("r", "eth0")
                        .address("10.0.0.254/24")
                        .address("fd00::fe/64"),
                )
                .lan(
                    "l",
                    [
                        Endpoint::new("a", "eth1").address("10.9.0.1/24"),
                        Endpoint::new("r", "eth1").address("10.9.0.254/24"),
                    ],
                )
                .route("a", "default", "10.0.0.254")
                .route("a", "192.168.0.0/16", "10.9.0.254")
                .route("a", "::/0", "fd00::fe")
                .route("r", "0.0.0.0/0", "10.0.0.1"),
        )
        .unwrap();
        assert_eq!(planned.nodes.len(), 2);
        assert_eq!(planned.lans.len(), 1);
        assert_eq!(planned.lans[0].members.len(), 2);
        assert!(planned.nodes[1].router);
        let routes: Vec<_> = planned
            .routes
            .iter()
            .map(|r| (r.node.as_str(), r.destination.to_string(), r.prefix))
            .collect();
        assert_eq!(
            routes,
            [
                ("a", "0.0.0.0".to_owned(), 0),
                ("a", "192.168.0.0".to_owned(), 16),
                ("a", "::".to_owned(), 0),
                ("r", "0.0.0.0".to_owned(), 0),
            ]
        );
    }
}
