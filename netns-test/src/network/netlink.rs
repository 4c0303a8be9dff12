//! A small synchronous rtnetlink client: the few requests a test network needs.
//!
//! A netlink socket belongs to the network namespace of the thread that
//! opened it, for its whole life, whichever thread uses it later; so each
//! node opens one (inside `NetNs::run`) and keeps it. Requests are built with
//! `netlink-packet-route`'s types and sent with `netlink-sys`'s plain socket:
//! no async runtime is needed for a handful of requests that each get one
//! acknowledgement.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{
    BridgePortState, InfoBridge, InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoVeth,
    LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcMessage};
use netlink_packet_route::{AddressFamily, IpProtocol, RouteNetlinkMessage};

/// `TCA_OPTIONS` from `<linux/rtnetlink.h>`.
const TCA_OPTIONS: u16 = 2;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// How long to wait for the kernel's answer to one request.
const ANSWER_PATIENCE: Duration = Duration::from_secs(30);

/// What [`Rtnl::interfaces`] reports of one interface.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) mac: Option<Vec<u8>>,
    pub(crate) mtu: Option<u32>,
    pub(crate) up: bool,
    pub(crate) carrier: bool,
    /// Operationally up (`IFF_RUNNING`).
    pub(crate) running: bool,
    /// A bridge port in the forwarding state.
    pub(crate) forwarding: bool,
    pub(crate) addresses: Vec<(IpAddr, u8)>,
}

impl LinkState {
    fn of(link: &LinkMessage) -> LinkState {
        let mut state = LinkState {
            index: link.header.index,
            name: String::new(),
            mac: None,
            mtu: None,
            up: link.header.flags.contains(LinkFlags::Up),
            carrier: link.header.flags.contains(LinkFlags::LowerUp),
            running: link.header.flags.contains(LinkFlags::Running),
            forwarding: false,
            addresses: Vec::new(),
        };
        for attribute in &link.attributes {
            match attribute {
                LinkAttribute::IfName(name) => state.name.clone_from(name),
                LinkAttribute::Address(mac) => state.mac = Some(mac.clone()),
                LinkAttribute::Mtu(mtu) => state.mtu = Some(*mtu),
                LinkAttribute::LinkInfo(infos) => {
                    state.forwarding = infos.iter().any(|info| {
                        matches!(info, LinkInfo::PortData(InfoPortData::BridgePort(port))
                            if port.contains(&InfoBridgePort::State(BridgePortState::Forwarding)))
                    });
                }
                _ => {}
            }
        }
        state
    }
}

/// An rtnetlink socket in one network namespace.
#[derive(Debug)]
pub(crate) struct Rtnl {
    socket: Socket,
    sequence: u32,
}

impl Rtnl {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Rtnl> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // The kernel answers every request at once; a bound all the same, so
        // that nothing can wait for ever.
        let timeout = libc::timeval {
            tv_sec: ANSWER_PATIENCE.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: SO_RCVTIMEO reads one timeval, which lives on our stack
        // for the whole call; the socket is ours.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Rtnl {
            socket,
            sequence: 0,
        })
    }

    /// Creates a veth pair: `name` here, `peer` in the namespace behind
    /// `peer_ns`, with interface indexes `index` and `index + 1`.
    ///
    /// Why choose indexes: left to itself, the kernel gives the first
    /// interface of every new namespace index 2, so both ends of a link
    /// would have it, and then the kernel takes the pair's carrier change
    /// for a non-urgent event (`linkwatch_urgent_event` looks for a peer
    /// index that differs) and delays it up to a second, during which IPv6
    /// on the link is not ready. Indexes that differ make it immediate.
    pub(crate) fn add_veth(
        &mut self,
        (name, mtu): (&str, Option<u32>),
        (peer, peer_mtu): (&str, Option<u32>),
        peer_ns: BorrowedFd<'_>,
        index: u32,
    ) -> io::Result<()> {
        let mut peer_link = LinkMessage::default();
        peer_link.header.index = index + 1;
        peer_link
            .attributes
            .push(LinkAttribute::IfName(peer.to_owned()));
        peer_link
            .attributes
            .push(LinkAttribute::NetNsFd(peer_ns.as_raw_fd()));
        peer_link
            .attributes
            .extend(peer_mtu.map(LinkAttribute::Mtu));
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::IfName(name.to_owned()));
        link.attributes.extend(mtu.map(LinkAttribute::Mtu));
        link.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_link))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates bridge `name` with interface index `index`: a plain switch
    /// that forwards from the moment a port is up (no spanning tree, no
    /// forwarding delay) and floods multicast to every port, as an
    /// unmanaged switch does (no IGMP/MLD snooping).
    pub(crate) fn add_bridge(&mut self, name: &str, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::IfName(name.to_owned()));
        link.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Bridge),
            LinkInfo::Data(InfoData::Bridge(vec![
                InfoBridge::ForwardDelay(0),
                InfoBridge::MulticastSnooping(false),
            ])),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Makes interface `index` a port of bridge `bridge`.
    pub(crate) fn set_controller(&mut self, index: u32, bridge: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::Controller(bridge));
        self.request(RouteNetlinkMessage::SetLink(link), 0)
    }

    /// The state of the interface called `name` (without its addresses).
    pub(crate) fn link(&mut self, name: &str) -> io::Result<LinkState> {
        let mut found = None;
        let mut query = LinkMessage::default();
        query
            .attributes
            .push(LinkAttribute::IfName(name.to_owned()));
        self.exchange(RouteNetlinkMessage::GetLink(query), 0, |message| {
            if let RouteNetlinkMessage::NewLink(link) = message {
                found = Some(LinkState::of(&link));
            }
        })?;
        found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no interface {name}")))
    }

    /// Waits until interface `name`, if it has a carrier (its peer is up),
    /// is operationally up (`IFF_RUNNING`) and, if it is a bridge `port`,
    /// forwarding.
    ///
    /// Setting a veth up is not the end of it: the kernel attaches its
    /// queueing discipline (until then packets are dropped) and tells IPv6
    /// the link is ready from a work queue, a moment later (longer on a busy
    /// machine); a bridge learns of its port's carrier from that same work,
    /// a moment after the port runs. Tests must not race that, so building
    /// and mending links wait for it. Without a carrier there is nothing to
    /// wait for: the link stays down until its other end comes up, as a
    /// cable would.
    pub(crate) fn wait_running(
        &mut self,
        name: &str,
        port: bool,
        patience: Duration,
    ) -> io::Result<()> {
        let what = || format!("{name} was set up but is still not running after {patience:?}");
        self.wait_until(patience, what, |rtnl| {
            let link = rtnl.link(name)?;
            Ok(!link.carrier || (link.running && (link.forwarding || !port)))
        })
    }

    /// Waits until no IPv6 address of interface `index` is tentative.
    ///
    /// Even without duplicate address detection, an address added while
    /// its link was down becomes usable only when a kernel work queue has
    /// run after the link came up, which a busy machine delays.
    pub(crate) fn wait_addresses(&mut self, index: u32, patience: Duration) -> io::Result<()> {
        let what = || format!("IPv6 addresses still tentative after {patience:?}");
        self.wait_until(patience, what, |rtnl| {
            let mut tentative = false;
            let mut query = AddressMessage::default();
            query.header.family = AddressFamily::Inet6;
            rtnl.exchange(RouteNetlinkMessage::GetAddress(query), NLM_F_DUMP, |reply| {
                if let RouteNetlinkMessage::NewAddress(address) = reply {
                    let flagged = address.attributes.iter().any(|a| {
                        matches!(a, AddressAttribute::Flags(f) if f.contains(AddressFlags::Tentative))
                    });
                    tentative |= address.header.index == index
                        && (flagged || address.header.flags.contains(AddressHeaderFlags::Tentative));
                }
            })?;
            Ok(!tentative)
        })
    }

    /// Polls `done` until it says yes, or fails with `what` after `patience`.
    fn wait_until(
        &mut self,
        patience: Duration,
        what: impl Fn() -> String,
        mut done: impl FnMut(&mut Rtnl) -> io::Result<bool>,
    ) -> io::Result<()> {
        let started = Instant::now();
        while !done(self)? {
            if started.elapsed() > patience {
                return Err(io::Error::new(io::ErrorKind::TimedOut, what()));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    }

    /// Every interface of the namespace with its addresses, in index order.
    pub(crate) fn interfaces(&mut self) -> io::Result<Vec<LinkState>> {
        let mut links = Vec::new();
        self.exchange(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            |reply| {
                if let RouteNetlinkMessage::NewLink(link) = reply {
                    links.push(LinkState::of(&link));
                }
            },
        )?;
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut query = AddressMessage::default();
            query.header.family = family;
            self.exchange(
                RouteNetlinkMessage::GetAddress(query),
                NLM_F_DUMP,
                |reply| {
                    if let RouteNetlinkMessage::NewAddress(address) = reply {
                        let ip = address.attributes.iter().fold(None, |found, a| match a {
                            AddressAttribute::Local(ip) => Some(*ip),
                            AddressAttribute::Address(ip) => found.or(Some(*ip)),
                            _ => found,
                        });
                        let link = links.iter_mut().find(|l| l.index == address.header.index);
                        if let (Some(ip), Some(link)) = (ip, link) {
                            link.addresses.push((ip, address.header.prefix_len));
                        }
                    }
                },
            )?;
        }
        links.sort_by_key(|link| link.index);
        Ok(links)
    }

    /// Sets interface `index` up or down.
    pub(crate) fn set_up(&mut self, index: u32, up: bool) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        link.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(link), 0)
    }

    /// Adds `address/prefix` to interface `index`; IPv6 without duplicate
    /// address detection, so that it is usable at once.
    pub(crate) fn add_address(
        &mut self,
        index: u32,
        address: IpAddr,
        prefix: u8,
    ) -> io::Result<()> {
        let mut message = AddressMessage::default();
        message.header.index = index;
        message.header.prefix_len = prefix;
        match address {
            IpAddr::V4(_) => {
                message.header.family = AddressFamily::Inet;
                message.attributes.push(AddressAttribute::Local(address));
                message.attributes.push(AddressAttribute::Address(address));
            }
            IpAddr::V6(_) => {
                message.header.family = AddressFamily::Inet6;
                message.attributes.push(AddressAttribute::Address(address));
                message
                    .attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        self.request(
            RouteNetlinkMessage::NewAddress(message),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Adds a route to `destination/prefix` (`prefix` 0: the default route)
    /// via `gateway`; with `replace`, one that exists is replaced.
    pub(crate) fn add_route(
        &mut self,
        destination: IpAddr,
        prefix: u8,
        gateway: IpAddr,
        replace: bool,
    ) -> io::Result<()> {
        let (family, destination, gateway) = match (destination, gateway) {
            (IpAddr::V4(d), IpAddr::V4(g)) => (
                AddressFamily::Inet,
                RouteAddress::Inet(d),
                RouteAddress::Inet(g),
            ),
            (IpAddr::V6(d), IpAddr::V6(g)) => (
                AddressFamily::Inet6,
                RouteAddress::Inet6(d),
                RouteAddress::Inet6(g),
            ),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "destination and gateway are of different IP versions",
                ));
            }
        };
        let mut message = RouteMessage::default();
        message.header.address_family = family;
        message.header.destination_prefix_length = prefix;
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Static;
        message.header.scope = RouteScope::Universe;
        message.header.kind = RouteType::Unicast;
        if prefix > 0 {
            message
                .attributes
                .push(RouteAttribute::Destination(destination));
        }
        message.attributes.push(RouteAttribute::Gateway(gateway));
        // Replacing only when putting a route back (the kernel may have
        // kept it); otherwise a route that is there already (a connected
        // one, say) is an error, not silently changed.
        let flags = if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
        self.request(RouteNetlinkMessage::NewRoute(message), NLM_F_CREATE | flags)
    }

    /// Adds a policy-routing rule at `priority`, for IPv4 (`v6` false) or
    /// IPv6: matching `protocol` (or every packet), it either looks up
    /// `table` or, without one, drops the packet (a blackhole: no answer,
    /// no ICMP error).
    pub(crate) fn add_rule(
        &mut self,
        v6: bool,
        priority: u32,
        protocol: Option<IpProtocol>,
        table: Option<u32>,
    ) -> io::Result<()> {
        let mut rule = rule_message(v6, priority);
        rule.header.action = if table.is_some() {
            RuleAction::ToTable
        } else {
            RuleAction::Blackhole
        };
        rule.attributes
            .extend(protocol.map(RuleAttribute::IpProtocol));
        rule.attributes.extend(table.map(RuleAttribute::Table));
        self.request(
            RouteNetlinkMessage::NewRule(rule),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Deletes the rule at `priority` that looks up `table`.
    pub(crate) fn delete_rule(&mut self, v6: bool, priority: u32, table: u32) -> io::Result<()> {
        let mut rule = rule_message(v6, priority);
        rule.header.action = RuleAction::ToTable;
        rule.attributes.push(RuleAttribute::Table(table));
        self.request(RouteNetlinkMessage::DelRule(rule), 0)
    }

    /// Puts a qdisc of `kind` (`netem`, `tbf`) with these `TCA_OPTIONS` at
    /// the root of interface `index`, replacing whatever is there.
    pub(crate) fn set_qdisc(&mut self, index: u32, kind: &str, options: Vec<u8>) -> io::Result<()> {
        let mut message = TcMessage::default();
        message.header.index = index as i32;
        message.header.parent = TcHandle::ROOT;
        message.attributes.push(TcAttribute::Kind(kind.into()));
        message
            .attributes
            .push(TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)));
        self.request(
            RouteNetlinkMessage::NewQueueDiscipline(message),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
    }

    /// Removes the root qdisc of interface `index`, restoring the default.
    pub(crate) fn clear_qdisc(&mut self, index: u32) -> io::Result<()> {
        let mut message = TcMessage::default();
        message.header.index = index as i32;
        message.header.parent = TcHandle::ROOT;
        self.request(RouteNetlinkMessage::DelQueueDiscipline(message), 0)
    }

    /// Sends a request that changes something and waits for its acknowledgement.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.exchange(message, flags, |_| {})
    }

    /// Sends `message`, hands each reply to `reply`, and returns at the
    /// acknowledgement (or the error the kernel sent instead).
    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        mut reply: impl FnMut(RouteNetlinkMessage),
    ) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = self.sequence;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::from(message));
        request.finalize();
        let mut buffer = vec![0; request.buffer_len()];
        request.serialize(&mut buffer);
        self.socket.send(&buffer, 0)?;

        let mut received = Vec::with_capacity(16 * 1024);
        loop {
            received.clear();
            self.socket.recv(&mut received, 0)?;
            let mut offset = 0;
            while offset < received.len() {
                let message =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&received[offset..])
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let length = message.header.length as usize;
                if message.header.sequence_number == self.sequence {
                    match message.payload {
                        NetlinkPayload::Error(error) => {
                            return match error.code {
                                None => Ok(()),
                                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                            };
                        }
                        NetlinkPayload::InnerMessage(inner) => reply(inner),
                        NetlinkPayload::Done(_) => return Ok(()),
                        _ => {}
                    }
                }
                if length == 0 {
                    break;
                }
                offset += length;
            }
        }
    }
}

/// A rule of `priority` for IPv4 or IPv6, matching every packet so far.
fn rule_message(v6: bool, priority: u32) -> RuleMessage {
    let mut rule = RuleMessage::default();
    rule.header.family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    rule.attributes.push(RuleAttribute::Priority(priority));
    rule
}
