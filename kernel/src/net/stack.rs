//! The network stack: the interfaces, each a smoltcp [`Interface`] with its own
//! [`SocketSet`], the port tables, and the state of every inet socket, all behind one lock.
//!
//! Interface: [`with`] runs a closure on the stack and then polls it, so whatever the
//! closure changed (a SYN queued, a window opened) goes out at once and a loopback reply
//! comes back before the lock is released. [`peek`] runs one without polling, for
//! questions. After each poll every socket's readiness snapshot is refreshed, and the
//! sockets whose state moved are woken once the lock is dropped.
//!
//! Locking: [`STACK`] is a spin lock, so it may be taken inside a wait queue's condition
//! (which runs with interrupts off) and by `readiness()`'s callers; nothing that sleeps runs
//! under it, and user memory is never touched under it (the socket calls copy first).
//! Each socket's [`Shared`] part (its snapshot and wait queue) is reachable without it.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv6Address};

use super::lo::LoDevice;
use super::port::PortTable;
use super::tcp::Tcp;
use super::udp::Udp;
use crate::fs::file::Readiness;
use crate::fs::poll::FileWaitQueue;

/// Identifies an inet socket inside the stack (and owns its port bindings).
pub type SockId = u64;

/// The most rounds one poll makes while the sockets keep producing work for each other.
const MAX_POLL_ROUNDS: usize = 64;

static STACK: SpinLock<Option<Stack>> = SpinLock::new(None);

/// One network interface: its smoltcp state, its device and its sockets.
pub struct Iface {
    pub iface: Interface,
    pub device: LoDevice,
    pub sockets: SocketSet<'static>,
}

impl Iface {
    /// Creates lo with 127.0.0.1/8 and ::1/128, up.
    fn loopback(now: Instant) -> Self {
        let mut device = LoDevice::default();
        let mut config = Config::new(HardwareAddress::Ip);
        let mut seed = [0u8; 8];
        crate::random::fill(&mut seed);
        config.random_seed = u64::from_le_bytes(seed);
        let mut iface = Interface::new(config, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            // Both constants are unicast, so smoltcp's configuration check cannot panic.
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::new(127, 0, 0, 1)), 8));
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv6(Ipv6Address::LOCALHOST), 128));
        });
        // Every packet on lo is for this host, whatever 127.x.y.z it names (Linux routes all
        // of 127.0.0.0/8 to lo): smoltcp would otherwise drop those not equal to 127.0.0.1.
        iface.set_any_ip(true);
        Self { iface, device, sockets: SocketSet::new(Vec::new()) }
    }

    /// Polls until the device and the sockets have nothing left to do (bounded). Returns
    /// whether any socket's state may have changed.
    fn poll(&mut self, now: Instant) -> bool {
        let mut changed = false;
        for _ in 0..MAX_POLL_ROUNDS {
            let result = self.iface.poll(now, &mut self.device, &mut self.sockets);
            changed |= result == PollResult::SocketStateChanged;
            if !self.device.has_pending() {
                break;
            }
        }
        changed
    }

    /// Returns the TCP socket behind `handle`.
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }
}

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
    pub lo: Iface,
    pub tcp_ports: PortTable,
    pub udp_ports: PortTable,
    pub entries: BTreeMap<SockId, Entry>,
    /// TCP connections whose socket was closed while they were still open: they finish
    /// their FIN exchange here and are dropped once CLOSED.
    pub orphans: Vec<SocketHandle>,
    next_id: SockId,
}

impl Stack {
    fn new(now: Instant) -> Self {
        let mut seed = [0u8; 4];
        crate::random::fill(&mut seed);
        Self {
            lo: Iface::loopback(now),
            tcp_ports: PortTable::new(true, u16::from_le_bytes([seed[0], seed[1]])),
            udp_ports: PortTable::new(false, u16::from_le_bytes([seed[2], seed[3]])),
            entries: BTreeMap::new(),
            orphans: Vec::new(),
            next_id: 1,
        }
    }

    /// Registers a socket and returns its id.
    pub fn insert(&mut self, shared: Arc<Shared>, proto: Proto) -> SockId {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, Entry { shared, proto, seen: None });
        id
    }

    /// Polls the interfaces, lets the protocols react (spare listeners, orphans, connected
    /// UDP filters), and polls again while that made work. Returns the sockets to wake.
    fn poll(&mut self) -> Vec<Arc<Shared>> {
        for _ in 0..MAX_POLL_ROUNDS {
            let now = now();
            self.lo.poll(now);
            let mut more = super::tcp::after_poll(self);
            more |= super::udp::after_poll(self);
            if !more && !self.lo.device.has_pending() {
                break;
            }
        }
        let mut woken = Vec::new();
        let Self { lo, entries, .. } = self;
        for entry in entries.values_mut() {
            let seen = match &mut entry.proto {
                Proto::Tcp(t) => t.observe(lo),
                Proto::Udp(u) => u.observe(lo),
            };
            if entry.seen != Some(seen) {
                entry.seen = Some(seen);
                *entry.shared.snapshot.lock() = seen.0;
                woken.push(entry.shared.clone());
            }
        }
        woken
    }

    /// Returns when the stack next needs a poll (monotonic ns), if ever.
    fn poll_at_ns(&mut self) -> Option<u64> {
        let now = now();
        let at = self.lo.iface.poll_at(now, &self.lo.sockets)?;
        Some(at.total_micros().max(0) as u64 * 1000)
    }
}

/// Returns the stack's clock: the monotonic clock, in smoltcp's units.
pub fn now() -> Instant {
    Instant::from_micros((ostd::time::monotonic_ns() / 1000) as i64)
}

/// Brings the stack up: lo, with its addresses.
pub fn init() {
    let mut stack = STACK.lock();
    if stack.is_none() {
        *stack = Some(Stack::new(now()));
    }
}

/// Runs `f` on the stack, then polls it and wakes the sockets whose state moved.
pub fn with<R>(f: impl FnOnce(&mut Stack) -> R) -> R {
    let (result, woken, poll_at) = {
        let mut guard = STACK.lock();
        let stack = guard.get_or_insert_with(|| Stack::new(now()));
        let result = f(stack);
        let woken = stack.poll();
        (result, woken, stack.poll_at_ns())
    };
    for shared in woken {
        shared.wake();
    }
    super::poll::poll_by(poll_at);
    result
}

/// Runs `f` on the stack without polling it.
pub fn peek<R>(f: impl FnOnce(&mut Stack) -> R) -> R {
    let mut guard = STACK.lock();
    f(guard.get_or_insert_with(|| Stack::new(now())))
}

/// Polls the stack (the net task's work). Returns when it next needs a poll.
pub fn poll_now() -> Option<u64> {
    let (woken, poll_at) = {
        let mut guard = STACK.lock();
        let stack = guard.get_or_insert_with(|| Stack::new(now()));
        (stack.poll(), stack.poll_at_ns())
    };
    for shared in woken {
        shared.wake();
    }
    poll_at
}

/// Returns whether `addr` belongs to this host, so bind(2) may name it: lo's 127.0.0.0/8
/// (all of it, as on Linux) and ::1.
pub fn is_local_addr(addr: IpAddress) -> bool {
    match addr {
        IpAddress::Ipv4(a) => a.octets()[0] == 127,
        IpAddress::Ipv6(a) => a == Ipv6Address::LOCALHOST,
    }
}

/// Returns whether a packet to `addr` has a route: only lo's addresses so far.
pub fn is_reachable(addr: IpAddress) -> bool {
    is_local_addr(addr)
}

/// Returns the address a connection to the wildcard address goes to: Linux treats
/// 0.0.0.0 and :: as this host.
pub fn wildcard_to_loopback(addr: IpAddress) -> IpAddress {
    match addr {
        IpAddress::Ipv4(a) if a.is_unspecified() => IpAddress::Ipv4(Ipv4Address::LOCALHOST),
        IpAddress::Ipv6(a) if a.is_unspecified() => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
        other => other,
    }
}
