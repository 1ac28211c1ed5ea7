//! The interfaces as users see them: names, indexes, flags, MTUs, hardware addresses and
//! counters (what rtnetlink's RTM_NEWLINK, the SIOCGIF* ioctls and /proc/net/dev report),
//! and the addresses and routes of the configuration in rtnetlink's terms.
//!
//! Flags, operational states and queueing disciplines are Linux 6.1's for lo and for a
//! virtio-net NIC: lo is LOOPBACK, UNKNOWN when up; eth0 is BROADCAST|MULTICAST, and
//! RUNNING|LOWER_UP when up with a carrier.

use alloc::string::String;
use alloc::vec::Vec;

use super::config::{ETH0_INDEX, LO_INDEX, NetConfig, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, link_name};
use super::netlink_proto::{AF_INET, AF_INET6, AddrInfo, LinkInfo, LinkStats, RouteInfo};
use super::stack;

/// `IFF_*` flags.
pub const IFF_UP: u32 = 0x1;
pub const IFF_BROADCAST: u32 = 0x2;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_MULTICAST: u32 = 0x1000;
pub const IFF_LOWER_UP: u32 = 0x10000;
/// `ARPHRD_ETHER`, `ARPHRD_LOOPBACK`.
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_LOOPBACK: u16 = 772;
/// `IFA_F_SECONDARY`: an address in the subnet of an earlier one; `IFA_F_PERMANENT`: an
/// address that does not expire.
const IFA_F_SECONDARY: u32 = 0x01;
const IFA_F_PERMANENT: u32 = 0x80;
/// The MTUs: lo's (Linux's 64 KiB) and Ethernet's.
pub const LO_MTU: u32 = 65536;
pub const ETH_MTU: u32 = 1500;
/// Every interface's transmit queue length (Linux's default for both).
pub const TXQLEN: u32 = 1000;
/// `IF_OPER_*`.
const IF_OPER_UNKNOWN: u8 = 0;
const IF_OPER_DOWN: u8 = 2;
const IF_OPER_LOWERLAYERDOWN: u8 = 3;
const IF_OPER_UP: u8 = 6;
/// `RTN_UNICAST`.
const RTN_UNICAST: u8 = 1;

/// Returns every link, in index order.
pub fn all() -> Vec<LinkInfo> {
    let nic = super::devices::by_name("eth0");
    let (config, lo_counts) = stack::peek(|s| (s.ifaces.config.clone(), s.ifaces.lo_counters()));
    let mut out = Vec::new();
    let lo_up = config.lo.up;
    let (packets, bytes) = lo_counts;
    out.push(LinkInfo {
        index: LO_INDEX,
        name: String::from("lo"),
        arp_type: ARPHRD_LOOPBACK,
        flags: IFF_LOOPBACK | if lo_up { IFF_UP | IFF_RUNNING | IFF_LOWER_UP } else { 0 },
        mtu: LO_MTU,
        min_mtu: 0,
        max_mtu: 0,
        qdisc: if lo_up { "noqueue" } else { "noop" },
        txqlen: TXQLEN,
        operstate: if lo_up { IF_OPER_UNKNOWN } else { IF_OPER_DOWN },
        carrier: true,
        address: [0; 6],
        broadcast: [0; 6],
        stats: LinkStats {
            rx_packets: packets,
            tx_packets: packets,
            rx_bytes: bytes,
            tx_bytes: bytes,
            ..LinkStats::default()
        },
    });
    if let (Some(link), Some(nic)) = (&config.eth0, nic) {
        let carrier = nic.link_up();
        let running = link.up && carrier;
        let c = nic.counters();
        out.push(LinkInfo {
            index: ETH0_INDEX,
            name: String::from("eth0"),
            arp_type: ARPHRD_ETHER,
            flags: IFF_BROADCAST
                | IFF_MULTICAST
                | if link.up { IFF_UP } else { 0 }
                | if running { IFF_RUNNING | IFF_LOWER_UP } else { 0 },
            mtu: ETH_MTU,
            min_mtu: 68,
            max_mtu: ETH_MTU,
            // Debian's kernel makes fq_codel the default discipline.
            qdisc: if link.was_up { "fq_codel" } else { "noop" },
            txqlen: TXQLEN,
            operstate: match (link.up, carrier) {
                (false, _) => IF_OPER_DOWN,
                (true, false) => IF_OPER_LOWERLAYERDOWN,
                (true, true) => IF_OPER_UP,
            },
            carrier,
            address: nic.mac(),
            broadcast: [0xff; 6],
            stats: LinkStats {
                rx_packets: c.rx_packets,
                tx_packets: c.tx_packets,
                rx_bytes: c.rx_bytes,
                tx_bytes: c.tx_bytes,
                rx_errors: c.rx_errors,
                tx_errors: c.tx_errors,
                rx_dropped: c.rx_dropped,
                tx_dropped: 0,
            },
        });
    }
    out
}

/// Returns the link numbered `index`.
pub fn by_index(index: u32) -> Option<LinkInfo> {
    all().into_iter().find(|l| l.index == index)
}

/// Returns the link called `name`.
pub fn by_name(name: &str) -> Option<LinkInfo> {
    all().into_iter().find(|l| l.name == name)
}

/// Returns a copy of the configuration.
pub fn config() -> NetConfig {
    stack::peek(|s| s.ifaces.config.clone())
}

/// Returns the addresses of `family` (AF_UNSPEC: both), as RTM_GETADDR dumps them: IPv4 by
/// link, then IPv6 (lo's ::1).
pub fn addresses(family: u8) -> Vec<AddrInfo> {
    let config = config();
    let mut out = Vec::new();
    if family == AF_INET || family == 0 {
        for index in config.indexes() {
            let Some(link) = config.link(index) else { continue };
            for (at, a) in link.addrs.iter().enumerate() {
                let same_subnet = |b: &super::config::V4Addr| {
                    b.prefix_len == a.prefix_len
                        && u32::from_be_bytes(b.local) & b.mask()
                            == u32::from_be_bytes(a.local) & a.mask()
                };
                let secondary = link.addrs[..at].iter().any(same_subnet);
                out.push(AddrInfo {
                    family: AF_INET,
                    prefix_len: a.prefix_len,
                    flags: if a.dynamic { 0 } else { IFA_F_PERMANENT }
                        | if secondary { IFA_F_SECONDARY } else { 0 },
                    scope: if a.local[0] == 127 { RT_SCOPE_HOST } else { RT_SCOPE_UNIVERSE },
                    index,
                    address: Vec::from(a.local),
                    broadcast: a.broadcast,
                    label: link_name(index).map(String::from),
                    valid_lft: u32::MAX,
                    preferred_lft: u32::MAX,
                });
            }
        }
    }
    if (family == AF_INET6 || family == 0) && config.lo.up {
        let mut localhost = alloc::vec![0u8; 16];
        localhost[15] = 1;
        out.push(AddrInfo {
            family: AF_INET6,
            prefix_len: 128,
            flags: IFA_F_PERMANENT,
            scope: RT_SCOPE_HOST,
            index: LO_INDEX,
            address: localhost,
            broadcast: None,
            label: None,
            valid_lft: u32::MAX,
            preferred_lft: u32::MAX,
        });
    }
    out
}

/// Returns the main table's IPv4 routes, as RTM_GETROUTE dumps them.
pub fn routes() -> Vec<RouteInfo> {
    config()
        .main_table()
        .into_iter()
        .map(|r| RouteInfo {
            family: AF_INET,
            dst_len: r.prefix_len,
            protocol: r.protocol,
            scope: r.scope,
            kind: RTN_UNICAST,
            dst: (r.prefix_len > 0).then(|| Vec::from(r.dst)),
            gateway: r.gateway.map(Vec::from),
            prefsrc: r.prefsrc.map(Vec::from),
            oif: r.oif,
            priority: r.priority,
        })
        .collect()
}
