//! Which instance watches which node: every watch, under one lock.
//!
//! A watch is a (node, instance) pair with a watch descriptor and a mask. The table keeps,
//! per watched node, the node itself (a watch pins it, as on Linux) and its watches; and,
//! per instance, its descriptors and where the next one is looked for (descriptors count
//! up from 1 and are not reused until they wrap, as Linux's cyclic IDR hands them out).
//!
//! Lock order: this table, then an instance's queue. Nodes a removal releases are dropped
//! after the table's lock is let go (dropping a disk node may write it back).

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::{SpinLock, SpinLockGuard};

use super::event::{
    Event, IN_ALL_EVENTS, IN_DELETE_SELF, IN_EXCL_UNLINK, IN_IGNORED, IN_ISDIR, IN_MASK_ADD,
    IN_MASK_CREATE, IN_ONESHOT, IN_UNMOUNT, WATCH_BITS,
};
use super::limits;
use super::queue::EventQueue;
use crate::error::{Errno, SysResult};
use crate::fs::{Node, NodeKind};

/// One watch, as its node's entry lists it.
struct Watch {
    queue: Arc<EventQueue>,
    wd: i32,
    mask: u32,
}

impl Watch {
    /// The instance the watch belongs to, as the table knows it.
    fn queue_id(&self) -> usize {
        queue_id(&self.queue)
    }
}

/// A watched node and its watches (never empty while in the table).
struct WatchedNode {
    node: Arc<Node>,
    watches: Vec<Watch>,
}

/// An instance's side: its descriptors (to the node each watches) and who is charged.
struct Descriptors {
    by_wd: BTreeMap<i32, usize>,
    next: i32,
    owner: u32,
}

/// A removed node's last name, for events on it that still reach its directory (writes
/// to a file unlinked while open), as a Linux dentry keeps its name after an unlink.
struct DetachedName {
    /// Holding it keeps the node's address from being reused while this entry exists.
    node: Weak<Node>,
    name: alloc::string::String,
}

struct Table {
    nodes: BTreeMap<usize, WatchedNode>,
    instances: BTreeMap<usize, Descriptors>,
    detached: BTreeMap<usize, DetachedName>,
    /// Nodes whose last watch went: dropped once the lock is released.
    released: Vec<Arc<Node>>,
}

static TABLE: SpinLock<Table> = SpinLock::new(Table {
    nodes: BTreeMap::new(),
    instances: BTreeMap::new(),
    detached: BTreeMap::new(),
    released: Vec::new(),
});

/// How many nodes are watched: the VFS's hooks return at once while it is 0.
static WATCHED_NODES: AtomicUsize = AtomicUsize::new(0);

/// Whether any node is watched at all.
pub(super) fn any() -> bool {
    WATCHED_NODES.load(Ordering::Relaxed) != 0 || super::dnotify::any()
}

fn node_id(node: &Node) -> usize {
    node as *const Node as usize
}

fn queue_id(queue: &EventQueue) -> usize {
    queue as *const EventQueue as usize
}

/// The table, locked; [`Locked::drop`] drops the nodes released meanwhile after unlocking.
struct Locked(Option<SpinLockGuard<'static, Table>>);

fn lock() -> Locked {
    Locked(Some(TABLE.lock()))
}

impl core::ops::Deref for Locked {
    type Target = Table;
    fn deref(&self) -> &Table {
        self.0.as_ref().expect("locked")
    }
}

impl core::ops::DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Table {
        self.0.as_mut().expect("locked")
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        let released = self.0.as_mut().map(|t| core::mem::take(&mut t.released));
        self.0 = None;
        drop(released);
    }
}

impl Table {
    /// Removes watch `wd` of the instance behind `queue_id` from both sides; queues
    /// IN_IGNORED on it if `tell`.
    fn remove(&mut self, queue_id: usize, wd: i32, tell: bool) {
        let Some(descriptors) = self.instances.get_mut(&queue_id) else { return };
        let Some(id) = descriptors.by_wd.remove(&wd) else { return };
        let owner = descriptors.owner;
        limits::release_watch(owner);
        let Some(entry) = self.nodes.get_mut(&id) else { return };
        if let Some(i) = entry.watches.iter().position(|w| w.queue_id() == queue_id) {
            let watch = entry.watches.remove(i);
            if tell {
                watch.queue.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: None });
            }
        }
        if entry.watches.is_empty()
            && let Some(gone) = self.nodes.remove(&id)
        {
            WATCHED_NODES.store(self.nodes.len(), Ordering::Relaxed);
            self.released.push(gone.node);
        }
    }

    /// Ends every watch on the node `id` with IN_IGNORED.
    fn end_watches(&mut self, id: usize) {
        let watches: Vec<(usize, i32)> = match self.nodes.get(&id) {
            Some(e) => e.watches.iter().map(|w| (w.queue_id(), w.wd)).collect(),
            None => return,
        };
        for (queue, wd) in watches {
            self.remove(queue, wd, true);
        }
    }

    /// Queues `mask` on every watch of the node `id` that asks for it (see [`deliver`]).
    fn deliver(&mut self, id: usize, mask: u32, cookie: u32, name: Option<&str>, unlinked: bool) {
        let Some(entry) = self.nodes.get(&id) else { return };
        let mut spent = Vec::new();
        for w in &entry.watches {
            if w.mask & mask & IN_ALL_EVENTS == 0 || (w.mask & IN_EXCL_UNLINK != 0 && unlinked) {
                continue;
            }
            w.queue.push(Event { wd: w.wd, mask, cookie, name: name.map(Into::into) });
            if w.mask & IN_ONESHOT != 0 {
                spent.push((w.queue_id(), w.wd));
            }
        }
        for (queue, wd) in spent {
            self.remove(queue, wd, true);
        }
    }
}

/// Registers a new instance, charged to `owner`.
pub(super) fn add_instance(queue: &Arc<EventQueue>, owner: u32) {
    let descriptors = Descriptors { by_wd: BTreeMap::new(), next: 1, owner };
    lock().instances.insert(queue_id(queue), descriptors);
}

/// Removes an instance and all its watches, without telling it (it is being closed).
pub(super) fn remove_instance(queue: &EventQueue) {
    let id = queue_id(queue);
    let mut table = lock();
    let wds: Vec<i32> = match table.instances.get(&id) {
        Some(d) => d.by_wd.keys().copied().collect(),
        None => return,
    };
    for wd in wds {
        table.remove(id, wd, false);
    }
    table.instances.remove(&id);
}

/// Adds or updates the instance's watch on `node` (inotify_add_watch once the path is
/// resolved): returns its descriptor. An existing watch gets `mask`, or its mask with
/// `mask` added under IN_MASK_ADD; under IN_MASK_CREATE it is EEXIST. A new one takes the
/// next free descriptor, which stays taken even if the owner is then over its limit
/// (ENOSPC), as on Linux.
pub(super) fn add(queue: &Arc<EventQueue>, node: &Arc<Node>, mask: u32) -> SysResult<i32> {
    let (qid, id) = (queue_id(queue), node_id(node));
    let mut table = lock();
    if let Some(w) =
        table.nodes.get_mut(&id).and_then(|e| e.watches.iter_mut().find(|w| w.queue_id() == qid))
    {
        if mask & IN_MASK_CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        let kept = if mask & IN_MASK_ADD != 0 { w.mask } else { 0 };
        w.mask = kept | (mask & WATCH_BITS);
        return Ok(w.wd);
    }
    let descriptors = table.instances.get_mut(&qid).ok_or(Errno::EINVAL)?;
    let wd = next_free(&descriptors.by_wd, descriptors.next);
    descriptors.next = wd.checked_add(1).unwrap_or(1);
    limits::charge_watch(descriptors.owner)?;
    descriptors.by_wd.insert(wd, id);
    let watch = Watch { queue: queue.clone(), wd, mask: mask & WATCH_BITS };
    let entry = table
        .nodes
        .entry(id)
        .or_insert_with(|| WatchedNode { node: node.clone(), watches: Vec::new() });
    entry.watches.push(watch);
    WATCHED_NODES.store(table.nodes.len(), Ordering::Relaxed);
    Ok(wd)
}

/// The first descriptor from `from` up that is free, wrapping to 1 past i32::MAX.
fn next_free(used: &BTreeMap<i32, usize>, from: i32) -> i32 {
    let mut wd = from.max(1);
    for &taken in used.range(wd..).map(|(k, _)| k) {
        if taken != wd {
            return wd;
        }
        match wd.checked_add(1) {
            Some(next) => wd = next,
            None => return next_free(used, 1),
        }
    }
    wd
}

/// Removes watch `wd` of the instance and queues IN_IGNORED (inotify_rm_watch): EINVAL
/// if it has no such watch.
pub(super) fn remove(queue: &EventQueue, wd: i32) -> SysResult<()> {
    let qid = queue_id(queue);
    let mut table = lock();
    let known = table.instances.get(&qid).is_some_and(|d| d.by_wd.contains_key(&wd));
    if !known {
        return Err(Errno::EINVAL);
    }
    table.remove(qid, wd, true);
    Ok(())
}

/// Whether `node` has a watch.
pub(super) fn is_watched(node: &Node) -> bool {
    any() && (lock().nodes.contains_key(&node_id(node)) || super::dnotify::registered(node))
}

/// What an event is about, for [`deliver`].
pub(super) struct Subject<'a> {
    /// The node the event happened to.
    pub node: &'a Node,
    /// Its directory and its name there, when that directory is watched.
    pub parent: Option<(&'a Node, &'a str)>,
    /// The node has no name left (IN_EXCL_UNLINK watches do not hear of it).
    pub unlinked: bool,
}

/// Queues `mask` on the watches that ask for it: first those of the subject's directory
/// (with the subject's name), then the subject's own (without), as Linux reports an event
/// to a watched parent and child in that order. A one-shot watch goes once it fired.
pub(super) fn deliver(subject: &Subject, mask: u32, cookie: u32) {
    let mut table = lock();
    if let Some((dir, name)) = subject.parent {
        table.deliver(node_id(dir), mask, cookie, Some(name), subject.unlinked);
    }
    table.deliver(node_id(subject.node), mask, cookie, None, subject.unlinked);
    drop(table);
    // dnotify hears of a directory's entries and of the directory itself (Linux's
    // dnotify_handle_event takes events with a parent, or on a directory).
    if let Some((dir, _)) = subject.parent {
        super::dnotify::event(dir, mask);
    }
    if subject.node.kind() == crate::fs::NodeKind::Dir {
        super::dnotify::event(subject.node, mask);
    }
}

/// Queues an event with a name on the watches of directory `dir` (an entry created,
/// removed or moved).
pub(super) fn deliver_named(dir: &Node, mask: u32, cookie: u32, name: &str) {
    lock().deliver(node_id(dir), mask, cookie, Some(name), false);
    super::dnotify::event(dir, mask);
}

/// The node is gone: IN_DELETE_SELF on each of its watches that asks for it, then every
/// watch on it ends with IN_IGNORED.
pub(super) fn node_gone(node: &Node) {
    let id = node_id(node);
    let mut table = lock();
    table.detached.remove(&id);
    table.deliver(id, IN_DELETE_SELF, 0, None, false);
    table.end_watches(id);
}

/// The filesystem holding the watched nodes for which `on_it` holds was unmounted: each of
/// their watches gets IN_UNMOUNT (whatever its mask; with IN_ISDIR on a directory) and
/// IN_IGNORED.
pub(super) fn unmounted(on_it: impl Fn(&Node) -> bool) {
    let mut table = lock();
    let ids: Vec<usize> =
        table.nodes.iter().filter(|(_, e)| on_it(&e.node)).map(|(&id, _)| id).collect();
    for id in ids {
        if let Some(entry) = table.nodes.get(&id) {
            let dir_bit = if entry.node.kind() == NodeKind::Dir { IN_ISDIR } else { 0 };
            for w in &entry.watches {
                let mask = IN_UNMOUNT | dir_bit;
                w.queue.push(Event { wd: w.wd, mask, cookie: 0, name: None });
            }
        }
        table.end_watches(id);
    }
}

/// Whether the watch table holds the only reference to `node` besides the caller's one
/// (an unmount is not kept busy by watches, as on Linux).
pub(super) fn holds_only(node: &Arc<Node>) -> bool {
    Arc::strong_count(node) == 2 && is_watched(node)
}

/// Remembers `name` as the last name of `node`, just removed from a watched directory
/// while still open; forgets names of nodes that no longer exist.
pub(super) fn remember_detached_name(node: &Arc<Node>, name: &str) {
    let mut table = lock();
    table.detached.retain(|_, d| d.node.strong_count() > 0);
    let entry = DetachedName { node: Arc::downgrade(node), name: name.into() };
    table.detached.insert(node_id(node), entry);
}

/// The name [`remember_detached_name`] kept for `node`.
pub(super) fn detached_name(node: &Node) -> Option<alloc::string::String> {
    lock().detached.get(&node_id(node)).map(|d| d.name.clone())
}
