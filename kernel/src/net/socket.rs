//! The socket behind a socket descriptor, whatever its family.
//!
//! [`Socket`] is what [`FileLike::into_socket`] returns and what the socket calls act on.
//! Each method matches on the family and hands the call to that family's socket, so a new
//! family is a new variant and one arm per method, not a change to every syscall. What
//! every family shares lives here too: the socket types ([`SockType`]), what send and
//! receive are asked to do ([`IoFlags`]) and what a receive produced ([`Received`]).
//!
//! A call that needs to know its caller (credentials for SO_PEERCRED; the filesystem view
//! that resolves and creates Unix path names) asks through [`SocketCaller`], which the
//! syscall layer implements, so the sockets never see the whole process.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::addr::{AF_UNIX, Family, SockAddr, UnixAddr};
use super::inet::{InetSocket, SockFlag};
use super::netlink::NetlinkSocket;
use super::unix::UnixSocket;
use crate::error::{Errno, SysResult};
use crate::fs::file::FileLike;
use crate::process::creds::FsCaller;

/// An open socket, by family.
#[derive(Clone)]
pub enum Socket {
    /// AF_UNIX.
    Unix(Arc<UnixSocket>),
    /// AF_INET: TCP and UDP.
    Inet(Arc<InetSocket>),
    /// AF_NETLINK: rtnetlink.
    Netlink(Arc<NetlinkSocket>),
}

/// The socket types, as socket(2) numbers them for every family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// SOCK_STREAM: a byte stream.
    Stream,
    /// SOCK_DGRAM: messages, connectionless.
    Dgram,
    /// SOCK_SEQPACKET: messages over a connection.
    Seqpacket,
    /// SOCK_RAW: a protocol's own messages (netlink's only, here).
    Raw,
}

impl SockType {
    /// Decodes the type argument of socket(2) (flags already removed). The types no family
    /// here has (SOCK_RDM, SOCK_DCCP, SOCK_PACKET) are ESOCKTNOSUPPORT whatever the family,
    /// since socket(2) decodes the type first; SOCK_RAW is the family's to refuse.
    pub fn from_raw(raw: u64) -> SysResult<Self> {
        match raw {
            1 => Ok(Self::Stream),
            2 => Ok(Self::Dgram),
            3 => Ok(Self::Raw),
            5 => Ok(Self::Seqpacket),
            4 | 6 | 10 => Err(Errno::ESOCKTNOSUPPORT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Returns the number getsockopt(SO_TYPE) reports.
    pub fn raw(self) -> u32 {
        match self {
            Self::Stream => 1,
            Self::Dgram => 2,
            Self::Seqpacket => 5,
            Self::Raw => 3,
        }
    }

    /// Returns whether the type has connections (listen, accept, a fixed peer).
    pub fn connection_oriented(self) -> bool {
        matches!(self, Self::Stream | Self::Seqpacket)
    }
}

/// Who is at the other end (SO_PEERCRED), and who sent a message (SCM_CREDENTIALS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// What a socket call may ask about its caller. Asked only when needed: most sends never
/// look at the filesystem.
pub trait SocketCaller {
    /// Returns the caller's pid and effective IDs.
    fn credentials(&self) -> Credentials;
    /// Returns the caller's filesystem view: root, working directory, IDs, umask.
    fn fs(&self) -> FsCaller;
}

/// What send and receive are asked to do beyond moving bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct IoFlags {
    pub nonblocking: bool,
    pub peek: bool,
    pub wait_all: bool,
}

/// read(2) on a socket whose receive hands its bytes to a sink: runs `receive` with a sink
/// that fills `buf` from its start, and returns how many bytes it put there (`receive` never
/// hands on more than `buf.len()` bytes). A read of no bytes returns 0 at once.
pub fn read_with<R>(
    buf: &mut [u8],
    receive: impl FnOnce(&mut dyn FnMut(&[u8])) -> SysResult<R>,
) -> SysResult<usize> {
    // Linux's sock_read_iter answers a read of no bytes at once, before the protocol: it
    // neither waits nor takes a datagram.
    if buf.is_empty() {
        return Ok(0);
    }
    let mut filled = 0;
    receive(&mut |bytes| {
        buf[filled..filled + bytes.len()].copy_from_slice(bytes);
        filled += bytes.len();
    })?;
    Ok(filled)
}

/// recv(2) on a socket whose receive hands its bytes to a sink: runs `receive` with a sink
/// that collects them, and returns its [`Received`] with them as `data`.
pub fn receive_with(
    receive: impl FnOnce(&mut dyn FnMut(&[u8])) -> SysResult<Received>,
) -> SysResult<Received> {
    let mut data = Vec::new();
    let mut out = receive(&mut |bytes| data.extend_from_slice(bytes))?;
    out.data = data;
    Ok(out)
}

/// What a receive produced.
pub struct Received {
    /// Bytes copied into the caller's buffer.
    pub data: Vec<u8>,
    /// The message's full length (differs from `data.len()` when a datagram was truncated).
    pub full_len: usize,
    /// Files passed with the message (SCM_RIGHTS).
    pub rights: Vec<Arc<dyn FileLike>>,
    /// The sender's address; `None` when it has none to report (recvfrom writes length 0).
    pub from: Option<SockAddr>,
    /// The message was longer than the room given (MSG_TRUNC in msg_flags).
    pub truncated: bool,
}

impl Socket {
    /// socket(2): a new socket of `family` and `kind`. `protocol` is socket(2)'s argument.
    ///
    /// # Errors
    /// EAFNOSUPPORT for a family with no sockets yet; EPROTONOSUPPORT for a protocol the
    /// family does not have.
    pub fn new(
        family: Family,
        kind: SockType,
        protocol: u64,
        nonblocking: bool,
        caller: &dyn SocketCaller,
    ) -> SysResult<Self> {
        match family {
            // SOCK_RAW stays refused where it was before netlink had it.
            Family::Unix | Family::Inet | Family::Inet6 if kind == SockType::Raw => {
                Err(Errno::ESOCKTNOSUPPORT)
            }
            Family::Unix => {
                check_unix_protocol(protocol)?;
                Ok(Self::Unix(UnixSocket::new(kind, nonblocking, caller.credentials())))
            }
            Family::Inet | Family::Inet6 => {
                Ok(Self::Inet(InetSocket::new(family, kind, protocol, nonblocking)?))
            }
            Family::Netlink => Ok(Self::Netlink(NetlinkSocket::new(kind, protocol, nonblocking)?)),
        }
    }

    /// socketpair(2): two sockets connected to each other. Errors as [`Socket::new`].
    pub fn pair(
        family: Family,
        kind: SockType,
        protocol: u64,
        nonblocking: bool,
        caller: &dyn SocketCaller,
    ) -> SysResult<(Self, Self)> {
        match family {
            Family::Unix | Family::Netlink if kind == SockType::Raw => Err(Errno::ESOCKTNOSUPPORT),
            Family::Unix => {
                check_unix_protocol(protocol)?;
                let (a, b) = UnixSocket::pair(kind, nonblocking, caller.credentials());
                Ok((Self::Unix(a), Self::Unix(b)))
            }
            // Linux: inet has no socketpair.
            Family::Inet | Family::Inet6 => Err(Errno::ENOTSUP),
            // Linux: netlink has no socketpair either.
            Family::Netlink => Err(Errno::ENOTSUP),
        }
    }

    /// Returns the socket as the open file a descriptor holds.
    pub fn into_file(self) -> Arc<dyn FileLike> {
        match self {
            Self::Unix(s) => s,
            Self::Inet(s) => s,
            Self::Netlink(s) => s,
        }
    }

    /// Returns the family (SO_DOMAIN; the layout of its addresses).
    pub fn family(&self) -> Family {
        match self {
            Self::Unix(_) => Family::Unix,
            Self::Inet(s) => s.family(),
            Self::Netlink(_) => Family::Netlink,
        }
    }

    /// Returns the type (SO_TYPE).
    pub fn kind(&self) -> SockType {
        match self {
            Self::Unix(s) => s.kind(),
            Self::Inet(s) => s.kind(),
            Self::Netlink(s) => s.kind(),
        }
    }

    /// Returns the protocol number (SO_PROTOCOL).
    pub fn protocol(&self) -> u32 {
        match self {
            Self::Unix(_) | Self::Netlink(_) => 0,
            Self::Inet(s) => s.protocol(),
        }
    }

    /// bind(2).
    pub fn bind(&self, addr: SockAddr, caller: &dyn SocketCaller) -> SysResult<()> {
        match self {
            Self::Unix(s) => s.bind(unix_name(addr)?, caller),
            Self::Inet(s) => s.bind(addr),
            Self::Netlink(s) => s.bind(addr, caller.credentials()),
        }
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> SysResult<()> {
        match self {
            Self::Unix(s) => s.listen(backlog),
            Self::Inet(s) => s.listen(backlog),
            Self::Netlink(_) => Err(Errno::ENOTSUP),
        }
    }

    /// connect(2).
    pub fn connect(&self, addr: SockAddr, caller: &dyn SocketCaller) -> SysResult<()> {
        match self {
            Self::Unix(s) => s.connect(unix_name(addr)?, caller),
            Self::Inet(s) => s.connect(addr),
            Self::Netlink(s) => s.connect(addr, caller.credentials()),
        }
    }

    /// accept(2): the next connection, with the peer's address.
    pub fn accept(&self) -> SysResult<(Self, SockAddr)> {
        match self {
            Self::Unix(s) => {
                let (conn, peer) = s.accept()?;
                Ok((Self::Unix(conn), SockAddr::Unix(peer)))
            }
            Self::Inet(s) => {
                let (conn, peer) = s.accept()?;
                Ok((Self::Inet(conn), peer))
            }
            Self::Netlink(_) => Err(Errno::ENOTSUP),
        }
    }

    /// Sends `data` (with `rights`) to `to`, or to the connected peer. Returns the bytes
    /// sent.
    pub fn send(
        &self,
        data: &[u8],
        rights: Vec<Arc<dyn FileLike>>,
        to: Option<SockAddr>,
        flags: IoFlags,
        caller: &dyn SocketCaller,
    ) -> SysResult<usize> {
        match self {
            Self::Unix(s) => s.send_to(data, rights, to.map(unix_name).transpose()?, flags, caller),
            // SCM_RIGHTS means nothing to inet; Linux ignores it there.
            Self::Inet(s) => s.send(data, to, flags),
            Self::Netlink(s) => s.send(data, to, caller.credentials()),
        }
    }

    /// Receives up to `max` bytes.
    pub fn receive(&self, max: usize, flags: IoFlags) -> SysResult<Received> {
        match self {
            Self::Unix(s) => s.receive(max, flags),
            Self::Inet(s) => s.receive(max, flags),
            Self::Netlink(s) => s.receive(max, flags),
        }
    }

    /// shutdown(2): the `read` and/or `write` direction.
    pub fn shutdown(&self, read: bool, write: bool) -> SysResult<()> {
        match self {
            Self::Unix(s) => s.shutdown(read, write),
            Self::Inet(s) => s.shutdown(read, write),
            // Linux's netlink has no shutdown.
            Self::Netlink(_) => Err(Errno::ENOTSUP),
        }
    }

    /// Returns the bound address (getsockname); an unbound AF_UNIX socket reports the bare
    /// family.
    pub fn local_addr(&self) -> SockAddr {
        match self {
            Self::Unix(s) => SockAddr::Unix(s.local_addr()),
            Self::Inet(s) => s.local_addr(),
            Self::Netlink(s) => s.local_addr(),
        }
    }

    /// Returns the connected peer's address (getpeername; ENOTCONN when there is none).
    pub fn peer_addr(&self) -> SysResult<SockAddr> {
        match self {
            Self::Unix(s) => s.peer_addr().map(SockAddr::Unix),
            Self::Inet(s) => s.peer_addr(),
            // The peer is always the kernel.
            Self::Netlink(_) => Ok(SockAddr::Netlink { pid: 0, groups: 0 }),
        }
    }

    /// Returns who is at the other end (SO_PEERCRED), if anyone.
    pub fn peer_credentials(&self) -> Option<Credentials> {
        match self {
            Self::Unix(s) => s.peer_credentials(),
            Self::Inet(_) | Self::Netlink(_) => None,
        }
    }

    /// Returns whether listen(2) was called (SO_ACCEPTCONN).
    pub fn is_listening(&self) -> bool {
        match self {
            Self::Unix(s) => s.is_listening(),
            Self::Inet(s) => s.is_listening(),
            Self::Netlink(_) => false,
        }
    }

    /// Sets SO_PASSCRED.
    pub fn set_pass_cred(&self, on: bool) {
        match self {
            Self::Unix(s) => s.set_pass_cred(on),
            Self::Inet(_) | Self::Netlink(_) => {}
        }
    }

    /// Returns SO_PASSCRED's value.
    pub fn pass_cred(&self) -> bool {
        match self {
            Self::Unix(s) => s.pass_cred(),
            Self::Inet(_) | Self::Netlink(_) => false,
        }
    }

    /// Sets SO_SNDBUF (`send`) or SO_RCVBUF to what Linux would make of `size`.
    pub fn set_buffer(&self, send: bool, size: u32) {
        match self {
            Self::Unix(s) => s.set_buffer(send, size),
            Self::Inet(s) => s.set_buffer(send, size),
            Self::Netlink(s) => s.set_buffer(send, size),
        }
    }

    /// Returns SO_SNDBUF's (`send`) or SO_RCVBUF's value.
    pub fn buffer(&self, send: bool) -> usize {
        match self {
            Self::Unix(s) => s.buffer(send),
            Self::Inet(s) => s.buffer(send),
            Self::Netlink(s) => s.buffer(send),
        }
    }

    /// Sets SO_LINGER (netlink sockets keep nothing).
    pub fn set_linger(&self, linger: Linger) {
        match self {
            Self::Unix(s) => s.set_linger(linger),
            Self::Inet(s) => s.set_linger(linger),
            Self::Netlink(_) => {}
        }
    }

    /// Returns SO_LINGER's value.
    pub fn linger(&self) -> Linger {
        match self {
            Self::Unix(s) => s.linger(),
            Self::Inet(s) => s.linger(),
            Self::Netlink(_) => Linger::default(),
        }
    }
}

/// SO_LINGER: whether close(2) lingers, and for how many seconds. Linux keeps the time when
/// the option is switched off, and getsockopt reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Linger {
    pub on: bool,
    pub seconds: u32,
}

impl Socket {
    /// Sets a boolean option. Unix sockets accept SO_REUSEADDR and SO_KEEPALIVE and keep
    /// neither; they have no TCP_NODELAY (ENOPROTOOPT).
    pub fn set_flag(&self, flag: SockFlag, on: bool) -> SysResult<()> {
        match self {
            Self::Unix(_) | Self::Netlink(_) if flag == SockFlag::NoDelay => {
                Err(Errno::ENOPROTOOPT)
            }
            Self::Unix(_) | Self::Netlink(_) => Ok(()),
            Self::Inet(s) => s.set_flag(flag, on),
        }
    }

    /// Returns a boolean option's value.
    pub fn flag(&self, flag: SockFlag) -> SysResult<bool> {
        match self {
            Self::Unix(_) | Self::Netlink(_) if flag == SockFlag::NoDelay => {
                Err(Errno::ENOPROTOOPT)
            }
            Self::Unix(_) | Self::Netlink(_) => Ok(false),
            Self::Inet(s) => s.flag(flag),
        }
    }

    /// Sets SO_SNDTIMEO (`send`) or SO_RCVTIMEO in ns (`None`: none). Unix sockets do not
    /// have them yet (ENOPROTOOPT).
    pub fn set_timeout(&self, send: bool, ns: Option<u64>) -> SysResult<()> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => {
                s.set_timeout(send, ns);
                Ok(())
            }
        }
    }

    /// Returns SO_SNDTIMEO (`send`) or SO_RCVTIMEO in ns.
    pub fn timeout(&self, send: bool) -> SysResult<Option<u64>> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => Ok(s.timeout_value(send)),
        }
    }

    /// Sets IPV6_V6ONLY (ENOPROTOOPT but on AF_INET6).
    pub fn set_v6_only(&self, on: bool) -> SysResult<()> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => s.set_v6_only(on),
        }
    }

    /// Sets TCP_USER_TIMEOUT, in ms (only TCP sockets reach it: the level check).
    pub fn set_user_timeout(&self, ms: u32) -> SysResult<()> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => s.set_user_timeout(ms),
        }
    }

    /// Returns TCP_USER_TIMEOUT, in ms.
    pub fn user_timeout(&self) -> SysResult<u32> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => s.user_timeout(),
        }
    }

    /// Returns IPV6_V6ONLY.
    pub fn v6_only(&self) -> SysResult<bool> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => Err(Errno::ENOPROTOOPT),
            Self::Inet(s) => s.v6_only_option(),
        }
    }

    /// Takes the pending error (SO_ERROR reads and clears it).
    pub fn take_error(&self) -> Option<Errno> {
        match self {
            Self::Unix(_) | Self::Netlink(_) => None,
            Self::Inet(s) => s.take_error(),
        }
    }
}

/// AF_UNIX has one protocol, 0; PF_UNIX (1) names it too, as Linux accepts.
fn check_unix_protocol(protocol: u64) -> SysResult<()> {
    if protocol != 0 && protocol != u64::from(AF_UNIX) {
        return Err(Errno::EPROTONOSUPPORT);
    }
    Ok(())
}

/// Returns the Unix name inside `addr`. The syscall layer parses addresses for the
/// socket's own family, so another family cannot reach here; it would be EINVAL, which is
/// what a Unix socket says to a foreign address.
fn unix_name(addr: SockAddr) -> SysResult<UnixAddr> {
    match addr {
        SockAddr::Unix(name) => Ok(name),
        SockAddr::V4 { .. } | SockAddr::V6 { .. } | SockAddr::Netlink { .. } => Err(Errno::EINVAL),
    }
}
