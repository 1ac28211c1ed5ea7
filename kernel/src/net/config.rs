//! The configuration of the interfaces: which links are up, their IPv4 addresses, and the
//! main routing table, as `ip`, `ifconfig`, `route` and DHCP change them and as rtnetlink,
//! the interface ioctls and /proc/net show them. The stack ([`super::iface`]) makes smoltcp
//! follow it after every change.
//!
//! Linux's rules kept here:
//! - interfaces are numbered lo = 1, eth0 = 2;
//! - an address on an up link gives a connected route (protocol kernel, scope link, its
//!   subnet, source the address), except on lo, whose routes live in the local table;
//! - a route's gateway must be reachable through a connected route of an up link
//!   (ENETUNREACH), and taking a link down drops the routes through it;
//! - the main table is listed in Linux's trie order: by destination, longer prefixes first.
//!
//! Pure (`core` and `alloc`), so the host tests (`tests/tests/netconfig.rs`) include it as it is.

use alloc::string::String;
use alloc::vec::Vec;

/// lo's interface index.
pub const LO_INDEX: u32 = 1;
/// eth0's interface index.
pub const ETH0_INDEX: u32 = 2;

/// Route protocols (`rtm_protocol`): set up by the kernel for an address, or by a user
/// (`ip route add` without `proto`, `route add`, and the kernel's own ip= and DHCP).
pub const RTPROT_KERNEL: u8 = 2;
pub const RTPROT_BOOT: u8 = 3;
/// Route scopes (`rtm_scope`).
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;

/// An IPv4 address of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4Addr {
    pub local: [u8; 4],
    pub prefix_len: u8,
    pub broadcast: Option<[u8; 4]>,
    /// Leased by DHCP (dropped when the lease is).
    pub dynamic: bool,
}

impl V4Addr {
    /// lo's 127.0.0.1/8.
    pub const LOOPBACK: Self =
        Self { local: [127, 0, 0, 1], prefix_len: 8, broadcast: None, dynamic: false };

    /// Returns the subnet's mask, as a big-endian number.
    pub fn mask(&self) -> u32 {
        prefix_mask(self.prefix_len)
    }
}

/// A route of the main table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination's network (host bits clear).
    pub dst: [u8; 4],
    pub prefix_len: u8,
    pub gateway: Option<[u8; 4]>,
    /// The link packets leave by.
    pub oif: u32,
    pub protocol: u8,
    pub scope: u8,
    pub priority: u32,
    /// The source address connected routes name.
    pub prefsrc: Option<[u8; 4]>,
}

impl Route {
    /// Returns whether the route covers `addr`.
    pub fn covers(&self, addr: [u8; 4]) -> bool {
        let mask = prefix_mask(self.prefix_len);
        u32::from_be_bytes(addr) & mask == u32::from_be_bytes(self.dst)
    }
}

/// One link's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkConf {
    pub up: bool,
    /// Has been up once (Linux attaches the default queueing discipline then, and keeps it).
    pub was_up: bool,
    /// In the order they were added; the first is the primary.
    pub addrs: Vec<V4Addr>,
}

/// Why a change was refused; each names Linux's errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// No such interface: ENODEV.
    NoDevice,
    /// The address or route exists already: EEXIST.
    Exists,
    /// No such route: ESRCH.
    NoRoute,
    /// No such address: EADDRNOTAVAIL.
    NoAddress,
    /// A malformed prefix, mask or destination: EINVAL.
    Invalid,
    /// The gateway is on no connected subnet: ENETUNREACH.
    Unreachable,
    /// The link is down: ENETDOWN.
    LinkDown,
}

impl ConfigError {
    /// Returns the errno number.
    pub fn errno(self) -> i32 {
        match self {
            Self::NoDevice => 19,
            Self::Exists => 17,
            Self::NoRoute => 3,
            Self::NoAddress => 99,
            Self::Invalid => 22,
            Self::Unreachable => 101,
            Self::LinkDown => 100,
        }
    }
}

/// The configuration of lo and (when there is one) eth0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    pub lo: LinkConf,
    /// `None` without a NIC.
    pub eth0: Option<LinkConf>,
    /// The routes users (and DHCP) added; connected routes are derived from addresses.
    routes: Vec<Route>,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl NetConfig {
    /// lo up with 127.0.0.1/8; no eth0.
    pub fn new() -> Self {
        Self {
            lo: LinkConf { up: true, was_up: true, addrs: alloc::vec![V4Addr::LOOPBACK] },
            eth0: None,
            routes: Vec::new(),
        }
    }

    /// Adds eth0, down and without addresses, as a NIC's driver does.
    pub fn add_eth0(&mut self) {
        self.eth0.get_or_insert_with(LinkConf::default);
    }

    /// Returns the indexes of the links there are.
    pub fn indexes(&self) -> Vec<u32> {
        let mut out = alloc::vec![LO_INDEX];
        if self.eth0.is_some() {
            out.push(ETH0_INDEX);
        }
        out
    }

    /// Returns the link numbered `index`.
    pub fn link(&self, index: u32) -> Option<&LinkConf> {
        match index {
            LO_INDEX => Some(&self.lo),
            ETH0_INDEX => self.eth0.as_ref(),
            _ => None,
        }
    }

    fn link_mut(&mut self, index: u32) -> Result<&mut LinkConf, ConfigError> {
        match index {
            LO_INDEX => Ok(&mut self.lo),
            ETH0_INDEX => self.eth0.as_mut().ok_or(ConfigError::NoDevice),
            _ => Err(ConfigError::NoDevice),
        }
    }

    /// Brings a link up or down. Down drops the routes through it.
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`].
    pub fn set_up(&mut self, index: u32, up: bool) -> Result<(), ConfigError> {
        let link = self.link_mut(index)?;
        // Linux gives loopback 127.0.0.1/8 whenever it comes up (inetdev_event), which is
        // how a new network namespace's lo gets it.
        if index == LO_INDEX && up && !link.addrs.iter().any(|a| a.local == [127, 0, 0, 1]) {
            link.addrs.push(V4Addr::LOOPBACK);
        }
        link.up = up;
        link.was_up |= up;
        if !up {
            self.routes.retain(|r| r.oif != index);
        }
        Ok(())
    }

    /// Adds `addr` to a link. Linux fills in nothing here: a broadcast is kept only if given.
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`]; [`ConfigError::Invalid`] for a prefix over 32 or the
    /// unspecified address; [`ConfigError::Exists`] for an address the link has.
    pub fn add_addr(&mut self, index: u32, addr: V4Addr) -> Result<(), ConfigError> {
        if addr.prefix_len > 32 {
            return Err(ConfigError::Invalid);
        }
        let link = self.link_mut(index)?;
        if link.addrs.iter().any(|a| a.local == addr.local && a.prefix_len == addr.prefix_len) {
            return Err(ConfigError::Exists);
        }
        link.addrs.push(addr);
        Ok(())
    }

    /// Removes the address `local` (with `prefix_len`, if given) from a link, and the routes
    /// whose gateway it made reachable.
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`], [`ConfigError::NoAddress`].
    pub fn del_addr(
        &mut self,
        index: u32,
        local: [u8; 4],
        prefix_len: Option<u8>,
    ) -> Result<V4Addr, ConfigError> {
        let link = self.link_mut(index)?;
        let at = link
            .addrs
            .iter()
            .position(|a| a.local == local && prefix_len.is_none_or(|p| p == a.prefix_len))
            .ok_or(ConfigError::NoAddress)?;
        let removed = link.addrs.remove(at);
        self.after_address_removed(index);
        Ok(removed)
    }

    /// Replaces a link's primary address (SIOCSIFADDR); `None` removes it.
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`].
    pub fn set_primary(&mut self, index: u32, addr: Option<V4Addr>) -> Result<(), ConfigError> {
        let link = self.link_mut(index)?;
        if !link.addrs.is_empty() {
            link.addrs.remove(0);
            self.after_address_removed(index);
        }
        if let Some(addr) = addr {
            self.link_mut(index)?.addrs.insert(0, addr);
        }
        Ok(())
    }

    /// Changes the primary address's mask (and its broadcast, when that was the subnet's).
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`], [`ConfigError::NoAddress`], [`ConfigError::Invalid`] for
    /// a mask that is not a run of ones.
    pub fn set_primary_mask(&mut self, index: u32, mask: [u8; 4]) -> Result<(), ConfigError> {
        let prefix_len = mask_prefix(mask).ok_or(ConfigError::Invalid)?;
        let link = self.link_mut(index)?;
        let addr = link.addrs.first_mut().ok_or(ConfigError::NoAddress)?;
        if addr.prefix_len != prefix_len {
            let old_broadcast = u32::from_be_bytes(addr.local) | !addr.mask();
            if prefix_len < 31 && addr.broadcast.map(u32::from_be_bytes) == Some(old_broadcast) {
                addr.broadcast =
                    Some((u32::from_be_bytes(addr.local) | !prefix_mask(prefix_len)).to_be_bytes());
            }
            addr.prefix_len = prefix_len;
            // Linux removes the address and adds it again: when it is the only one, the
            // routes through the link go with it.
            if link.addrs.len() == 1 {
                self.routes.retain(|r| r.oif != index);
            }
        }
        self.drop_unreachable_routes();
        Ok(())
    }

    /// Sets the primary address's broadcast.
    ///
    /// # Errors
    /// [`ConfigError::NoDevice`], [`ConfigError::NoAddress`].
    pub fn set_primary_broadcast(&mut self, index: u32, b: [u8; 4]) -> Result<(), ConfigError> {
        let link = self.link_mut(index)?;
        link.addrs.first_mut().ok_or(ConfigError::NoAddress)?.broadcast = Some(b);
        Ok(())
    }

    /// Returns the connected routes: one per address of an up link but lo, for its subnet.
    pub fn connected_routes(&self) -> Vec<Route> {
        let Some(eth0) = self.eth0.as_ref().filter(|l| l.up) else { return Vec::new() };
        let mut out: Vec<Route> = Vec::new();
        for a in eth0.addrs.iter().filter(|a| a.prefix_len < 32) {
            let dst = (u32::from_be_bytes(a.local) & a.mask()).to_be_bytes();
            // A second address in the same subnet is secondary: no route of its own.
            if out.iter().any(|r| r.dst == dst && r.prefix_len == a.prefix_len) {
                continue;
            }
            out.push(Route {
                dst,
                prefix_len: a.prefix_len,
                gateway: None,
                oif: ETH0_INDEX,
                protocol: RTPROT_KERNEL,
                scope: RT_SCOPE_LINK,
                priority: 0,
                prefsrc: Some(a.local),
            });
        }
        out
    }

    /// Returns the main table, in Linux's order: by destination, longer prefixes first.
    pub fn main_table(&self) -> Vec<Route> {
        let mut all = self.connected_routes();
        all.extend(self.routes.iter().cloned());
        all.sort_by_key(|r| (u32::from_be_bytes(r.dst), 32 - r.prefix_len, r.priority));
        all
    }

    /// Adds a route. Without `oif` the gateway's connected route chooses the link.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for host bits in the destination or a prefix over 32;
    /// [`ConfigError::NoDevice`]; [`ConfigError::LinkDown`]; [`ConfigError::Unreachable`]
    /// for a gateway on no connected subnet (or no gateway and no link);
    /// [`ConfigError::Exists`] if the same route is there and `exclusive`.
    pub fn add_route(&mut self, mut route: Route, exclusive: bool) -> Result<(), ConfigError> {
        if route.prefix_len > 32 || !route.covers(route.dst) {
            return Err(ConfigError::Invalid);
        }
        let via = match route.gateway {
            Some(gw) => Some(self.connected_link(gw).ok_or(ConfigError::Unreachable)?),
            None => None,
        };
        route.oif = match (route.oif, via) {
            (0, Some(link)) => link,
            (0, None) => return Err(ConfigError::Unreachable),
            (oif, via) => {
                let link = self.link(oif).ok_or(ConfigError::NoDevice)?;
                if !link.up {
                    return Err(ConfigError::LinkDown);
                }
                if via.is_some_and(|v| v != oif) {
                    return Err(ConfigError::Unreachable);
                }
                oif
            }
        };
        let same = |r: &Route| {
            r.dst == route.dst && r.prefix_len == route.prefix_len && r.priority == route.priority
        };
        if let Some(at) = self.routes.iter().position(same) {
            if exclusive {
                return Err(ConfigError::Exists);
            }
            self.routes[at] = route;
        } else {
            self.routes.push(route);
        }
        Ok(())
    }

    /// Removes the first route to `dst`/`prefix_len` that also matches the given gateway
    /// and link (those not given match any).
    ///
    /// # Errors
    /// [`ConfigError::NoRoute`].
    pub fn del_route(
        &mut self,
        dst: [u8; 4],
        prefix_len: u8,
        gateway: Option<[u8; 4]>,
        oif: Option<u32>,
    ) -> Result<(), ConfigError> {
        let at = self
            .routes
            .iter()
            .position(|r| {
                r.dst == dst
                    && r.prefix_len == prefix_len
                    && gateway.is_none_or(|g| r.gateway == Some(g))
                    && oif.is_none_or(|o| o == 0 || r.oif == o)
            })
            .ok_or(ConfigError::NoRoute)?;
        self.routes.remove(at);
        Ok(())
    }

    /// Drops the routes added with this `protocol` through `oif` (DHCP's, when its lease ends).
    pub fn drop_routes_of(&mut self, oif: u32, gateway: [u8; 4]) {
        self.routes.retain(|r| !(r.oif == oif && r.gateway == Some(gateway)));
    }

    /// Returns the up link whose connected subnet holds `addr`.
    fn connected_link(&self, addr: [u8; 4]) -> Option<u32> {
        self.connected_routes().iter().find(|r| r.covers(addr)).map(|r| r.oif)
    }

    /// Drops what an address's removal takes with it: every route through the link once it
    /// has no address left (Linux's `fib_disable_ip`), else those whose gateway is no longer
    /// on a connected subnet.
    fn after_address_removed(&mut self, index: u32) {
        if self.link(index).is_some_and(|l| l.addrs.is_empty()) {
            self.routes.retain(|r| r.oif != index);
        }
        self.drop_unreachable_routes();
    }

    fn drop_unreachable_routes(&mut self) {
        let connected = self.connected_routes();
        self.routes.retain(|r| r.gateway.is_none_or(|g| connected.iter().any(|c| c.covers(g))));
    }

    /// Returns whether `addr` is this host's: 127.0.0.0/8, or an address of an up eth0.
    pub fn is_local(&self, addr: [u8; 4]) -> bool {
        addr[0] == 127
            || self.eth0.as_ref().is_some_and(|l| l.up && l.addrs.iter().any(|a| a.local == addr))
    }

    /// Returns the link a packet to `addr` leaves by (lo for this host's addresses), and the
    /// gateway it goes through, by the longest matching prefix.
    pub fn route_to(&self, addr: [u8; 4]) -> Option<(u32, Option<[u8; 4]>)> {
        if self.is_local(addr) {
            return Some((LO_INDEX, None));
        }
        self.main_table()
            .into_iter()
            .filter(|r| r.covers(addr))
            .max_by_key(|r| r.prefix_len)
            .map(|r| (r.oif, r.gateway))
    }

    /// Returns the routes through a gateway on `oif` (what smoltcp's route table holds).
    pub fn gateway_routes(&self, oif: u32) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.oif == oif && r.gateway.is_some())
    }
}

/// Returns the name of the link numbered `index`.
pub fn link_name(index: u32) -> Option<&'static str> {
    match index {
        LO_INDEX => Some("lo"),
        ETH0_INDEX => Some("eth0"),
        _ => None,
    }
}

/// Returns a prefix's mask as a big-endian number.
pub fn prefix_mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// Returns the prefix length of a netmask, `None` when it is not a run of ones then zeros.
pub fn mask_prefix(mask: [u8; 4]) -> Option<u8> {
    let m = u32::from_be_bytes(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// Returns the prefix Linux's SIOCSIFADDR gives an address from its class
/// (`inet_abc_len`): 0 for 0.x and 255.255.255.255, 8/16/24 for classes A/B/C, 32 for
/// class E, `None` for multicast.
pub fn class_prefix(addr: [u8; 4]) -> Option<u8> {
    match addr {
        [0, ..] | [255, 255, 255, 255] => Some(0),
        [a, ..] if a < 128 => Some(8),
        [a, ..] if a < 192 => Some(16),
        [a, ..] if a < 224 => Some(24),
        [a, ..] if a >= 240 => Some(32),
        _ => None,
    }
}

/// The DHCP lease eth0 holds, as /proc/net/pnp shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    pub address: [u8; 4],
    pub prefix_len: u8,
    pub router: Option<[u8; 4]>,
    pub dns: Vec<[u8; 4]>,
    /// The server that granted it (`bootserver`).
    pub server: [u8; 4],
}

/// Formats /proc/net/pnp as Linux's ipconfig does: the protocol, the name servers and the
/// server the configuration came from.
pub fn pnp_text(lease: Option<&Lease>) -> String {
    let mut out = String::new();
    let Some(lease) = lease else {
        out.push_str("#MANUAL\n");
        return out;
    };
    out.push_str("#PROTO: DHCP\n");
    for dns in &lease.dns {
        out.push_str(&alloc::format!("nameserver {}\n", dotted(*dns)));
    }
    out.push_str(&alloc::format!("bootserver {}\n", dotted(lease.server)));
    out
}

/// Formats an IPv4 address as a.b.c.d.
pub fn dotted(a: [u8; 4]) -> String {
    alloc::format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}
