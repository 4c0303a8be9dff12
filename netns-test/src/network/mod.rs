//! Test networks: several namespaces joined by veth links and LANs, with
//! addresses and routes, configured over netlink.
//!
//! ```no_run
//! use netns_test::network::Network;
//! use std::io::{Read, Write};
//!
//! // Two hosts, "client" 10.0.0.1 and "server" 10.0.0.2, on one link.
//! let net = Network::pair()?;
//! let listener = net.node("server")?.run(|| std::net::TcpListener::bind("10.0.0.2:80"))??;
//! let server = std::thread::spawn(move || listener.accept().map(|(mut s, _)| s.write_all(b"hi")));
//! let mut stream = net.node("client")?.run(|| std::net::TcpStream::connect("10.0.0.2:80"))??;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer)?;
//! assert_eq!(answer, "hi");
//! server.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every node is a network namespace of its own, with `lo` up (but for a
//! test's own namespace with `loopback = false`); links are veth pairs; a
//! LAN ([`NetworkBuilder::lan`]) is a bridge in a namespace of its own with
//! a veth port per member. Everything is made with netlink messages (no
//! `ip` binary), so it works the same as root and inside the user
//! namespace `netns-test`
//! enters for unprivileged test processes. Dropping the [`Network`] closes
//! every namespace, which takes the links with them — whether the test
//! passed or panicked — once no thread, process or socket still uses them.

mod build;
mod error;
mod netem;
mod netlink;
mod node;
mod spec;
pub mod uplink;
mod wiring;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use self::error::NetworkError;
use self::error::{NO_NETEM, NO_TBF};
pub use self::netem::Netem;
use self::netlink::Rtnl;
pub(crate) use self::node::sysctl_path;
pub use self::node::{Interface, Node};
pub use self::spec::{Endpoint, NetworkBuilder};
pub(crate) use self::wiring::Wiring;

/// A set of named nodes (network namespaces) joined by veth links and LANs.
///
/// Make one with [`Network::builder`], or [`Network::pair`] for the common
/// two-host case.
#[derive(Debug)]
pub struct Network {
    nodes: Vec<Node>,
    /// The namespaces of the LANs' bridges, named as the LANs.
    switches: Vec<Node>,
    /// Every veth pair made.
    links: Arc<[Cable]>,
    /// The routes the description asked for, put back by `link_up`.
    routes: Vec<spec::RouteSpec>,
    /// What `impair` set and `clear_impairment` has not cleared, by (node,
    /// interface), for the failure snapshot.
    impaired: Impairments,
}

/// What is impaired, by (node, interface), in `tc`'s words.
type Impairments = Arc<Mutex<Vec<((String, String), String)>>>;

/// The two ends of a veth pair, as (node, interface): a link's, or a LAN
/// member's and (LAN, port) for its switch port.
#[derive(Debug, Clone)]
struct Cable {
    a: (String, String),
    b: (String, String),
    /// `b` is a LAN switch's port.
    to_port: bool,
}

impl Network {
    /// Starts describing a network; see [`NetworkBuilder`].
    pub fn builder() -> NetworkBuilder {
        NetworkBuilder::default()
    }

    /// Two hosts on one link: node `client` with `eth0` at 10.0.0.1/24 and
    /// fd00::1/64, node `server` with `eth0` at 10.0.0.2/24 and fd00::2/64.
    ///
    /// # Errors
    ///
    /// As [`NetworkBuilder::build`].
    pub fn pair() -> Result<Network, NetworkError> {
        Network::builder()
            .node("client")
            .node("server")
            .link(
                Endpoint::new("client", "eth0")
                    .address("10.0.0.1/24")
                    .address("fd00::1/64"),
                Endpoint::new("server", "eth0")
                    .address("10.0.0.2/24")
                    .address("fd00::2/64"),
            )
            .build()
    }

    /// The node called `name`.
    ///
    /// # Errors
    ///
    /// [`NetworkError::UnknownNode`] if there is none.
    pub fn node(&self, name: &str) -> Result<&Node, NetworkError> {
        self.nodes
            .iter()
            .find(|node| node.name == name)
            .ok_or_else(|| NetworkError::UnknownNode {
                name: name.to_owned(),
            })
    }

    /// The switch of LAN `name` (see [`NetworkBuilder::lan`]): a namespace
    /// with bridge `br0` and, for the `n`th member (from 0), port `port{n}` (`port0`, `port1`, ...).
    /// To watch a LAN's traffic, say.
    ///
    /// # Errors
    ///
    /// [`NetworkError::UnknownLan`] if there is none.
    pub fn lan(&self, name: &str) -> Result<&Node, NetworkError> {
        self.switches
            .iter()
            .find(|switch| switch.name == name)
            .ok_or_else(|| NetworkError::UnknownLan {
                name: name.to_owned(),
            })
    }

    /// The LANs' switches, in the order the LANs were declared.
    pub(crate) fn switches(&self) -> impl Iterator<Item = &Node> {
        self.switches.iter()
    }

    /// The nodes, in the order they were declared.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter()
    }

    /// Takes interface `interface` of node `node` down: a cut cable. Routes
    /// through it disappear, and traffic over it fails.
    ///
    /// # Errors
    ///
    /// [`NetworkError::UnknownNode`];
    /// [`NetworkError::InvalidInterfaceName`] for a name Linux would refuse
    /// (empty, too long, with `/`, `:`, white space or a NUL byte);
    /// [`NetworkError::Netlink`] if there is no such interface or the kernel
    /// refuses.
    pub fn link_down(&self, node: &str, interface: &str) -> Result<(), NetworkError> {
        self.node(node)?.set_up(interface, false)
    }

    /// Brings interface `interface` of node `node` back up: its IPv4 and
    /// IPv6 addresses, its connected routes and the routes the description
    /// gave `node` come back (the kernel drops routes through an interface
    /// that goes down, and IPv6 addresses too unless `keep_addr_on_down` is
    /// set, which it is on every node). A route of the description through
    /// another link of `node` that is still down comes back with that link.
    ///
    /// # Errors
    ///
    /// As [`link_down`](Network::link_down).
    pub fn link_up(&self, node: &str, interface: &str) -> Result<(), NetworkError> {
        self.node(node)?.set_up(interface, true)?;
        // The other end lost its carrier with this one; it runs again a
        // moment after this end is up (see `Rtnl::wait_running`).
        let this = (node.to_owned(), interface.to_owned());
        let peer = self.links.iter().find_map(|cable| {
            if cable.a == this {
                Some((&cable.b, cable.to_port))
            } else if cable.b == this {
                Some((&cable.a, false))
            } else {
                None
            }
        });
        if let Some(((peer_node, peer_interface), port)) = peer {
            let peer = if port {
                self.lan(peer_node)?
            } else {
                self.node(peer_node)?
            };
            peer.rtnl()
                .wait_running(peer_interface, port, RUNNING_PATIENCE)
                .map_err(|e| peer.netlink(format!("wait for {peer_interface} to run"), e))?;
        }
        let this = self.node(node)?;
        for route in self.routes.iter().filter(|route| route.node == node) {
            match this.add_route(route, true) {
                // Through another link of the node that is still down: it
                // comes back with that link.
                Err(NetworkError::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::ENETUNREACH) => {}
                result => result?,
            }
        }
        Ok(())
    }

    /// Impairs the traffic that leaves `interface` of `node` with `netem`:
    /// delay, jitter, loss, duplication, reordering, a rate limit. It
    /// replaces any impairment set before;
    /// [`clear_impairment`](Network::clear_impairment) removes it.
    ///
    /// Where the kernel has no netem, a rate limit alone is set with the
    /// token-bucket filter `tbf` instead (see [`Netem::rate`]); anything
    /// else is [`NetworkError::Unsupported`].
    ///
    /// # Errors
    ///
    /// [`NetworkError::InvalidImpairment`] for a value out of range;
    /// [`NetworkError::Unsupported`] if the kernel has no netem (it answers
    /// `ENOENT` for an unknown queueing discipline) and more than a rate
    /// limit is asked for (`what: "netem"`), or has neither netem nor tbf
    /// (`what: "a rate limit"`);
    /// [`NetworkError::UnknownNode`] and [`NetworkError::Netlink`] as for
    /// [`link_down`](Network::link_down).
    pub fn impair(&self, node: &str, interface: &str, netem: &Netem) -> Result<(), NetworkError> {
        let options = netem.options()?;
        // The kernel's answer for a queueing discipline it does not have.
        let missing = |error: &std::io::Error| error.raw_os_error() == Some(libc::ENOENT);
        // The qdisc set, or why none could be.
        let set = self
            .node(node)?
            .on_interface(interface, "impair", |rtnl, index| {
                match rtnl.set_qdisc(index, "netem", options) {
                    Err(error) if missing(&error) => {}
                    result => return result.map(|()| Ok("netem")),
                }
                let Some(rate) = netem.rate_only() else {
                    return Ok(Err(NO_NETEM));
                };
                let mtu = rtnl.link(interface)?.mtu.unwrap_or(DEFAULT_MTU);
                match rtnl.set_qdisc(index, "tbf", netem::tbf_options(rate, mtu)) {
                    Err(error) if missing(&error) => Ok(Err(NO_TBF)),
                    result => result.map(|()| Ok("tbf")),
                }
            })?;
        let qdisc = set?;
        self.note_impairment(
            node,
            interface,
            Some(format!("{qdisc} {}", netem.describe())),
        );
        Ok(())
    }

    /// Records (or with `None`, forgets) the impairment of an interface.
    fn note_impairment(&self, node: &str, interface: &str, what: Option<String>) {
        let key = (node.to_owned(), interface.to_owned());
        // A poisoned lock only means a panic elsewhere; the list is intact.
        let mut impaired = self.impaired.lock().unwrap_or_else(|e| e.into_inner());
        impaired.retain(|(at, _)| *at != key);
        impaired.extend(what.map(|what| (key, what)));
    }

    /// How the network is wired, for the failure snapshot (which reads no
    /// netlink): it sees impairments set after this call too.
    pub(crate) fn wiring(&self) -> Wiring {
        Wiring {
            links: Arc::clone(&self.links),
            impaired: Arc::clone(&self.impaired),
        }
    }
}

impl Network {
    /// Removes the impairment [`impair`](Network::impair) set on
    /// `interface` of `node`.
    ///
    /// # Errors
    ///
    /// As [`link_down`](Network::link_down); `ENOENT` from the kernel if
    /// there was none.
    pub fn clear_impairment(&self, node: &str, interface: &str) -> Result<(), NetworkError> {
        self.node(node)?
            .on_interface(interface, "clear the impairment on", Rtnl::clear_qdisc)?;
        self.note_impairment(node, interface, None);
        Ok(())
    }

    /// The current state of interface `interface` of node `node`.
    ///
    /// # Errors
    ///
    /// As [`link_down`](Network::link_down).
    pub fn interface(&self, node: &str, interface: &str) -> Result<Interface, NetworkError> {
        spec::check_interface_name(interface)?;
        let node = self.node(node)?;
        node.interfaces()?
            .into_iter()
            .find(|found| found.name == interface)
            .ok_or_else(|| {
                let missing = std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no interface {interface}"),
                );
                node.netlink(format!("read interface {interface}"), missing)
            })
    }
}

/// The MTU of an interface that reports none (veth's default).
const DEFAULT_MTU: u32 = 1500;

/// How long a link that was set up may take to be running.
const RUNNING_PATIENCE: Duration = Duration::from_secs(10);

/// The interface index of the first link's first end; the others follow.
/// Far above the indexes of the interfaces a namespace starts with.
const FIRST_INDEX: u32 = 1000;
