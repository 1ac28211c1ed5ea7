//! flock(2) locks: whole-file advisory locks held by open file descriptions.
//!
//! A lock belongs to the open file description (what open(2) returned, shared by dup and
//! fork), not to a process: it is released by LOCK_UN or when the last descriptor of that
//! description closes. Many may hold a shared lock; one an exclusive one.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use ostd::sync::{SpinLock, WaitQueue};

use crate::error::{Errno, SysResult};

/// Who holds what on one file.
#[derive(Default)]
struct Holders {
    shared: Vec<usize>,
    exclusive: Option<usize>,
}

/// Locks by file (inode number), holders by open-file-description identity.
static LOCKS: SpinLock<BTreeMap<u64, Holders>> = SpinLock::new(BTreeMap::new());
/// Woken whenever a lock is released.
static RELEASED: WaitQueue = WaitQueue::new();

/// What flock asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Shared,
    Exclusive,
    Unlock,
}

/// Takes, converts or drops `holder`'s lock on file `ino`. Waits for a conflicting lock to
/// go unless `nonblocking` (EWOULDBLOCK); EINTR if a signal comes first.
pub fn flock(ino: u64, holder: usize, request: Request, nonblocking: bool) -> SysResult<()> {
    if request == Request::Unlock {
        release(ino, holder);
        return Ok(());
    }
    // Converting first drops the old lock, as Linux does (the conversion is not atomic).
    release(ino, holder);
    RELEASED.wait_until(|| {
        let mut locks = LOCKS.lock();
        let h = locks.entry(ino).or_default();
        let free = match request {
            Request::Shared => h.exclusive.is_none(),
            _ => h.exclusive.is_none() && h.shared.is_empty(),
        };
        if free {
            match request {
                Request::Shared => h.shared.push(holder),
                _ => h.exclusive = Some(holder),
            }
            return Some(Ok(()));
        }
        crate::wait::not_ready(nonblocking)
    })
}

/// Drops whatever `holder` holds on `ino` (LOCK_UN, or its description closing).
pub fn release(ino: u64, holder: usize) {
    let mut locks = LOCKS.lock();
    let Some(h) = locks.get_mut(&ino) else { return };
    let before = (h.shared.len(), h.exclusive);
    h.shared.retain(|&x| x != holder);
    if h.exclusive == Some(holder) {
        h.exclusive = None;
    }
    let changed = before != (h.shared.len(), h.exclusive);
    if h.shared.is_empty() && h.exclusive.is_none() {
        locks.remove(&ino);
    }
    drop(locks);
    if changed {
        RELEASED.wake_all();
    }
}

ostd::ktest! {
    fn flock_shares_readers_excludes_writers_and_releases() {
        let ino = u64::MAX - 7;
        flock(ino, 1, Request::Shared, true).unwrap();
        flock(ino, 2, Request::Shared, true).unwrap();
        assert_eq!(flock(ino, 3, Request::Exclusive, true), Err(Errno::EAGAIN));
        release(ino, 1);
        flock(ino, 2, Request::Unlock, true).unwrap();
        flock(ino, 3, Request::Exclusive, true).unwrap();
        assert_eq!(flock(ino, 1, Request::Shared, true), Err(Errno::EAGAIN));
        flock(ino, 3, Request::Exclusive, true).unwrap();
        release(ino, 3);
        flock(ino, 1, Request::Shared, true).unwrap();
        release(ino, 1);
    }
}
