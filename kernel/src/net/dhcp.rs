//! DHCP on eth0 (`ip=dhcp`): smoltcp's DHCPv4 client drives the lease; this file applies
//! what it reports to the configuration ([`super::config`]).
//!
//! On a lease eth0 gets the address and prefix (marked dynamic), a default route through
//! the router (protocol boot, as Linux's ipconfig adds it), and the name servers are kept
//! for /proc/net/pnp. When the lease is lost (smoltcp's client sends DISCOVER again after
//! a NAK or an expiry) they are taken away. Renewal is the client's own business: the net
//! task polls the stack when smoltcp asks, and that is when it renews.

use smoltcp::socket::dhcpv4;

use super::config::{ETH0_INDEX, Lease, RT_SCOPE_UNIVERSE, RTPROT_BOOT, Route, V4Addr, dotted};
use super::iface::{IfaceId, Ifaces};

/// Starts the DHCP client on eth0 (which must be attached and up).
pub fn start(ifaces: &mut Ifaces) {
    if ifaces.dhcp.is_some() || ifaces.eth0.is_none() {
        return;
    }
    let handle = ifaces.sockets(IfaceId::Eth0).add(dhcpv4::Socket::new());
    ifaces.dhcp = Some(handle);
}

/// Applies what the client reported since the last poll. Returns whether the configuration
/// changed.
pub fn after_poll(ifaces: &mut Ifaces) -> bool {
    let Some(handle) = ifaces.dhcp else { return false };
    let event = match ifaces.sockets(IfaceId::Eth0).get_mut::<dhcpv4::Socket>(handle).poll() {
        None => return false,
        Some(dhcpv4::Event::Configured(c)) => Some(Lease {
            address: c.address.address().octets(),
            prefix_len: c.address.prefix_len(),
            router: c.router.map(|r| r.octets()),
            dns: c.dns_servers.iter().map(|d| d.octets()).collect(),
            server: c.server.identifier.octets(),
        }),
        Some(dhcpv4::Event::Deconfigured) => None,
    };
    if event.is_none() && ifaces.lease.is_none() {
        // The client reports "deconfigured" when it starts: nothing to take away.
        return false;
    }
    drop_lease(ifaces);
    if let Some(lease) = event {
        apply(ifaces, &lease);
        ifaces.lease = Some(lease);
    } else {
        log::warn!("eth0: DHCP lease lost");
    }
    ifaces.sync();
    true
}

/// Returns the lease eth0 holds, if any.
pub fn lease(ifaces: &Ifaces) -> Option<Lease> {
    ifaces.lease.clone()
}

fn apply(ifaces: &mut Ifaces, lease: &Lease) {
    let mask = super::config::prefix_mask(lease.prefix_len);
    let broadcast = (u32::from_be_bytes(lease.address) | !mask).to_be_bytes();
    let addr = V4Addr {
        local: lease.address,
        prefix_len: lease.prefix_len,
        broadcast: (lease.prefix_len < 31).then_some(broadcast),
        dynamic: true,
    };
    if let Err(e) = ifaces.config.add_addr(ETH0_INDEX, addr) {
        log::warn!("eth0: the DHCP address {} is refused ({e:?})", dotted(lease.address));
    }
    let via = match lease.router {
        Some(router) => {
            let default = Route {
                dst: [0; 4],
                prefix_len: 0,
                gateway: Some(router),
                oif: ETH0_INDEX,
                protocol: RTPROT_BOOT,
                scope: RT_SCOPE_UNIVERSE,
                priority: 0,
                prefsrc: None,
            };
            if let Err(e) = ifaces.config.add_route(default, false) {
                log::warn!("eth0: the DHCP router {} is refused ({e:?})", dotted(router));
            }
            alloc::format!(" via {}", dotted(router))
        }
        None => alloc::string::String::new(),
    };
    log::info!("eth0: DHCP lease {}/{}{via}", dotted(lease.address), lease.prefix_len);
}

fn drop_lease(ifaces: &mut Ifaces) {
    let Some(old) = ifaces.lease.take() else { return };
    if let Some(router) = old.router {
        ifaces.config.drop_routes_of(ETH0_INDEX, router);
    }
    let _ = ifaces.config.del_addr(ETH0_INDEX, old.address, Some(old.prefix_len));
}
