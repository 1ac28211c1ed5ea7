//! Socket addresses: the `sockaddr_un`, `sockaddr_in` and `sockaddr_in6` a caller hands to
//! bind, connect and sendto, and the ones getsockname, getpeername, accept and recvfrom
//! hand back.
//!
//! - [`SockAddr::check_len`] is the check made on `addrlen` before the bytes are copied in.
//! - [`SockAddr::parse`] reads those bytes for a socket of a given [`Family`] and refuses
//!   what Linux refuses; [`AddrError`] says what was wrong and which errno that is.
//! - [`SockAddr::to_bytes`] is the inverse: the full sockaddr, which the caller truncates to
//!   the room the user gave (as Linux does) while reporting the full length.
//! - [`v4_mapped`], [`v4_unmapped`], [`SockAddr::into_v6`] and [`SockAddr::unmap_v4`]: IPv4
//!   addresses inside IPv6 ones (`::ffff:a.b.c.d`), which dual-stack AF_INET6 sockets use.
//!
//! Some rules depend on the call, not just on the bytes; the socket applies them, with
//! [`family_field`] to look before parsing:
//! - connect with AF_UNSPEC disconnects an AF_INET or AF_INET6 socket;
//! - bind of an AF_INET socket takes AF_UNSPEC when the address is INADDR_ANY;
//! - sendto on a UDP socket takes AF_UNSPEC as AF_INET, and a UDP AF_INET6 socket takes
//!   AF_INET addresses on connect and sendto.
//!
//! Layouts (x86-64): the family is a native-endian `u16` first; ports, IPv4 addresses and
//! IPv6 flow labels are big-endian; `sin6_scope_id` is native-endian.
//!
//! This file uses only `core` and `alloc`, so the host tests (`tests/tests/sockaddr.rs`)
//! include it as it is.

use alloc::string::String;
use alloc::vec::Vec;

/// `AF_UNSPEC`: no family (connect's "disconnect").
pub const AF_UNSPEC: u16 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: u16 = 16;

/// `sizeof(struct sockaddr_un)`: the family and 108 bytes of path.
pub const SOCKADDR_UN_LEN: usize = 110;
/// `sizeof(struct sockaddr_in)`: family, port, address and 8 bytes of padding.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The shortest `sockaddr_in6` Linux takes: RFC 2133's, from before `sin6_scope_id`
/// (`SIN6_LEN_RFC2133`). A shorter one's scope is 0.
pub const SOCKADDR_IN6_MIN_LEN: usize = 24;
/// `sizeof(struct sockaddr_nl)`: family, padding, port and groups.
pub const SOCKADDR_NL_LEN: usize = 12;
/// `sizeof(struct sockaddr_storage)`: the longest `addrlen` any socket call takes.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

/// The address families this kernel knows the sockaddr layout of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// AF_UNIX: `sockaddr_un`.
    Unix,
    /// AF_INET: `sockaddr_in`.
    Inet,
    /// AF_INET6: `sockaddr_in6`.
    Inet6,
    /// AF_NETLINK: `sockaddr_nl`.
    Netlink,
}

impl Family {
    /// Decodes an `AF_*` number; `None` for a family without a known layout.
    pub fn from_raw(raw: u16) -> Option<Self> {
        match raw {
            AF_UNIX => Some(Self::Unix),
            AF_INET => Some(Self::Inet),
            AF_INET6 => Some(Self::Inet6),
            AF_NETLINK => Some(Self::Netlink),
            _ => None,
        }
    }

    /// Returns the `AF_*` number (`sa_family`, SO_DOMAIN).
    pub fn raw(self) -> u16 {
        match self {
            Self::Unix => AF_UNIX,
            Self::Inet => AF_INET,
            Self::Inet6 => AF_INET6,
            Self::Netlink => AF_NETLINK,
        }
    }
}

/// A Unix socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixAddr {
    /// Not bound (or autobound never happened).
    Unnamed,
    /// A filesystem path, as given to bind.
    Path(String),
    /// An abstract name (the bytes after the leading NUL).
    Abstract(Vec<u8>),
}

/// A socket address of any family this kernel speaks. Ports are in host order here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SockAddr {
    /// AF_UNIX.
    Unix(UnixAddr),
    /// AF_INET.
    V4 {
        /// The IPv4 address, in network order (`[127, 0, 0, 1]`).
        addr: [u8; 4],
        /// The port.
        port: u16,
    },
    /// AF_INET6.
    V6 {
        /// The IPv6 address, in network order.
        addr: [u8; 16],
        /// The port.
        port: u16,
        /// `sin6_flowinfo`: traffic class and flow label.
        flowinfo: u32,
        /// `sin6_scope_id`: the interface a link-local address belongs to (0: none).
        scope_id: u32,
    },
    /// AF_NETLINK.
    Netlink {
        /// `nl_pid`: the port (0: the kernel).
        pid: u32,
        /// `nl_groups`: the multicast groups, one bit each.
        groups: u32,
    },
}

/// Why a caller's sockaddr was refused. Each variant names the errno Linux gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// `addrlen` is outside what the family's sockaddr allows: EINVAL.
    Length {
        /// The family of the socket the address was for.
        family: Family,
        /// The length the caller gave.
        len: usize,
    },
    /// The address's family is not the socket's: EINVAL for an AF_UNIX socket,
    /// EAFNOSUPPORT for AF_INET and AF_INET6 ones.
    WrongFamily {
        /// The family of the socket the address was for.
        socket: Family,
        /// The `sa_family` the address has.
        got: u16,
    },
    /// A Unix path name that is not UTF-8 (paths are strings in this kernel): EINVAL.
    PathNotUtf8,
}

/// Returns the `sa_family` field of a caller's sockaddr, or `None` when `raw` is too short
/// to have one (Linux: EINVAL).
pub fn family_field(raw: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes([*raw.first()?, *raw.get(1)?]))
}

/// Returns `::ffff:a.b.c.d`, the IPv6 form of an IPv4 address (RFC 4291 §2.5.5.2).
pub fn v4_mapped(v4: [u8; 4]) -> [u8; 16] {
    let mut v6 = [0u8; 16];
    v6[10] = 0xff;
    v6[11] = 0xff;
    v6[12..].copy_from_slice(&v4);
    v6
}

/// Returns the IPv4 address inside a v4-mapped IPv6 address (`::ffff:a.b.c.d`), or `None`
/// when `v6` is not one.
pub fn v4_unmapped(v6: &[u8; 16]) -> Option<[u8; 4]> {
    let (prefix, v4) = v6.split_at(12);
    if prefix == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] { v4.try_into().ok() } else { None }
}

impl SockAddr {
    /// Checks `addrlen` before the address is copied in, so that a length no sockaddr of
    /// `family` can have is EINVAL whatever the pointer.
    ///
    /// AF_UNIX checks the whole range here (2 to 110 bytes), as this kernel always has.
    /// Linux copies first and checks after, so with an unreadable pointer and a length of
    /// 111 to 128 it says EFAULT. The inet families check only the upper bound, as Linux's
    /// `move_addr_to_kernel` does; [`SockAddr::parse`] checks the lower one.
    ///
    /// # Errors
    /// [`AddrError::Length`].
    pub fn check_len(family: Family, len: usize) -> Result<(), AddrError> {
        let fits = match family {
            Family::Unix => (2..=SOCKADDR_UN_LEN).contains(&len),
            Family::Inet | Family::Inet6 | Family::Netlink => len <= SOCKADDR_STORAGE_LEN,
        };
        if fits { Ok(()) } else { Err(AddrError::Length { family, len }) }
    }

    /// Parses the sockaddr a caller gave (all `addrlen` bytes of it) for a socket of
    /// `family`.
    ///
    /// - AF_UNIX: 2 to 110 bytes. Nothing after the family is [`UnixAddr::Unnamed`]; a
    ///   leading NUL makes the rest an abstract name (every byte counts, NULs included);
    ///   otherwise the path runs to the first NUL or the end.
    /// - AF_INET: at least 16 bytes; the padding is ignored.
    /// - AF_INET6: at least 24 bytes; `sin6_scope_id` is read only when all 28 are there.
    /// - AF_NETLINK: at least 12 bytes.
    ///
    /// # Errors
    /// [`AddrError::Length`] before anything else, then [`AddrError::WrongFamily`], then
    /// [`AddrError::PathNotUtf8`]: the order Linux checks in.
    pub fn parse(family: Family, raw: &[u8]) -> Result<Self, AddrError> {
        Self::check_len(family, raw.len())?;
        let min = match family {
            Family::Unix => 2,
            Family::Inet => SOCKADDR_IN_LEN,
            Family::Inet6 => SOCKADDR_IN6_MIN_LEN,
            Family::Netlink => SOCKADDR_NL_LEN,
        };
        if raw.len() < min {
            return Err(AddrError::Length { family, len: raw.len() });
        }
        let got = u16::from_ne_bytes([raw[0], raw[1]]);
        if got != family.raw() {
            return Err(AddrError::WrongFamily { socket: family, got });
        }
        let be16 = |at: usize| u16::from_be_bytes([raw[at], raw[at + 1]]);
        Ok(match family {
            Family::Unix => Self::Unix(parse_unix_name(&raw[2..])?),
            Family::Inet => Self::V4 { addr: array(&raw[4..8]), port: be16(2) },
            Family::Inet6 => Self::V6 {
                addr: array(&raw[8..24]),
                port: be16(2),
                flowinfo: u32::from_be_bytes(array(&raw[4..8])),
                scope_id: match raw.get(24..28) {
                    Some(scope) => u32::from_ne_bytes(array(scope)),
                    None => 0,
                },
            },
            Family::Netlink => Self::Netlink {
                pid: u32::from_ne_bytes(array(&raw[4..8])),
                groups: u32::from_ne_bytes(array(&raw[8..12])),
            },
        })
    }

    /// Returns the family of the address.
    pub fn family(&self) -> Family {
        match self {
            Self::Unix(_) => Family::Unix,
            Self::V4 { .. } => Family::Inet,
            Self::V6 { .. } => Family::Inet6,
            Self::Netlink { .. } => Family::Netlink,
        }
    }

    /// Encodes the address as the sockaddr the kernel writes back, at its full length.
    ///
    /// An unnamed Unix address is the bare family (2 bytes); a path gets its terminating
    /// NUL; an abstract name is a NUL and the name.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = Vec::from(self.family().raw().to_ne_bytes());
        match self {
            Self::Unix(UnixAddr::Unnamed) => {}
            Self::Unix(UnixAddr::Path(path)) => {
                raw.extend_from_slice(path.as_bytes());
                raw.push(0);
            }
            Self::Unix(UnixAddr::Abstract(name)) => {
                raw.push(0);
                raw.extend_from_slice(name);
            }
            Self::V4 { addr, port } => {
                raw.extend_from_slice(&port.to_be_bytes());
                raw.extend_from_slice(addr);
                raw.resize(SOCKADDR_IN_LEN, 0);
            }
            Self::V6 { addr, port, flowinfo, scope_id } => {
                raw.extend_from_slice(&port.to_be_bytes());
                raw.extend_from_slice(&flowinfo.to_be_bytes());
                raw.extend_from_slice(addr);
                raw.extend_from_slice(&scope_id.to_ne_bytes());
            }
            Self::Netlink { pid, groups } => {
                raw.extend_from_slice(&[0, 0]);
                raw.extend_from_slice(&pid.to_ne_bytes());
                raw.extend_from_slice(&groups.to_ne_bytes());
            }
        }
        raw
    }

    /// Returns an IPv4 address as the v4-mapped IPv6 one an AF_INET6 socket reports for
    /// it (flow and scope 0); other addresses unchanged.
    pub fn into_v6(self) -> Self {
        match self {
            Self::V4 { addr, port } => {
                Self::V6 { addr: v4_mapped(addr), port, flowinfo: 0, scope_id: 0 }
            }
            other => other,
        }
    }

    /// Returns a v4-mapped IPv6 address as the IPv4 one it carries (the flow and scope
    /// are dropped); other addresses unchanged.
    pub fn unmap_v4(self) -> Self {
        if let Self::V6 { addr, port, .. } = self
            && let Some(v4) = v4_unmapped(&addr)
        {
            return Self::V4 { addr: v4, port };
        }
        self
    }
}

/// Reads the part of a `sockaddr_un` after the family.
fn parse_unix_name(name: &[u8]) -> Result<UnixAddr, AddrError> {
    Ok(match name.first() {
        None => UnixAddr::Unnamed,
        Some(0) => UnixAddr::Abstract(name[1..].to_vec()),
        Some(_) => {
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let path = core::str::from_utf8(&name[..end]).map_err(|_| AddrError::PathNotUtf8)?;
            UnixAddr::Path(path.into())
        }
    })
}

/// Copies a slice whose length the caller has checked into an array.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}
