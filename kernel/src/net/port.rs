//! Which ports are taken, per transport protocol: bind(2)'s conflicts, SO_REUSEADDR, and
//! the ephemeral ports an unbound socket gets when it connects, sends or listens.
//!
//! The rules are Linux's, simplified to what this stack has:
//! - Two bindings of one port conflict when their addresses overlap: equal, or either is
//!   the wildcard. IPv4 and IPv6 share one port space.
//! - SO_REUSEADDR on both lifts the conflict, except (TCP) against a listening socket.
//! - Ephemeral ports come from 32768–60999 (net.ipv4.ip_local_port_range), at a position
//!   that moves on, so that a port just given up is not handed out again at once.
//!
//! A binding lasts until its socket is closed; a connection in TIME-WAIT keeps no port.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use smoltcp::wire::IpAddress;

use crate::error::{Errno, SysResult};

/// The first and last ephemeral port.
const EPHEMERAL: core::ops::RangeInclusive<u16> = 32768..=60999;

/// Identifies the socket that holds a binding.
pub type Owner = u64;

struct Binding {
    owner: Owner,
    /// `None`: the wildcard address (INADDR_ANY, in6addr_any).
    addr: Option<IpAddress>,
    reuse_addr: bool,
    listening: bool,
}

/// The bindings of one protocol's ports.
pub struct PortTable {
    /// Whether a listening binding refuses SO_REUSEADDR company (TCP), or not (UDP).
    listen_excludes: bool,
    ports: BTreeMap<u16, Vec<Binding>>,
    next_ephemeral: u16,
}

impl PortTable {
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
    /// EADDRINUSE when the port conflicts, or no ephemeral port is free.
    pub fn bind(
        &mut self,
        owner: Owner,
        addr: Option<IpAddress>,
        port: u16,
        reuse_addr: bool,
    ) -> SysResult<u16> {
        let port = if port == 0 { self.free_ephemeral(addr, reuse_addr)? } else { port };
        if self.conflicts(port, addr, reuse_addr) {
            return Err(Errno::EADDRINUSE);
        }
        let binding = Binding { owner, addr, reuse_addr, listening: false };
        self.ports.entry(port).or_default().push(binding);
        Ok(port)
    }

    /// Marks `owner`'s binding of `port` listening (listen(2)).
    ///
    /// # Errors
    /// EADDRINUSE when another socket already listens on an overlapping address.
    pub fn listen(&mut self, owner: Owner, port: u16) -> SysResult<()> {
        let Some(bindings) = self.ports.get_mut(&port) else { return Ok(()) };
        let Some(mine) = bindings.iter().position(|b| b.owner == owner) else { return Ok(()) };
        let addr = bindings[mine].addr;
        let taken =
            bindings.iter().any(|b| b.owner != owner && b.listening && overlap(b.addr, addr));
        if taken && self.listen_excludes {
            return Err(Errno::EADDRINUSE);
        }
        bindings[mine].listening = true;
        Ok(())
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

    fn conflicts(&self, port: u16, addr: Option<IpAddress>, reuse_addr: bool) -> bool {
        self.ports.get(&port).is_some_and(|bindings| {
            bindings.iter().any(|b| {
                let shared = reuse_addr && b.reuse_addr && !(self.listen_excludes && b.listening);
                overlap(b.addr, addr) && !shared
            })
        })
    }

    fn free_ephemeral(&mut self, addr: Option<IpAddress>, reuse_addr: bool) -> SysResult<u16> {
        let span = EPHEMERAL.end() - EPHEMERAL.start() + 1;
        for _ in 0..span {
            let port = self.next_ephemeral;
            self.next_ephemeral =
                if port == *EPHEMERAL.end() { *EPHEMERAL.start() } else { port + 1 };
            // An ephemeral port is never shared, even with SO_REUSEADDR on both sides.
            if !self.ports.contains_key(&port) && !self.conflicts(port, addr, reuse_addr) {
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }
}

/// Returns whether two bound addresses overlap: equal, or either the wildcard.
fn overlap(a: Option<IpAddress>, b: Option<IpAddress>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}
