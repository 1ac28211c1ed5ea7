//! The network stack: the interfaces ([`super::iface`]), the port tables, and the state of
//! every inet socket, all behind one lock.
//!
//! Interface: [`with_socket`] runs a closure for one socket on the stack and then polls it,
//! so whatever the closure changed (a SYN queued, a window opened) goes out at once and a
//! loopback reply comes back before the lock is released. [`peek`] runs one without
//! polling, for questions.
//!
//! A poll costs what changed, not what exists: smoltcp (patched, third_party/README.md)
//! reports the sockets it touched, the closure names its own, and only those, with the
//! handshakes under way, are looked at again. Their readiness snapshots are refreshed, the
//! ones whose state moved are woken once the lock is dropped, and the net task is told if
//! one of them needs a poll earlier than it planned. [`with`] (for a closure that names no
//! socket) and the net task's own polls look at everything.
//!
//! Each network namespace has a stack of its own (`super::namespace`): a socket's calls
//! go to the stack it was made in ([`with_socket`], [`peek_socket`]), configuration and new
//! sockets to the caller's ([`with`], [`peek`], [`configure`]).
//!
//! Locking: a stack's lock is a spin lock, so it may be taken inside a wait queue's condition
//! (which runs with interrupts off) and by `readiness()`'s callers; nothing that sleeps runs
//! under it, and user memory is never touched under it (the socket calls copy first).
//! Each socket's [`Shared`] part (its snapshot and wait queue) is reachable without it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;
use smoltcp::time::Instant;

use super::iface::{AttachError, Handle, Ifaces, NextPoll};
use super::namespace::{self, NetNamespace, SERIAL_SHIFT};
use smoltcp::wire::IpAddress;

use super::port::{PortAddr, PortError, PortTable};
use super::tcp::{self, Tcp};
use super::udp::Udp;
use super::virtio_phy::VirtioPhy;
use crate::error::Errno;
use crate::fs::file::Readiness;
use crate::fs::poll::FileWaitQueue;

/// Identifies an inet socket inside the stack (and owns its port bindings).
pub type SockId = u64;

/// The most rounds one poll makes while the protocols' reactions make more work.
const MAX_POLL_ROUNDS: usize = 16;

/// The part of an inet socket that waiters and pollers reach without the stack lock.
pub struct Shared {
    /// What `readiness()` answers: refreshed under the stack lock after every poll.
    snapshot: SpinLock<Readiness>,
    /// Every blocked call of the socket sleeps here; pollers are woken with it.
    pub wq: FileWaitQueue,
    /// Counts the wake-ups, so a waiter can tell that one came while it was looking.
    generation: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            snapshot: SpinLock::new(Readiness::default()),
            wq: FileWaitQueue::new(),
            generation: AtomicU64::new(0),
        }
    }
}

impl Shared {
    /// Returns the readiness last computed.
    pub fn readiness(&self) -> Readiness {
        *self.snapshot.lock()
    }

    /// Returns the number of wake-ups so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn wake(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.wq.wake_all();
    }
}

/// An inet socket's protocol state.
pub enum Proto {
    Tcp(Tcp),
    Udp(Udp),
}

/// What the stack knows of one inet socket.
pub struct Entry {
    pub shared: Arc<Shared>,
    pub proto: Proto,
    /// What was last seen of the socket: a change wakes its waiters.
    seen: Option<(Readiness, [usize; 3])>,
}

/// The whole stack.
pub struct Stack {
    pub ifaces: Ifaces,
    pub tcp_ports: PortTable<IpAddress>,
    pub udp_ports: PortTable<IpAddress>,
    pub entries: BTreeMap<SockId, Entry>,
    /// TCP connections whose socket was closed while they were still open: they finish
    /// their FIN exchange here and are dropped once CLOSED.
    pub orphans: Vec<Handle>,
    next_id: SockId,
    /// The sockets to look at when the current poll ends: named by the socket call, or
    /// reported by smoltcp. A vector (duplicates allowed, sorted out by the poll) whose
    /// capacity is kept from poll to poll: a set cost an allocation per insertion.
    changed: Vec<SockId>,
    /// The sockets the protocols look at after each round of a poll (scratch, kept for its
    /// capacity).
    look: Vec<SockId>,
    /// TCP sockets whose handshake may be under way: their give-up time is this stack's own
    /// timer, so every poll looks at them.
    connecting: BTreeSet<SockId>,
}

impl Stack {
    /// The stack of namespace `ns`: lo up with its addresses in the initial one, down and
    /// without any in another (Linux's loopback_net_init); socket ids from the namespace's
    /// range.
    fn new(now: Instant, ns: &NetNamespace) -> Self {
        let mut seed = [0u8; 4];
        crate::random::fill(&mut seed);
        let mut ifaces = Ifaces::new(now);
        if !ns.is_initial() {
            ifaces.config.lo = super::config::LinkConf::default();
            ifaces.sync();
        }
        Self {
            ifaces,
            tcp_ports: PortTable::new(true, u16::from_le_bytes([seed[0], seed[1]])),
            udp_ports: PortTable::new(false, u16::from_le_bytes([seed[2], seed[3]])),
            entries: BTreeMap::new(),
            orphans: Vec::new(),
            next_id: (ns.serial() << SERIAL_SHIFT) + 1,
            changed: Vec::new(),
            look: Vec::new(),
            connecting: BTreeSet::new(),
        }
    }

    /// Registers a socket and returns its id. The smoltcp sockets it comes with (an accepted
    /// connection's) become its own.
    pub fn insert(&mut self, shared: Arc<Shared>, proto: Proto) -> SockId {
        let id = self.next_id;
        self.next_id += 1;
        if let Proto::Tcp(tcp) = &proto
            && let Some(handle) = tcp.handle()
        {
            self.ifaces.set_owner(handle, id);
        }
        // Its readiness is right from the start: poll(2) may ask before any stack poll.
        let seen = observe(&proto, &self.ifaces);
        *shared.snapshot.lock() = seen.0;
        self.entries.insert(id, Entry { shared, proto, seen: Some(seen) });
        id
    }

    /// Polls the interfaces, lets the protocols react (spare listeners, orphans, connected
    /// UDP filters), and polls again while that made work. Looks at the sockets that changed,
    /// or at every socket if `all`. Returns the sockets to wake, and when one of those that
    /// changed next needs a poll.
    fn poll(&mut self, all: bool) -> (Vec<Arc<Shared>>, NextPoll) {
        if all {
            self.changed.extend(self.entries.keys());
        }
        let mut next = NextPoll::OnActivity;
        let mut look = core::mem::take(&mut self.look);
        for _ in 0..MAX_POLL_ROUNDS {
            if let Some(eth0) = &mut self.ifaces.eth0 {
                eth0.device.begin_round();
            }
            let now = now();
            self.ifaces.poll(now);
            let Self { ifaces, changed, .. } = self;
            ifaces.drain_changed(now, |id, when| {
                changed.push(id);
                next = next.earliest(when);
            });
            self.changed.sort_unstable();
            self.changed.dedup();
            look.clear();
            look.extend_from_slice(&self.changed);
            if !self.connecting.is_empty() {
                look.extend(&self.connecting);
                look.sort_unstable();
                look.dedup();
            }
            let mut more = super::tcp::after_poll(self, &look);
            more |= super::udp::after_poll(self, &look);
            more |= super::dhcp::after_poll(&mut self.ifaces);
            // eth0 stops a round after a SYN, so that listeners are topped up before the next.
            let eth0_left = self.ifaces.eth0.as_ref().is_some_and(|e| e.device.stopped_early());
            if !more && !self.ifaces.has_pending() && !eth0_left {
                break;
            }
        }
        self.look = look;
        // Handshakes under way stay looked at until they end; their give-up times count.
        let mut connecting = core::mem::take(&mut self.connecting);
        connecting.extend(self.changed.iter().filter(|&&id| tcp::give_up_at(self, id).is_some()));
        connecting.retain(|&id| match tcp::give_up_at(self, id) {
            Some(at) => {
                next = next.earliest(NextPoll::At(at));
                true
            }
            None => false,
        });
        self.connecting = connecting;
        let mut woken = Vec::new();
        let Self { ifaces, entries, changed, .. } = self;
        for id in changed.drain(..) {
            let Some(entry) = entries.get_mut(&id) else { continue };
            let seen = observe(&entry.proto, ifaces);
            if entry.seen != Some(seen) {
                entry.seen = Some(seen);
                *entry.shared.snapshot.lock() = seen.0;
                woken.push(entry.shared.clone());
            }
        }
        (woken, next)
    }

    /// Returns when the stack next needs a poll (monotonic ns), if ever: asks every socket.
    fn poll_at_ns(&mut self) -> Option<u64> {
        let smoltcp = self.ifaces.poll_at(now());
        let give_up = self.connecting.iter().filter_map(|&id| super::tcp::give_up_at(self, id));
        smoltcp.into_iter().chain(give_up).min().map(instant_ns)
    }
}

/// Returns a socket's readiness and the numbers whose change wakes its waiters.
fn observe(proto: &Proto, ifaces: &Ifaces) -> (Readiness, [usize; 3]) {
    match proto {
        Proto::Tcp(t) => t.observe(ifaces),
        Proto::Udp(u) => u.observe(ifaces),
    }
}

impl From<PortError> for Errno {
    /// Both ways a port is refused are EADDRINUSE to the caller, as on Linux.
    fn from(_: PortError) -> Self {
        Errno::EADDRINUSE
    }
}

/// Returns `at` on the monotonic clock (ns).
fn instant_ns(at: Instant) -> u64 {
    at.total_micros().max(0) as u64 * 1000
}

/// Returns the stack's clock: the monotonic clock, in smoltcp's units.
pub fn now() -> Instant {
    Instant::from_micros((ostd::time::monotonic_ns() / 1000) as i64)
}

/// Brings the initial namespace's stack up: lo, with its addresses.
pub fn init() {
    let ns = namespace::initial();
    let mut stack = ns.stack.lock();
    if stack.is_none() {
        *stack = Some(Stack::new(now(), &ns));
    }
}

/// The namespace socket `id` lives in (the initial one for an id no namespace has: the
/// stack then knows no such socket).
fn socket_ns(id: SockId) -> Arc<NetNamespace> {
    namespace::of_socket(id).unwrap_or_else(namespace::initial)
}

/// Runs `f` on the stack of socket `id`, then polls it and wakes the sockets whose state
/// moved. `f` may change other sockets only through smoltcp, or by creating them.
pub fn with_socket<R>(id: SockId, f: impl FnOnce(&mut Stack) -> R) -> R {
    run_and_poll(&socket_ns(id), Some(id), f)
}

/// Runs `f` on the caller's stack, then polls it and looks at every socket.
pub fn with<R>(f: impl FnOnce(&mut Stack) -> R) -> R {
    run_and_poll(&namespace::current(), None, f)
}

fn run_and_poll<R>(ns: &NetNamespace, id: Option<SockId>, f: impl FnOnce(&mut Stack) -> R) -> R {
    let (result, woken, poll_at) = {
        let mut guard = ns.stack.lock();
        let stack = guard.get_or_insert_with(|| Stack::new(now(), ns));
        let result = f(stack);
        if let Some(id) = id {
            stack.changed.push(id);
        }
        let (woken, next) = stack.poll(id.is_none());
        let poll_at = match next {
            NextPoll::At(at) => Some(instant_ns(at)),
            NextPoll::OnActivity => None,
            NextPoll::Unknown => stack.poll_at_ns(),
        };
        (result, woken, poll_at)
    };
    for shared in woken {
        shared.wake();
    }
    super::poll::poll_by(poll_at);
    result
}

/// Runs `f` on the stack of namespace `ns` without polling it.
fn peek_in<R>(ns: &NetNamespace, f: impl FnOnce(&mut Stack) -> R) -> R {
    let mut guard = ns.stack.lock();
    f(guard.get_or_insert_with(|| Stack::new(now(), ns)))
}

/// Runs `f` on the caller's stack without polling it.
pub fn peek<R>(f: impl FnOnce(&mut Stack) -> R) -> R {
    peek_in(&namespace::current(), f)
}

/// Runs `f` on the stack of socket `id` without polling it.
pub fn peek_socket<R>(id: SockId, f: impl FnOnce(&mut Stack) -> R) -> R {
    peek_in(&socket_ns(id), f)
}

/// Polls every namespace's stack (the net task's work). Returns when one next needs a
/// poll.
pub fn poll_now() -> Option<u64> {
    let mut earliest: Option<u64> = None;
    for ns in namespace::all() {
        let (woken, poll_at) = {
            let mut guard = ns.stack.lock();
            let Some(stack) = guard.as_mut() else { continue };
            (stack.poll(true).0, stack.poll_at_ns())
        };
        for shared in woken {
            shared.wake();
        }
        earliest = match (earliest, poll_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    earliest
}

/// Attaches eth0 on `phy`, down and without addresses.
///
/// # Errors
/// See [`AttachError`].
pub fn attach_eth0(phy: VirtioPhy) -> Result<(), AttachError> {
    peek_in(&namespace::initial(), |s| s.ifaces.attach_eth0(phy, now()))
}

/// Changes the interfaces' configuration with `f`, then makes smoltcp follow it and polls
/// (so that, say, a DHCP client started here sends at once).
pub fn configure<R>(f: impl FnOnce(&mut Ifaces) -> R) -> R {
    with(|s| {
        let result = f(&mut s.ifaces);
        s.ifaces.sync();
        result
    })
}

/// Removes eth0, and the connections still finishing on it. The sockets that live on it
/// must be closed first. For the tests that share the NIC with the driver's own tests.
pub fn detach_eth0() {
    peek_in(&namespace::initial(), |s| {
        s.orphans.retain(|h| h.iface != super::iface::IfaceId::Eth0);
        s.ifaces.detach_eth0();
    });
}

impl PortAddr for IpAddress {
    fn is_v4(&self) -> bool {
        matches!(self, IpAddress::Ipv4(_))
    }
}
