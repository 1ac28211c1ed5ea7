//! The `ip=` kernel parameter, as Linux's ipconfig reads it (Documentation/admin-guide/
//! nfs/nfsroot.rst):
//!
//! `ip=<client>:<server>:<gateway>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>:<ntp0>`
//!
//! or one word: `off`/`none` (no configuration), `dhcp` (and Linux's `on`/`any`/`both`,
//! which also mean "ask the network"). Fields may be empty; trailing ones may be left out.
//! With a client address and no autoconf method the configuration is static; without a
//! client address it is DHCP. An empty netmask comes from the address class, as Linux
//! derives it. BOOTP and RARP are not offered: asking for them is an error.
//!
//! The command line is the user's, so every field is checked before the stack sees it (the
//! stack panics on a non-unicast interface address); an error names the field and the value.
//! Pure: no OSTD, host-tested by `tests/tests/ipconfig.rs`.

use core::fmt;

/// An IPv4 address, as four bytes in network order.
pub type Ipv4 = [u8; 4];

/// What `ip=` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpConfig<'a> {
    /// No configuration: interfaces stay down (`ip=off`).
    Off,
    /// Ask a DHCP server, on `device` (any device if `None`).
    Dhcp { device: Option<&'a str>, hostname: Option<&'a str> },
    /// A fixed address.
    Static(StaticConfig<'a>),
}

/// A static configuration from `ip=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticConfig<'a> {
    pub client: Ipv4,
    /// The prefix length of the netmask.
    pub prefix_len: u8,
    pub gateway: Option<Ipv4>,
    pub hostname: Option<&'a str>,
    /// The interface (the first one with a link if `None`).
    pub device: Option<&'a str>,
    pub dns: [Option<Ipv4>; 2],
}

/// What was wrong with `ip=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpConfigError<'a> {
    /// A field that should be an IPv4 address is not one.
    NotAnAddress { field: &'static str, value: &'a str },
    /// An address that must be a unicast host address is not (0.0.0.0, broadcast,
    /// multicast, loopback, or the subnet's own network or broadcast address).
    NotUnicast { field: &'static str, value: Ipv4 },
    /// The netmask's ones are not contiguous.
    BadNetmask(Ipv4),
    /// The gateway is not on the client's subnet, so it could not be reached.
    GatewayOffSubnet { gateway: Ipv4, client: Ipv4, prefix_len: u8 },
    /// An autoconf method this kernel does not offer (only dhcp, or off).
    UnsupportedAutoconf(&'a str),
    /// More than the ten fields Linux reads.
    TooManyFields,
}

impl fmt::Display for IpConfigError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = |a: &Ipv4| Dotted(*a);
        match self {
            Self::NotAnAddress { field, value } => {
                write!(f, "ip=: the {field} field {value:?} is not an IPv4 address")
            }
            Self::NotUnicast { field, value } => {
                write!(f, "ip=: the {field} {} is not a unicast host address", ip(value))
            }
            Self::BadNetmask(mask) => {
                write!(f, "ip=: the netmask {} does not have contiguous ones", ip(mask))
            }
            Self::GatewayOffSubnet { gateway, client, prefix_len } => write!(
                f,
                "ip=: the gateway {} is not on the client's subnet {}/{prefix_len}",
                ip(gateway),
                ip(client)
            ),
            Self::UnsupportedAutoconf(method) => {
                write!(f, "ip=: autoconf method {method:?} is not supported (use dhcp or off)")
            }
            Self::TooManyFields => write!(f, "ip=: more than the 10 fields Linux reads"),
        }
    }
}

/// Formats an address as a.b.c.d.
pub struct Dotted(pub Ipv4);

impl fmt::Display for Dotted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Parses the value of `ip=`.
pub fn parse(value: &str) -> Result<IpConfig<'_>, IpConfigError<'_>> {
    match value {
        "off" | "none" => return Ok(IpConfig::Off),
        "dhcp" | "on" | "any" | "both" => {
            return Ok(IpConfig::Dhcp { device: None, hostname: None });
        }
        "bootp" | "rarp" => return Err(IpConfigError::UnsupportedAutoconf(value)),
        _ => {}
    }
    let mut fields = [""; 10];
    let mut parts = value.split(':');
    for slot in fields.iter_mut() {
        match parts.next() {
            Some(part) => *slot = part,
            None => break,
        }
    }
    if parts.next().is_some() {
        return Err(IpConfigError::TooManyFields);
    }
    let [client, _server, gateway, netmask, hostname, device, autoconf, dns0, dns1, _ntp] = fields;
    let hostname = (!hostname.is_empty()).then_some(hostname);
    let device = (!device.is_empty()).then_some(device);
    let client = optional_address("client", client)?;
    match (autoconf, client) {
        ("off" | "none", None) => return Ok(IpConfig::Off),
        ("dhcp" | "on" | "any" | "both", _) | ("", None) => {
            return Ok(IpConfig::Dhcp { device, hostname });
        }
        ("off" | "none" | "", Some(_)) => {}
        (other, _) => return Err(IpConfigError::UnsupportedAutoconf(other)),
    }
    let client = client.expect("the static cases have a client address");
    let prefix_len = match optional_address("netmask", netmask)? {
        Some(mask) => prefix_len(mask).ok_or(IpConfigError::BadNetmask(mask))?,
        None => class_prefix_len(client),
    };
    check_host("client", client, prefix_len)?;
    let gateway = optional_address("gateway", gateway)?;
    if let Some(gw) = gateway {
        if !same_subnet(gw, client, prefix_len) {
            return Err(IpConfigError::GatewayOffSubnet { gateway: gw, client, prefix_len });
        }
        check_host("gateway", gw, prefix_len)?;
    }
    let dns = [optional_address("dns0", dns0)?, optional_address("dns1", dns1)?];
    for (field, server) in ["dns0", "dns1"].into_iter().zip(dns) {
        if let Some(server) = server {
            check_unicast(field, server)?;
        }
    }
    Ok(IpConfig::Static(StaticConfig { client, prefix_len, gateway, hostname, device, dns }))
}

fn optional_address<'a>(
    field: &'static str,
    value: &'a str,
) -> Result<Option<Ipv4>, IpConfigError<'a>> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_ipv4(value).map(Some).ok_or(IpConfigError::NotAnAddress { field, value })
}

/// Parses a.b.c.d, each part a decimal 0..=255 without a sign or leading garbage.
pub fn parse_ipv4(s: &str) -> Option<Ipv4> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for byte in out.iter_mut() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *byte = part.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The prefix length of a netmask, if its ones are contiguous.
fn prefix_len(mask: Ipv4) -> Option<u8> {
    let bits = u32::from_be_bytes(mask);
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// Linux's default netmask for an address without one: by its class.
fn class_prefix_len(addr: Ipv4) -> u8 {
    match addr[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

fn same_subnet(a: Ipv4, b: Ipv4, prefix_len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
    u32::from_be_bytes(a) & mask == u32::from_be_bytes(b) & mask
}

/// Checks that `addr` can be an interface's or a server's address.
fn check_unicast(field: &'static str, addr: Ipv4) -> Result<(), IpConfigError<'static>> {
    let unicast = addr != [0; 4] && addr != [255; 4] && !(224..=239).contains(&addr[0]);
    let loopback = addr[0] == 127;
    if unicast && !loopback {
        Ok(())
    } else {
        Err(IpConfigError::NotUnicast { field, value: addr })
    }
}

/// Checks that `addr` is a host of its /`prefix_len` subnet: unicast, and neither the
/// network's address nor its broadcast address (on subnets that have them: up to /30).
fn check_host(
    field: &'static str,
    addr: Ipv4,
    prefix_len: u8,
) -> Result<(), IpConfigError<'static>> {
    check_unicast(field, addr)?;
    if prefix_len <= 30 {
        let host_bits = u32::MAX >> prefix_len;
        let host = u32::from_be_bytes(addr) & host_bits;
        if host == 0 || host == host_bits {
            return Err(IpConfigError::NotUnicast { field, value: addr });
        }
    }
    Ok(())
}
