//! Network namespaces: each has a stack of its own (interfaces, addresses, routes, port
//! tables, inet sockets) and its own abstract Unix socket names (Linux's struct net).
//!
//! The machine's NIC stays in the initial namespace; a new one (unshare or clone with
//! CLONE_NEWNET) starts with a loopback interface that is down and has no address, as on
//! Linux: bringing it up gives it 127.0.0.1/8.
//!
//! A socket belongs to the namespace it was made in, whoever uses it later: its id carries
//! the namespace's serial number ([`of_socket`]), and the socket keeps the namespace alive.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::stack::{SockId, Stack};
use crate::fs::nsfs::{self, NsType};

/// A socket id's bits above this are its namespace's serial number.
pub const SERIAL_SHIFT: u32 = 40;

/// A network namespace.
pub struct NetNamespace {
    inum: u64,
    serial: u64,
    /// Made at first use.
    pub(super) stack: SpinLock<Option<Stack>>,
}

impl NetNamespace {
    /// Its inode number (/proc/PID/ns/net).
    pub fn inum(&self) -> u64 {
        self.inum
    }

    /// Its serial number (0 for the initial namespace).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Whether it is the initial namespace (where the NIC is).
    pub fn is_initial(&self) -> bool {
        self.serial == 0
    }
}

static ALL: SpinLock<BTreeMap<u64, Weak<NetNamespace>>> = SpinLock::new(BTreeMap::new());
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

fn register(inum: u64, serial: u64) -> Arc<NetNamespace> {
    let ns = Arc::new(NetNamespace { inum, serial, stack: SpinLock::new(None) });
    let mut all = ALL.lock();
    all.retain(|_, w| w.strong_count() > 0);
    all.insert(serial, Arc::downgrade(&ns));
    ns
}

/// The namespace the machine starts with.
pub fn initial() -> Arc<NetNamespace> {
    static INITIAL: spin::Once<Arc<NetNamespace>> = spin::Once::new();
    INITIAL.call_once(|| register(NsType::Net.initial_inum(), 0)).clone()
}

/// A new, empty namespace (CLONE_NEWNET).
pub fn new() -> Arc<NetNamespace> {
    register(nsfs::alloc_inum(), NEXT_SERIAL.fetch_add(1, Ordering::Relaxed))
}

/// The caller's namespace (the initial one outside any process).
pub fn current() -> Arc<NetNamespace> {
    crate::process::registry::current().map_or_else(initial, |p| p.net_namespace())
}

/// The namespace socket `id` was made in, while it lives.
pub fn of_socket(id: SockId) -> Option<Arc<NetNamespace>> {
    ALL.lock().get(&(id >> SERIAL_SHIFT)).and_then(Weak::upgrade)
}

/// Every namespace alive (the net task polls them all).
pub fn all() -> Vec<Arc<NetNamespace>> {
    ALL.lock().values().filter_map(Weak::upgrade).collect()
}
