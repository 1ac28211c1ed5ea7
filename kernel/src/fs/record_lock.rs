//! POSIX record locks (`fcntl` F_GETLK/F_SETLK/F_SETLKW) and open-file-description locks
//! (F_OFD_GETLK/F_OFD_SETLK/F_OFD_SETLKW): advisory locks on byte ranges of a file.
//!
//! A lock has an owner: a process for the traditional kind, whose locks on a file all go
//! when it closes *any* descriptor of that file (or exits); or an open file description for
//! the OFD kind, whose locks go with its last descriptor. Two locks conflict when their
//! owners differ, their ranges overlap and one of them is a write lock. An owner's own locks
//! never overlap one another: a new lock replaces what the owner held under its range
//! (splitting a lock of the other type, merging with touching locks of the same type), as
//! Linux's `posix_lock_inode` does, so a process may convert and shrink its locks freely.
//!
//! F_SETLKW sleeps until the range is free. A process that would sleep on a lock whose
//! owner is itself asleep, waiting (through a chain of at most ten such owners) for a lock
//! of the first process, gets EDEADLK instead, as Linux's `posix_locks_deadlock`; OFD locks
//! are not checked, as in Linux.
//!
//! Ranges are inclusive, `[start, end]`, with `end == OFFSET_MAX` meaning "to the end of
//! the file, however long it grows" (`l_len == 0`).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use alloc::sync::Arc;
use ostd::sync::{SpinLock, WaitQueue};

use super::{FileLike, Node};
use crate::error::{Errno, SysResult};

/// The largest file offset (Linux's OFFSET_MAX): a range ending here runs to end of file.
pub const OFFSET_MAX: i64 = i64::MAX;

/// Which file: its node, held by the lock tables while any lock on it exists (so its address,
/// the tables' key, cannot be another node's), with its device and inode number for
/// `/proc/locks`.
#[derive(Clone)]
pub struct FileKey {
    /// The node.
    pub node: Arc<Node>,
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl FileKey {
    /// The key of `file`'s node; `None` for a file with none.
    pub fn of(file: &Arc<dyn FileLike>) -> Option<Self> {
        let node = file.node()?.clone();
        let stat = file.stat();
        Some(Self { node, dev: stat.dev, ino: stat.ino })
    }

    /// The tables' key: the node's address.
    pub fn id(&self) -> usize {
        node_id(&self.node)
    }

    /// The file as `/proc/locks` names it: `MAJ:MIN:INO`, the numbers in hex but the inode.
    pub fn proc_name(&self) -> String {
        let dev = self.dev as u32;
        let (major, minor) = (super::devfs::major(dev), super::devfs::minor(dev));
        alloc::format!("{major:02x}:{minor:02x}:{}", self.ino)
    }
}

/// A node's address, as the lock tables know it.
pub fn node_id(node: &Arc<Node>) -> usize {
    Arc::as_ptr(node) as usize
}

/// At most this many record locks in all (ENOLCK beyond): each costs kernel memory, and
/// Linux's cap (the memory cgroup) does not exist here.
const MAX_LOCKS: usize = 100_000;

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A process (its thread-group id): a traditional POSIX lock.
    Process(i32),
    /// An open file description (its address): an OFD lock.
    Description(usize),
}

/// A lock's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// F_RDLCK: shared.
    Read,
    /// F_WRLCK: exclusive.
    Write,
}

/// A held lock, as F_GETLK reports the one in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    /// Its owner.
    pub owner: Owner,
    /// Its type.
    pub kind: Kind,
    /// First byte.
    pub start: i64,
    /// Last byte ([`OFFSET_MAX`]: to end of file).
    pub end: i64,
    /// The process that took it (F_GETLK's `l_pid`; OFD locks report -1 there).
    pub pid: i32,
}

impl Lock {
    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start <= end && start <= self.end
    }

    fn conflicts(&self, owner: Owner, kind: Kind, start: i64, end: i64) -> bool {
        self.owner != owner
            && self.overlaps(start, end)
            && (self.kind == Kind::Write || kind == Kind::Write)
    }
}

/// The locks on one file, in the order they were placed (each owner's sorted by start).
struct FileLocks {
    key: FileKey,
    locks: Vec<Lock>,
}

static LOCKS: SpinLock<BTreeMap<usize, FileLocks>> = SpinLock::new(BTreeMap::new());
/// Owners asleep in F_SETLKW on a process's lock, each with that process (one entry per
/// sleeping thread; deadlock detection follows these edges, as Linux's blocked_hash).
static WAITING: SpinLock<Vec<(Owner, Owner)>> = SpinLock::new(Vec::new());
/// Woken whenever locks are released or narrowed.
static CHANGED: WaitQueue = WaitQueue::new();
/// Linux's MAX_DEADLK_ITERATIONS.
const MAX_DEADLOCK_CHAIN: usize = 10;

/// F_GETLK: the first lock of another owner that would stop `owner` from taking `kind` on
/// `[start, end]`, if any.
pub fn test(key: &FileKey, owner: Owner, kind: Kind, start: i64, end: i64) -> Option<Lock> {
    let locks = LOCKS.lock();
    let file = locks.get(&key.id())?;
    file.locks.iter().find(|l| l.conflicts(owner, kind, start, end)).copied()
}

/// F_SETLK/F_SETLKW: makes `owner`'s locks on `[start, end]` of the file be `kind` (or none,
/// for `None`, F_UNLCK). If another owner's lock is in the way: EAGAIN unless `wait`, else
/// sleep until it is not (EINTR if a signal comes first, EDEADLK if it never would be).
pub fn set(
    key: &FileKey,
    owner: Owner,
    pid: i32,
    kind: Option<Kind>,
    start: i64,
    end: i64,
    wait: bool,
) -> SysResult<()> {
    let Some(kind) = kind else {
        let mut locks = LOCKS.lock();
        if let Some(file) = locks.get_mut(&key.id()) {
            carve(&mut file.locks, owner, start, end);
            if file.locks.is_empty() {
                locks.remove(&key.id());
            }
        }
        drop(locks);
        CHANGED.wake_all();
        return Ok(());
    };
    // This wait's edge in WAITING, if it recorded one.
    let mut edge: Option<(Owner, Owner)> = None;
    let forget = |edge: &mut Option<(Owner, Owner)>| {
        if let Some(e) = edge.take() {
            let mut waiting = WAITING.lock();
            if let Some(at) = waiting.iter().position(|&w| w == e) {
                waiting.swap_remove(at);
            }
        }
    };
    let result = CHANGED.wait_until(|| {
        let mut locks = LOCKS.lock();
        if let Some(blocker) = locks
            .get(&key.id())
            .and_then(|f| f.locks.iter().find(|l| l.conflicts(owner, kind, start, end)))
        {
            let blocker = blocker.owner;
            if !wait {
                return Some(Err(Errno::EAGAIN));
            }
            drop(locks);
            forget(&mut edge);
            // Only a process's wait can deadlock (Linux skips OFD requests), and only a
            // process's lock is waited on in the graph.
            if matches!(owner, Owner::Process(_)) && would_deadlock(owner, blocker) {
                return Some(Err(Errno::EDEADLK));
            }
            if matches!(blocker, Owner::Process(_)) {
                WAITING.lock().push((owner, blocker));
                edge = Some((owner, blocker));
            }
            return crate::wait::not_ready(false);
        }
        // Placing adds at most two locks (a split), counted against the cap first.
        let total: usize = locks.values().map(|f| f.locks.len()).sum();
        if total + 2 > MAX_LOCKS {
            return Some(Err(Errno::ENOLCK));
        }
        let file = locks
            .entry(key.id())
            .or_insert_with(|| FileLocks { key: key.clone(), locks: Vec::new() });
        place(&mut file.locks, Lock { owner, kind, start, end, pid });
        Some(Ok(()))
    });
    forget(&mut edge);
    // A conversion from write to read, or a merge, may have freed part of a range.
    CHANGED.wake_all();
    result
}

/// Whether `me` waiting for `blocker` closes a cycle: `blocker` waits for an owner that
/// waits ... for `me`, within Linux's MAX_DEADLK_ITERATIONS steps.
fn would_deadlock(me: Owner, blocker: Owner) -> bool {
    let waiting = WAITING.lock();
    let mut frontier = alloc::vec![blocker];
    for _ in 0..MAX_DEADLOCK_CHAIN {
        let mut next = Vec::new();
        for &o in &frontier {
            for &(waiter, on) in waiting.iter() {
                if waiter == o {
                    if on == me {
                        return true;
                    }
                    next.push(on);
                }
            }
        }
        if next.is_empty() {
            return false;
        }
        frontier = next;
    }
    false
}

/// Removes `owner`'s locks from `[start, end]`, keeping the parts of them outside it.
fn carve(locks: &mut Vec<Lock>, owner: Owner, start: i64, end: i64) {
    let mut kept = Vec::with_capacity(locks.len() + 1);
    for l in locks.drain(..) {
        if l.owner != owner || !l.overlaps(start, end) {
            kept.push(l);
            continue;
        }
        if l.start < start {
            kept.push(Lock { end: start - 1, ..l });
        }
        if l.end > end {
            kept.push(Lock { start: end + 1, ..l });
        }
    }
    *locks = kept;
}

/// Places `new` for its owner: what the owner held under its range goes, and the owner's
/// locks of the same type that overlap or touch it merge into it. (Those never touch one
/// another, being merged when placed, so whatever touches the merged range touched the new
/// one.)
fn place(locks: &mut Vec<Lock>, mut new: Lock) {
    let (owner, kind, start, end) = (new.owner, new.kind, new.start, new.end);
    let touches = |l: &Lock| {
        l.owner == owner
            && l.kind == kind
            && l.start <= end.saturating_add(1)
            && start <= l.end.saturating_add(1)
    };
    for l in locks.iter().filter(|l| touches(l)) {
        new.start = new.start.min(l.start);
        new.end = new.end.max(l.end);
    }
    locks.retain(|l| !touches(l));
    carve(locks, owner, new.start, new.end);
    let at = locks
        .iter()
        .position(|l| l.owner == owner && l.start > new.start)
        .or_else(|| locks.iter().rposition(|l| l.owner == owner).map(|i| i + 1))
        .unwrap_or(locks.len());
    locks.insert(at, new);
}

/// Drops every lock `owner` holds on the file: a process closing one of its descriptors
/// of it, or a description's last descriptor closing.
pub fn release(key_node: usize, owner: Owner) {
    let mut locks = LOCKS.lock();
    let Some(file) = locks.get_mut(&key_node) else { return };
    let before = file.locks.len();
    file.locks.retain(|l| l.owner != owner);
    let changed = file.locks.len() != before;
    if file.locks.is_empty() {
        locks.remove(&key_node);
    }
    drop(locks);
    if changed {
        CHANGED.wake_all();
    }
}

/// Drops every POSIX lock of process `pid`, on every file (it exited).
pub fn release_process(pid: i32) {
    let mut locks = LOCKS.lock();
    let mut changed = false;
    locks.retain(|_, file| {
        let before = file.locks.len();
        file.locks.retain(|l| l.owner != Owner::Process(pid));
        changed |= file.locks.len() != before;
        !file.locks.is_empty()
    });
    drop(locks);
    if changed {
        CHANGED.wake_all();
    }
}

/// The record-lock lines of `/proc/locks`, numbered from `first`, as Linux prints them:
/// `N: POSIX  ADVISORY  WRITE PID MAJ:MIN:INO START END|EOF` (`OFDLCK` and pid -1 for OFD
/// locks). Returns the next number.
pub fn proc_lines(out: &mut String, first: usize) -> usize {
    let locks = LOCKS.lock();
    let mut n = first;
    for file in locks.values() {
        for l in &file.locks {
            let (class, pid) = match l.owner {
                Owner::Process(_) => ("POSIX ", l.pid),
                Owner::Description(_) => ("OFDLCK", -1),
            };
            let kind = if l.kind == Kind::Write { "WRITE" } else { "READ" };
            let name = file.key.proc_name();
            let _ = write!(out, "{n}: {class} ADVISORY  {kind} {pid} {name} {} ", l.start);
            let _ =
                if l.end == OFFSET_MAX { writeln!(out, "EOF") } else { writeln!(out, "{}", l.end) };
            n += 1;
        }
    }
    n
}

ostd::ktest! {
    fn record_locks_split_merge_conflict_and_release() {
        let node = Node::new_of(super::NodeKind::File, 0o644, "");
        let key = &FileKey { node, dev: 0, ino: 1 };
        let (a, b) = (Owner::Process(-10), Owner::Process(-11));
        set(key, a, 10, Some(Kind::Write), 0, 99, false).unwrap();
        // A read lock in the middle splits the write lock in three.
        set(key, a, 10, Some(Kind::Read), 40, 59, false).unwrap();
        assert_eq!(test(key, b, Kind::Read, 40, 59), None);
        assert_eq!(test(key, b, Kind::Read, 0, 40).map(|l| (l.start, l.end)), Some((0, 39)));
        assert_eq!(set(key, b, 11, Some(Kind::Write), 50, 50, false), Err(Errno::EAGAIN));
        set(key, b, 11, Some(Kind::Read), 45, 55, false).unwrap();
        // Back to write over the whole range: merges into one lock, but b's read is there.
        assert_eq!(set(key, a, 10, Some(Kind::Write), 0, 99, false), Err(Errno::EAGAIN));
        set(key, b, 11, None, 0, OFFSET_MAX, false).unwrap();
        set(key, a, 10, Some(Kind::Write), 0, 99, false).unwrap();
        set(key, a, 10, Some(Kind::Write), 100, OFFSET_MAX, false).unwrap();
        let l = test(key, b, Kind::Read, 7, 7).unwrap();
        assert_eq!((l.start, l.end, l.pid), (0, OFFSET_MAX, 10));
        // Unlocking a hole leaves two locks; releasing the owner leaves none.
        set(key, a, 10, None, 10, 19, false).unwrap();
        assert_eq!(test(key, b, Kind::Write, 10, 19), None);
        assert!(test(key, b, Kind::Write, 9, 9).is_some());
        release(key.id(), a);
        assert_eq!(test(key, b, Kind::Write, 0, OFFSET_MAX), None);
        assert!(LOCKS.lock().get(&key.id()).is_none());
    }

    fn a_wait_that_would_close_a_cycle_is_a_deadlock() {
        let p = Owner::Process;
        let edges = [(p(-21), p(-22)), (p(-22), p(-20)), (Owner::Description(7), p(-21))];
        WAITING.lock().extend(edges);
        assert!(would_deadlock(p(-20), p(-21)));
        assert!(!would_deadlock(p(-23), p(-21)));
        assert!(would_deadlock(p(-20), Owner::Description(7)), "through an OFD waiter");
        WAITING.lock().retain(|e| !edges.contains(e));
    }
}
