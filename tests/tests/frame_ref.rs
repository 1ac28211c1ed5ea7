//! Host property tests for the frame reference-count rules (`ostd/src/mm/frame_ref.rs`).
#![forbid(unsafe_code)]

#[path = "../../ostd/src/mm/frame_ref.rs"]
mod frame_ref;

use std::sync::atomic::{AtomicU32, Ordering};

use frame_ref::{acquire, release};
use proptest::prelude::*;

#[test]
#[should_panic(expected = "reference taken on a free frame")]
fn taking_a_reference_on_a_free_frame_panics() {
    acquire(&AtomicU32::new(0));
}

#[test]
#[should_panic(expected = "dropped on a free frame")]
fn dropping_a_reference_on_a_free_frame_panics() {
    release(&AtomicU32::new(0));
}

#[test]
#[should_panic(expected = "overflow")]
fn the_count_does_not_wrap() {
    acquire(&AtomicU32::new(u32::MAX));
}

#[test]
fn threads_cloning_and_dropping_leave_one_last_release() {
    let count = AtomicU32::new(1);
    let lasts = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    acquire(&count);
                    if release(&count) {
                        lasts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(lasts.load(Ordering::Relaxed), 0, "a release other than the owner's was the last");
    assert!(release(&count), "the owner's release is the last");
}

/// What a holder does next: take another reference, or drop one.
#[derive(Clone, Debug)]
enum Op {
    Clone,
    Drop,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(prop_oneof![Just(Op::Clone), Just(Op::Drop)], 0..200)
}

proptest! {
    /// Any interleaving of clones and drops by holders keeps the count equal to the number
    /// of live holders, and only the drop of the very last one reports "free it".
    #[test]
    fn the_count_tracks_live_holders_and_only_the_last_drop_frees(ops in ops()) {
        let count = AtomicU32::new(1); // the allocator's first reference
        let mut holders = 1usize;
        for op in ops {
            match op {
                Op::Clone => {
                    acquire(&count);
                    holders += 1;
                }
                Op::Drop if holders > 1 => {
                    prop_assert!(!release(&count), "freed with {} holders left", holders - 1);
                    holders -= 1;
                }
                Op::Drop => {}
            }
            prop_assert_eq!(count.load(Ordering::Relaxed) as usize, holders);
        }
        for left in (1..holders).rev() {
            prop_assert!(!release(&count), "freed with {} holders left", left);
        }
        prop_assert!(release(&count), "the last drop did not free");
        prop_assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
