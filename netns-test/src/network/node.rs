//! One namespace of a network: a node or a LAN's switch, and what its
//! interfaces look like.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use netns_core::NetNs;

use super::netlink::{self, Rtnl};
use super::{NetworkError, RUNNING_PATIENCE, spec};

/// One host of a [`Network`](super::Network) (a network namespace with `lo` up, unless it
/// is a test's own with `loopback = false`), or a LAN's switch
/// ([`Network::lan`](super::Network::lan)).
pub struct Node {
    pub(super) name: String,
    pub(super) ns: NetNs,
    pub(super) rtnl: Mutex<Rtnl>,
}

/// What an interface of a node looks like now (see [`Network::interface`](super::Network::interface)
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

impl Node {
    /// A node called `name` in `ns`, with a netlink socket there, after
    /// `configure` has run inside it.
    pub(super) fn open(
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

    pub(super) fn sysctl_error(
        &self,
        key: &str,
        path: &str,
        source: std::io::Error,
    ) -> NetworkError {
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

    pub(super) fn rtnl(&self) -> std::sync::MutexGuard<'_, Rtnl> {
        self.rtnl.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `request` with the index of `interface`; errors name `what`.
    pub(super) fn on_interface<T>(
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

    pub(super) fn set_up(&self, interface: &str, up: bool) -> Result<(), NetworkError> {
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
    pub(super) fn add_route(
        &self,
        route: &spec::RouteSpec,
        again: bool,
    ) -> Result<(), NetworkError> {
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

    pub(super) fn netlink(&self, what: String, source: std::io::Error) -> NetworkError {
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
