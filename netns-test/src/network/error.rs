//! What can go wrong describing, building or using a network.

use std::fmt;
use std::net::IpAddr;

/// What can go wrong describing, building or using a [`Network`](super::Network).
#[derive(Debug)]
#[non_exhaustive]
pub enum NetworkError {
    /// A name that no node has.
    UnknownNode {
        /// The name.
        name: String,
    },
    /// A LAN that cannot be: no members, too many, an empty name, or
    /// members with different MTUs.
    InvalidLan {
        /// The LAN's name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A name that no LAN has.
    UnknownLan {
        /// The name.
        name: String,
    },
    /// Two nodes, two LANs, or a node and a LAN with one name.
    DuplicateNode {
        /// The name.
        name: String,
    },
    /// Two interfaces with one name on one node.
    DuplicateInterface {
        /// The node.
        node: String,
        /// The interface name.
        interface: String,
    },
    /// An interface name Linux would refuse.
    InvalidInterfaceName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// An address that is not `IP/PREFIX`, or whose prefix is too long.
    InvalidAddress {
        /// The text given.
        text: String,
        /// Why.
        reason: String,
    },
    /// One address given to two interfaces.
    ConflictingAddress {
        /// The address.
        address: IpAddr,
        /// The first `node:interface` that has it.
        first: String,
        /// The second.
        second: String,
    },
    /// Two routes of one node to one destination (`default` and
    /// `0.0.0.0/0` are the same).
    DuplicateRoute {
        /// The node.
        node: String,
        /// The destination, as `IP/PREFIX`.
        destination: String,
    },
    /// A route whose gateway is on none of the node's links.
    UnreachableGateway {
        /// The node.
        node: String,
        /// The gateway.
        gateway: IpAddr,
    },
    /// An impairment value out of range.
    InvalidImpairment {
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
    /// The kernel lacks a feature the request needs.
    Unsupported {
        /// The feature.
        what: &'static str,
        /// How to get it.
        fix: &'static str,
    },
    /// A namespace could not be created or entered.
    Namespace(netns_core::Error),
    /// The kernel refused a netlink request.
    Netlink {
        /// The node whose namespace it was sent in.
        node: String,
        /// What was asked.
        what: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// A sysctl key that is not a `net.` setting of this kernel.
    InvalidSysctl {
        /// The key as given.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A `/proc/sys` setting could not be written.
    Sysctl {
        /// The node.
        node: String,
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A thread could not be started.
    Thread(std::io::Error),
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::UnknownNode { name } => {
                write!(
                    f,
                    "no node is called {name:?}; declare it with .node({name:?})"
                )
            }
            NetworkError::InvalidLan { name, reason } => {
                write!(f, "invalid LAN {name:?}: {reason}")
            }
            NetworkError::UnknownLan { name } => {
                write!(
                    f,
                    "no LAN is called {name:?}; declare it with .lan({name:?}, members)"
                )
            }
            NetworkError::DuplicateNode { name } => write!(
                f,
                "two nodes or LANs are called {name:?}; give each its own name"
            ),
            NetworkError::DuplicateInterface { node, interface } => {
                write!(f, "node {node:?} has two interfaces called {interface:?}")
            }
            NetworkError::InvalidInterfaceName { name, reason } => {
                write!(f, "invalid interface name {name:?}: {reason}")
            }
            NetworkError::InvalidAddress { text, reason } => {
                write!(
                    f,
                    "invalid address {text:?}: {reason}; write it as IP/PREFIX, e.g. 10.0.0.1/24 or fd00::1/64"
                )
            }
            NetworkError::ConflictingAddress {
                address,
                first,
                second,
            } => {
                write!(f, "address {address} is given to both {first} and {second}")
            }
            NetworkError::DuplicateRoute { node, destination } => write!(
                f,
                "node {node:?} has two routes to {destination}; give each destination one"
            ),
            NetworkError::UnreachableGateway { node, gateway } => write!(
                f,
                "node {node:?} cannot reach gateway {gateway}: it is in none of the node's \
                 subnets; give the node an address in the gateway's subnet"
            ),
            NetworkError::InvalidImpairment {
                what,
                value,
                reason,
            } => {
                write!(f, "invalid netem {what} {value}: {reason}")
            }
            NetworkError::Unsupported { what, fix } => write!(f, "{what} is unsupported: {fix}"),
            NetworkError::Namespace(error) => write!(f, "{error}"),
            NetworkError::Netlink { node, what, source } => {
                write!(f, "node {node:?}: netlink: {what}: {source}")
            }
            NetworkError::InvalidSysctl { key, reason } => {
                write!(
                    f,
                    "invalid sysctl {key:?}: {reason}; write it as `sysctl` does, e.g. net.ipv4.ip_forward"
                )
            }
            NetworkError::Sysctl { node, path, source } => {
                write!(f, "node {node:?}: write {path}: {source}")
            }
            NetworkError::Thread(source) => write!(f, "cannot start a thread: {source}"),
        }
    }
}

/// Every message includes its cause (a namespace error, the netlink or
/// sysctl error), so there is no further source to walk to: a reporter that
/// walks the chain says each fact once.
impl std::error::Error for NetworkError {}

impl From<netns_core::Error> for NetworkError {
    fn from(error: netns_core::Error) -> NetworkError {
        NetworkError::Namespace(error)
    }
}

/// `impair` where the kernel has no netem and more than a rate is asked for.
pub(super) const NO_NETEM: NetworkError = NetworkError::Unsupported {
    what: "netem",
    fix: "this kernel has no netem queueing discipline, needed for delay, jitter, loss, \
          duplication and reordering: build it with CONFIG_NET_SCH_NETEM or load it with \
          `modprobe sch_netem` (a rate limit alone works without it)",
};

/// `impair` where the kernel has neither netem nor tbf.
pub(super) const NO_TBF: NetworkError = NetworkError::Unsupported {
    what: "a rate limit",
    fix: "this kernel has neither the netem nor the tbf queueing discipline: build it with \
          CONFIG_NET_SCH_NETEM or CONFIG_NET_SCH_TBF",
};
