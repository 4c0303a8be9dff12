//! Building a network from its checked description: namespaces, veth
//! pairs, LANs, addresses and routes, over netlink.

use std::os::fd::AsFd;
use std::sync::Arc;

use netns_core::NetNs;

use super::{Cable, FIRST_INDEX, Network, NetworkError, Node, RUNNING_PATIENCE, spec};
use crate::settings;

/// Builds the network a validated plan describes; the node called
/// `adopted.0`, if any, is the namespace `adopted.1` instead of a new one.
pub(super) fn build(
    plan: spec::Plan,
    adopted: Option<(&str, NetNs)>,
) -> Result<Network, NetworkError> {
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
        links: Arc::from([]),
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
    network.links = cables.into();
    for (node, key, value) in &plan.sysctls {
        network.node(node)?.sysctl(key, value)?;
    }
    network.routes = plan.routes;
    for route in &network.routes {
        network.node(&route.node)?.add_route(route, false)?;
    }
    Ok(network)
}

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
