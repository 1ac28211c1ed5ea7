//! IPC namespaces: each holds its own System V message queues, semaphore sets and shared
//! memory segments, and its own POSIX message queue names (Linux's struct ipc_namespace).
//!
//! unshare(CLONE_NEWIPC) gives the caller an empty set of all four; keys, IDs and names
//! then mean objects of its namespace only. A segment stays attached across the switch
//! (its attachments remember their namespace); when the last process leaves a namespace,
//! its objects go with it (a segment still attached lives until its last detach).
//! Each has its own System V tunables (kernel.msgmax and the others), from the defaults;
//! POSIX message queues' (fs.mqueue.*) stay machine-wide here, where Linux keeps them per
//! namespace too.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::limits::IpcLimits;
use super::mqueue::queue::MessageQueue;
use super::{msg, sem, shm};
use crate::fs::nsfs::{self, NsType};

/// An IPC namespace.
pub struct IpcNamespace {
    inum: u64,
    pub(super) msg: SpinLock<msg::Table>,
    pub(super) sem: SpinLock<sem::Table>,
    pub(super) shm: SpinLock<shm::Table>,
    pub(super) mq_names: SpinLock<BTreeMap<String, Arc<MessageQueue>>>,
    /// kernel.msgmax and the other System V tunables.
    pub(super) limits: IpcLimits,
}

impl IpcNamespace {
    fn empty(inum: u64) -> Arc<Self> {
        Arc::new(Self {
            inum,
            msg: SpinLock::new(msg::Table::new()),
            sem: SpinLock::new(sem::Table::new()),
            shm: SpinLock::new(shm::Table::new()),
            mq_names: SpinLock::new(BTreeMap::new()),
            limits: IpcLimits::new(),
        })
    }

    /// A new, empty namespace (CLONE_NEWIPC).
    pub fn new() -> Arc<Self> {
        Self::empty(nsfs::alloc_inum())
    }

    /// Its inode number (/proc/PID/ns/ipc).
    pub fn inum(&self) -> u64 {
        self.inum
    }
}

/// The namespace the machine starts with.
pub fn initial() -> Arc<IpcNamespace> {
    static INITIAL: spin::Once<Arc<IpcNamespace>> = spin::Once::new();
    INITIAL.call_once(|| IpcNamespace::empty(NsType::Ipc.initial_inum())).clone()
}

/// The caller's namespace (the initial one outside any process).
pub fn current() -> Arc<IpcNamespace> {
    crate::process::registry::current().map_or_else(initial, |p| p.namespaces().ipc)
}
