//! UDP sockets (SOCK_DGRAM over AF_INET/AF_INET6) on smoltcp's UDP sockets.
//!
//! smoltcp's UDP socket is bound to a port and nothing more; this file adds the rest of a
//! Linux datagram socket:
//! - an ephemeral port when an unbound socket sends or connects;
//! - connect(2), which only names the default destination: smoltcp has no connected UDP,
//!   so after each poll the datagrams from anyone but the peer are dropped, as Linux's
//!   lookup would never have delivered them;
//! - shutdown(2)'s flags.
//!
//! No ICMP errors reach these sockets, so a connected socket never learns ECONNREFUSED.
//! Every operation runs under the stack lock and never sleeps; `None` means "not yet".

use alloc::vec::Vec;

use smoltcp::socket::udp::{self, SendError, UdpMetadata};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use super::iface::{self, Handle, Ifaces};
use super::port::{Local, PortTable, Reuse, Wildcard};
use super::stack::{Proto, SockId, Stack};
use crate::error::{Errno, SysResult};
use crate::fs::file::Readiness;

/// Datagrams a receive queue holds.
const RX_PACKETS: usize = 64;
/// Bytes a receive queue holds (Linux's default SO_RCVBUF).
const RX_BYTES: usize = 212_992;
/// Datagrams and bytes a send queue holds: room for the largest datagram.
const TX_PACKETS: usize = 16;
const TX_BYTES: usize = 128 * 1024;
/// The largest UDP payload over IPv4 (65535 minus the IP and UDP headers).
pub const MAX_PAYLOAD_V4: usize = 65507;
/// The largest UDP payload over IPv6 (without jumbograms).
pub const MAX_PAYLOAD_V6: usize = 65527;

/// A UDP socket's state in the stack.
#[derive(Default)]
pub struct Udp {
    /// The smoltcp sockets, once bound: one on each interface the bound address is on.
    handles: Vec<Handle>,
    /// The bound address (`None`: any) and port.
    bound: Option<(Option<IpAddress>, u16)>,
    peer: Option<IpEndpoint>,
    shut_rd: bool,
    shut_wr: bool,
    /// SO_REUSEADDR and SO_REUSEPORT.
    pub reuse: Reuse,
}

/// A datagram received.
pub struct Datagram {
    /// Its first bytes, up to what was asked for.
    pub data: Vec<u8>,
    /// Its whole length.
    pub full_len: usize,
    pub from: IpEndpoint,
}

fn parts(stack: &mut Stack, id: SockId) -> (&mut Udp, &mut Ifaces, &mut PortTable<IpAddress>) {
    let Stack { ifaces, udp_ports, entries, .. } = stack;
    match entries.get_mut(&id).map(|e| &mut e.proto) {
        Some(Proto::Udp(u)) => (u, ifaces, udp_ports),
        _ => unreachable!("socket {id} is a live UDP socket"),
    }
}

/// Binds to `addr` (`None`: any) and `port` (0: an ephemeral one), with a smoltcp socket
/// on each interface the address is on.
fn bind_to(
    udp: &mut Udp,
    iface: &mut Ifaces,
    ports: &mut PortTable<IpAddress>,
    id: SockId,
    addr: Option<IpAddress>,
    local: Local<IpAddress>,
    port: u16,
) -> SysResult<()> {
    let port = ports.bind(id, local, port, udp.reuse)?;
    for on in iface.bound_on(local) {
        let mut socket = udp::Socket::new(
            udp::PacketBuffer::new(
                alloc::vec![udp::PacketMetadata::EMPTY; RX_PACKETS],
                alloc::vec![0u8; RX_BYTES],
            ),
            udp::PacketBuffer::new(
                alloc::vec![udp::PacketMetadata::EMPTY; TX_PACKETS],
                alloc::vec![0u8; TX_BYTES],
            ),
        );
        // The port is not 0, so smoltcp's bind cannot fail.
        let _ = socket.bind(IpListenEndpoint { addr, port });
        udp.handles.push(iface.add(id, on, socket));
    }
    udp.bound = Some((addr, port));
    Ok(())
}

/// bind(2).
pub fn bind(
    stack: &mut Stack,
    id: SockId,
    addr: Option<IpAddress>,
    wildcard: Wildcard,
    port: u16,
) -> SysResult<()> {
    let (udp, iface, ports) = parts(stack, id);
    if addr.is_some_and(|a| !iface.is_local(a)) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if udp.bound.is_some() {
        return Err(Errno::EINVAL);
    }
    let local = addr.map_or(Local::Any(wildcard), Local::At);
    bind_to(udp, iface, ports, id, addr, local, port)
}

/// connect(2): sets the default destination and the only source accepted.
pub fn connect(stack: &mut Stack, id: SockId, remote: IpEndpoint) -> SysResult<()> {
    let remote = IpEndpoint { addr: iface::wildcard_to_loopback(remote.addr), ..remote };
    let (udp, iface, ports) = parts(stack, id);
    if iface.route(remote.addr).is_none() {
        return Err(Errno::ENETUNREACH);
    }
    if udp.bound.is_none() {
        bind_to(udp, iface, ports, id, None, Local::AUTOBOUND, 0)?;
    }
    udp.peer = Some(remote);
    Ok(())
}

/// Queues `data` as one datagram to `to`, or to the connected peer. `None` when the send
/// queue is full.
pub fn send(
    stack: &mut Stack,
    id: SockId,
    data: &[u8],
    to: Option<IpEndpoint>,
    max_payload: usize,
) -> Option<SysResult<usize>> {
    let (udp, iface, ports) = parts(stack, id);
    if udp.shut_wr {
        return Some(Err(Errno::EPIPE));
    }
    let Some(to) = to.or(udp.peer) else { return Some(Err(Errno::EDESTADDRREQ)) };
    let to = IpEndpoint { addr: iface::wildcard_to_loopback(to.addr), ..to };
    if to.port == 0 {
        return Some(Err(Errno::EINVAL));
    }
    if data.len() > max_payload {
        return Some(Err(Errno::EMSGSIZE));
    }
    let Some(route) = iface.route(to.addr) else { return Some(Err(Errno::ENETUNREACH)) };
    if udp.bound.is_none()
        && let Err(e) = bind_to(udp, iface, ports, id, None, Local::AUTOBOUND, 0)
    {
        return Some(Err(e));
    }
    // Bound to an address of another interface: no route from here.
    let Some(&handle) = udp.handles.iter().find(|h| h.iface == route) else {
        return Some(Err(Errno::ENETUNREACH));
    };
    let local_address = udp.bound.and_then(|(addr, _)| addr);
    let socket = iface.udp(handle);
    let meta = UdpMetadata { local_address, ..UdpMetadata::from(to) };
    match socket.send_slice(data, meta) {
        Ok(()) => Some(Ok(data.len())),
        Err(SendError::BufferFull) => None,
        Err(SendError::Unaddressable) => Some(Err(Errno::ENETUNREACH)),
    }
}

/// Receives (or with `peek`, copies) the next datagram, up to `max` bytes of it. `None`
/// when none is queued; an empty datagram with no source means "shut down for reading".
pub fn receive(
    stack: &mut Stack,
    id: SockId,
    max: usize,
    peek: bool,
) -> Option<SysResult<Option<Datagram>>> {
    let (udp, iface, _) = parts(stack, id);
    let Some(&handle) = udp.handles.iter().find(|&&h| iface.udp_ref(h).can_recv()) else {
        return udp.shut_rd.then_some(Ok(None));
    };
    let socket = iface.udp(handle);
    let got = if peek {
        socket.peek().ok().map(|(data, meta)| (data, meta.endpoint))
    } else {
        socket.recv().ok().map(|(data, meta)| (data, meta.endpoint))
    };
    match got {
        Some((data, from)) => Some(Ok(Some(Datagram {
            data: data[..data.len().min(max)].to_vec(),
            full_len: data.len(),
            from,
        }))),
        None => udp.shut_rd.then_some(Ok(None)),
    }
}

/// Returns the size of the next datagram (FIONREAD: Linux's SIOCINQ on UDP), 0 if none.
pub fn next_size(stack: &mut Stack, id: SockId) -> usize {
    let (udp, iface, _) = parts(stack, id);
    udp.handles.iter().find_map(|&h| iface.udp(h).peek().ok().map(|(d, _)| d.len())).unwrap_or(0)
}

/// shutdown(2): ENOTCONN unless connected, as Linux (which still sets the flags).
pub fn shutdown(stack: &mut Stack, id: SockId, read: bool, write: bool) -> SysResult<()> {
    let (udp, _, _) = parts(stack, id);
    udp.shut_rd |= read;
    udp.shut_wr |= write;
    if udp.peer.is_none() { Err(Errno::ENOTCONN) } else { Ok(()) }
}

/// close(2).
pub fn close(stack: &mut Stack, id: SockId) {
    let Some(entry) = stack.entries.remove(&id) else { return };
    let Proto::Udp(udp) = entry.proto else { return };
    for handle in udp.handles {
        stack.ifaces.remove(handle);
    }
    if let Some((_, port)) = udp.bound {
        stack.udp_ports.release(id, port);
    }
}

/// Returns the bound address and port (getsockname). A connected socket reports the
/// source address its datagrams carry.
pub fn local_endpoint(stack: &mut Stack, id: SockId) -> (Option<IpAddress>, u16) {
    let (udp, _, _) = parts(stack, id);
    let (addr, port) = udp.bound.unwrap_or((None, 0));
    match (addr, udp.peer) {
        (None, Some(peer)) => (Some(source_for(peer.addr)), port),
        _ => (addr, port),
    }
}

/// Returns the source address a datagram to `to` carries: lo's own address.
fn source_for(to: IpAddress) -> IpAddress {
    match to {
        IpAddress::Ipv4(_) => IpAddress::Ipv4(smoltcp::wire::Ipv4Address::LOCALHOST),
        IpAddress::Ipv6(_) => IpAddress::Ipv6(smoltcp::wire::Ipv6Address::LOCALHOST),
    }
}

/// Returns the connected peer (getpeername; ENOTCONN without one).
pub fn peer_endpoint(stack: &mut Stack, id: SockId) -> SysResult<IpEndpoint> {
    parts(stack, id).0.peer.ok_or(Errno::ENOTCONN)
}

/// Sets SO_REUSEADDR and SO_REUSEPORT.
pub fn set_reuse(stack: &mut Stack, id: SockId, reuse: Reuse) {
    parts(stack, id).0.reuse = reuse;
}

/// After each poll, for the sockets `ids` that may have changed: a connected socket drops
/// the datagrams from anyone but its peer.
pub fn after_poll(stack: &mut Stack, ids: &[SockId]) -> bool {
    let Stack { ifaces, entries, .. } = stack;
    for id in ids {
        let Some(Proto::Udp(udp)) = entries.get(id).map(|e| &e.proto) else { continue };
        let Some(peer) = udp.peer else { continue };
        for &handle in &udp.handles {
            let socket = ifaces.udp(handle);
            while let Ok((_, meta)) = socket.peek() {
                if meta.endpoint == peer {
                    break;
                }
                let _ = socket.recv();
            }
        }
    }
    false
}

impl Udp {
    /// Returns the socket's readiness, as Linux's `udp_poll`, and what wakes its waiters.
    pub fn observe(&self, iface: &Ifaces) -> (Readiness, [usize; 3]) {
        let can_recv = self.handles.iter().any(|&h| iface.udp_ref(h).can_recv());
        let can_send = self.handles.iter().all(|&h| iface.udp_ref(h).can_send());
        let r = Readiness {
            readable: can_recv || self.shut_rd,
            writable: can_send,
            hangup: self.shut_rd && self.shut_wr,
            read_hangup: self.shut_rd,
            error: false,
            plain: false,
        };
        (r, [usize::from(can_recv), usize::from(can_send), 0])
    }
}
