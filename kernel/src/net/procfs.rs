//! /proc/net: the files busybox `ifconfig` and `route` read, in Linux 6.1's formats.
//!
//! - `dev`: each interface's counters (`net/core/net-procfs.c`);
//! - `route`: the main table (`net/ipv4/fib_trie.c`): addresses are the raw big-endian
//!   words printed as host-order hex, each line padded to 127 columns;
//! - `if_inet6`: the IPv6 addresses (lo's ::1 only, as this kernel keeps no others);
//! - `pnp`: what `ip=` configured (DHCP's name servers and server), when it was given.

use alloc::format;
use alloc::string::String;

use super::config::{LO_INDEX, prefix_mask};
use super::links;

/// The names of the files, for the directory listing.
pub fn names() -> &'static [&'static str] {
    if super::ip_autoconfig_used() {
        &["dev", "if_inet6", "pnp", "route"]
    } else {
        &["dev", "if_inet6", "route"]
    }
}

/// Returns the text of /proc/net/`name`.
pub fn text(name: &str) -> Option<String> {
    Some(match name {
        "dev" => dev(),
        "route" => route(),
        "if_inet6" => if_inet6(),
        "pnp" if super::ip_autoconfig_used() => {
            let lease = super::stack_lease();
            super::config::pnp_text(lease.as_ref())
        }
        _ => return None,
    })
}

fn dev() -> String {
    let mut out = String::from(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets \
         errs drop fifo colls carrier compressed\n",
    );
    for link in links::all() {
        let s = link.stats;
        out.push_str(&format!(
            "{:>6}: {:>7} {:>7} {:>4} {:>4} {:>4} {:>5} {:>10} {:>9} {:>8} {:>7} {:>4} {:>4} {:>4} {:>5} {:>7} {:>10}\n",
            link.name,
            s.rx_bytes,
            s.rx_packets,
            s.rx_errors,
            s.rx_dropped,
            0,
            0,
            0,
            0,
            s.tx_bytes,
            s.tx_packets,
            s.tx_errors,
            s.tx_dropped,
            0,
            0,
            0,
            0
        ));
    }
    out
}

fn route() -> String {
    let mut out = format!(
        "{:<127}\n",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    );
    for r in links::config().main_table() {
        let name = super::config::link_name(r.oif).unwrap_or("*");
        // RTF_UP, RTF_GATEWAY, RTF_HOST.
        let flags = 0x1
            | if r.gateway.is_some() { 0x2 } else { 0 }
            | if r.prefix_len == 32 { 0x4 } else { 0 };
        let word = |a: [u8; 4]| u32::from_le_bytes(a);
        let line = format!(
            "{name}\t{:08X}\t{:08X}\t{flags:04X}\t0\t0\t{}\t{:08X}\t0\t0\t0",
            word(r.dst),
            word(r.gateway.unwrap_or([0; 4])),
            r.priority,
            word(prefix_mask(r.prefix_len).to_be_bytes()),
        );
        out.push_str(&format!("{line:<127}\n"));
    }
    out
}

fn if_inet6() -> String {
    if !links::config().lo.up {
        return String::new();
    }
    // ::1, lo's index, prefix 128, scope IPV6_ADDR_LOOPBACK, IFA_F_PERMANENT.
    format!("{:032x} {:02x} {:02x} {:02x} {:02x} {:>8}\n", 1, LO_INDEX, 128, 0x10, 0x80, "lo")
}
