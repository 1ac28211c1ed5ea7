//! The owner F_SETOWN names for an open file description (`fcntl(2)` F_SETOWN/F_GETOWN).
//!
//! Linux keeps it in `struct file`, so a dup or a fork sees the same owner. Here it is a
//! table keyed by the address of the open file, holding a `Weak` to it: while the entry
//! exists the address cannot be reused by another file, and an entry whose file is gone
//! reads as "no owner" and is pruned on the next change.
//!
//! Not yet: SIGIO. With O_ASYNC set (F_SETFL or FIOASYNC) the owner is recorded and
//! reported, but no signal is sent when I/O becomes possible. nginx, for one, sets both on
//! its master–worker channels and never depends on the signal.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use ostd::sync::SpinLock;

use super::file::FileLike;

/// The owner of each open file description that has one: a pid, or a process group as
/// `-pgid`, as F_SETOWN takes it.
static OWNERS: SpinLock<BTreeMap<usize, (Weak<dyn FileLike>, i32)>> =
    SpinLock::new(BTreeMap::new());

fn key(file: &Arc<dyn FileLike>) -> usize {
    Arc::as_ptr(file) as *const u8 as usize
}

/// Records `owner` (0 clears it) for the open file description `file`.
pub fn set_owner(file: &Arc<dyn FileLike>, owner: i32) {
    let mut owners = OWNERS.lock();
    owners.retain(|_, (weak, _)| weak.strong_count() > 0);
    if owner == 0 {
        owners.remove(&key(file));
    } else {
        owners.insert(key(file), (Arc::downgrade(file), owner));
    }
}

/// Returns the owner of `file` (0: none).
pub fn owner(file: &Arc<dyn FileLike>) -> i32 {
    let owners = OWNERS.lock();
    owners.get(&key(file)).filter(|(weak, _)| weak.strong_count() > 0).map_or(0, |(_, o)| *o)
}
