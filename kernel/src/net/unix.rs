//! Unix-domain sockets (AF_UNIX): stream, datagram and seqpacket.
//!
//! Every socket owns its receive [`Queue`]. A connected socket sends into its peer's queue,
//! and the two queues of a stream or seqpacket connection belong to that connection alone:
//! when either side closes, both are closed, so the survivor reads EOF and its writes fail
//! with EPIPE. A datagram socket's queue takes messages from anyone who names it.
//!
//! Names: a filesystem path (bind creates an `S_IFSOCK` node; connect resolves the path to
//! that node) or an abstract name (a leading NUL; no node). [`NAMES`] maps either to the
//! socket bound to it, weakly, so a closed socket's name refuses connections. Paths resolve
//! in the caller's filesystem view ([`SocketCaller::fs`]); connect and sendto need write
//! access to the node.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::addr::UnixAddr;
use super::socket::{Credentials, IoFlags, Linger, Received, SockType, Socket, SocketCaller};
use super::unix_queue::{QUEUE_CAPACITY, Queue};
use crate::error::{Errno, SysResult};
use crate::fs::epoll_ready::ReadyList;
use crate::fs::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::fs::node::Node;
use crate::fs::poll::FileWaitQueue;
use crate::fs::{NodeKind, entries, path, perm};
use crate::process::creds::MAY_WRITE;

/// Where a bound socket is registered: its filesystem node, or its abstract name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NameKey {
    Node(usize),
    /// An abstract name, in the network namespace with this serial number (each has its
    /// own abstract names, as on Linux).
    Abstract(u64, Vec<u8>),
}

static NAMES: SpinLock<BTreeMap<NameKey, Weak<UnixSocket>>> = SpinLock::new(BTreeMap::new());
static NEXT_INO: AtomicU64 = AtomicU64::new(1 << 41);
static NEXT_AUTOBIND: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Inner {
    local: Option<(UnixAddr, NameKey, Option<Arc<Node>>)>,
    /// The connected peer's receive queue, and its address.
    peer: Option<(Arc<Queue>, UnixAddr)>,
    peer_cred: Option<Credentials>,
    /// Listening: the backlog limit and the accepted-but-not-taken connections.
    listening: Option<(usize, VecDeque<Arc<UnixSocket>>)>,
    /// shutdown(SHUT_WR) of a datagram socket (stream ones close the peer's queue).
    send_shutdown: bool,
    pass_cred: bool,
    /// SO_LINGER, kept for getsockopt: closing a Unix socket never waits.
    linger: Linger,
    send_buffer: usize,
    receive_buffer: usize,
    /// The epoll interests watching this socket ([`FileLike::watch_readiness`]). Their
    /// wake-ups come from three queues: our receive queue, our listener queue, and the
    /// peer's receive queue (room to send), which changes at connect: [`Inner::set_peer`]
    /// moves them to the new one.
    watches: Vec<(Weak<ReadyList>, i32)>,
    /// Connects so far: part of the socket's output change count, since a new peer's queue
    /// has a wake count of its own (an edge-triggered EPOLLOUT must see the move).
    peer_changes: u64,
}

impl Inner {
    /// Connects to `queue` (the peer's receive queue), moving the epoll watches of the old
    /// peer's queue, if any, to it. Connecting changes what the socket reports (room to
    /// send is now the peer's), so each watch is marked for a new look.
    fn set_peer(&mut self, queue: Arc<Queue>, addr: UnixAddr) {
        self.watches.retain(|(list, _)| list.strong_count() > 0);
        for (list, key) in &self.watches {
            if let Some(list) = list.upgrade() {
                if let Some((old, _)) = &self.peer {
                    old.writable.unwatch(&list, *key);
                }
                queue.writable.watch(&list, *key);
                list.mark(*key);
            }
        }
        self.peer = Some((queue, addr));
        self.peer_changes += 1;
    }
}

/// A Unix-domain socket.
pub struct UnixSocket {
    kind: SockType,
    flags: SpinLock<OpenFlags>,
    rx: Arc<Queue>,
    inner: SpinLock<Inner>,
    /// Woken when a connection arrives at a listener.
    incoming: FileWaitQueue,
    creator: Credentials,
    ino: u64,
}

impl UnixSocket {
    /// Creates an unbound, unconnected socket.
    pub fn new(kind: SockType, nonblocking: bool, creator: Credentials) -> Arc<Self> {
        let flags =
            if nonblocking { OpenFlags::RDWR | OpenFlags::NONBLOCK } else { OpenFlags::RDWR };
        Arc::new(Self {
            kind,
            flags: SpinLock::new(flags),
            rx: Queue::new(),
            inner: SpinLock::new(Inner {
                send_buffer: QUEUE_CAPACITY,
                receive_buffer: QUEUE_CAPACITY,
                ..Inner::default()
            }),
            incoming: FileWaitQueue::new(),
            creator,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// socketpair(2): two sockets connected to each other.
    pub fn pair(kind: SockType, nonblocking: bool, creator: Credentials) -> (Arc<Self>, Arc<Self>) {
        let (a, b) = (Self::new(kind, nonblocking, creator), Self::new(kind, nonblocking, creator));
        a.connect_to(&b, UnixAddr::Unnamed, creator);
        b.connect_to(&a, UnixAddr::Unnamed, creator);
        (a, b)
    }

    fn connect_to(&self, peer: &UnixSocket, peer_addr: UnixAddr, peer_cred: Credentials) {
        let mut inner = self.inner.lock();
        inner.set_peer(peer.rx.clone(), peer_addr);
        inner.peer_cred = Some(peer_cred);
    }

    /// The socket's type.
    pub fn kind(&self) -> SockType {
        self.kind
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }

    /// bind(2). A path name gets its filesystem node, made with the caller's IDs and umask
    /// (EADDRINUSE if the path exists).
    pub fn bind(self: &Arc<Self>, addr: UnixAddr, caller: &dyn SocketCaller) -> SysResult<()> {
        let UnixAddr::Path(name) = &addr else {
            // Only path names have nodes: the closure is never called.
            return self.bind_name(addr, |_| Err(Errno::EINVAL));
        };
        let fs = caller.fs();
        let start = fs.start();
        // Linux makes the node before noticing the socket is already bound: a taken path is
        // EADDRINUSE even then.
        if self.is_bound() {
            return Err(if path::resolve(&start, name, false).is_ok() {
                Errno::EADDRINUSE
            } else {
                Errno::EINVAL
            });
        }
        self.bind_name(addr, |p| entries::make_node(&fs, &start, p, NodeKind::Socket, 0o777, ""))
    }

    /// Names the socket `addr` (autobinding an unnamed one). `path_node` creates the
    /// filesystem node for a path name (EADDRINUSE if one exists), and is only called for
    /// path names.
    fn bind_name(
        self: &Arc<Self>,
        addr: UnixAddr,
        path_node: impl FnOnce(&str) -> SysResult<Arc<Node>>,
    ) -> SysResult<()> {
        if self.inner.lock().local.is_some() {
            return Err(Errno::EINVAL);
        }
        let addr = match addr {
            UnixAddr::Unnamed => UnixAddr::Abstract(
                alloc::format!("{:05x}", NEXT_AUTOBIND.fetch_add(1, Ordering::Relaxed) & 0xfffff)
                    .into_bytes(),
            ),
            other => other,
        };
        let (key, node) = match &addr {
            UnixAddr::Path(path) => {
                let node = path_node(path)
                    .map_err(|e| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e })?;
                (NameKey::Node(Arc::as_ptr(&node) as usize), Some(node))
            }
            UnixAddr::Abstract(name) => (NameKey::Abstract(net_serial(), name.clone()), None),
            UnixAddr::Unnamed => unreachable!("autobind chose a name"),
        };
        let mut names = NAMES.lock();
        if names.get(&key).is_some_and(|w| w.strong_count() > 0) {
            return Err(Errno::EADDRINUSE);
        }
        names.insert(key.clone(), Arc::downgrade(self));
        drop(names);
        self.inner.lock().local = Some((addr, key, node));
        Ok(())
    }

    /// listen(2).
    pub fn listen(&self, backlog: i32) -> SysResult<()> {
        if !self.kind.connection_oriented() {
            return Err(Errno::ENOTSUP);
        }
        let mut inner = self.inner.lock();
        if inner.local.is_none() || inner.peer.is_some() {
            return Err(Errno::EINVAL);
        }
        let limit = (backlog.max(0) as usize).min(super::SOMAXCONN.get_usize());
        match &mut inner.listening {
            Some((old, _)) => *old = limit,
            None => inner.listening = Some((limit, VecDeque::new())),
        }
        Ok(())
    }

    /// connect(2) to the socket bound at `addr`.
    pub fn connect(self: &Arc<Self>, addr: UnixAddr, caller: &dyn SocketCaller) -> SysResult<()> {
        let target = find_bound(&addr, caller)?;
        self.connect_to_socket(target, addr, caller.credentials())
    }

    /// Connects to `target`, the socket bound at `target_addr` when the name was looked up
    /// (`None`: nothing is bound there).
    fn connect_to_socket(
        self: &Arc<Self>,
        target: Option<Arc<UnixSocket>>,
        target_addr: UnixAddr,
        me: Credentials,
    ) -> SysResult<()> {
        let target = target.ok_or(Errno::ECONNREFUSED)?;
        if target.kind != self.kind {
            return Err(Errno::EPROTOTYPE);
        }
        if !self.kind.connection_oriented() {
            // Connecting a datagram socket only sets its default destination.
            let mut inner = self.inner.lock();
            inner.set_peer(target.rx.clone(), target_addr);
            inner.peer_cred = Some(target.creator);
            return Ok(());
        }
        {
            let inner = self.inner.lock();
            if inner.peer.is_some() {
                return Err(Errno::EISCONN);
            }
            if inner.listening.is_some() {
                return Err(Errno::EINVAL);
            }
        }
        let my_addr = self.local_addr();
        let nonblocking = self.nonblocking();
        // The server side of the connection, handed to the listener's accept.
        let server = Self::new(self.kind, false, target.creator);
        server.inner.lock().local =
            target.inner.lock().local.as_ref().map(|(a, k, n)| (a.clone(), k.clone(), n.clone()));
        server.connect_to(self, my_addr, me);
        target.incoming.wait_until(|| {
            let mut t = target.inner.lock();
            let Some((limit, queue)) = t.listening.as_mut() else {
                return Some(Err(Errno::ECONNREFUSED));
            };
            if queue.len() <= *limit {
                queue.push_back(server.clone());
                return Some(Ok(()));
            }
            crate::wait::not_ready(nonblocking)
        })?;
        self.connect_to(&server, target_addr, target.creator);
        target.incoming.wake_all();
        // A reader blocked in accept sleeps on the listener's receive queue too (poll).
        target.rx.readable.wake_all();
        Ok(())
    }

    /// accept(2): the next connection, with the peer's address.
    pub fn accept(&self) -> SysResult<(Arc<UnixSocket>, UnixAddr)> {
        if !self.kind.connection_oriented() {
            return Err(Errno::ENOTSUP);
        }
        let nonblocking = self.nonblocking();
        let server = self.incoming.wait_until(|| {
            let mut inner = self.inner.lock();
            let Some((_, queue)) = inner.listening.as_mut() else {
                return Some(Err(Errno::EINVAL));
            };
            if let Some(s) = queue.pop_front() {
                return Some(Ok(s));
            }
            crate::wait::not_ready(nonblocking)
        })?;
        self.incoming.wake_all();
        let peer = server.peer_addr().unwrap_or(UnixAddr::Unnamed);
        Ok((server, peer))
    }

    /// The bound address.
    pub fn local_addr(&self) -> UnixAddr {
        self.inner.lock().local.as_ref().map_or(UnixAddr::Unnamed, |(a, _, _)| a.clone())
    }

    /// The connected peer's address (ENOTCONN when there is none).
    pub fn peer_addr(&self) -> SysResult<UnixAddr> {
        self.inner.lock().peer.as_ref().map(|(_, a)| a.clone()).ok_or(Errno::ENOTCONN)
    }

    /// SO_PEERCRED.
    pub fn peer_credentials(&self) -> Option<Credentials> {
        self.inner.lock().peer_cred
    }

    /// Whether listen(2) was called (SO_ACCEPTCONN).
    pub fn is_listening(&self) -> bool {
        self.inner.lock().listening.is_some()
    }

    /// sendto(2) and sendmsg(2): sends `data` (with `rights`) to the socket bound at `to`,
    /// or to the connected peer. Returns the bytes sent.
    pub fn send_to(
        &self,
        data: &[u8],
        rights: Vec<Arc<dyn FileLike>>,
        to: Option<UnixAddr>,
        flags: IoFlags,
        caller: &dyn SocketCaller,
    ) -> SysResult<usize> {
        let target = match &to {
            Some(addr) if self.kind == SockType::Dgram => {
                Some(find_bound(addr, caller)?.ok_or(Errno::ECONNREFUSED)?)
            }
            // A connection has one destination: naming another is refused.
            Some(_) => {
                return Err(if self.peer_addr().is_ok() {
                    Errno::EISCONN
                } else {
                    Errno::ENOTCONN
                });
            }
            None => None,
        };
        self.send(data, rights, target, flags)
    }

    /// Sends `data` (with `rights`) to `to`, or to the connected peer. Returns the bytes sent.
    fn send(
        &self,
        data: &[u8],
        rights: Vec<Arc<dyn FileLike>>,
        to: Option<Arc<UnixSocket>>,
        flags: IoFlags,
    ) -> SysResult<usize> {
        let nonblocking = flags.nonblocking || self.nonblocking();
        let (queue, from) = {
            let inner = self.inner.lock();
            let from = inner.local.as_ref().map_or(UnixAddr::Unnamed, |(a, _, _)| a.clone());
            match (self.kind, to) {
                (SockType::Dgram, Some(target)) => {
                    if target.kind != SockType::Dgram {
                        return Err(Errno::EPROTOTYPE);
                    }
                    (target.rx.clone(), from)
                }
                (SockType::Dgram, None) => {
                    (inner.peer.as_ref().ok_or(Errno::ENOTCONN)?.0.clone(), from)
                }
                (_, Some(_)) if inner.peer.is_some() => return Err(Errno::EISCONN),
                (_, _) => (inner.peer.as_ref().ok_or(Errno::ENOTCONN)?.0.clone(), from),
            }
        };
        if self.inner.lock().send_shutdown {
            return Err(Errno::EPIPE);
        }
        match self.kind {
            SockType::Stream => queue.send_stream(data, rights, from, nonblocking),
            // Unix sockets are never SOCK_RAW (socket(2) refuses it).
            SockType::Dgram | SockType::Seqpacket | SockType::Raw => {
                queue.send_message(self.kind, data, rights, from, nonblocking)
            }
        }
    }

    /// Receives up to `max` bytes.
    pub fn receive(&self, max: usize, flags: IoFlags) -> SysResult<Received> {
        super::socket::receive_with(|put| self.receive_to(max, flags, put))
    }

    /// Receives up to `max` bytes, handing them to `put` in order, straight from the queued
    /// messages. The returned [`Received`] has no `data`: its bytes went to `put`, and
    /// `full_len` counts them (a datagram's: its whole length).
    fn receive_to(
        &self,
        max: usize,
        flags: IoFlags,
        put: &mut dyn FnMut(&[u8]),
    ) -> SysResult<Received> {
        let nonblocking = flags.nonblocking || self.nonblocking();
        if self.kind.connection_oriented()
            && self.inner.lock().peer.is_none()
            && !self.rx.is_closed()
        {
            return Err(if self.kind == SockType::Stream {
                Errno::EINVAL
            } else {
                Errno::ENOTCONN
            });
        }
        self.rx.receive_to(self.kind, max, flags, nonblocking, put)
    }

    /// Whether bind(2) has named this socket.
    pub fn is_bound(&self) -> bool {
        self.inner.lock().local.is_some()
    }

    /// shutdown(2): `read` and/or `write` directions.
    pub fn shutdown(&self, read: bool, write: bool) -> SysResult<()> {
        // Linux accepts shutdown of an unconnected Unix socket (it only marks it).
        let mut inner = self.inner.lock();
        let peer = inner.peer.as_ref().map(|(q, _)| q.clone());
        if write {
            match (self.kind, &peer) {
                (SockType::Dgram, _) => inner.send_shutdown = true,
                (_, Some(q)) => q.close(),
                _ => {}
            }
        }
        drop(inner);
        if read {
            self.rx.close();
        }
        Ok(())
    }

    /// SO_PASSCRED.
    pub fn set_pass_cred(&self, on: bool) {
        self.inner.lock().pass_cred = on;
    }

    /// SO_PASSCRED's value.
    pub fn pass_cred(&self) -> bool {
        self.inner.lock().pass_cred
    }

    /// Sets SO_LINGER.
    pub fn set_linger(&self, linger: Linger) {
        self.inner.lock().linger = linger;
    }

    /// Returns SO_LINGER.
    pub fn linger(&self) -> Linger {
        self.inner.lock().linger
    }

    /// SO_SNDBUF / SO_RCVBUF, as Linux reports them (twice what was asked, within limits).
    pub fn set_buffer(&self, send: bool, size: u32) {
        let doubled = (size as usize).clamp(2304, QUEUE_CAPACITY / 2) * 2;
        let mut inner = self.inner.lock();
        if send {
            inner.send_buffer = doubled;
        } else {
            inner.receive_buffer = doubled;
        }
    }

    /// SO_SNDBUF / SO_RCVBUF's values.
    pub fn buffer(&self, send: bool) -> usize {
        let inner = self.inner.lock();
        if send { inner.send_buffer } else { inner.receive_buffer }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        let inner = &mut *self.inner.lock();
        if let Some((_, key, _)) = &inner.local {
            let mut names = NAMES.lock();
            if names.get(key).is_some_and(|w| w.strong_count() == 0) {
                names.remove(key);
            }
        }
        // The peer's queue outlives us (a datagram target): its wake-ups no longer concern
        // the epoll instances that watched us.
        if let Some((peer, _)) = &inner.peer {
            for (list, key) in &inner.watches {
                if let Some(list) = list.upgrade() {
                    peer.writable.unwatch(&list, *key);
                }
            }
        }
        // Nobody will read this queue again; a stream peer also gets EOF.
        self.rx.close();
        if self.kind.connection_oriented()
            && let Some((peer, _)) = &inner.peer
        {
            peer.close();
        }
        // Connections queued on a listener that never accepted them are reset.
        if let Some((_, queue)) = inner.listening.take() {
            drop(queue);
        }
    }
}

/// Finds the socket bound at `addr` (connect, sendto), checking that the caller may write
/// to a path's node. `None` when nothing is bound there.
fn find_bound(addr: &UnixAddr, caller: &dyn SocketCaller) -> SysResult<Option<Arc<UnixSocket>>> {
    match addr {
        UnixAddr::Unnamed => Err(Errno::EINVAL),
        UnixAddr::Abstract(name) => Ok(lookup_abstract(name)),
        UnixAddr::Path(name) => {
            let fs = caller.fs();
            let node = path::resolve(&fs.start(), name, true)?;
            if node.kind() != NodeKind::Socket {
                return Err(Errno::ECONNREFUSED);
            }
            perm::check_access(&fs, &node, MAY_WRITE)?;
            Ok(lookup_node(&node))
        }
    }
}

/// The socket bound to filesystem node `node`, if it is still open.
fn lookup_node(node: &Arc<Node>) -> Option<Arc<UnixSocket>> {
    NAMES.lock().get(&NameKey::Node(Arc::as_ptr(node) as usize)).and_then(Weak::upgrade)
}

/// The socket bound to abstract name `name`, if any.
fn lookup_abstract(name: &[u8]) -> Option<Arc<UnixSocket>> {
    NAMES.lock().get(&NameKey::Abstract(net_serial(), name.to_vec())).and_then(Weak::upgrade)
}

/// The caller's network namespace, whose abstract names it sees.
fn net_serial() -> u64 {
    super::namespace::current().serial()
}

impl FileLike for UnixSocket {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let max = buf.len();
        super::socket::read_with(buf, |put| self.receive_to(max, IoFlags::default(), put))
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        self.send(buf, Vec::new(), None, IoFlags::default())
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

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        // Input arrives in its own queue (data, or the peer's close) or as a connection;
        // room comes when the peer's receiver reads from the peer's queue.
        let (peer, peer_changes) = {
            let inner = self.inner.lock();
            (inner.peer.as_ref().map(|(q, _)| q.clone()), inner.peer_changes)
        };
        Some(ReadinessChanges {
            input: self.rx.readable.wakes() + self.incoming.wakes(),
            // Each connect moves to a new queue with a count of its own: the connects count
            // above it, so the sum only grows (a queue would need 2^32 wake-ups to wrap it).
            output: (peer_changes << 32).wrapping_add(peer.map_or(0, |q| q.writable.wakes())),
        })
    }

    fn readiness(&self) -> Readiness {
        let inner = self.inner.lock();
        if let Some((_, queue)) = &inner.listening {
            return Readiness {
                readable: !queue.is_empty(),
                writable: false,
                hangup: false,
                ..Readiness::default()
            };
        }
        let (rx_data, rx_closed) = self.rx.input_state();
        let (writable, peer_closed) = match &inner.peer {
            Some((q, _)) => {
                let (room, closed) = q.output_state(self.kind);
                (room || closed, closed)
            }
            None => (!self.kind.connection_oriented(), false),
        };
        let connected = inner.peer.is_some();
        Readiness {
            readable: rx_data || (rx_closed && (connected || !self.kind.connection_oriented())),
            writable,
            hangup: self.kind.connection_oriented() && connected && rx_closed && peer_closed,
            ..Readiness::default()
        }
    }

    fn watch_readiness(&self, list: &Arc<ReadyList>, key: i32) -> bool {
        let mut inner = self.inner.lock();
        self.rx.readable.watch(list, key);
        self.incoming.watch(list, key);
        if let Some((peer, _)) = &inner.peer {
            peer.writable.watch(list, key);
        }
        // Closed epoll instances leave dead entries; each (list, key) is kept once.
        inner.watches.retain(|(l, k)| {
            l.strong_count() > 0 && !(*k == key && core::ptr::eq(l.as_ptr(), Arc::as_ptr(list)))
        });
        inner.watches.push((Arc::downgrade(list), key));
        true
    }

    fn unwatch_readiness(&self, list: &ReadyList, key: i32) {
        let mut inner = self.inner.lock();
        self.rx.readable.unwatch(list, key);
        self.incoming.unwatch(list, key);
        if let Some((peer, _)) = &inner.peer {
            peer.writable.unwatch(list, key);
        }
        inner.watches.retain(|(l, k)| !(*k == key && core::ptr::eq(l.as_ptr(), list)));
    }

    fn into_socket(self: Arc<Self>) -> Option<Socket> {
        Some(Socket::Unix(self))
    }
}
