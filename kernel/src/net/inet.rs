//! Inet sockets (AF_INET, AF_INET6): the open file behind a TCP or UDP socket descriptor.
//!
//! An AF_INET6 socket reaches IPv4 through v4-mapped addresses (`::ffff:a.b.c.d`) unless
//! IPV6_V6ONLY is set; its IPv4 peers are reported mapped. The stack works in plain IPv4
//! and IPv6 endpoints: the mapping is done here, at the edge.
//!
//! An [`InetSocket`] holds what the socket calls need without the stack: its id in the
//! stack, its type, its file flags and timeouts, and its [`Shared`] part (readiness
//! snapshot and wait queue). Its protocol state lives in the stack ([`super::tcp`],
//! [`super::udp`]), whose operations never sleep; this file turns their "not yet" into
//! Linux's blocking rules: EAGAIN when non-blocking or at the SO_RCVTIMEO/SO_SNDTIMEO
//! deadline, EINTR on a signal, otherwise sleep until the stack wakes the socket.
//!
//! `readiness()` answers from the snapshot only, so epoll may ask under its spin lock.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;
use smoltcp::wire::{IpAddress, IpEndpoint, IpVersion, Ipv4Address, Ipv6Address};

use super::addr::{Family, SockAddr, v4_mapped, v4_unmapped};
use super::port::{Reuse, Wildcard};
use super::socket::{IoFlags, Linger, Received, SockType, Socket};
use super::stack::{self, Proto, Shared, SockId, Stack};
use super::tcp::{self, Tcp, TcpOptions};
use super::udp::{self, Udp};
use crate::error::{Errno, SysResult};
use crate::fs::epoll_ready::ReadyList;
use crate::fs::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::user_mem::UserMem;

const IPPROTO_TCP: u64 = 6;
/// ioctl: the bytes waiting to be read (SIOCINQ), or the next datagram's size.
const FIONREAD: u32 = 0x541b;
/// ioctl: the bytes sent and not yet acknowledged (TIOCOUTQ's number).
const SIOCOUTQ: u32 = 0x5411;
const IPPROTO_UDP: u64 = 17;
/// SO_SNDBUF and SO_RCVBUF of a new TCP socket (Linux's tcp_wmem and tcp_rmem defaults).
const TCP_DEFAULT_BUFFERS: [usize; 2] = [16_384, 131_072];
/// SO_SNDBUF and SO_RCVBUF of a new UDP socket (net.core.wmem_default, rmem_default).
const UDP_DEFAULT_BUFFERS: [usize; 2] = [212_992, 212_992];
/// The largest SO_SNDBUF/SO_RCVBUF a caller may ask for (net.core.wmem_max, rmem_max).
const MAX_BUFFER: usize = 212_992;

static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 42);

/// The boolean options a socket keeps (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE,
/// TCP_NODELAY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockFlag {
    ReuseAddr,
    ReusePort,
    KeepAlive,
    NoDelay,
}

/// An AF_INET socket.
pub struct InetSocket {
    id: SockId,
    family: Family,
    kind: SockType,
    flags: SpinLock<OpenFlags>,
    shared: Arc<Shared>,
    /// SO_RCVTIMEO and SO_SNDTIMEO, in ns (`None`: wait for ever).
    timeouts: SpinLock<[Option<u64>; 2]>,
    /// SO_SNDBUF and SO_RCVBUF as getsockopt reports them.
    buffers: SpinLock<[usize; 2]>,
    /// SO_KEEPALIVE as getsockopt reports it.
    keep_alive: SpinLock<bool>,
    /// SO_LINGER: on, with no time, makes close(2) reset the connection.
    linger: SpinLock<Linger>,
    /// IPV6_V6ONLY (AF_INET6 only): no v4-mapped addresses.
    v6_only: SpinLock<bool>,
    ino: u64,
    /// The network namespace whose stack holds it, kept alive while it is open.
    _namespace: Option<Arc<crate::net::namespace::NetNamespace>>,
}

impl InetSocket {
    /// socket(2) for AF_INET: TCP for SOCK_STREAM, UDP for SOCK_DGRAM.
    ///
    /// # Errors
    /// ESOCKTNOSUPPORT for SOCK_SEQPACKET; EPROTONOSUPPORT for a protocol the type lacks.
    pub fn new(
        family: Family,
        kind: SockType,
        protocol: u64,
        nonblocking: bool,
    ) -> SysResult<Arc<Self>> {
        let proto = match (kind, protocol) {
            (SockType::Stream, 0 | IPPROTO_TCP) => Proto::Tcp(Tcp::default()),
            (SockType::Dgram, 0 | IPPROTO_UDP) => Proto::Udp(Udp::default()),
            (SockType::Seqpacket, _) => return Err(Errno::ESOCKTNOSUPPORT),
            _ => return Err(Errno::EPROTONOSUPPORT),
        };
        let buffers =
            if kind == SockType::Stream { TCP_DEFAULT_BUFFERS } else { UDP_DEFAULT_BUFFERS };
        let shared = Arc::new(Shared::default());
        let id = stack::peek(|s| s.insert(shared.clone(), proto));
        Ok(Self::with_id(id, family, kind, shared, nonblocking, buffers))
    }

    fn with_id(
        id: SockId,
        family: Family,
        kind: SockType,
        shared: Arc<Shared>,
        nonblocking: bool,
        buffers: [usize; 2],
    ) -> Arc<Self> {
        let flags =
            if nonblocking { OpenFlags::RDWR | OpenFlags::NONBLOCK } else { OpenFlags::RDWR };
        Arc::new(Self {
            id,
            family,
            kind,
            flags: SpinLock::new(flags),
            shared,
            timeouts: SpinLock::new([None, None]),
            buffers: SpinLock::new(buffers),
            keep_alive: SpinLock::new(false),
            linger: SpinLock::new(Linger::default()),
            v6_only: SpinLock::new(false),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            _namespace: crate::net::namespace::of_socket(id),
        })
    }

    /// Returns the socket's type.
    pub fn kind(&self) -> SockType {
        self.kind
    }

    /// Returns the socket's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Returns the protocol number (SO_PROTOCOL).
    pub fn protocol(&self) -> u32 {
        if self.kind == SockType::Stream { IPPROTO_TCP as u32 } else { IPPROTO_UDP as u32 }
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }

    fn is_tcp(&self) -> bool {
        self.kind == SockType::Stream
    }

    /// Runs `attempt` on the stack until it answers, sleeping between tries; EAGAIN when
    /// non-blocking or when `timeout` (ns) passes, EINTR on a signal.
    fn wait<R>(
        &self,
        nonblocking: bool,
        timeout: Option<u64>,
        timed_out: Errno,
        mut attempt: impl FnMut(&mut Stack) -> Option<SysResult<R>>,
    ) -> SysResult<R> {
        let deadline = timeout.map(|t| ostd::time::monotonic_ns().saturating_add(t));
        let answer = self.shared.wq.wait_until_or_deadline(
            || {
                loop {
                    let seen = self.shared.generation();
                    if let Some(result) = stack::with_socket(self.id, &mut attempt) {
                        return Some(result);
                    }
                    // A wake-up that came while looking would be lost by sleeping now.
                    if self.shared.generation() == seen {
                        break;
                    }
                }
                crate::wait::not_ready(nonblocking)
            },
            deadline,
        );
        answer.unwrap_or(Err(timed_out))
    }

    fn timeout(&self, send: bool) -> Option<u64> {
        self.timeouts.lock()[usize::from(send)]
    }

    /// Converts a caller's address into an endpoint; `v4_refused` is the errno for a
    /// v4-mapped address on an IPV6_V6ONLY socket.
    fn endpoint_for(&self, addr: &SockAddr, v4_refused: Errno) -> SysResult<IpEndpoint> {
        let ep = self.endpoint(addr)?;
        if self.family == Family::Inet6 && ep.addr.version() == IpVersion::Ipv4 && self.v6_only() {
            return Err(v4_refused);
        }
        Ok(ep)
    }

    /// The families this socket's wildcard address stands for.
    fn wildcard(&self) -> Wildcard {
        match (self.family, self.v6_only()) {
            (Family::Inet6, true) => Wildcard::V6Only,
            (Family::Inet6, false) => Wildcard::Dual,
            _ => Wildcard::V4,
        }
    }

    fn v6_only(&self) -> bool {
        *self.v6_only.lock()
    }

    /// Converts a caller's address into an endpoint, refusing the other family.
    fn endpoint(&self, addr: &SockAddr) -> SysResult<IpEndpoint> {
        match *addr {
            SockAddr::V4 { addr, port } if self.family == Family::Inet => {
                Ok(IpEndpoint { addr: IpAddress::Ipv4(Ipv4Address::from(addr)), port })
            }
            SockAddr::V6 { addr, port, .. } if self.family == Family::Inet6 => {
                let ip = match v4_unmapped(&addr) {
                    Some(v4) => IpAddress::Ipv4(Ipv4Address::from(v4)),
                    None => IpAddress::Ipv6(Ipv6Address::from(addr)),
                };
                Ok(IpEndpoint { addr: ip, port })
            }
            _ => Err(Errno::EAFNOSUPPORT),
        }
    }

    /// Converts an endpoint into the socket's family's address.
    fn sockaddr(&self, addr: Option<IpAddress>, port: u16) -> SockAddr {
        match (self.family, addr) {
            (Family::Inet6, Some(IpAddress::Ipv6(a))) => {
                SockAddr::V6 { addr: a.octets(), port, flowinfo: 0, scope_id: 0 }
            }
            (Family::Inet6, Some(IpAddress::Ipv4(a))) => {
                SockAddr::V6 { addr: v4_mapped(a.octets()), port, flowinfo: 0, scope_id: 0 }
            }
            (Family::Inet6, None) => SockAddr::V6 { addr: [0; 16], port, flowinfo: 0, scope_id: 0 },
            (_, Some(IpAddress::Ipv4(a))) => SockAddr::V4 { addr: a.octets(), port },
            (_, _) => SockAddr::V4 { addr: [0; 4], port },
        }
    }

    /// bind(2).
    pub fn bind(&self, addr: SockAddr) -> SysResult<()> {
        let ep = self.endpoint_for(&addr, Errno::EINVAL)?;
        let ip = (!ep.addr.is_unspecified()).then_some(ep.addr);
        let wildcard = self.wildcard();
        stack::with_socket(self.id, |s| {
            if self.is_tcp() {
                tcp::bind(s, self.id, ip, wildcard, ep.port)
            } else {
                udp::bind(s, self.id, ip, wildcard, ep.port)
            }
        })
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> SysResult<()> {
        if !self.is_tcp() {
            return Err(Errno::ENOTSUP);
        }
        let wildcard = self.wildcard();
        stack::with_socket(self.id, |s| tcp::listen(s, self.id, wildcard, backlog))
    }

    /// connect(2): blocks until the handshake ends, unless non-blocking (EINPROGRESS,
    /// then POLLOUT and SO_ERROR tell the end).
    pub fn connect(&self, addr: SockAddr) -> SysResult<()> {
        let remote = self.endpoint_for(&addr, Errno::ENETUNREACH)?;
        if !self.is_tcp() {
            return stack::with_socket(self.id, |s| udp::connect(s, self.id, remote));
        }
        let fresh = stack::with_socket(self.id, |s| tcp::connect(s, self.id, remote))?;
        if self.nonblocking() {
            if fresh {
                return Err(Errno::EINPROGRESS);
            }
            // Asked again: how the earlier attempt ended, or EALREADY while it goes on.
            return stack::peek_socket(self.id, |s| tcp::connect_result(s, self.id))
                .unwrap_or(Err(Errno::EALREADY));
        }
        // Linux waits for a connection with the send timeout; at its end, EINPROGRESS.
        self.wait(false, self.timeout(true), Errno::EINPROGRESS, |s| {
            tcp::connect_result(s, self.id)
        })
    }

    /// accept(2): the next connection, and its peer's address.
    pub fn accept(&self) -> SysResult<(Arc<InetSocket>, SockAddr)> {
        if !self.is_tcp() {
            return Err(Errno::ENOTSUP);
        }
        let (id, shared, peer) =
            self.wait(self.nonblocking(), self.timeout(false), Errno::EAGAIN, |s| {
                let conn = tcp::accept(s, self.id)?;
                Some(conn.map(|conn| {
                    let shared = Arc::new(Shared::default());
                    let id = s.insert(shared.clone(), Proto::Tcp(conn));
                    let peer = tcp::peer_endpoint(s, id).ok();
                    (id, shared, peer)
                }))
            })?;
        let socket = Self::with_id(id, self.family, self.kind, shared, false, TCP_DEFAULT_BUFFERS);
        *socket.keep_alive.lock() = *self.keep_alive.lock();
        *socket.linger.lock() = *self.linger.lock();
        let peer = peer.map_or(self.sockaddr(None, 0), |p| self.sockaddr(Some(p.addr), p.port));
        Ok((socket, peer))
    }

    /// send(2) and friends: TCP sends all of `data` unless non-blocking; UDP sends one
    /// datagram to `to` or the connected peer.
    pub fn send(&self, data: &[u8], to: Option<SockAddr>, flags: IoFlags) -> SysResult<usize> {
        let nonblocking = flags.nonblocking || self.nonblocking();
        let timeout = self.timeout(true);
        if !self.is_tcp() {
            let to = to.map(|a| self.endpoint_for(&a, Errno::ENETUNREACH)).transpose()?;
            let max = if self.family == Family::Inet6 {
                udp::MAX_PAYLOAD_V6
            } else {
                udp::MAX_PAYLOAD_V4
            };
            return self.wait(nonblocking, timeout, Errno::EAGAIN, |s| {
                udp::send(s, self.id, data, to, max)
            });
        }
        let mut sent = 0;
        loop {
            let step = self.wait(nonblocking, timeout, Errno::EAGAIN, |s| {
                tcp::send(s, self.id, &data[sent..])
            });
            match step {
                Ok(n) => {
                    sent += n;
                    if sent == data.len() || n == 0 {
                        return Ok(sent);
                    }
                }
                Err(_) if sent > 0 => return Ok(sent),
                Err(e) => return Err(e),
            }
        }
    }

    /// recv(2) and friends.
    pub fn receive(&self, max: usize, flags: IoFlags) -> SysResult<Received> {
        super::socket::receive_with(|put| self.receive_to(max, flags, put))
    }

    /// Receives up to `max` bytes, handing them to `put` in order (TCP: in the pieces the
    /// receive ring holds them, so nothing is copied twice on the way). The returned
    /// [`Received`] has no `data`: its bytes went to `put`, and `full_len` counts them (a
    /// datagram's: its whole length).
    fn receive_to(
        &self,
        max: usize,
        flags: IoFlags,
        put: &mut dyn FnMut(&[u8]),
    ) -> SysResult<Received> {
        let received = |full_len: usize, truncated: bool, from: Option<SockAddr>| Received {
            data: Vec::new(),
            full_len,
            rights: Vec::new(),
            from,
            truncated,
        };
        let nonblocking = flags.nonblocking || self.nonblocking();
        let timeout = self.timeout(false);
        if !self.is_tcp() {
            let got = self.wait(nonblocking, timeout, Errno::EAGAIN, |s| {
                udp::receive(s, self.id, max, flags.peek)
            })?;
            let Some(d) = got else { return Ok(received(0, false, None)) };
            put(&d.data);
            let from = Some(self.sockaddr(Some(d.from.addr), d.from.port));
            return Ok(received(d.full_len, d.full_len > d.data.len(), from));
        }
        let mut got = 0;
        loop {
            let room = max - got;
            let step = self.wait(nonblocking, timeout, Errno::EAGAIN, |s| {
                tcp::receive(s, self.id, room, flags.peek, got > 0, put)
            });
            match step {
                Ok(n) => {
                    got += n;
                    if n == 0 || !flags.wait_all || flags.peek || got >= max {
                        break;
                    }
                }
                Err(_) if got > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(received(got, false, None))
    }

    /// shutdown(2).
    pub fn shutdown(&self, read: bool, write: bool) -> SysResult<()> {
        stack::with_socket(self.id, |s| {
            if self.is_tcp() {
                tcp::shutdown(s, self.id, read, write)
            } else {
                udp::shutdown(s, self.id, read, write)
            }
        })
    }

    /// Returns the bound address (getsockname).
    pub fn local_addr(&self) -> SockAddr {
        let (addr, port) = stack::peek_socket(self.id, |s| {
            if self.is_tcp() {
                tcp::local_endpoint(s, self.id)
            } else {
                udp::local_endpoint(s, self.id)
            }
        });
        self.sockaddr(addr, port)
    }

    /// Returns the peer's address (getpeername; ENOTCONN without one).
    pub fn peer_addr(&self) -> SysResult<SockAddr> {
        let peer = stack::peek_socket(self.id, |s| {
            if self.is_tcp() {
                tcp::peer_endpoint(s, self.id)
            } else {
                udp::peer_endpoint(s, self.id)
            }
        })?;
        Ok(self.sockaddr(Some(peer.addr), peer.port))
    }

    /// Returns whether listen(2) was called (SO_ACCEPTCONN).
    pub fn is_listening(&self) -> bool {
        self.is_tcp() && stack::peek_socket(self.id, |s| tcp::is_listening(s, self.id))
    }

    /// Takes the pending error (SO_ERROR).
    pub fn take_error(&self) -> Option<Errno> {
        if !self.is_tcp() {
            return None;
        }
        stack::with_socket(self.id, |s| tcp::take_error(s, self.id))
    }

    /// Sets a boolean option. TCP_NODELAY on a UDP socket is ENOPROTOOPT, as on Linux.
    pub fn set_flag(&self, flag: SockFlag, on: bool) -> SysResult<()> {
        if flag == SockFlag::KeepAlive {
            *self.keep_alive.lock() = on;
        }
        if !self.is_tcp() {
            return match flag {
                SockFlag::NoDelay => Err(Errno::ENOPROTOOPT),
                SockFlag::ReuseAddr | SockFlag::ReusePort => {
                    let reuse = with_reuse(
                        stack::peek_socket(self.id, |s| udp_reuse(s, self.id)),
                        flag,
                        on,
                    );
                    stack::peek_socket(self.id, |s| udp::set_reuse(s, self.id, reuse));
                    Ok(())
                }
                SockFlag::KeepAlive => Ok(()),
            };
        }
        stack::with_socket(self.id, |s| {
            tcp::set_options(s, self.id, |o: &mut TcpOptions| match flag {
                SockFlag::ReuseAddr | SockFlag::ReusePort => {
                    o.reuse = with_reuse(o.reuse, flag, on)
                }
                SockFlag::KeepAlive => o.keep_alive = on,
                SockFlag::NoDelay => o.no_delay = on,
            })
        });
        Ok(())
    }

    /// Returns a boolean option's value.
    pub fn flag(&self, flag: SockFlag) -> SysResult<bool> {
        if flag == SockFlag::KeepAlive {
            return Ok(*self.keep_alive.lock());
        }
        if !self.is_tcp() {
            return match flag {
                SockFlag::NoDelay => Err(Errno::ENOPROTOOPT),
                SockFlag::ReuseAddr => {
                    Ok(stack::peek_socket(self.id, |s| udp_reuse(s, self.id)).addr)
                }
                SockFlag::ReusePort => {
                    Ok(stack::peek_socket(self.id, |s| udp_reuse(s, self.id)).port)
                }
                SockFlag::KeepAlive => unreachable!("answered above"),
            };
        }
        let mut options = TcpOptions::default();
        stack::peek_socket(self.id, |s| tcp::set_options(s, self.id, |o| options = *o));
        Ok(match flag {
            SockFlag::ReuseAddr => options.reuse.addr,
            SockFlag::ReusePort => options.reuse.port,
            SockFlag::KeepAlive => options.keep_alive,
            SockFlag::NoDelay => options.no_delay,
        })
    }

    /// Sets SO_LINGER.
    pub fn set_linger(&self, linger: Linger) {
        *self.linger.lock() = linger;
    }

    /// Returns SO_LINGER.
    pub fn linger(&self) -> Linger {
        *self.linger.lock()
    }

    /// Sets TCP_USER_TIMEOUT in ms (ENOPROTOOPT on UDP).
    pub fn set_user_timeout(&self, ms: u32) -> SysResult<()> {
        if !self.is_tcp() {
            return Err(Errno::ENOPROTOOPT);
        }
        stack::with_socket(self.id, |s| tcp::set_options(s, self.id, |o| o.user_timeout_ms = ms));
        Ok(())
    }

    /// Returns TCP_USER_TIMEOUT in ms.
    pub fn user_timeout(&self) -> SysResult<u32> {
        if !self.is_tcp() {
            return Err(Errno::ENOPROTOOPT);
        }
        let mut options = TcpOptions::default();
        stack::peek_socket(self.id, |s| tcp::set_options(s, self.id, |o| options = *o));
        Ok(options.user_timeout_ms)
    }

    /// Sets IPV6_V6ONLY (ENOPROTOOPT on an AF_INET socket, as Linux).
    pub fn set_v6_only(&self, on: bool) -> SysResult<()> {
        if self.family != Family::Inet6 {
            return Err(Errno::ENOPROTOOPT);
        }
        *self.v6_only.lock() = on;
        Ok(())
    }

    /// Returns IPV6_V6ONLY's value.
    pub fn v6_only_option(&self) -> SysResult<bool> {
        if self.family != Family::Inet6 {
            return Err(Errno::ENOPROTOOPT);
        }
        Ok(self.v6_only())
    }

    /// Sets SO_SNDTIMEO (`send`) or SO_RCVTIMEO, in ns (`None`: none).
    pub fn set_timeout(&self, send: bool, ns: Option<u64>) {
        self.timeouts.lock()[usize::from(send)] = ns;
    }

    /// Returns SO_SNDTIMEO (`send`) or SO_RCVTIMEO.
    pub fn timeout_value(&self, send: bool) -> Option<u64> {
        self.timeout(send)
    }

    /// Sets SO_SNDBUF (`send`) or SO_RCVBUF to what Linux would report for `size`: twice
    /// it, within the limits. The stack's buffers keep their size.
    pub fn set_buffer(&self, send: bool, size: u32) {
        let min = if send { 4608 } else { 2304 };
        self.buffers.lock()[usize::from(!send)] = (size as usize).min(MAX_BUFFER).max(min / 2) * 2;
    }

    /// Returns SO_SNDBUF (`send`) or SO_RCVBUF.
    pub fn buffer(&self, send: bool) -> usize {
        self.buffers.lock()[usize::from(!send)]
    }
}

fn udp_reuse(stack: &mut Stack, id: SockId) -> Reuse {
    match stack.entries.get(&id).map(|e| &e.proto) {
        Some(Proto::Udp(u)) => u.reuse,
        _ => Reuse::NONE,
    }
}

/// `reuse` with the option `flag` names (SO_REUSEADDR or SO_REUSEPORT) set to `on`.
fn with_reuse(reuse: Reuse, flag: SockFlag, on: bool) -> Reuse {
    match flag {
        SockFlag::ReusePort => Reuse { port: on, ..reuse },
        _ => Reuse { addr: on, ..reuse },
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        let id = self.id;
        let is_tcp = self.is_tcp();
        // SO_LINGER on with a zero time resets the connection instead of closing it, as
        // Linux's tcp_close does; a non-zero time does not make close wait here.
        let linger = *self.linger.lock();
        let reset = linger.on && linger.seconds == 0;
        stack::with_socket(
            id,
            |s| if is_tcp { tcp::close(s, id, reset) } else { udp::close(s, id) },
        );
    }
}

impl FileLike for InetSocket {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let max = buf.len();
        super::socket::read_with(buf, |put| self.receive_to(max, IoFlags::default(), put))
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        self.send(buf, None, IoFlags::default())
    }

    fn stat(&self) -> Stat {
        Stat { ino: self.ino, mode: 0o140777, nlink: 1, blksize: 4096, dev: 8, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness(&self) -> Readiness {
        self.shared.readiness()
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges::both(self.shared.generation()))
    }

    fn watch_readiness(&self, list: &Arc<ReadyList>, key: i32) -> bool {
        self.shared.wq.watch(list, key);
        true
    }

    fn unwatch_readiness(&self, list: &ReadyList, key: i32) {
        self.shared.wq.unwatch(list, key);
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        let (unread, unsent) = match cmd {
            FIONREAD | SIOCOUTQ if self.is_tcp() => {
                stack::peek_socket(self.id, |s| tcp::queued(s, self.id))?
            }
            FIONREAD => (stack::peek_socket(self.id, |s| udp::next_size(s, self.id)), 0),
            SIOCOUTQ => (0, 0),
            _ => return Err(Errno::ENOTTY),
        };
        let value = if cmd == FIONREAD { unread } else { unsent };
        mem.write_u32(arg, value.min(i32::MAX as usize) as u32).map(|()| 0)
    }

    fn into_socket(self: Arc<Self>) -> Option<Socket> {
        Some(Socket::Inet(self))
    }
}
