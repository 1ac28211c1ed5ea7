//! flock(2) locks: whole-file advisory locks held by open file descriptions.
//!
//! A lock belongs to the open file description (what open(2) returned, shared by dup and
//! fork), not to a process: it is released by LOCK_UN or when the last descriptor of that
//! description closes. Many may hold a shared lock; one an exclusive one. Files are told
//! apart as record locks tell them ([`FileKey`]: the node, not the inode number, which two
//! filesystems may share).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use ostd::sync::{SpinLock, WaitQueue};

pub use super::record_lock::FileKey;
use crate::error::{Errno, SysResult};

/// A holder: its open file description, and the process that took the lock (for
/// `/proc/locks`).
type Holder = (usize, i32);

/// Who holds what on one file.
struct Holders {
    key: FileKey,
    shared: Vec<Holder>,
    exclusive: Option<Holder>,
}

/// Locks by file (its node), holders by open-file-description identity.
static LOCKS: SpinLock<BTreeMap<usize, Holders>> = SpinLock::new(BTreeMap::new());
/// Woken whenever a lock is released.
static RELEASED: WaitQueue = WaitQueue::new();

/// What flock asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Shared,
    Exclusive,
    Unlock,
}

/// Takes, converts or drops `holder`'s lock on file `key` for process `pid`. Waits for a
/// conflicting lock to go unless `nonblocking` (EWOULDBLOCK); EINTR if a signal comes
/// first.
pub fn flock(
    key: &FileKey,
    holder: usize,
    pid: i32,
    request: Request,
    nonblocking: bool,
) -> SysResult<()> {
    if request == Request::Unlock {
        release(key.id(), holder);
        return Ok(());
    }
    // Converting first drops the old lock, as Linux does (the conversion is not atomic).
    release(key.id(), holder);
    RELEASED.wait_until(|| {
        let mut locks = LOCKS.lock();
        let h = locks.entry(key.id()).or_insert_with(|| Holders {
            key: key.clone(),
            shared: Vec::new(),
            exclusive: None,
        });
        let free = match request {
            Request::Shared => h.exclusive.is_none(),
            _ => h.exclusive.is_none() && h.shared.is_empty(),
        };
        if free {
            match request {
                Request::Shared => h.shared.push((holder, pid)),
                _ => h.exclusive = Some((holder, pid)),
            }
            return Some(Ok(()));
        }
        crate::wait::not_ready(nonblocking)
    })
}

/// Drops whatever `holder` holds on the file whose node is `node` (LOCK_UN, or its
/// description closing).
pub fn release(node: usize, holder: usize) {
    let mut locks = LOCKS.lock();
    let Some(h) = locks.get_mut(&node) else { return };
    let before = (h.shared.len(), h.exclusive.is_some());
    h.shared.retain(|&(x, _)| x != holder);
    if h.exclusive.is_some_and(|(x, _)| x == holder) {
        h.exclusive = None;
    }
    let changed = before != (h.shared.len(), h.exclusive.is_some());
    if h.shared.is_empty() && h.exclusive.is_none() {
        locks.remove(&node);
    }
    drop(locks);
    if changed {
        RELEASED.wake_all();
    }
}

/// The flock lines of `/proc/locks`, numbered from `first`, as Linux prints them:
/// `N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INO 0 EOF`. Returns the next number.
pub fn proc_lines(out: &mut String, first: usize) -> usize {
    let locks = LOCKS.lock();
    let mut n = first;
    for h in locks.values() {
        let writers = h.exclusive.iter().map(|&(_, pid)| ("WRITE", pid));
        for (kind, pid) in writers.chain(h.shared.iter().map(|&(_, pid)| ("READ", pid))) {
            let name = h.key.proc_name();
            let _ = writeln!(out, "{n}: FLOCK  ADVISORY  {kind} {pid} {name} 0 EOF");
            n += 1;
        }
    }
    n
}

ostd::ktest! {
    fn flock_shares_readers_excludes_writers_and_releases() {
        let file = || super::Node::new_of(super::NodeKind::File, 0o644, "");
        let key = &FileKey { node: file(), dev: 0, ino: 9 };
        // Another file with the same inode number is another file.
        let twin = &FileKey { node: file(), dev: 0, ino: 9 };
        flock(key, 1, 0, Request::Shared, true).unwrap();
        flock(key, 2, 0, Request::Shared, true).unwrap();
        assert_eq!(flock(key, 3, 0, Request::Exclusive, true), Err(Errno::EAGAIN));
        flock(twin, 3, 0, Request::Exclusive, true).unwrap();
        release(twin.id(), 3);
        release(key.id(), 1);
        flock(key, 2, 0, Request::Unlock, true).unwrap();
        flock(key, 3, 0, Request::Exclusive, true).unwrap();
        assert_eq!(flock(key, 1, 0, Request::Shared, true), Err(Errno::EAGAIN));
        flock(key, 3, 0, Request::Exclusive, true).unwrap();
        release(key.id(), 3);
        flock(key, 1, 0, Request::Shared, true).unwrap();
        release(key.id(), 1);
        assert!(LOCKS.lock().get(&key.id()).is_none());
    }
}
