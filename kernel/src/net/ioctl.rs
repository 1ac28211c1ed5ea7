//! The interface ioctls any socket answers (`struct ifreq`, `struct ifconf`, and
//! `struct rtentry` for the routes), with Linux 6.1's errnos.
//!
//! Linux splits them: the link ones (flags, MTU, hardware address, index, name, and
//! SIOCGIFCONF) work on every socket (`dev_ioctl`); the IPv4 address ones (SIOCGIFADDR and
//! friends, `devinet_ioctl`) and the route ones (`ip_rt_ioctl`) only on AF_INET sockets,
//! others get ENOTTY. The setters need root (EPERM before the interface is looked up); an
//! unknown name is ENODEV; an interface without an IPv4 address is EADDRNOTAVAIL for the
//! address ones; bad user memory is EFAULT.
//!
//! Layouts (x86-64): `ifreq` is 40 bytes, the name (16, NUL-terminated) then a union;
//! `ifconf` is `{ int len; char *buf; }` (16 bytes); `rtentry` is 120 bytes.

use alloc::string::String;
use alloc::vec::Vec;

use super::addr::AF_INET;
use super::config::{
    ConfigError, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RTPROT_BOOT, Route, V4Addr, class_prefix,
    mask_prefix, prefix_mask,
};
use super::links::{self, IFF_BROADCAST, IFF_UP};
use super::stack;
use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

pub const SIOCADDRT: u32 = 0x890b;
pub const SIOCDELRT: u32 = 0x890c;
pub const SIOCGIFNAME: u32 = 0x8910;
pub const SIOCGIFCONF: u32 = 0x8912;
pub const SIOCGIFFLAGS: u32 = 0x8913;
pub const SIOCSIFFLAGS: u32 = 0x8914;
pub const SIOCGIFADDR: u32 = 0x8915;
pub const SIOCSIFADDR: u32 = 0x8916;
pub const SIOCGIFDSTADDR: u32 = 0x8917;
pub const SIOCGIFBRDADDR: u32 = 0x8919;
pub const SIOCSIFBRDADDR: u32 = 0x891a;
pub const SIOCGIFNETMASK: u32 = 0x891b;
pub const SIOCSIFNETMASK: u32 = 0x891c;
pub const SIOCGIFMETRIC: u32 = 0x891d;
pub const SIOCGIFMTU: u32 = 0x8921;
pub const SIOCSIFMTU: u32 = 0x8922;
pub const SIOCGIFHWADDR: u32 = 0x8927;
pub const SIOCGIFINDEX: u32 = 0x8933;
pub const SIOCGIFTXQLEN: u32 = 0x8942;
pub const SIOCGIFMAP: u32 = 0x8970;

/// `sizeof(struct ifreq)`, and where its union starts.
const IFREQ_LEN: usize = 40;
const IFNAMSIZ: usize = 16;
/// `sizeof(struct rtentry)`.
const RTENTRY_LEN: usize = 120;
/// `rt_flags` bits.
const RTF_GATEWAY: u16 = 0x2;
const RTF_HOST: u16 = 0x4;

/// Returns whether `cmd` is one of the ioctls this file answers.
pub fn is_interface_ioctl(cmd: u32) -> bool {
    matches!(
        cmd,
        SIOCADDRT
            | SIOCDELRT
            | SIOCGIFNAME
            | SIOCGIFCONF
            | SIOCGIFFLAGS
            | SIOCSIFFLAGS
            | SIOCGIFADDR
            | SIOCSIFADDR
            | SIOCGIFDSTADDR
            | SIOCGIFBRDADDR
            | SIOCSIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCSIFNETMASK
            | SIOCGIFMETRIC
            | SIOCGIFMTU
            | SIOCSIFMTU
            | SIOCGIFHWADDR
            | SIOCGIFINDEX
            | SIOCGIFTXQLEN
            | SIOCGIFMAP
    )
}

/// Answers interface ioctl `cmd` with argument `arg`, on a socket that is AF_INET
/// (`inet`) or not; `privileged` callers may change things.
pub fn interface_ioctl(
    cmd: u32,
    arg: u64,
    mem: &UserMem,
    inet: bool,
    privileged: bool,
) -> SysResult<u64> {
    match cmd {
        SIOCGIFCONF => return if_conf(arg, mem),
        SIOCADDRT | SIOCDELRT if !inet => return Err(Errno::ENOTTY),
        SIOCADDRT | SIOCDELRT => return route_ioctl(cmd == SIOCADDRT, arg, mem, privileged),
        _ => {}
    }
    let mut req = [0u8; IFREQ_LEN];
    mem.read(arg, &mut req)?;
    let address_cmd = matches!(
        cmd,
        SIOCGIFADDR
            | SIOCSIFADDR
            | SIOCGIFDSTADDR
            | SIOCGIFBRDADDR
            | SIOCSIFBRDADDR
            | SIOCGIFNETMASK
            | SIOCSIFNETMASK
    );
    if address_cmd {
        if !inet {
            return Err(Errno::ENOTTY);
        }
        return address_ioctl(cmd, arg, &mut req, mem, privileged);
    }
    if cmd == SIOCGIFNAME {
        let index = i32::from_ne_bytes(field4(&req));
        let link = u32::try_from(index).ok().and_then(links::by_index).ok_or(Errno::ENODEV)?;
        req[..IFNAMSIZ].fill(0);
        req[..link.name.len()].copy_from_slice(link.name.as_bytes());
        return mem.write(arg, &req).map(|()| 0);
    }
    if matches!(cmd, SIOCSIFFLAGS | SIOCSIFMTU) && !privileged {
        return Err(Errno::EPERM);
    }
    let link = links::by_name(&ifreq_name(&req)).ok_or(Errno::ENODEV)?;
    let union = &mut req[IFNAMSIZ..];
    match cmd {
        SIOCGIFFLAGS => union[..2].copy_from_slice(&(link.flags as u16).to_ne_bytes()),
        SIOCSIFFLAGS => {
            let flags = u16::from_ne_bytes([union[0], union[1]]);
            let up = u32::from(flags) & IFF_UP != 0;
            stack::configure(|i| i.config.set_up(link.index, up)).map_err(config_errno)?;
            return Ok(0);
        }
        SIOCGIFMTU => union[..4].copy_from_slice(&link.mtu.to_ne_bytes()),
        SIOCSIFMTU => {
            // The MTU is fixed: lo's, and the NIC's receive buffers'.
            let mtu = i32::from_ne_bytes(field4(&req));
            return if u32::try_from(mtu) == Ok(link.mtu) { Ok(0) } else { Err(Errno::EINVAL) };
        }
        SIOCGIFMETRIC => union[..4].fill(0),
        SIOCGIFINDEX => union[..4].copy_from_slice(&link.index.to_ne_bytes()),
        SIOCGIFTXQLEN => union[..4].copy_from_slice(&link.txqlen.to_ne_bytes()),
        SIOCGIFMAP => union.fill(0),
        SIOCGIFHWADDR => {
            union[..16].fill(0);
            union[..2].copy_from_slice(&link.arp_type.to_ne_bytes());
            union[2..8].copy_from_slice(&link.address);
        }
        _ => return Err(Errno::ENOTTY),
    }
    mem.write(arg, &req).map(|()| 0)
}

/// The IPv4 address ioctls (`devinet_ioctl`).
fn address_ioctl(
    cmd: u32,
    arg: u64,
    req: &mut [u8; IFREQ_LEN],
    mem: &UserMem,
    privileged: bool,
) -> SysResult<u64> {
    let setter = matches!(cmd, SIOCSIFADDR | SIOCSIFBRDADDR | SIOCSIFNETMASK);
    let given = sockaddr_in(&req[IFNAMSIZ..]);
    if setter {
        if !privileged {
            return Err(Errno::EPERM);
        }
        if u16::from_ne_bytes([req[16], req[17]]) != AF_INET {
            return Err(Errno::EINVAL);
        }
    }
    let link = links::by_name(&ifreq_name(req)).ok_or(Errno::ENODEV)?;
    let config = links::config();
    let primary = config.link(link.index).and_then(|l| l.addrs.first().cloned());
    let Some(primary) = primary else {
        if cmd != SIOCSIFADDR {
            return Err(Errno::EADDRNOTAVAIL);
        }
        return set_address(link.index, link.flags, given, None).map(|()| 0);
    };
    let answer = match cmd {
        SIOCGIFADDR | SIOCGIFDSTADDR => primary.local,
        SIOCGIFBRDADDR => primary.broadcast.unwrap_or([0; 4]),
        SIOCGIFNETMASK => primary.mask().to_be_bytes(),
        SIOCSIFADDR => {
            return set_address(link.index, link.flags, given, Some(primary)).map(|()| 0);
        }
        SIOCSIFBRDADDR => {
            stack::configure(|i| i.config.set_primary_broadcast(link.index, given))
                .map_err(config_errno)?;
            return Ok(0);
        }
        SIOCSIFNETMASK => {
            mask_prefix(given).ok_or(Errno::EINVAL)?;
            stack::configure(|i| i.config.set_primary_mask(link.index, given))
                .map_err(config_errno)?;
            return Ok(0);
        }
        _ => return Err(Errno::ENOTTY),
    };
    req[IFNAMSIZ..].fill(0);
    req[16..18].copy_from_slice(&AF_INET.to_ne_bytes());
    req[20..24].copy_from_slice(&answer);
    mem.write(arg, req).map(|()| 0)
}

/// SIOCSIFADDR: the primary address becomes `local`, with its class's prefix and (on a
/// broadcast link) the subnet's broadcast; 0.0.0.0 removes it.
fn set_address(index: u32, flags: u32, local: [u8; 4], old: Option<V4Addr>) -> SysResult<()> {
    let prefix_len = class_prefix(local).ok_or(Errno::EINVAL)?;
    if old.as_ref().is_some_and(|o| o.local == local) {
        return Ok(());
    }
    let broadcast = (flags & IFF_BROADCAST != 0 && prefix_len < 31)
        .then(|| (u32::from_be_bytes(local) | !prefix_mask(prefix_len)).to_be_bytes());
    let addr = (local != [0; 4]).then_some(V4Addr { local, prefix_len, broadcast, dynamic: false });
    stack::configure(|i| i.config.set_primary(index, addr)).map_err(config_errno)
}

/// SIOCGIFCONF: an `ifreq` (name and IPv4 address) per address of an up link, as many as
/// fit; with a null buffer, only the length all of them need.
fn if_conf(arg: u64, mem: &UserMem) -> SysResult<u64> {
    let len = mem.read_u32(arg)? as i32;
    let buf = mem.read_u64(arg + 8)?;
    let config = links::config();
    let mut entries: Vec<[u8; IFREQ_LEN]> = Vec::new();
    for index in config.indexes() {
        let Some(link) = config.link(index).filter(|l| l.up) else { continue };
        let name = super::config::link_name(index).unwrap_or("");
        for a in &link.addrs {
            let mut entry = [0u8; IFREQ_LEN];
            entry[..name.len()].copy_from_slice(name.as_bytes());
            entry[16..18].copy_from_slice(&AF_INET.to_ne_bytes());
            entry[20..24].copy_from_slice(&a.local);
            entries.push(entry);
        }
    }
    let written = if buf == 0 {
        entries.len() * IFREQ_LEN
    } else {
        let room = usize::try_from(len).unwrap_or(0) / IFREQ_LEN;
        let taken: Vec<u8> = entries.iter().take(room).flatten().copied().collect();
        mem.write(buf, &taken)?;
        taken.len()
    };
    mem.write_u32(arg, written as u32).map(|()| 0)
}

/// SIOCADDRT and SIOCDELRT: a route from a `struct rtentry`.
fn route_ioctl(add: bool, arg: u64, mem: &UserMem, privileged: bool) -> SysResult<u64> {
    if !privileged {
        return Err(Errno::EPERM);
    }
    let mut rt = [0u8; RTENTRY_LEN];
    mem.read(arg, &mut rt)?;
    let flags = u16::from_ne_bytes([rt[56], rt[57]]);
    let dst = sockaddr_in(&rt[8..24]);
    let gateway = sockaddr_in(&rt[24..40]);
    let prefix_len = if flags & RTF_HOST != 0 {
        32
    } else {
        mask_prefix(sockaddr_in(&rt[40..56])).ok_or(Errno::EINVAL)?
    };
    if u32::from_be_bytes(dst) & !prefix_mask(prefix_len) != 0 {
        return Err(Errno::EINVAL);
    }
    let dev = u64::from_ne_bytes(rt[88..96].try_into().map_err(|_| Errno::EFAULT)?);
    let oif = if dev == 0 {
        None
    } else {
        let name = mem.read_cstring(dev, IFNAMSIZ)?;
        Some(links::by_name(&name).ok_or(Errno::ENODEV)?.index)
    };
    let gateway = (flags & RTF_GATEWAY != 0).then_some(gateway);
    let metric = i16::from_ne_bytes([rt[80], rt[81]]);
    // `route` passes the metric plus one (Linux subtracts it).
    let priority = u32::try_from(i32::from(metric) - 1).unwrap_or(0);
    let result = if add {
        let route = Route {
            dst,
            prefix_len,
            gateway,
            oif: oif.unwrap_or(0),
            protocol: RTPROT_BOOT,
            scope: if gateway.is_some() { RT_SCOPE_UNIVERSE } else { RT_SCOPE_LINK },
            priority,
            prefsrc: None,
        };
        stack::configure(|i| i.config.add_route(route, true))
    } else {
        stack::configure(|i| i.config.del_route(dst, prefix_len, gateway, oif))
    };
    result.map(|()| 0).map_err(config_errno)
}

fn config_errno(e: ConfigError) -> Errno {
    match e {
        ConfigError::NoDevice => Errno::ENODEV,
        ConfigError::Exists => Errno::EEXIST,
        ConfigError::NoRoute => Errno::ESRCH,
        ConfigError::NoAddress => Errno::EADDRNOTAVAIL,
        ConfigError::Invalid => Errno::EINVAL,
        ConfigError::Unreachable => Errno::ENETUNREACH,
        ConfigError::LinkDown => Errno::ENETDOWN,
    }
}

/// Returns the name in an `ifreq`: up to the first NUL of its 16 bytes (the last is
/// always taken as NUL, as Linux forces it).
fn ifreq_name(req: &[u8]) -> String {
    let name = &req[..IFNAMSIZ - 1];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// Returns the IPv4 address of the `sockaddr_in` at the start of `raw` (16 bytes).
fn sockaddr_in(raw: &[u8]) -> [u8; 4] {
    [raw[4], raw[5], raw[6], raw[7]]
}

/// Returns the first four bytes of an `ifreq`'s union (an int: index, MTU).
fn field4(req: &[u8; IFREQ_LEN]) -> [u8; 4] {
    [req[16], req[17], req[18], req[19]]
}
