//! Mount namespaces: each holds a mount table of its own (Linux's struct mnt_namespace).
//!
//! A process resolves paths through the table of its namespace; unshare(CLONE_NEWNS) gives
//! it a copy, after which mounts and unmounts on either side stay there (every mount here
//! is private: nothing propagates). The copy shares the mounted filesystems themselves, so
//! a disk is written back and let go of only when no table holds it any more.
//!
//! The fs layer does not know processes: the process subsystem registers the function that
//! finds the caller's namespace ([`set_current_hook`]); without a caller (boot, kernel
//! tasks) the initial namespace is meant.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::AtomicUsize;

use ostd::sync::{SpinLock, SpinLockGuard};

use super::mount::Mount;
use super::node::Node;
use super::nsfs::{self, NsType};

/// A mount namespace.
pub struct MountNamespace {
    inum: u64,
    mounts: SpinLock<Vec<Mount>>,
}

impl MountNamespace {
    /// Its inode number (/proc/PID/ns/mnt).
    pub fn inum(&self) -> u64 {
        self.inum
    }

    /// Locks its table.
    pub fn lock(&self) -> SpinLockGuard<'_, Vec<Mount>> {
        self.mounts.lock()
    }

    /// A new namespace with a copy of this one's table (unshare/clone CLONE_NEWNS): the same
    /// filesystems at the same places, as new mounts (new IDs, no files open for writing
    /// through them yet).
    pub fn copy(&self) -> Arc<Self> {
        let old = self.mounts.lock().clone();
        let new_id: Vec<(u32, u32)> = old.iter().map(|m| (m.id, super::mount::next_id())).collect();
        let renumber = |id: u32| new_id.iter().find(|(o, _)| *o == id).map_or(id, |(_, n)| *n);
        let mounts = old
            .into_iter()
            .map(|m| Mount {
                id: renumber(m.id),
                parent_id: renumber(m.parent_id),
                writers: Arc::new(AtomicUsize::new(0)),
                ..m
            })
            .collect();
        register(Self { inum: nsfs::alloc_inum(), mounts: SpinLock::new(mounts) })
    }
}

impl Drop for MountNamespace {
    /// The last process has left: what only this namespace mounted is unmounted (a disk is
    /// written back and released), as Linux's put_mnt_ns does.
    fn drop(&mut self) {
        let mounts = core::mem::take(&mut *self.mounts.lock());
        for m in mounts.iter().rev() {
            if mounted_anywhere(&m.root) == 0 {
                super::mount::let_go(m);
            }
        }
    }
}

/// Every namespace alive, so that a filesystem's mounts can be counted across all of them.
static ALL: SpinLock<Vec<Weak<MountNamespace>>> = SpinLock::new(Vec::new());

static INITIAL: spin::Once<Arc<MountNamespace>> = spin::Once::new();

static CURRENT_HOOK: spin::Once<fn() -> Option<Arc<MountNamespace>>> = spin::Once::new();

fn register(ns: MountNamespace) -> Arc<MountNamespace> {
    let ns = Arc::new(ns);
    let mut all = ALL.lock();
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(&ns));
    ns
}

/// The namespace the machine starts with.
pub fn initial() -> Arc<MountNamespace> {
    INITIAL
        .call_once(|| {
            register(MountNamespace {
                inum: NsType::Mnt.initial_inum(),
                mounts: SpinLock::new(Vec::new()),
            })
        })
        .clone()
}

/// Registers how to find the calling process's namespace (once, at boot).
pub fn set_current_hook(hook: fn() -> Option<Arc<MountNamespace>>) {
    CURRENT_HOOK.call_once(|| hook);
}

/// The caller's namespace (the initial one outside any process).
pub fn current() -> Arc<MountNamespace> {
    CURRENT_HOOK.get().and_then(|hook| hook()).unwrap_or_else(initial)
}

/// How many mounts of `root` there are in all namespaces.
pub fn mounted_anywhere(root: &Arc<Node>) -> usize {
    let all: Vec<Arc<MountNamespace>> = ALL.lock().iter().filter_map(Weak::upgrade).collect();
    all.iter().map(|ns| ns.lock().iter().filter(|m| Arc::ptr_eq(&m.root, root)).count()).sum()
}

/// Every mount in every namespace (writeback and sync visit each disk once through them).
pub fn all_mounts() -> Vec<Mount> {
    let all: Vec<Arc<MountNamespace>> = ALL.lock().iter().filter_map(Weak::upgrade).collect();
    all.iter().flat_map(|ns| ns.lock().clone()).collect()
}
