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

mod netem;
mod netlink;
mod spec;
pub mod uplink;

use std::fmt;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use netns_core::NetNs;

use crate::settings;

pub use self::netem::Netem;
use self::netlink::Rtnl;
pub use self::spec::{Endpoint, NetworkBuilder};

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
    links: Vec<Cable>,
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

/// One host of a [`Network`] (a network namespace with `lo` up, unless it
/// is a test's own with `loopback = false`), or a LAN's switch
/// ([`Network::lan`]).
pub struct Node {
    name: String,
    ns: NetNs,
    rtnl: Mutex<Rtnl>,
}

/// What an interface of a node looks like now (see [`Network::interface`]
/// and [`Node::interfaces`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interface {
    /// The interface's index in its namespace.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Its hardware address (six bytes for Ethernet, none for some kinds).
    pub mac: Option<Vec<u8>>,
    /// Its MTU.
    pub mtu: Option<u32>,
    /// Whether it is administratively up.
    pub up: bool,
    /// Whether it has a carrier (for a veth: its other end is up too).
    pub carrier: bool,
    /// Its IPv4 and IPv6 addresses with their prefix lengths, the kernel's
    /// own (IPv6 link-local) included.
    pub addresses: Vec<(IpAddr, u8)>,
}

impl From<netlink::LinkState> for Interface {
    fn from(link: netlink::LinkState) -> Interface {
        Interface {
            index: link.index,
            name: link.name,
            mac: link.mac,
            mtu: link.mtu,
            up: link.up,
            carrier: link.carrier,
            addresses: link.addresses,
        }
    }
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
            links: self.links.clone(),
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

impl Node {
    /// A node called `name` in `ns`, with a netlink socket there, after
    /// `configure` has run inside it.
    fn open(
        name: &str,
        ns: NetNs,
        configure: impl FnOnce() -> Result<(), (String, std::io::Error)> + Send,
    ) -> Result<Node, NetworkError> {
        let (rtnl, configured) = ns
            .run(|| (Rtnl::open(), configure()))
            .map_err(NetworkError::Namespace)?;
        let rtnl = rtnl.map_err(|source| NetworkError::Netlink {
            node: name.to_owned(),
            what: "open a netlink socket".into(),
            source,
        })?;
        configured.map_err(|(path, source)| NetworkError::Sysctl {
            node: name.to_owned(),
            path,
            source,
        })?;
        Ok(Node {
            name: name.to_owned(),
            ns,
            rtnl: Mutex::new(rtnl),
        })
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's network namespace.
    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// Runs `f` in this node's namespace and returns its value (a panic in
    /// `f` resumes here); see [`NetNs::run`].
    ///
    /// # Errors
    ///
    /// [`NetworkError::Namespace`] if the namespace cannot be entered.
    pub fn run<F, T>(&self, f: F) -> Result<T, NetworkError>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.ns.run(f).map_err(NetworkError::Namespace)
    }

    /// Starts `f` on a thread of its own in this node's namespace, e.g. a
    /// server that outlives the call; join the handle to collect it. While
    /// it runs it keeps the namespace alive.
    ///
    /// # Errors
    ///
    /// [`NetworkError::Namespace`] if the namespace cannot be entered;
    /// [`NetworkError::Thread`] if the thread cannot be started.
    pub fn spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, NetworkError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = format!(
            "{}-{}",
            std::thread::current().name().unwrap_or("netns"),
            self.name
        );
        // Started from inside the namespace, the thread inherits it.
        self.run(|| std::thread::Builder::new().name(name).spawn(f))?
            .map_err(NetworkError::Thread)
    }

    /// Runs `future` to completion on a tokio runtime built inside this
    /// node's namespace (every thread of it, blocking pool included, is in
    /// the namespace).
    ///
    /// # Errors
    ///
    /// [`NetworkError::Namespace`] if the namespace cannot be entered.
    #[cfg(feature = "tokio")]
    pub fn block_on<F>(&self, future: F) -> Result<F::Output, NetworkError>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let flavor = crate::runtime::Flavor::CurrentThread;
        self.run(|| crate::runtime::block_on(&self.ns, flavor, future))
    }

    /// Every interface of the node (`lo` first), with its state and addresses.
    ///
    /// # Errors
    ///
    /// [`NetworkError::Netlink`] if the kernel refuses the dump.
    pub fn interfaces(&self) -> Result<Vec<Interface>, NetworkError> {
        let links = self
            .rtnl()
            .interfaces()
            .map_err(|e| self.netlink("list interfaces".into(), e))?;
        Ok(links.into_iter().map(Interface::from).collect())
    }

    /// Sets the `net.` sysctl `key` (dotted, as `sysctl` writes it:
    /// `net.ipv4.ip_forward`, `net.ipv6.conf.eth0.accept_ra`) to `value` in
    /// this node's namespace.
    ///
    /// # Errors
    ///
    /// [`NetworkError::InvalidSysctl`] for a key outside `net.`, a malformed
    /// one, or one this kernel does not have; [`NetworkError::Sysctl`] if
    /// the kernel refuses the value.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<(), NetworkError> {
        let path = sysctl_path(key)?;
        self.run(|| std::fs::write(&path, value))?
            .map_err(|source| self.sysctl_error(key, &path, source))
    }

    /// Reads the `net.` sysctl `key` in this node's namespace (trimmed).
    ///
    /// # Errors
    ///
    /// As [`sysctl`](Node::sysctl).
    pub fn read_sysctl(&self, key: &str) -> Result<String, NetworkError> {
        let path = sysctl_path(key)?;
        self.run(|| std::fs::read_to_string(&path))?
            .map(|value| value.trim().to_owned())
            .map_err(|source| self.sysctl_error(key, &path, source))
    }

    fn sysctl_error(&self, key: &str, path: &str, source: std::io::Error) -> NetworkError {
        if source.kind() == std::io::ErrorKind::NotFound {
            return NetworkError::InvalidSysctl {
                key: key.to_owned(),
                reason: "this kernel has no such setting (or no such interface)",
            };
        }
        NetworkError::Sysctl {
            node: self.name.clone(),
            path: path.to_owned(),
            source,
        }
    }

    fn rtnl(&self) -> std::sync::MutexGuard<'_, Rtnl> {
        self.rtnl.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `request` with the index of `interface`; errors name `what`.
    fn on_interface<T>(
        &self,
        interface: &str,
        what: &str,
        request: impl FnOnce(&mut Rtnl, u32) -> std::io::Result<T>,
    ) -> Result<T, NetworkError> {
        spec::check_interface_name(interface)?;
        let mut rtnl = self.rtnl();
        rtnl.link(interface)
            .and_then(|link| request(&mut rtnl, link.index))
            .map_err(|e| self.netlink(format!("{what} {interface}"), e))
    }

    fn set_up(&self, interface: &str, up: bool) -> Result<(), NetworkError> {
        let what = if up { "set up" } else { "set down" };
        self.on_interface(interface, what, |rtnl, index| {
            rtnl.set_up(index, up)?;
            if up {
                rtnl.wait_running(interface, false, RUNNING_PATIENCE)?;
            }
            Ok(())
        })
    }

    /// Adds a route of the description, or (`again`) puts it back,
    /// replacing one the kernel kept.
    fn add_route(&self, route: &spec::RouteSpec, again: bool) -> Result<(), NetworkError> {
        self.rtnl()
            .add_route(route.destination, route.prefix, route.gateway, again)
            .map_err(|e| {
                let what = format!(
                    "add route {}/{} via {}",
                    route.destination, route.prefix, route.gateway
                );
                self.netlink(what, e)
            })
    }

    fn netlink(&self, what: String, source: std::io::Error) -> NetworkError {
        NetworkError::Netlink {
            node: self.name.clone(),
            what,
            source,
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("ns", &self.ns)
            .finish()
    }
}

/// Builds the network a validated plan describes; the node called
/// `adopted.0`, if any, is the namespace `adopted.1` instead of a new one.
fn build(plan: spec::Plan, adopted: Option<(&str, NetNs)>) -> Result<Network, NetworkError> {
    settings::note_inheritance();
    if let Some((name, _)) = &adopted {
        if !plan.nodes.iter().any(|node| node.name == *name) {
            return Err(NetworkError::UnknownNode {
                name: (*name).to_owned(),
            });
        }
    }
    let mut adopted = adopted;
    let mut nodes = Vec::with_capacity(plan.nodes.len());
    for spec in &plan.nodes {
        let ns = match adopted.take_if(|(name, _)| *name == spec.name) {
            Some((_, ns)) => ns,
            None => crate::create::create(true).map_err(NetworkError::Namespace)?,
        };
        let router = spec.router;
        nodes.push(Node::open(&spec.name, ns, || configure(router))?);
    }
    let mut switches = Vec::with_capacity(plan.lans.len());
    for lan in &plan.lans {
        let ns = crate::create::create(false).map_err(NetworkError::Namespace)?;
        switches.push(Node::open(&lan.name, ns, configure_switch)?);
    }
    let mut network = Network {
        nodes,
        switches,
        links: Vec::new(),
        routes: Vec::new(),
        impaired: Arc::default(),
    };

    // Every interface made gets an index of its own (see `Rtnl::add_veth`).
    let mut next_index = FIRST_INDEX;
    let mut ends = Vec::new();
    let mut cables = Vec::new();
    for (a, b) in &plan.links {
        let (node_a, node_b) = (network.node(&a.node)?, network.node(&b.node)?);
        let what = || format!("create veth {} <-> {}:{}", a.interface, b.node, b.interface);
        node_a
            .rtnl()
            .add_veth(
                (&a.interface, a.mtu),
                (&b.interface, b.mtu),
                node_b.ns.as_fd(),
                next_index,
            )
            .map_err(|e| node_a.netlink(what(), e))?;
        ends.extend([(a, next_index), (b, next_index + 1)]);
        cables.push(Cable {
            a: (a.node.clone(), a.interface.clone()),
            b: (b.node.clone(), b.interface.clone()),
            to_port: false,
        });
        next_index += 2;
    }
    for (lan, switch) in plan.lans.iter().zip(&network.switches) {
        let bridge = next_index;
        next_index += 1;
        let mut rtnl = switch.rtnl();
        rtnl.add_bridge("br0", bridge)
            .and_then(|()| rtnl.set_up(bridge, true))
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EOPNOTSUPP) => NetworkError::Unsupported {
                    what: "a LAN",
                    fix: "this kernel has no Ethernet bridge: build it with CONFIG_BRIDGE or \
                          load it with `modprobe bridge`",
                },
                _ => switch.netlink("create bridge br0".into(), e),
            })?;
        for (n, member) in lan.members.iter().enumerate() {
            let port = format!("port{n}");
            let what = || {
                format!(
                    "create veth {port} <-> {}:{}",
                    member.node, member.interface
                )
            };
            rtnl.add_veth(
                (&port, member.mtu),
                (&member.interface, member.mtu),
                network.node(&member.node)?.ns.as_fd(),
                next_index,
            )
            .and_then(|()| rtnl.set_controller(next_index, bridge))
            .and_then(|()| rtnl.set_up(next_index, true))
            .map_err(|e| switch.netlink(what(), e))?;
            ends.push((member, next_index + 1));
            cables.push(Cable {
                a: (member.node.clone(), member.interface.clone()),
                b: (lan.name.clone(), port),
                to_port: true,
            });
            next_index += 2;
        }
    }
    for &(end, index) in &ends {
        let node = network.node(&end.node)?;
        let mut rtnl = node.rtnl();
        for &(address, prefix) in &end.addresses {
            rtnl.add_address(index, address, prefix).map_err(|e| {
                node.netlink(format!("add {address}/{prefix} to {}", end.interface), e)
            })?;
        }
        rtnl.set_up(index, true)
            .map_err(|e| node.netlink(format!("set {} up", end.interface), e))?;
    }
    for &(end, index) in &ends {
        let node = network.node(&end.node)?;
        let mut rtnl = node.rtnl();
        let wait = || format!("wait for {} to run", end.interface);
        rtnl.wait_running(&end.interface, false, RUNNING_PATIENCE)
            .map_err(|e| node.netlink(wait(), e))?;
        if end.addresses.iter().any(|(address, _)| address.is_ipv6()) {
            rtnl.wait_addresses(index, RUNNING_PATIENCE)
                .map_err(|e| node.netlink(wait(), e))?;
        }
    }
    for (lan, port) in cables.iter().filter(|cable| cable.to_port).map(|c| &c.b) {
        let switch = network.lan(lan)?;
        switch
            .rtnl()
            .wait_running(port, true, RUNNING_PATIENCE)
            .map_err(|e| switch.netlink(format!("wait for {port} to forward"), e))?;
    }
    network.links = cables;
    for (node, key, value) in &plan.sysctls {
        network.node(node)?.sysctl(key, value)?;
    }
    network.routes = plan.routes;
    for route in &network.routes {
        network.node(&route.node)?.add_route(route, false)?;
    }
    Ok(network)
}

/// The `/proc/sys` file of a dotted `net.` sysctl key. As with `sysctl`,
/// `.` separates the parts and `/` stands for a `.` inside one (an
/// interface called `eth0.5` is `net.ipv4.conf.eth0/5.forwarding`).
pub(crate) fn sysctl_path(key: &str) -> Result<String, NetworkError> {
    let invalid = |reason| NetworkError::InvalidSysctl {
        key: key.to_owned(),
        reason,
    };
    let Some(rest) = key.strip_prefix("net.") else {
        return Err(invalid("only `net.` settings belong to a node's namespace"));
    };
    if key.contains('\0') || key.chars().any(char::is_whitespace) {
        return Err(invalid("it contains white space or a NUL byte"));
    }
    // `/` stands for `.` only inside a part; a part that becomes `.` or `..`
    // would climb out of /proc/sys/net.
    let parts: Vec<String> = rest.split('.').map(|part| part.replace('/', ".")).collect();
    if parts
        .iter()
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(invalid("it has an empty part, or one that is `.` or `..`"));
    }
    Ok(format!("/proc/sys/net/{}", parts.join("/")))
}

/// `impair` where the kernel has no netem and more than a rate is asked for.
const NO_NETEM: NetworkError = NetworkError::Unsupported {
    what: "netem",
    fix: "this kernel has no netem queueing discipline, needed for delay, jitter, loss, \
          duplication and reordering: build it with CONFIG_NET_SCH_NETEM or load it with \
          `modprobe sch_netem` (a rate limit alone works without it)",
};

/// `impair` where the kernel has neither netem nor tbf.
const NO_TBF: NetworkError = NetworkError::Unsupported {
    what: "a rate limit",
    fix: "this kernel has neither the netem nor the tbf queueing discipline: build it with \
          CONFIG_NET_SCH_NETEM or CONFIG_NET_SCH_TBF",
};

/// The MTU of an interface that reports none (veth's default).
const DEFAULT_MTU: u32 = 1500;

/// How long a link that was set up may take to be running.
const RUNNING_PATIENCE: Duration = Duration::from_secs(10);

/// The interface index of the first link's first end; the others follow.
/// Far above the indexes of the interfaces a namespace starts with.
const FIRST_INDEX: u32 = 1000;

/// Sets up the calling thread's namespace (`/proc/sys/net` shows the
/// namespace of the thread that opens it): the kernel's defaults instead
/// of the host's (see `settings`); IPv6 addresses kept while an interface
/// is down, as IPv4 ones are; no IPv6 duplicate address detection on
/// interfaces made from now on, so that their link-local addresses are
/// usable at once and neighbour discovery works from the first packet
/// (tests must not wait a second for it); and, on a router, IPv4 and IPv6
/// forwarding. A kernel without IPv6 has no such files; that is fine.
fn configure(router: bool) -> Result<(), (String, std::io::Error)> {
    settings::reset()?;
    settings::write(&["/proc/sys/net/ipv6/conf/default/accept_dad"], "0")?;
    let keep = [
        "/proc/sys/net/ipv6/conf/all/keep_addr_on_down",
        "/proc/sys/net/ipv6/conf/default/keep_addr_on_down",
    ];
    settings::write(&keep, "1")?;
    if router {
        let forwarding = [
            "/proc/sys/net/ipv4/ip_forward",
            "/proc/sys/net/ipv6/conf/all/forwarding",
        ];
        settings::write(&forwarding, "1")?;
    }
    Ok(())
}

/// Sets up a LAN switch's namespace: its bridge and ports carry frames and
/// take no part in them, so no IPv6 on them (no link-local addresses, no
/// neighbour discovery or MLD of their own on the LAN).
///
/// Where the host has loaded `br_netfilter`, bridged frames would also pass
/// this namespace's iptables hooks: a switch does not filter, so they are
/// turned off.
fn configure_switch() -> Result<(), (String, std::io::Error)> {
    let off = [
        "/proc/sys/net/ipv6/conf/all/disable_ipv6",
        "/proc/sys/net/ipv6/conf/default/disable_ipv6",
    ];
    settings::write(&off, "1")?;
    let hooks = [
        "/proc/sys/net/bridge/bridge-nf-call-iptables",
        "/proc/sys/net/bridge/bridge-nf-call-ip6tables",
        "/proc/sys/net/bridge/bridge-nf-call-arptables",
    ];
    settings::write(&hooks, "0")
}

/// What can go wrong describing, building or using a [`Network`].
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

/// A network's veth pairs and the impairments of their ends; see
/// [`Network::wiring`].
#[derive(Debug, Clone)]
pub(crate) struct Wiring {
    links: Vec<Cable>,
    impaired: Impairments,
}

impl Wiring {
    /// A line per veth pair, with any impairment of its ends.
    pub(crate) fn lines(&self) -> Vec<String> {
        let impaired = self.impaired.lock().unwrap_or_else(|e| e.into_inner());
        let note = |end: &(String, String)| {
            impaired
                .iter()
                .find(|(at, _)| at == end)
                .map(|(_, what)| format!(" [{} {}: {what}]", end.0, end.1))
                .unwrap_or_default()
        };
        self.links
            .iter()
            .map(|cable| {
                let lan = if cable.to_port { "LAN " } else { "" };
                format!(
                    "{} {} <-> {lan}{} {}{}{}",
                    cable.a.0,
                    cable.a.1,
                    cable.b.0,
                    cable.b.1,
                    note(&cable.a),
                    note(&cable.b)
                )
            })
            .collect()
    }
}
