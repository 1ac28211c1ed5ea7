//! Which ports are taken, per transport protocol: bind(2)'s conflicts, SO_REUSEADDR, and
//! the ephemeral ports an unbound socket gets when it connects, sends or listens.
//!
//! The rules are Linux's, simplified to what this stack has:
//! - Two bindings of one port conflict when their addresses overlap: equal, or one is a
//!   wildcard that covers the other's family. IPv4 and IPv6 share one port space: the
//!   wildcard of an AF_INET6 socket covers both families, unless IPV6_V6ONLY narrows it
//!   to IPv6 (so 0.0.0.0:P and a V6ONLY [::]:P coexist, as dual-stack servers bind them).
//! - SO_REUSEADDR on both lifts the conflict, except (TCP) against a listening socket.
//! - SO_REUSEPORT on both lifts it always, listening or not (Linux also asks for the same
//!   owner uid; this table knows no users, so it does not).
//! - Ephemeral ports come from 32768–60999 (net.ipv4.ip_local_port_range), at a position
//!   that moves on, so that a port just given up is not handed out again at once.
//!
//! A binding lasts until its socket is closed; a connection in TIME-WAIT keeps no port.
//!
//! Pure (`core` and `alloc`), generic over the address type, and host-tested in
//! tests/tests/ports.rs; the stack uses it with smoltcp's `IpAddress`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Why a binding was refused: every case is Linux's EADDRINUSE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortError {
    /// Another socket holds an overlapping binding of the port (or listens on it).
    InUse,
    /// Every ephemeral port is taken.
    NoEphemeral,
}

/// The first and last ephemeral port.
const EPHEMERAL: core::ops::RangeInclusive<u16> = 32768..=60999;

/// Identifies the socket that holds a binding.
pub type Owner = u64;

/// The sharing a binding allows: SO_REUSEADDR and SO_REUSEPORT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reuse {
    pub addr: bool,
    pub port: bool,
}

impl Reuse {
    /// Neither option.
    pub const NONE: Self = Self { addr: false, port: false };
}

/// The families a binding to the wildcard address receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wildcard {
    /// INADDR_ANY: IPv4 only.
    V4,
    /// in6addr_any with IPV6_V6ONLY: IPv6 only.
    V6Only,
    /// in6addr_any without it: both (IPv4 as v4-mapped addresses).
    Dual,
}

impl Wildcard {
    fn covers(self, v4: bool) -> bool {
        match self {
            Self::V4 => v4,
            Self::V6Only => !v4,
            Self::Dual => true,
        }
    }
}

/// An address a binding can name: it knows its family.
pub trait PortAddr: Copy + PartialEq {
    fn is_v4(&self) -> bool;
}

/// What a binding covers: one address, or a wildcard's families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local<A> {
    Any(Wildcard),
    At(A),
}

impl<A> Local<A> {
    /// What an implicit binding (connect, sendto or listen without bind) covers: every
    /// family, the widest claim; its port is a fresh ephemeral one, so it takes nothing
    /// from anyone.
    pub const AUTOBOUND: Self = Local::Any(Wildcard::Dual);
}

struct Binding<A> {
    owner: Owner,
    addr: Local<A>,
    reuse: Reuse,
    listening: bool,
}

/// The bindings of one protocol's ports.
pub struct PortTable<A> {
    /// Whether a listening binding refuses SO_REUSEADDR company (TCP), or not (UDP).
    listen_excludes: bool,
    ports: BTreeMap<u16, Vec<Binding<A>>>,
    next_ephemeral: u16,
}

impl<A: PortAddr> PortTable<A> {
    /// Creates an empty table; `tcp` selects TCP's rule for listening sockets.
    pub fn new(tcp: bool, seed: u16) -> Self {
        let span = EPHEMERAL.end() - EPHEMERAL.start() + 1;
        Self {
            listen_excludes: tcp,
            ports: BTreeMap::new(),
            next_ephemeral: EPHEMERAL.start() + seed % span,
        }
    }

    /// Binds `owner` to `addr`:`port`, or to a free ephemeral port when `port` is 0.
    /// Returns the port.
    ///
    /// # Errors
    /// [`PortError::InUse`] when the port conflicts; [`PortError::NoEphemeral`] when no
    /// ephemeral port is free.
    pub fn bind(
        &mut self,
        owner: Owner,
        addr: Local<A>,
        port: u16,
        reuse: Reuse,
    ) -> Result<u16, PortError> {
        let port = if port == 0 { self.free_ephemeral()? } else { port };
        if self.conflicts(port, addr, reuse) {
            return Err(PortError::InUse);
        }
        let binding = Binding { owner, addr, reuse, listening: false };
        self.ports.entry(port).or_default().push(binding);
        Ok(port)
    }

    /// Marks `owner`'s binding of `port` listening (listen(2)).
    ///
    /// # Errors
    /// [`PortError::InUse`] when another socket already listens on an overlapping address
    /// (TCP), unless both set SO_REUSEPORT.
    pub fn listen(&mut self, owner: Owner, port: u16) -> Result<(), PortError> {
        let Some(bindings) = self.ports.get_mut(&port) else { return Ok(()) };
        let Some(mine) = bindings.iter().position(|b| b.owner == owner) else { return Ok(()) };
        let (addr, reuse_port) = (bindings[mine].addr, bindings[mine].reuse.port);
        let taken = bindings.iter().any(|b| {
            b.owner != owner
                && b.listening
                && overlap(b.addr, addr)
                && !(reuse_port && b.reuse.port)
        });
        if taken && self.listen_excludes {
            return Err(PortError::InUse);
        }
        bindings[mine].listening = true;
        Ok(())
    }

    /// Marks `owner`'s binding of `port` not listening any more (shutdown of a listener).
    pub fn unlisten(&mut self, owner: Owner, port: u16) {
        let bindings = self.ports.get_mut(&port).into_iter().flatten();
        for b in bindings.filter(|b| b.owner == owner) {
            b.listening = false;
        }
    }

    /// Gives up `owner`'s binding of `port`.
    pub fn release(&mut self, owner: Owner, port: u16) {
        if let Some(bindings) = self.ports.get_mut(&port) {
            bindings.retain(|b| b.owner != owner);
            if bindings.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    fn conflicts(&self, port: u16, addr: Local<A>, reuse: Reuse) -> bool {
        self.ports.get(&port).is_some_and(|bindings| {
            bindings.iter().any(|b| {
                let shared_addr =
                    reuse.addr && b.reuse.addr && !(self.listen_excludes && b.listening);
                let shared_port = reuse.port && b.reuse.port;
                overlap(b.addr, addr) && !shared_addr && !shared_port
            })
        })
    }

    /// Returns the next ephemeral port that nobody holds at all: an ephemeral port is never
    /// shared, even with SO_REUSEADDR on both sides.
    fn free_ephemeral(&mut self) -> Result<u16, PortError> {
        let span = EPHEMERAL.end() - EPHEMERAL.start() + 1;
        for _ in 0..span {
            let port = self.next_ephemeral;
            self.next_ephemeral =
                if port == *EPHEMERAL.end() { *EPHEMERAL.start() } else { port + 1 };
            if !self.ports.contains_key(&port) {
                return Ok(port);
            }
        }
        Err(PortError::NoEphemeral)
    }
}

/// Returns whether two bindings' addresses overlap: equal, a wildcard covering the other's
/// family, or two wildcards with a family in common.
fn overlap<A: PortAddr>(a: Local<A>, b: Local<A>) -> bool {
    match (a, b) {
        (Local::At(a), Local::At(b)) => a == b,
        (Local::Any(w), Local::At(a)) | (Local::At(a), Local::Any(w)) => w.covers(a.is_v4()),
        (Local::Any(v), Local::Any(w)) => {
            !matches!((v, w), (Wildcard::V4, Wildcard::V6Only) | (Wildcard::V6Only, Wildcard::V4))
        }
    }
}
