//! An epoll instance's ready list: the interests whose file may have become ready since the
//! instance last looked, so that `epoll_wait` asks those files, not every file it watches.
//!
//! A file that can say when its readiness may change ([`FileLike::watch_readiness`]) takes a
//! [`Watcher`] on its wait queues; each wake-up of such a queue marks the interest's key here
//! and wakes the instance's waiters. Files that cannot are asked at every wait, as before
//! (epoll keeps them aside), and their changes wake every poller (`super::poll`).
//!
//! A mark is only a hint to look: the key may name an interest deleted since, or a file that
//! is no longer ready; `epoll_wait` checks the file's readiness itself. What it must never do
//! is miss a change, so a key is dropped from the list only after its file was asked.
//!
//! [`FileLike::watch_readiness`]: super::file::FileLike::watch_readiness

use alloc::collections::BTreeSet;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

/// The keys (descriptor numbers) of an epoll instance's interests to look at, and where its
/// `epoll_wait` callers sleep when every file it watches marks it.
pub struct ReadyList {
    keys: SpinLock<BTreeSet<i32>>,
    wq: WaitQueue,
}

impl ReadyList {
    /// An empty list.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { keys: SpinLock::new(BTreeSet::new()), wq: WaitQueue::new() })
    }

    /// Puts `key` on the list and wakes the instance's waiters.
    pub fn mark(&self, key: i32) {
        self.keys.lock().insert(key);
        self.wq.wake_all();
    }

    /// Takes every key off the list.
    pub fn take(&self) -> BTreeSet<i32> {
        core::mem::take(&mut *self.keys.lock())
    }

    /// Puts keys back without waking anyone: interests reported level-triggered (to be asked
    /// again next time, as Linux re-queues them) and those a full result left unasked.
    pub fn put_back(&self, keys: impl IntoIterator<Item = i32>) {
        self.keys.lock().extend(keys);
    }

    /// Where the instance's waiters sleep.
    pub fn wait_queue(&self) -> &WaitQueue {
        &self.wq
    }
}

/// One interest's registration with a file's wait queue.
struct Watcher {
    list: Weak<ReadyList>,
    key: i32,
}

/// The watchers of one wait queue (a part of [`super::poll::FileWaitQueue`]).
pub struct Watchers {
    entries: SpinLock<Vec<Watcher>>,
    /// `entries.len()`, read without the lock by wake-ups of unwatched queues.
    len: AtomicUsize,
}

impl Default for Watchers {
    fn default() -> Self {
        Self::new()
    }
}

impl Watchers {
    /// No watchers.
    pub const fn new() -> Self {
        Self { entries: SpinLock::new(Vec::new()), len: AtomicUsize::new(0) }
    }

    /// Registers `list`'s interest `key` (once: a second registration is a no-op). Entries of
    /// instances that are gone are dropped on the way.
    pub fn add(&self, list: &Arc<ReadyList>, key: i32) {
        let mut entries = self.entries.lock();
        entries.retain(|w| w.list.strong_count() > 0);
        let same = |w: &Watcher| w.key == key && core::ptr::eq(w.list.as_ptr(), Arc::as_ptr(list));
        if !entries.iter().any(same) {
            entries.push(Watcher { list: Arc::downgrade(list), key });
        }
        self.len.store(entries.len(), Ordering::Release);
    }

    /// Removes `list`'s interest `key`.
    pub fn remove(&self, list: &ReadyList, key: i32) {
        let mut entries = self.entries.lock();
        entries.retain(|w| {
            w.list.strong_count() > 0 && !(w.key == key && core::ptr::eq(w.list.as_ptr(), list))
        });
        self.len.store(entries.len(), Ordering::Release);
    }

    /// Marks every watcher's key on its list.
    pub fn notify(&self) {
        if self.len.load(Ordering::Acquire) == 0 {
            return;
        }
        // Marked under the lock: a mark takes only the list's own locks (its keys, its wait
        // queue), which never wait for this one.
        for w in self.entries.lock().iter() {
            if let Some(list) = w.list.upgrade() {
                list.mark(w.key);
            }
        }
    }
}
