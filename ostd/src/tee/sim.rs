//! The simulated TEE's private/shared bookkeeping: a set of shared frame numbers.

use alloc::collections::BTreeSet;

use crate::mm::{PAGE_SIZE, Paddr};
use crate::sync::SpinLock;

static SHARED: SpinLock<BTreeSet<u64>> = SpinLock::new(BTreeSet::new());

pub(super) fn mark_shared(paddr: Paddr, count: usize) {
    let mut set = SHARED.lock();
    for i in 0..count as u64 {
        set.insert(paddr / PAGE_SIZE as u64 + i);
    }
}

pub(super) fn mark_private(paddr: Paddr, count: usize) {
    let mut set = SHARED.lock();
    for i in 0..count as u64 {
        set.remove(&(paddr / PAGE_SIZE as u64 + i));
    }
}

pub(super) fn is_shared(paddr: Paddr, len: usize) -> bool {
    let set = SHARED.lock();
    let Some(end) = paddr.checked_add(len.max(1) as u64) else { return false };
    let first = paddr / PAGE_SIZE as u64;
    let last = (end - 1) / PAGE_SIZE as u64;
    (first..=last).all(|f| set.contains(&f))
}
