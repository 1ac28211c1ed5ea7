//! getsockopt(2), setsockopt(2): SOL_SOCKET options, IPPROTO_TCP's TCP_NODELAY and
//! IPPROTO_IPV6's IPV6_V6ONLY.

use alloc::vec::Vec;

use super::{SyscallCtx, socket_arg, socklen_arg};
use crate::error::{Errno, SysResult};
use crate::net::addr::Family;
use crate::net::inet::SockFlag;
use crate::net::socket::{Credentials, Socket};

pub(super) const SOL_SOCKET: u64 = 1;
const IPPROTO_TCP: u64 = 6;
const IPPROTO_IPV6: u64 = 41;
const SOL_NETLINK: u64 = 270;
const IPV6_V6ONLY: u64 = 26;
const SO_REUSEADDR: u64 = 2;
const SO_REUSEPORT: u64 = 15;
const SO_TYPE: u64 = 3;
const SO_ERROR: u64 = 4;
const SO_SNDBUF: u64 = 7;
const SO_RCVBUF: u64 = 8;
const SO_KEEPALIVE: u64 = 9;
const SO_PASSCRED: u64 = 16;
const SO_PEERCRED: u64 = 17;
const SO_LINGER: u64 = 13;
const SO_RCVTIMEO: u64 = 20;
const SO_SNDTIMEO: u64 = 21;
const SO_ACCEPTCONN: u64 = 30;
const SO_PROTOCOL: u64 = 38;
const SO_DOMAIN: u64 = 39;
const TCP_NODELAY: u64 = 1;
const TCP_USER_TIMEOUT: u64 = 18;
/// The size of `struct linger` (SO_LINGER).
const LINGER_LEN: usize = 8;
/// The size of `struct timeval` (SO_RCVTIMEO, SO_SNDTIMEO).
const TIMEVAL_LEN: usize = 16;

/// The option a (level, name) pair names, for the options that are a boolean flag.
fn flag_option(level: u64, name: u64) -> Option<SockFlag> {
    match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => Some(SockFlag::ReuseAddr),
        (SOL_SOCKET, SO_REUSEPORT) => Some(SockFlag::ReusePort),
        (SOL_SOCKET, SO_KEEPALIVE) => Some(SockFlag::KeepAlive),
        (IPPROTO_TCP, TCP_NODELAY) => Some(SockFlag::NoDelay),
        _ => None,
    }
}

/// Returns whether a socket answers options of `level`: SOL_SOCKET, IPPROTO_TCP for TCP,
/// IPPROTO_IPV6 for AF_INET6.
fn has_level(socket: &Socket, level: u64) -> bool {
    level == SOL_SOCKET
        || (level == IPPROTO_TCP && socket.protocol() == IPPROTO_TCP as u32)
        || (level == IPPROTO_IPV6 && socket.family() == Family::Inet6)
        || (level == SOL_NETLINK && socket.family() == Family::Netlink)
}

/// Returns whether `name` is a SOL_NETLINK option Linux 6.1 has. They are all accepted
/// and none changes anything here: no multicast group ever gets a message, and replies
/// carry no extended acknowledgement (which programs treat as optional).
fn netlink_option(name: u64) -> bool {
    // NETLINK_ADD_MEMBERSHIP .. NETLINK_GET_STRICT_CHK.
    (1..=12).contains(&name)
}

/// Decodes a `struct timeval` timeout as Linux's `sock_set_timeout`: EDOM for microseconds
/// out of range; zero, or negative seconds, mean no timeout.
fn timeout_arg(raw: &[u8]) -> SysResult<Option<u64>> {
    let sec = i64::from_le_bytes(raw[..8].try_into().map_err(|_| Errno::EINVAL)?);
    let usec = i64::from_le_bytes(raw[8..16].try_into().map_err(|_| Errno::EINVAL)?);
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 || (sec == 0 && usec == 0) {
        return Ok(None);
    }
    Ok(Some((sec as u64).saturating_mul(1_000_000_000).saturating_add(usec as u64 * 1000)))
}

/// setsockopt(2).
pub fn sys_setsockopt(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let (level, name) = (a[1], a[2]);
    if !has_level(&socket, level) {
        return Err(Errno::ENOPROTOOPT);
    }
    let len = a[4] as i32;
    if level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
        if len < TIMEVAL_LEN as i32 {
            return Err(Errno::EINVAL);
        }
        let mut raw = [0u8; TIMEVAL_LEN];
        ctx.mem().read(a[3], &mut raw)?;
        socket.set_timeout(name == SO_SNDTIMEO, timeout_arg(&raw)?)?;
        return Ok(0);
    }
    if level == SOL_SOCKET && name == SO_LINGER {
        if len < LINGER_LEN as i32 {
            return Err(Errno::EINVAL);
        }
        let mut raw = [0u8; LINGER_LEN];
        ctx.mem().read(a[3], &mut raw)?;
        let [on, seconds] =
            [&raw[..4], &raw[4..]].map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let mut linger = socket.linger();
        // Switching it off keeps the time, as Linux keeps sk_lingertime.
        linger.on = on != 0;
        if linger.on {
            linger.seconds = seconds;
        }
        socket.set_linger(linger);
        return Ok(0);
    }
    if len < 4 {
        return Err(Errno::EINVAL);
    }
    let value = ctx.mem().read_u32(a[3])?;
    if let Some(flag) = flag_option(level, name) {
        socket.set_flag(flag, value != 0)?;
        return Ok(0);
    }
    match name {
        _ if level == SOL_NETLINK && netlink_option(name) => {}
        IPV6_V6ONLY if level == IPPROTO_IPV6 => socket.set_v6_only(value != 0)?,
        // A negative timeout is EINVAL, as Linux answers.
        TCP_USER_TIMEOUT if level == IPPROTO_TCP => {
            let ms = i32::try_from(value).map_err(|_| Errno::EINVAL)?;
            socket.set_user_timeout(ms as u32)?;
        }
        SO_PASSCRED if level == SOL_SOCKET => socket.set_pass_cred(value != 0),
        SO_SNDBUF if level == SOL_SOCKET => socket.set_buffer(true, value),
        SO_RCVBUF if level == SOL_SOCKET => socket.set_buffer(false, value),
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(0)
}

/// getsockopt(2).
pub fn sys_getsockopt(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let socket = socket_arg(ctx, a[0])?;
    let (level, name) = (a[1], a[2]);
    if !has_level(&socket, level) {
        // Linux's ip_getsockopt answers a level it does not know with EOPNOTSUPP (its
        // setsockopt, and IPv6's both ways, with ENOPROTOOPT).
        return Err(if socket.family() == Family::Inet {
            Errno::ENOTSUP
        } else {
            Errno::ENOPROTOOPT
        });
    }
    let mem = ctx.mem();
    let room = socklen_arg(&mem, a[4])?;
    let int = |v: u32| v.to_le_bytes().to_vec();
    let value: Vec<u8> = if let Some(flag) = flag_option(level, name) {
        int(u32::from(socket.flag(flag)?))
    } else if level == IPPROTO_IPV6 && name == IPV6_V6ONLY {
        int(u32::from(socket.v6_only()?))
    } else if level == IPPROTO_TCP && name == TCP_USER_TIMEOUT {
        int(socket.user_timeout()?)
    } else if level == SOL_NETLINK && netlink_option(name) {
        int(0)
    } else if level != SOL_SOCKET {
        return Err(Errno::ENOPROTOOPT);
    } else {
        match name {
            SO_TYPE => int(socket.kind().raw()),
            SO_ERROR => int(socket.take_error().map_or(0, |e| e as u32)),
            SO_SNDBUF => int(socket.buffer(true) as u32),
            SO_RCVBUF => int(socket.buffer(false) as u32),
            SO_PASSCRED => int(u32::from(socket.pass_cred())),
            SO_ACCEPTCONN => int(u32::from(socket.is_listening())),
            SO_DOMAIN => int(u32::from(socket.family().raw())),
            SO_PROTOCOL => int(socket.protocol()),
            SO_LINGER => {
                let linger = socket.linger();
                let mut v = Vec::from(u32::from(linger.on).to_le_bytes());
                v.extend_from_slice(&linger.seconds.to_le_bytes());
                v
            }
            SO_RCVTIMEO | SO_SNDTIMEO => {
                let ns = socket.timeout(name == SO_SNDTIMEO)?.unwrap_or(0);
                let mut v = Vec::from(((ns / 1_000_000_000) as i64).to_le_bytes());
                v.extend_from_slice(&((ns % 1_000_000_000 / 1000) as i64).to_le_bytes());
                v
            }
            SO_PEERCRED => {
                // Linux reports pid 0 and the overflow IDs when there is no peer.
                let c = socket.peer_credentials().unwrap_or(Credentials {
                    pid: 0,
                    uid: 65534,
                    gid: 65534,
                });
                let mut v = Vec::from(c.pid.to_le_bytes());
                v.extend_from_slice(&c.uid.to_le_bytes());
                v.extend_from_slice(&c.gid.to_le_bytes());
                v
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
    };
    let n = value.len().min(room);
    mem.write(a[3], &value[..n])?;
    mem.write_u32(a[4], n as u32)?;
    Ok(0)
}
