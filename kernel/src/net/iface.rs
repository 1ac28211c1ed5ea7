//! The interfaces: lo, and eth0 once it is configured, each a smoltcp [`Interface`] with its
//! own device and [`SocketSet`], and the routing between them.
//!
//! A smoltcp socket lives in one interface's set, named by a [`Handle`]. Routes are simple:
//! this host's own addresses (127.0.0.0/8, ::1, eth0's address) go through lo, which carries
//! a /32 copy of eth0's address so that such traffic has the right source; anything else
//! goes out of eth0 when its subnet or default route covers it. Sets are never shared: lo's
//! egress would otherwise try (and fail, and back off) to send eth0's sockets' packets.

use alloc::vec::Vec;

use smoltcp::iface::{Config, Context, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::{AnySocket, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address,
};

use super::ipconfig::StaticConfig;
use super::lo::LoDevice;
use super::virtio_phy::VirtioPhy;

/// The most rounds one poll of lo makes while its sockets keep answering each other.
const MAX_LO_ROUNDS: usize = 64;

/// Names an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfaceId {
    Lo,
    Eth0,
}

/// A smoltcp socket: the interface whose set holds it, and its handle there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Why eth0 could not be configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachError {
    /// eth0 is configured already.
    Attached,
    /// The NIC's MAC is not a unicast address (smoltcp would panic on it).
    MacNotUnicast,
}

/// Every interface.
pub struct Ifaces {
    pub lo: Iface<LoDevice>,
    pub eth0: Option<Iface<VirtioPhy>>,
    /// eth0's address and subnet, and its default gateway.
    eth0_config: Option<(Ipv4Cidr, Option<Ipv4Address>)>,
}

impl Ifaces {
    /// Creates lo with 127.0.0.1/8 and ::1/128, up.
    pub fn new(now: Instant) -> Self {
        let mut lo = Iface::new(HardwareAddress::Ip, LoDevice::default(), now);
        lo.iface.update_ip_addrs(|addrs| {
            // Both constants are unicast, so smoltcp's configuration check cannot panic.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1)), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        // Every packet on lo is for this host, whatever 127.x.y.z it names (Linux routes all
        // of 127.0.0.0/8 to lo): smoltcp would otherwise drop those not equal to 127.0.0.1.
        lo.iface.set_any_ip(true);
        Self { lo, eth0: None, eth0_config: None }
    }

    /// Configures eth0 on `phy` with `config` (already validated by the `ip=` parser).
    pub fn attach_eth0(
        &mut self,
        phy: VirtioPhy,
        config: &StaticConfig<'_>,
        now: Instant,
    ) -> Result<(), AttachError> {
        if self.eth0.is_some() {
            return Err(AttachError::Attached);
        }
        let mac = EthernetAddress(phy.nic().mac());
        if !mac.is_unicast() {
            return Err(AttachError::MacNotUnicast);
        }
        let client = Ipv4Address::from(config.client);
        let cidr = Ipv4Cidr::new(client, config.prefix_len);
        let mut eth0 = Iface::new(HardwareAddress::Ethernet(mac), phy, now);
        eth0.iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(cidr));
        });
        let gateway = config.gateway.map(Ipv4Address::from);
        if let Some(gw) = gateway {
            let _ = eth0.iface.routes_mut().add_default_ipv4_route(gw);
        }
        self.lo.iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(client), 32));
        });
        self.eth0 = Some(eth0);
        self.eth0_config = Some((cidr, gateway));
        Ok(())
    }

    /// Removes eth0 and what lives on it (the tests that share the NIC use it).
    pub fn detach_eth0(&mut self) {
        if let Some((cidr, _)) = self.eth0_config.take() {
            let own = IpCidr::new(IpAddress::Ipv4(cidr.address()), 32);
            self.lo.iface.update_ip_addrs(|addrs| addrs.retain(|a| *a != own));
        }
        self.eth0 = None;
    }

    /// Returns the interfaces there are.
    pub fn ids(&self) -> Vec<IfaceId> {
        let mut ids = alloc::vec![IfaceId::Lo];
        if self.eth0.is_some() {
            ids.push(IfaceId::Eth0);
        }
        ids
    }

    /// Returns whether `addr` belongs to this host, so bind(2) may name it: all of
    /// 127.0.0.0/8 (as on Linux), ::1, and eth0's address.
    pub fn is_local(&self, addr: IpAddress) -> bool {
        match addr {
            IpAddress::Ipv4(a) => {
                a.octets()[0] == 127 || self.eth0_config.is_some_and(|(c, _)| c.address() == a)
            }
            IpAddress::Ipv6(a) => a == Ipv6Address::LOCALHOST,
        }
    }

    /// Returns the interface a packet to `remote` leaves by, if any route covers it.
    pub fn route(&self, remote: IpAddress) -> Option<IfaceId> {
        if self.is_local(remote) {
            return Some(IfaceId::Lo);
        }
        let IpAddress::Ipv4(a) = remote else { return None };
        let (cidr, gateway) = self.eth0_config?;
        (cidr.contains_addr(&a) || gateway.is_some()).then_some(IfaceId::Eth0)
    }

    /// Returns the interfaces whose sockets a binding to `addr` (`None`: any) listens on.
    pub fn bound_on(&self, addr: Option<IpAddress>) -> Vec<IfaceId> {
        match addr {
            None => self.ids(),
            // eth0's own address is reached from outside through eth0 and from this host
            // through lo.
            Some(a) if self.is_local(a) && !is_loopback(a) => self.ids(),
            Some(_) => alloc::vec![IfaceId::Lo],
        }
    }

    /// Returns the socket set of `id`.
    pub fn sockets(&mut self, id: IfaceId) -> &mut SocketSet<'static> {
        match (id, &mut self.eth0) {
            (IfaceId::Eth0, Some(eth0)) => &mut eth0.sockets,
            _ => &mut self.lo.sockets,
        }
    }

    /// Returns the smoltcp context of `id`, for connect.
    pub fn context(&mut self, id: IfaceId) -> &mut Context {
        match (id, &mut self.eth0) {
            (IfaceId::Eth0, Some(eth0)) => eth0.iface.context(),
            _ => self.lo.iface.context(),
        }
    }

    /// Adds `socket` to `id`'s set.
    pub fn add<S: AnySocket<'static>>(&mut self, id: IfaceId, socket: S) -> Handle {
        Handle { iface: id, socket: self.sockets(id).add(socket) }
    }

    /// Removes the socket behind `handle`.
    pub fn remove(&mut self, handle: Handle) {
        self.sockets(handle.iface).remove(handle.socket);
    }

    /// Returns the TCP socket behind `handle`.
    pub fn tcp(&mut self, handle: Handle) -> &mut tcp::Socket<'static> {
        self.sockets(handle.iface).get_mut::<tcp::Socket>(handle.socket)
    }

    /// Returns the UDP socket behind `handle`.
    pub fn udp(&mut self, handle: Handle) -> &mut udp::Socket<'static> {
        self.sockets(handle.iface).get_mut::<udp::Socket>(handle.socket)
    }

    /// Polls every interface until lo has nothing left in flight (bounded).
    pub fn poll(&mut self, now: Instant) {
        for _ in 0..MAX_LO_ROUNDS {
            self.lo.poll_once(now);
            if !self.lo.device.has_pending() {
                break;
            }
        }
        if let Some(eth0) = &mut self.eth0 {
            eth0.poll_once(now);
        }
    }

    /// Returns whether lo holds packets not yet received.
    pub fn has_pending(&self) -> bool {
        self.lo.device.has_pending()
    }

    /// Returns when the interfaces next need a poll.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let lo = self.lo.iface.poll_at(now, &self.lo.sockets);
        let eth0 = self.eth0.as_mut().and_then(|e| e.iface.poll_at(now, &e.sockets));
        match (lo, eth0) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
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
