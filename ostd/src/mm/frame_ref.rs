//! The per-frame reference count's rules, apart from where the counts live.
//!
//! A count of zero means the frame is free; an allocated frame has at least one reference
//! (a [`Frame`](super::Frame), a page-table entry, or an owner such as a `Segment`). Taking a
//! reference needs one already held, so a count never goes from zero to one here: only the
//! allocator does that. These functions are pure (atomics only, no `unsafe`) so the host tests
//! run them (`tests/tests/frame_ref.rs` includes this file).

use core::sync::atomic::{AtomicU32, Ordering};

/// Adds a reference to a frame the caller already holds one on.
///
/// # Panics
/// If the count was zero (a reference taken on a free frame: a use after free), or would
/// overflow.
pub(super) fn acquire(count: &AtomicU32) {
    // Relaxed, as for `Arc::clone`: the caller's own reference keeps the frame alive, and
    // nothing is published by taking another.
    let old = count.fetch_add(1, Ordering::Relaxed);
    assert!(old != 0, "reference taken on a free frame");
    assert!(old != u32::MAX, "frame reference count overflow");
}

/// Drops a reference; returns `true` when it was the last, so the frame must now be freed.
///
/// # Panics
/// If the count was already zero (a reference dropped twice).
pub(super) fn release(count: &AtomicU32) -> bool {
    // Release so this holder's writes happen before the free; Acquire (on the last drop) so
    // the freeing thread sees every other holder's writes, as for `Arc`'s drop.
    let old = count.fetch_sub(1, Ordering::AcqRel);
    assert!(old != 0, "frame reference dropped on a free frame");
    old == 1
}
