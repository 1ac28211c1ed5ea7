//! The interfaces: lo, and eth0 once it is configured, each a smoltcp [`Interface`] with its
//! own device and [`SocketSet`], and the routing between them.
//!
//! A smoltcp socket lives in one interface's set, named by a [`Handle`]. Routes follow the
//! configuration ([`super::config`]): this host's own addresses (127.0.0.0/8, ::1, eth0's
//! addresses) go through lo, which carries a /32 copy of each of eth0's so that such traffic
//! has the right source; anything else goes out of eth0 when a route of the main table
//! covers it. Sets are never shared: lo's
//! egress would otherwise try (and fail, and back off) to send eth0's sockets' packets.
//!
//! lo is two smoltcp interfaces, one per family (`Lo` for 127.0.0.0/8, `Lo6` for ::1), one
//! link to users. smoltcp's listening sockets match a SYN by port and address, not family,
//! so a wildcard listener would take the other family's connections: 0.0.0.0:P and a
//! V6ONLY [::]:P, which dual-stack servers (nginx, asyncio) bind together, each get their
//! own family's clients only because their LISTEN sockets live in different sets.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use smoltcp::iface::{Config, Context, Interface, PollResult, Route, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{AnySocket, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpVersion, Ipv4Address, Ipv4Cidr,
    Ipv6Address,
};

use super::config::{ETH0_INDEX, Lease, NetConfig, V4Addr};
use super::lo::LoDevice;
use super::port::{Local, Wildcard};
use super::stack::SockId;
use super::virtio_phy::VirtioPhy;

/// The most rounds one poll of lo makes while its sockets keep answering each other.
const MAX_LO_ROUNDS: usize = 64;

/// Names an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IfaceId {
    /// lo's IPv4 half.
    Lo,
    /// lo's IPv6 half.
    Lo6,
    Eth0,
}

/// A smoltcp socket: the interface whose set holds it, and its handle there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Handle {
    pub iface: IfaceId,
    pub socket: SocketHandle,
}

/// One interface: its smoltcp state, its device and its sockets.
pub struct Iface<D> {
    pub iface: Interface,
    pub device: D,
    pub sockets: SocketSet<'static>,
}

impl<D: Device> Iface<D> {
    fn new(hardware: HardwareAddress, mut device: D, now: Instant) -> Self {
        let mut config = Config::new(hardware);
        let mut seed = [0u8; 8];
        crate::random::fill(&mut seed);
        config.random_seed = u64::from_le_bytes(seed);
        let iface = Interface::new(config, &mut device, now);
        Self { iface, device, sockets: SocketSet::new(Vec::new()) }
    }

    fn poll_once(&mut self, now: Instant) -> bool {
        self.iface.poll(now, &mut self.device, &mut self.sockets) == PollResult::SocketStateChanged
    }
}

/// Why eth0 could not be attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// eth0 is attached already.
    Attached,
    /// The NIC's MAC is not a unicast address (smoltcp would panic on it).
    MacNotUnicast,
}

/// Every interface, and their configuration.
pub struct Ifaces {
    pub lo: Iface<LoDevice>,
    pub lo6: Iface<LoDevice>,
    pub eth0: Option<Iface<VirtioPhy>>,
    /// What users and DHCP configured; smoltcp follows it ([`Ifaces::sync`]).
    pub config: NetConfig,
    /// eth0's DHCP client, while one runs.
    pub dhcp: Option<SocketHandle>,
    /// The lease it holds.
    pub lease: Option<Lease>,
    /// The inet socket each smoltcp socket belongs to, so that what smoltcp reports as
    /// changed ([`Ifaces::drain_changed`]) reaches the right socket.
    owners: BTreeMap<Handle, SockId>,
}

/// When a smoltcp socket that changed next needs a poll, as far as the poll that just ran
/// knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextPoll {
    /// At this time (or at once, if it is past).
    At(Instant),
    /// Only when a packet arrives or the socket is used.
    OnActivity,
    /// Not known: the interfaces' [`Ifaces::poll_at`] must be asked.
    Unknown,
}

impl NextPoll {
    /// Returns when a poll is next needed for both `self` and `other`.
    pub fn earliest(self, other: NextPoll) -> NextPoll {
        match (self, other) {
            (NextPoll::Unknown, _) | (_, NextPoll::Unknown) => NextPoll::Unknown,
            (NextPoll::At(a), NextPoll::At(b)) => NextPoll::At(a.min(b)),
            (NextPoll::At(at), NextPoll::OnActivity) | (NextPoll::OnActivity, NextPoll::At(at)) => {
                NextPoll::At(at)
            }
            (NextPoll::OnActivity, NextPoll::OnActivity) => NextPoll::OnActivity,
        }
    }
}

impl Ifaces {
    /// Creates lo with 127.0.0.1/8 and ::1/128, up.
    pub fn new(now: Instant) -> Self {
        let mut lo = Iface::new(HardwareAddress::Ip, LoDevice::default(), now);
        // Every packet on lo is for this host, whatever 127.x.y.z it names (Linux routes all
        // of 127.0.0.0/8 to lo): smoltcp would otherwise drop those not equal to 127.0.0.1.
        lo.iface.set_any_ip(true);
        let mut lo6 = Iface::new(HardwareAddress::Ip, LoDevice::default(), now);
        lo6.iface.update_ip_addrs(|addrs| {
            // ::1 is unicast, so smoltcp's check cannot panic.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        let config = NetConfig::new();
        let mut ifaces =
            Self { lo, lo6, eth0: None, config, dhcp: None, lease: None, owners: BTreeMap::new() };
        ifaces.sync();
        ifaces
    }

    /// Attaches eth0 on `phy`: down and without addresses, as a driver's NIC starts.
    pub fn attach_eth0(&mut self, phy: VirtioPhy, now: Instant) -> Result<(), AttachError> {
        if self.eth0.is_some() {
            return Err(AttachError::Attached);
        }
        let mac = EthernetAddress(phy.nic().mac());
        if !mac.is_unicast() {
            return Err(AttachError::MacNotUnicast);
        }
        self.eth0 = Some(Iface::new(HardwareAddress::Ethernet(mac), phy, now));
        self.config.add_eth0();
        self.sync();
        Ok(())
    }

    /// Removes eth0 and what lives on it (the tests that share the NIC use it).
    pub fn detach_eth0(&mut self) {
        self.owners.retain(|h, _| h.iface != IfaceId::Eth0);
        self.eth0 = None;
        self.dhcp = None;
        self.lease = None;
        self.config.eth0 = None;
        let _ = self.config.set_up(ETH0_INDEX, false);
        self.sync();
    }

    /// Makes smoltcp follow the configuration: eth0's addresses and gateway routes while it
    /// is up (none while down), and lo's addresses plus a /32 copy of each of eth0's, so
    /// traffic to them from this host has the right source.
    pub fn sync(&mut self) {
        let lo_v4: Vec<Ipv4Cidr> = self.config.lo.addrs.iter().map(cidr).collect();
        let eth0_v4: Vec<Ipv4Cidr> = match &self.config.eth0 {
            Some(link) if link.up => link.addrs.iter().map(cidr).collect(),
            _ => Vec::new(),
        };
        self.lo.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            // Only unicast addresses, so smoltcp's check cannot panic; pushes past the
            // capacity (8) are dropped.
            for c in lo_v4.iter().chain(&eth0_v4).filter(|c| is_unicast(c.address())) {
                let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(c.address()), c.prefix_len()));
            }
        });
        let gateways: Vec<(Ipv4Cidr, Ipv4Address)> = self
            .config
            .gateway_routes(ETH0_INDEX)
            .filter_map(|r| Some((Ipv4Cidr::new(r.dst.into(), r.prefix_len), r.gateway?.into())))
            .collect();
        if let Some(eth0) = &mut self.eth0 {
            eth0.iface.update_ip_addrs(|addrs| {
                addrs.clear();
                for c in eth0_v4.iter().filter(|c| is_unicast(c.address())) {
                    let _ = addrs.push(IpCidr::Ipv4(*c));
                }
            });
            eth0.iface.routes_mut().update(|routes| {
                routes.clear();
                for (dst, via) in gateways {
                    let _ = routes.push(Route {
                        cidr: IpCidr::Ipv4(dst),
                        via_router: IpAddress::Ipv4(via),
                        preferred_until: None,
                        expires_at: None,
                    });
                }
            });
        }
    }

    /// Returns the interfaces there are.
    pub fn ids(&self) -> Vec<IfaceId> {
        let mut ids = alloc::vec![IfaceId::Lo, IfaceId::Lo6];
        if self.eth0.is_some() {
            ids.push(IfaceId::Eth0);
        }
        ids
    }

    /// Returns whether `addr` belongs to this host, so bind(2) may name it: all of
    /// 127.0.0.0/8 (as on Linux), ::1, and eth0's addresses while it is up.
    pub fn is_local(&self, addr: IpAddress) -> bool {
        match addr {
            IpAddress::Ipv4(a) => self.config.is_local(a.octets()),
            IpAddress::Ipv6(a) => a == Ipv6Address::LOCALHOST,
        }
    }

    /// Returns the interface a packet to `remote` leaves by, if any route covers it.
    pub fn route(&self, remote: IpAddress) -> Option<IfaceId> {
        if self.is_local(remote) {
            return Some(if remote.version() == IpVersion::Ipv6 {
                IfaceId::Lo6
            } else {
                IfaceId::Lo
            });
        }
        let IpAddress::Ipv4(a) = remote else { return None };
        match self.config.route_to(a.octets())? {
            (ETH0_INDEX, _) if self.eth0.is_some() => Some(IfaceId::Eth0),
            _ => None,
        }
    }

    /// Returns the interfaces whose sockets a binding to `local` listens on: a wildcard's
    /// families' (eth0 has IPv4 only), or the address's.
    pub fn bound_on(&self, local: Local<IpAddress>) -> Vec<IfaceId> {
        let mut ids = self.ids();
        match local {
            Local::Any(Wildcard::Dual) => {}
            Local::Any(Wildcard::V4) => ids.retain(|&id| id != IfaceId::Lo6),
            Local::Any(Wildcard::V6Only) => ids = alloc::vec![IfaceId::Lo6],
            Local::At(IpAddress::Ipv6(_)) => ids = alloc::vec![IfaceId::Lo6],
            // eth0's own address is reached from outside through eth0 and from this host
            // through lo.
            Local::At(a) if self.is_local(a) && !is_loopback(a) => {
                ids.retain(|&id| id != IfaceId::Lo6);
            }
            Local::At(_) => ids = alloc::vec![IfaceId::Lo],
        }
        ids
    }

    /// Returns the socket set of `id`.
    pub fn sockets(&mut self, id: IfaceId) -> &mut SocketSet<'static> {
        match (id, &mut self.eth0) {
            (IfaceId::Eth0, Some(eth0)) => &mut eth0.sockets,
            (IfaceId::Lo6, _) => &mut self.lo6.sockets,
            _ => &mut self.lo.sockets,
        }
    }

    /// Returns the socket set of `id`, to read.
    fn sockets_ref(&self, id: IfaceId) -> &SocketSet<'static> {
        match (id, &self.eth0) {
            (IfaceId::Eth0, Some(eth0)) => &eth0.sockets,
            (IfaceId::Lo6, _) => &self.lo6.sockets,
            _ => &self.lo.sockets,
        }
    }

    /// Returns the smoltcp context of `id`, for connect.
    pub fn context(&mut self, id: IfaceId) -> &mut Context {
        match (id, &mut self.eth0) {
            (IfaceId::Eth0, Some(eth0)) => eth0.iface.context(),
            (IfaceId::Lo6, _) => self.lo6.iface.context(),
            _ => self.lo.iface.context(),
        }
    }

    /// Adds `socket`, which belongs to inet socket `owner`, to `id`'s set.
    pub fn add<S: AnySocket<'static>>(&mut self, owner: SockId, id: IfaceId, socket: S) -> Handle {
        let handle = Handle { iface: id, socket: self.sockets(id).add(socket) };
        self.owners.insert(handle, owner);
        handle
    }

    /// Hands the socket behind `handle` to inet socket `owner` (an accepted connection
    /// leaves its listener).
    pub fn set_owner(&mut self, handle: Handle, owner: SockId) {
        self.owners.insert(handle, owner);
    }

    /// Removes the socket behind `handle`.
    pub fn remove(&mut self, handle: Handle) {
        self.owners.remove(&handle);
        self.sockets(handle.iface).remove(handle.socket);
    }

    /// Calls `f` with the owner of every smoltcp socket that may have changed since the last
    /// call (used, given a packet, or dispatched), and with when it next needs a poll; then
    /// forgets them. Sockets without an owner (DHCP's, orphans') are left out.
    pub fn drain_changed(&mut self, now: Instant, mut f: impl FnMut(SockId, NextPoll)) {
        let owners = &self.owners;
        let mut report = |id: IfaceId, socket, next: Option<Option<Instant>>| {
            if let Some(&owner) = owners.get(&Handle { iface: id, socket }) {
                f(
                    owner,
                    match next {
                        Some(Some(at)) => NextPoll::At(at),
                        Some(None) => NextPoll::OnActivity,
                        None => NextPoll::Unknown,
                    },
                );
            }
        };
        self.lo.iface.drain_changed(now, &mut self.lo.sockets, |s, n| report(IfaceId::Lo, s, n));
        self.lo6.iface.drain_changed(now, &mut self.lo6.sockets, |s, n| report(IfaceId::Lo6, s, n));
        if let Some(eth0) = &mut self.eth0 {
            eth0.iface.drain_changed(now, &mut eth0.sockets, |s, n| report(IfaceId::Eth0, s, n));
        }
    }

    /// Returns the TCP socket behind `handle`, to change. smoltcp then dispatches it on the
    /// next poll: use [`Ifaces::tcp_ref`] to only look (third_party/README.md).
    pub fn tcp(&mut self, handle: Handle) -> &mut tcp::Socket<'static> {
        self.sockets(handle.iface).get_mut::<tcp::Socket>(handle.socket)
    }

    /// Returns the TCP socket behind `handle`, to read.
    pub fn tcp_ref(&self, handle: Handle) -> &tcp::Socket<'static> {
        self.sockets_ref(handle.iface).get::<tcp::Socket>(handle.socket)
    }

    /// Returns the UDP socket behind `handle`, to change.
    pub fn udp(&mut self, handle: Handle) -> &mut udp::Socket<'static> {
        self.sockets(handle.iface).get_mut::<udp::Socket>(handle.socket)
    }

    /// Returns the UDP socket behind `handle`, to read.
    pub fn udp_ref(&self, handle: Handle) -> &udp::Socket<'static> {
        self.sockets_ref(handle.iface).get::<udp::Socket>(handle.socket)
    }

    /// Polls every interface until lo has nothing left in flight (bounded).
    pub fn poll(&mut self, now: Instant) {
        for lo in [&mut self.lo, &mut self.lo6] {
            for _ in 0..MAX_LO_ROUNDS {
                lo.poll_once(now);
                if !lo.device.has_pending() {
                    break;
                }
            }
        }
        if let Some(eth0) = &mut self.eth0 {
            eth0.poll_once(now);
        }
    }

    /// Returns whether lo holds packets not yet received.
    pub fn has_pending(&self) -> bool {
        self.lo.device.has_pending() || self.lo6.device.has_pending()
    }

    /// Returns lo's packets and bytes carried, both halves.
    pub fn lo_counters(&self) -> (u64, u64) {
        let ((p4, b4), (p6, b6)) = (self.lo.device.counters(), self.lo6.device.counters());
        (p4 + p6, b4 + b6)
    }

    /// Returns when the interfaces next need a poll.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let lo = self.lo.iface.poll_at(now, &self.lo.sockets);
        let lo6 = self.lo6.iface.poll_at(now, &self.lo6.sockets);
        let eth0 = self.eth0.as_mut().and_then(|e| e.iface.poll_at(now, &e.sockets));
        [lo, lo6, eth0].into_iter().flatten().min()
    }
}

/// Returns whether smoltcp takes `a` as an interface address (it panics on others).
fn is_unicast(a: Ipv4Address) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast())
}

/// Returns an address as smoltcp's CIDR.
fn cidr(a: &V4Addr) -> Ipv4Cidr {
    Ipv4Cidr::new(a.local.into(), a.prefix_len.min(32))
}

/// Returns whether `addr` is a loopback address (127.0.0.0/8, ::1).
fn is_loopback(addr: IpAddress) -> bool {
    match addr {
        IpAddress::Ipv4(a) => a.octets()[0] == 127,
        IpAddress::Ipv6(a) => a == Ipv6Address::LOCALHOST,
    }
}

/// Returns the address a connection to the wildcard address goes to: Linux treats
/// 0.0.0.0 and :: as this host.
pub fn wildcard_to_loopback(addr: IpAddress) -> IpAddress {
    match addr {
        IpAddress::Ipv4(a) if a.is_unspecified() => IpAddress::Ipv4(Ipv4Address::LOCALHOST),
        IpAddress::Ipv6(a) if a.is_unspecified() => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
        other => other,
    }
}
