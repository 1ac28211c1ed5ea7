//! TCP sockets (SOCK_STREAM over AF_INET/AF_INET6) on smoltcp's TCP state machine.
//!
//! smoltcp gives one connection per socket; this file adds what a Linux socket is beyond
//! that, with Linux 6.1's errnos:
//! - **Binding**: ports come from the stack's [`PortTable`]; connect and listen bind an
//!   ephemeral port first when bind(2) did not.
//! - **The accept queue**: smoltcp answers a SYN only with a socket in LISTEN, so a
//!   listener keeps a few LISTEN sockets (never more than its backlog allows). The ones that
//!   leave LISTEN wait in its queue until accept(2) takes them, established.
//! - **A handshake that never ends** (no SYN-ACK, or no ARP answer, where smoltcp waits
//!   without limit) is given up at its deadline with ETIMEDOUT.
//! - **Errors from transitions**: SYN-SENT → CLOSED is ECONNREFUSED; a reset of an open
//!   connection is ECONNRESET (EPIPE in CLOSE-WAIT, as Linux's `tcp_reset`). The error waits
//!   in `so_error` for the next call or SO_ERROR.
//! - **Closing**: close(2) with unread data resets the connection, as Linux does; otherwise
//!   it sends FIN and the connection finishes as an orphan of the stack, which also resets
//!   it if data arrives for it.
//!
//! Every operation here runs under the stack lock and never sleeps: one that cannot finish
//! yet answers `None`, and the socket layer ([`super::inet`]) decides whether to wait.

use alloc::vec::Vec;

use smoltcp::socket::tcp::{self, ConnectError, State};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use super::iface::{self, Handle, Ifaces};
use super::port::{Local, PortTable, Reuse, Wildcard};
use super::stack::{Proto, SockId, Stack};
use crate::error::{Errno, SysResult};
use crate::fs::file::Readiness;

/// Receive buffer of a connection: 128 KiB, so the window scales past 64 KiB.
const RX_BUFFER: usize = 128 * 1024;
/// Send buffer of a connection.
const TX_BUFFER: usize = 64 * 1024;
/// LISTEN sockets a listener keeps ready at most: each holds a connection's buffers.
const SPARE_LISTENERS: usize = 2;
/// The idle time before keep-alive probes (Linux's net.ipv4.tcp_keepalive_time).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(7200);
/// How long a connect(2) waits for the handshake before ETIMEDOUT: Linux's 127 s (the first
/// SYN and tcp_syn_retries = 6 doubling retransmissions), unless TCP_USER_TIMEOUT says.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(127);

/// A local address and port that a socket holds in the port table.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// `None`: the wildcard address.
    pub addr: Option<IpAddress>,
    /// The families the wildcard address stands for.
    pub wildcard: Wildcard,
    pub port: u16,
    /// bind(2) chose it: it outlives a failed connect.
    pub explicit: bool,
}

/// The options that reach smoltcp's socket.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpOptions {
    /// SO_REUSEADDR and SO_REUSEPORT.
    pub reuse: Reuse,
    pub keep_alive: bool,
    pub no_delay: bool,
    /// TCP_USER_TIMEOUT in ms (0: the default); here it bounds the handshake only.
    pub user_timeout_ms: u32,
}

/// A connection: ours from connect(2), or taken from a listener by accept(2).
struct Conn {
    handle: Handle,
    /// The port binding this connection owns (`None`: an accepted one, on its listener's).
    bound: Option<Bound>,
    local: IpEndpoint,
    peer: IpEndpoint,
    /// The handshake has not finished.
    connecting: bool,
    /// smoltcp's state at the last look, to tell a reset from a close.
    last: State,
    /// When the handshake of a connect(2) still under way is given up (ETIMEDOUT); `None`
    /// for an accepted connection.
    give_up_at: Option<Instant>,
}

enum Phase {
    /// Neither connected nor listening. `done`: a connection attempt failed (Linux's
    /// `tcp_done` leaves both directions shut).
    Idle {
        bound: Option<Bound>,
        done: bool,
    },
    /// listen(2) was called: the spare LISTEN sockets and the connections not yet accepted.
    Listening {
        bound: Bound,
        backlog: usize,
        queue: Vec<Handle>,
    },
    Conn(Conn),
}

/// A TCP socket's state in the stack.
pub struct Tcp {
    phase: Phase,
    /// A connect(2) started and has not yet told its caller how it ended (Linux's
    /// SS_CONNECTING): the next connect reports that instead of starting another.
    connect_pending: bool,
    so_error: Option<Errno>,
    shut_rd: bool,
    shut_wr: bool,
    pub options: TcpOptions,
}

impl Default for Tcp {
    fn default() -> Self {
        Self {
            phase: Phase::Idle { bound: None, done: false },
            connect_pending: false,
            so_error: None,
            shut_rd: false,
            shut_wr: false,
            options: TcpOptions::default(),
        }
    }
}

/// Returns socket `id`'s TCP state, with the interface and port table beside it.
fn parts(stack: &mut Stack, id: SockId) -> (&mut Tcp, &mut Ifaces, &mut PortTable<IpAddress>) {
    let Stack { ifaces, tcp_ports, entries, .. } = stack;
    match entries.get_mut(&id).map(|e| &mut e.proto) {
        Some(Proto::Tcp(t)) => (t, ifaces, tcp_ports),
        _ => unreachable!("socket {id} is a live TCP socket"),
    }
}

fn new_socket(options: TcpOptions) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(alloc::vec![0u8; RX_BUFFER]),
        tcp::SocketBuffer::new(alloc::vec![0u8; TX_BUFFER]),
    );
    // Loopback peers answer at once; a delayed ACK would only add 10 ms to each exchange.
    socket.set_ack_delay(None);
    apply_options(&mut socket, options);
    socket
}

/// How long a handshake may take: TCP_USER_TIMEOUT if set, else Linux's default.
fn connect_timeout(options: TcpOptions) -> Duration {
    match options.user_timeout_ms {
        0 => CONNECT_TIMEOUT,
        ms => Duration::from_millis(u64::from(ms)),
    }
}

/// Returns when the handshake of socket `id` is given up, if it is under way: the stack
/// keeps that timer itself (smoltcp's own `poll_at` knows nothing of it).
pub fn give_up_at(stack: &Stack, id: SockId) -> Option<Instant> {
    match stack.entries.get(&id).map(|e| &e.proto) {
        Some(Proto::Tcp(Tcp { phase: Phase::Conn(c), .. })) if c.connecting => c.give_up_at,
        _ => None,
    }
}

fn apply_options(socket: &mut tcp::Socket, options: TcpOptions) {
    socket.set_nagle_enabled(!options.no_delay);
    socket.set_keep_alive(options.keep_alive.then_some(KEEPALIVE_IDLE));
}

/// bind(2) to `addr` (`None`: the `wildcard`) and `port` (0: an ephemeral one).
pub fn bind(
    stack: &mut Stack,
    id: SockId,
    addr: Option<IpAddress>,
    wildcard: Wildcard,
    port: u16,
) -> SysResult<()> {
    let (tcp, ifaces, ports) = parts(stack, id);
    if addr.is_some_and(|a| !ifaces.is_local(a)) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let Phase::Idle { bound: bound @ None, .. } = &mut tcp.phase else {
        return Err(Errno::EINVAL);
    };
    let local = addr.map_or(Local::Any(wildcard), Local::At);
    let port = ports.bind(id, local, port, tcp.options.reuse)?;
    *bound = Some(Bound { addr, wildcard, port, explicit: true });
    Ok(())
}

/// listen(2); an unbound socket is bound to `wildcard` on an ephemeral port first.
pub fn listen(stack: &mut Stack, id: SockId, wildcard: Wildcard, backlog: i32) -> SysResult<()> {
    // A negative backlog reads as a huge unsigned one, which Linux caps at somaxconn.
    let backlog = (backlog as u32 as usize).min(super::SOMAXCONN.get_usize());
    let (tcp, iface, ports) = parts(stack, id);
    let bound = match &mut tcp.phase {
        Phase::Listening { backlog: old, .. } => {
            *old = backlog;
            return Ok(());
        }
        Phase::Conn(_) => return Err(Errno::EINVAL),
        Phase::Idle { bound: Some(b), .. } => *b,
        Phase::Idle { bound: None, .. } => {
            let port = ports.bind(id, Local::Any(wildcard), 0, tcp.options.reuse)?;
            Bound { addr: None, wildcard, port, explicit: true }
        }
    };
    if let Err(e) = ports.listen(id, bound.port) {
        tcp.phase = Phase::Idle { bound: Some(bound), done: false };
        return Err(e.into());
    }
    tcp.phase = Phase::Listening { bound, backlog, queue: Vec::new() };
    tcp.shut_rd = false;
    tcp.shut_wr = false;
    top_up(id, tcp, iface);
    Ok(())
}

/// Keeps a listener's LISTEN sockets at what its backlog still allows, and drops the
/// connections that died before they were accepted. Returns whether it changed anything.
fn top_up(id: SockId, tcp: &mut Tcp, iface: &mut Ifaces) -> bool {
    let options = tcp.options;
    let Phase::Listening { bound, backlog, queue } = &mut tcp.phase else { return false };
    let mut changed = false;
    queue.retain(|&h| {
        let dead = iface.tcp_ref(h).state() == State::Closed;
        if dead {
            iface.remove(h);
            changed = true;
        }
        !dead
    });
    let listening = queue.iter().filter(|&&h| iface.tcp_ref(h).state() == State::Listen).count();
    let pending = queue.len() - listening;
    let allowed = (*backlog + 1).saturating_sub(pending).min(SPARE_LISTENERS);
    // Each interface the address is on gets its own spares: a SYN arrives on one of them.
    for on in iface.bound_on(bound.addr.map_or(Local::Any(bound.wildcard), Local::At)) {
        let here = queue
            .iter()
            .filter(|&&h| h.iface == on && iface.tcp_ref(h).state() == State::Listen)
            .count();
        for _ in here..allowed {
            let mut socket = new_socket(options);
            let endpoint = IpListenEndpoint { addr: bound.addr, port: bound.port };
            if socket.listen(endpoint).is_err() {
                break;
            }
            queue.push(iface.add(id, on, socket));
            changed = true;
        }
    }
    changed
}

/// Starts connect(2) to `remote`, and returns `true`; or returns `false` when an earlier
/// connect has not told its caller how it ended yet, which [`connect_result`] will. The
/// handshake goes on in the stack.
pub fn connect(stack: &mut Stack, id: SockId, remote: IpEndpoint) -> SysResult<bool> {
    let remote = IpEndpoint { addr: iface::wildcard_to_loopback(remote.addr), ..remote };
    let (tcp, iface, ports) = parts(stack, id);
    if tcp.connect_pending {
        return Ok(false);
    }
    let bound = match &tcp.phase {
        Phase::Listening { .. } => return Err(Errno::EISCONN),
        Phase::Conn(c) if c.connecting => return Err(Errno::EALREADY),
        Phase::Conn(_) => return Err(Errno::EISCONN),
        Phase::Idle { bound, .. } => *bound,
    };
    if remote.port == 0 {
        return Err(Errno::ECONNREFUSED);
    }
    let Some(route) = iface.route(remote.addr) else {
        return Err(Errno::ENETUNREACH);
    };
    let bound = match bound {
        Some(b) => b,
        None => {
            let port = ports.bind(id, Local::AUTOBOUND, 0, tcp.options.reuse)?;
            Bound { addr: None, wildcard: Wildcard::Dual, port, explicit: false }
        }
    };
    let mut socket = new_socket(tcp.options);
    let local = IpListenEndpoint { addr: bound.addr, port: bound.port };
    if let Err(e) = socket.connect(iface.context(route), remote, local) {
        if !bound.explicit {
            ports.release(id, bound.port);
        }
        return Err(match e {
            ConnectError::InvalidState => Errno::EISCONN,
            ConnectError::Unaddressable => Errno::ENETUNREACH,
        });
    }
    let local = socket.local_endpoint().unwrap_or(IpEndpoint { addr: remote.addr, port: 0 });
    let handle = iface.add(id, route, socket);
    tcp.phase = Phase::Conn(Conn {
        handle,
        bound: Some(bound),
        local,
        peer: remote,
        connecting: true,
        last: State::SynSent,
        give_up_at: Some(super::stack::now() + connect_timeout(tcp.options)),
    });
    tcp.so_error = None;
    tcp.shut_rd = false;
    tcp.shut_wr = false;
    tcp.connect_pending = true;
    Ok(true)
}

/// Returns how a connect(2) ended: `None` while the handshake goes on; the error (taken
/// from `so_error`; ECONNABORTED if SO_ERROR took it) if it failed. Once told, the next
/// connect starts afresh (or is EISCONN).
pub fn connect_result(stack: &mut Stack, id: SockId) -> Option<SysResult<()>> {
    let (tcp, _, _) = parts(stack, id);
    let result = match &tcp.phase {
        Phase::Conn(c) if c.connecting => return None,
        Phase::Conn(_) => Ok(()),
        _ => Err(tcp.so_error.take().unwrap_or(Errno::ECONNABORTED)),
    };
    tcp.connect_pending = false;
    Some(result)
}

/// accept(2): takes the first established connection off the queue, as a new socket's
/// state. `None` when there is none yet.
pub fn accept(stack: &mut Stack, id: SockId) -> Option<SysResult<Tcp>> {
    let (tcp, iface, _) = parts(stack, id);
    let options = tcp.options;
    let Phase::Listening { queue, .. } = &mut tcp.phase else {
        return Some(Err(Errno::EINVAL));
    };
    let at = queue
        .iter()
        .position(|&h| !matches!(iface.tcp_ref(h).state(), State::Listen | State::SynReceived))?;
    let handle = queue.remove(at);
    let socket = iface.tcp(handle);
    apply_options(socket, options);
    let (Some(local), Some(peer)) = (socket.local_endpoint(), socket.remote_endpoint()) else {
        // Reset between the handshake and now: Linux would hand it out and report the
        // reset on first use; it is dropped here, and accept waits for the next.
        iface.remove(handle);
        return None;
    };
    let last = socket.state();
    top_up(id, tcp, iface);
    Some(Ok(Tcp {
        phase: Phase::Conn(Conn {
            handle,
            bound: None,
            local,
            peer,
            connecting: false,
            last,
            give_up_at: None,
        }),
        options,
        ..Tcp::default()
    }))
}

/// Sends what fits of `data`. `None` when nothing fits yet (or the handshake goes on).
pub fn send(stack: &mut Stack, id: SockId, data: &[u8]) -> Option<SysResult<usize>> {
    let (tcp, iface, _) = parts(stack, id);
    if let Some(e) = tcp.so_error.take() {
        return Some(Err(e));
    }
    let Phase::Conn(conn) = &tcp.phase else {
        // Linux's sk_stream_wait_connect: a socket that is not connecting is EPIPE.
        return Some(Err(Errno::EPIPE));
    };
    if conn.connecting {
        return None;
    }
    let socket = iface.tcp(conn.handle);
    if tcp.shut_wr || !socket.may_send() {
        return Some(Err(Errno::EPIPE));
    }
    if data.is_empty() {
        return Some(Ok(0));
    }
    match socket.send_slice(data) {
        Ok(0) => None,
        Ok(n) => Some(Ok(n)),
        Err(_) => Some(Err(Errno::EPIPE)),
    }
}

/// Receives (or with `peek`, copies) up to `max` bytes, handing them to `put` in order, in
/// as many pieces as the receive ring holds them (a wrapped ring gives two). Returns how many
/// bytes `put` got; 0 is end of file (or `max` is 0 and data is queued: Linux waits for data
/// even then). `None` when there is nothing yet.
///
/// With `after_data` (this call already received bytes: MSG_WAITALL) a connection error is
/// reported but kept for the next call, as Linux keeps `sk_err` once it has copied bytes.
///
/// The bytes go from the ring straight to the caller's buffer (MSG_PEEK, which is rare, copies
/// through a buffer of its own: smoltcp peeks across the ring's wrap only into a slice).
pub fn receive(
    stack: &mut Stack,
    id: SockId,
    max: usize,
    peek: bool,
    after_data: bool,
    put: &mut dyn FnMut(&[u8]),
) -> Option<SysResult<usize>> {
    let (tcp, iface, _) = parts(stack, id);
    let take_error = |tcp: &mut Tcp| if after_data { tcp.so_error } else { tcp.so_error.take() };
    let Phase::Conn(conn) = &tcp.phase else {
        if let Some(e) = take_error(tcp) {
            return Some(Err(e));
        }
        return Some(Err(Errno::ENOTCONN));
    };
    if conn.connecting {
        return None;
    }
    let socket = iface.tcp(conn.handle);
    let queued = socket.recv_queue();
    if queued > 0 {
        let want = queued.min(max);
        if peek {
            // Rare (MSG_PEEK), and smoltcp peeks across the ring's wrap only into a slice.
            let mut copy = alloc::vec![0u8; want];
            let n = socket.peek_slice(&mut copy).unwrap_or(0);
            put(&copy[..n]);
            return Some(Ok(n));
        }
        // The ring may wrap: a second call takes what the first left.
        let mut n = 0;
        while n < want {
            let step = socket.recv(|ring| {
                let take = ring.len().min(want - n);
                put(&ring[..take]);
                (take, take)
            });
            match step {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        return Some(Ok(n));
    }
    if let Some(e) = take_error(tcp) {
        return Some(Err(e));
    }
    if tcp.shut_rd || !socket.may_recv() {
        return Some(Ok(0));
    }
    None
}

/// shutdown(2).
pub fn shutdown(stack: &mut Stack, id: SockId, read: bool, write: bool) -> SysResult<()> {
    let (tcp, iface, ports) = parts(stack, id);
    tcp.shut_rd |= read;
    tcp.shut_wr |= write;
    match &mut tcp.phase {
        Phase::Idle { .. } => Err(Errno::ENOTCONN),
        Phase::Listening { bound, queue, .. } => {
            if read {
                // Linux stops listening (tcp_disconnect) and keeps the port.
                let bound = *bound;
                let queue = core::mem::take(queue);
                for &h in &queue {
                    iface.tcp(h).abort();
                }
                tcp.phase = Phase::Idle { bound: Some(bound), done: false };
                ports.unlisten(id, bound.port);
                drop_later(stack, queue);
            }
            Ok(())
        }
        Phase::Conn(conn) => {
            let socket = iface.tcp(conn.handle);
            if socket.state() == State::Closed && !conn.connecting {
                return Err(Errno::ENOTCONN);
            }
            if write {
                socket.close();
                // The FIN is ours: a CLOSED that follows is the orderly end, not a reset.
                conn.last = socket.state();
            }
            Ok(())
        }
    }
}

/// Hands sockets to the stack's orphans, which drop each once its last segment is out.
fn drop_later(stack: &mut Stack, handles: Vec<Handle>) {
    stack.orphans.extend(handles);
}

/// close(2): the socket is gone. Unread data, a dead connection or `reset` (SO_LINGER with
/// no time) resets it, as on Linux; otherwise it is closed with FIN and left to finish.
pub fn close(stack: &mut Stack, id: SockId, reset: bool) {
    let Some(entry) = stack.entries.remove(&id) else { return };
    let Proto::Tcp(tcp) = entry.proto else { return };
    let mut orphans = Vec::new();
    match tcp.phase {
        Phase::Idle { bound, .. } => {
            if let Some(b) = bound {
                stack.tcp_ports.release(id, b.port);
            }
        }
        Phase::Listening { bound, queue, .. } => {
            for h in queue {
                stack.ifaces.tcp(h).abort();
                orphans.push(h);
            }
            stack.tcp_ports.release(id, bound.port);
        }
        Phase::Conn(conn) => {
            let socket = stack.ifaces.tcp(conn.handle);
            if reset || socket.recv_queue() > 0 || socket.state() == State::Closed {
                socket.abort();
            } else {
                socket.close();
            }
            orphans.push(conn.handle);
            if let Some(b) = conn.bound {
                stack.tcp_ports.release(id, b.port);
            }
        }
    }
    drop_later(stack, orphans);
}

/// Returns the bound address (getsockname): the connection's own end once connected.
pub fn local_endpoint(stack: &mut Stack, id: SockId) -> (Option<IpAddress>, u16) {
    let (tcp, _, _) = parts(stack, id);
    match &tcp.phase {
        Phase::Idle { bound, .. } => bound.map_or((None, 0), |b| (b.addr, b.port)),
        Phase::Listening { bound, .. } => (bound.addr, bound.port),
        Phase::Conn(c) => (Some(c.local.addr), c.local.port),
    }
}

/// Returns the peer (getpeername): ENOTCONN unless connected and not reset.
pub fn peer_endpoint(stack: &mut Stack, id: SockId) -> SysResult<IpEndpoint> {
    let (tcp, iface, _) = parts(stack, id);
    match &tcp.phase {
        Phase::Conn(c) if !c.connecting && iface.tcp_ref(c.handle).state() != State::Closed => {
            Ok(c.peer)
        }
        _ => Err(Errno::ENOTCONN),
    }
}

/// Returns the bytes waiting to be read and those sent but not yet acknowledged (FIONREAD,
/// SIOCOUTQ); EINVAL on a listener, as Linux's `tcp_ioctl`.
pub fn queued(stack: &mut Stack, id: SockId) -> SysResult<(usize, usize)> {
    let (tcp, iface, _) = parts(stack, id);
    match &tcp.phase {
        Phase::Listening { .. } => Err(Errno::EINVAL),
        Phase::Idle { .. } => Ok((0, 0)),
        Phase::Conn(c) if c.connecting => Ok((0, 0)),
        Phase::Conn(c) => {
            let socket = iface.tcp(c.handle);
            Ok((socket.recv_queue(), socket.send_queue()))
        }
    }
}

/// Takes the pending error (SO_ERROR).
pub fn take_error(stack: &mut Stack, id: SockId) -> Option<Errno> {
    parts(stack, id).0.so_error.take()
}

/// Returns whether listen(2) was called (SO_ACCEPTCONN).
pub fn is_listening(stack: &mut Stack, id: SockId) -> bool {
    matches!(parts(stack, id).0.phase, Phase::Listening { .. })
}

/// Changes the options, and applies them to the connection if there is one.
pub fn set_options(stack: &mut Stack, id: SockId, change: impl FnOnce(&mut TcpOptions)) {
    let (tcp, iface, _) = parts(stack, id);
    change(&mut tcp.options);
    if let Phase::Conn(c) = &tcp.phase {
        apply_options(iface.tcp(c.handle), tcp.options);
    }
}

/// After each poll, for the sockets `ids` (those that may have changed, and every handshake
/// under way): finishes handshakes, turns resets into errors, and keeps listeners stocked;
/// then drops or resets orphans. Returns whether that made work for another poll.
pub fn after_poll(stack: &mut Stack, ids: &[SockId]) -> bool {
    let mut more = false;
    let now = super::stack::now();
    let Stack { ifaces, tcp_ports, entries, orphans, .. } = stack;
    for &id in ids {
        let Some(Proto::Tcp(tcp)) = entries.get_mut(&id).map(|e| &mut e.proto) else { continue };
        if let Phase::Conn(conn) = &mut tcp.phase {
            let state = ifaces.tcp_ref(conn.handle).state();
            let expired = conn.give_up_at.is_some_and(|at| now >= at);
            if conn.connecting && state != State::Closed && expired {
                // Linux gives up without a reset: the peer never answered.
                ifaces.remove(conn.handle);
                let bound = conn.bound.filter(|b| b.explicit);
                if let Some(b) = conn.bound.filter(|b| !b.explicit) {
                    tcp_ports.release(id, b.port);
                }
                tcp.phase = Phase::Idle { bound, done: true };
                tcp.so_error = Some(Errno::ETIMEDOUT);
                continue;
            }
            if conn.connecting && state == State::Closed {
                // The SYN was answered with a reset.
                ifaces.remove(conn.handle);
                let bound = conn.bound.filter(|b| b.explicit);
                if let Some(b) = conn.bound.filter(|b| !b.explicit) {
                    tcp_ports.release(id, b.port);
                }
                tcp.phase = Phase::Idle { bound, done: true };
                tcp.so_error = Some(Errno::ECONNREFUSED);
                continue;
            }
            if conn.connecting && !matches!(state, State::SynSent | State::SynReceived) {
                conn.connecting = false;
            }
            let orderly = matches!(conn.last, State::TimeWait | State::LastAck | State::Closed);
            if !conn.connecting && state == State::Closed && !orderly {
                tcp.so_error = Some(if conn.last == State::CloseWait {
                    Errno::EPIPE
                } else {
                    Errno::ECONNRESET
                });
            }
            conn.last = state;
        }
        more |= top_up(id, tcp, ifaces);
    }
    orphans.retain(|&h| {
        let socket = ifaces.tcp_ref(h);
        if socket.state() == State::Closed && socket.remote_endpoint().is_none() {
            ifaces.remove(h);
            return false;
        }
        if socket.recv_queue() > 0 && socket.state() != State::Closed {
            // Data for a socket nobody can read any more: Linux answers with a reset.
            ifaces.tcp(h).abort();
            more = true;
        }
        true
    });
    more
}

impl Tcp {
    /// Returns the smoltcp socket of the connection, if there is one.
    pub fn handle(&self) -> Option<Handle> {
        match &self.phase {
            Phase::Conn(conn) => Some(conn.handle),
            _ => None,
        }
    }

    /// Returns the socket's readiness, as Linux's `tcp_poll` computes it, and the numbers
    /// whose change should wake its waiters.
    pub fn observe(&self, iface: &Ifaces) -> (Readiness, [usize; 3]) {
        let error = self.so_error.is_some();
        match &self.phase {
            Phase::Idle { done, .. } => {
                let r = Readiness {
                    readable: *done,
                    writable: true,
                    hangup: true,
                    read_hangup: *done,
                    error,
                    plain: false,
                };
                (r, [0, 0, 0])
            }
            Phase::Listening { queue, .. } => {
                let ready = queue
                    .iter()
                    .filter(|&&h| {
                        !matches!(iface.tcp_ref(h).state(), State::Listen | State::SynReceived)
                    })
                    .count();
                (Readiness { readable: ready > 0, error, ..Readiness::default() }, [1, ready, 0])
            }
            Phase::Conn(conn) => {
                let socket = iface.tcp_ref(conn.handle);
                let state = socket.state();
                let closed = state == State::Closed;
                let peer_fin = matches!(
                    state,
                    State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                );
                let rcv_shutdown = self.shut_rd || peer_fin || closed;
                let snd_shutdown = self.shut_wr || closed;
                let mut r = Readiness {
                    hangup: (rcv_shutdown && snd_shutdown) || closed,
                    readable: rcv_shutdown,
                    read_hangup: rcv_shutdown,
                    error,
                    ..Readiness::default()
                };
                if !conn.connecting {
                    r.readable |= socket.recv_queue() > 0;
                    r.writable = snd_shutdown || socket.send_queue() < socket.send_capacity();
                }
                (r, [2 + state as usize, socket.recv_queue(), socket.send_queue()])
            }
        }
    }
}
