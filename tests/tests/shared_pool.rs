//! Host property tests for the shared pool's bookkeeping (`ostd/src/mm/dma/chunks.rs`).
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../ostd/src/mm/dma/chunks.rs"]
mod chunks;

use chunks::{Chunks, FRAME_SIZE, PoolStats};
use proptest::prelude::*;

const F: u64 = FRAME_SIZE;

#[test]
fn an_empty_pool_has_nothing_to_give() {
    let mut pool = Chunks::new();
    assert_eq!(pool.take(1), None);
    assert_eq!(pool.stats(), PoolStats::default());
}

#[test]
fn requests_are_served_first_fit_within_a_chunk() {
    let mut pool = Chunks::new();
    pool.add(0x10_0000, 4);
    assert_eq!(pool.take(2), Some(0x10_0000));
    assert_eq!(pool.take(1), Some(0x10_0000 + 2 * F));
    assert_eq!(pool.take(2), None, "only one frame left");
    pool.give_back(0x10_0000, 2);
    assert_eq!(pool.take(2), Some(0x10_0000));
    assert_eq!(pool.stats(), PoolStats { total: 4, in_use: 3, high_water: 3 });
}

#[test]
fn a_zero_frame_request_gets_nothing() {
    let mut pool = Chunks::new();
    pool.add(0, 4);
    assert_eq!(pool.take(0), None);
}

#[test]
#[should_panic(expected = "double free")]
fn freeing_twice_panics() {
    let mut pool = Chunks::new();
    pool.add(0x1000, 2);
    let a = pool.take(1).unwrap();
    pool.give_back(a, 1);
    pool.give_back(a, 1);
}

#[test]
#[should_panic(expected = "does not own")]
fn freeing_memory_outside_the_pool_panics() {
    let mut pool = Chunks::new();
    pool.add(0x1000, 2);
    pool.give_back(0x9000, 1);
}

#[test]
#[should_panic(expected = "past the end of its chunk")]
fn freeing_past_a_chunk_end_panics() {
    let mut pool = Chunks::new();
    pool.add(0x1000, 2);
    pool.give_back(0x2000, 2);
}

#[test]
#[should_panic(expected = "overlaps")]
fn overlapping_chunks_are_rejected() {
    let mut pool = Chunks::new();
    pool.add(0x1000, 4);
    pool.add(0x4000, 4);
}

#[test]
fn idle_chunks_are_removed_and_busy_ones_kept() {
    let mut pool = Chunks::new();
    pool.add(0x10_0000, 2);
    pool.add(0x20_0000, 2);
    let a = pool.take(2).unwrap();
    assert_eq!(pool.remove_idle(), vec![(0x20_0000, 2)]);
    assert_eq!(pool.stats().total, 2);
    assert!(pool.is_handed_out(a, 2 * F as usize));
    pool.give_back(a, 2);
    assert!(!pool.is_handed_out(a, 1));
    assert_eq!(pool.remove_idle(), vec![(0x10_0000, 2)]);
    assert_eq!(pool.stats(), PoolStats { total: 0, in_use: 0, high_water: 2 });
}

#[test]
fn membership_needs_every_byte_handed_out() {
    let mut pool = Chunks::new();
    pool.add(0x10_0000, 4);
    let a = pool.take(1).unwrap();
    assert!(pool.is_handed_out(a, F as usize));
    assert!(pool.is_handed_out(a + 100, 10));
    assert!(!pool.is_handed_out(a, F as usize + 1), "the next frame is free");
    assert!(!pool.is_handed_out(u64::MAX - 2, 10), "an overflowing range is not in the pool");
    assert!(!pool.is_handed_out(0x40_0000, 1));
}

/// One step of a random workload.
#[derive(Clone, Debug)]
enum Op {
    /// Ask for this many frames; grow by a chunk of at least 16 frames if none has room.
    Alloc(usize),
    /// Give back the live allocation with this index (modulo how many are live).
    Free(usize),
    /// Shrink: remove idle chunks; fail to convert every other one (they are re-added).
    Shrink,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => (1usize..24).prop_map(Op::Alloc),
            3 => any::<usize>().prop_map(Op::Free),
            1 => Just(Op::Shrink),
        ],
        0..120,
    )
}

proptest! {
    /// Whatever the workload: live allocations never overlap, each lies wholly in frames the
    /// pool reports as handed out, and the figures match what is live.
    #[test]
    fn allocations_never_overlap_and_the_figures_add_up(ops in ops()) {
        let mut pool = Chunks::new();
        let mut live: Vec<(u64, usize)> = Vec::new();
        let mut chunk_frames: Vec<(u64, usize)> = Vec::new();
        let mut next_base = 0x1_0000_0000u64;
        let mut high_water = 0;
        let mut failed_conversions = 0usize;
        for op in ops {
            match op {
                Op::Alloc(count) => {
                    let paddr = match pool.take(count) {
                        Some(p) => p,
                        None => {
                            let frames = count.max(16);
                            pool.add(next_base, frames);
                            chunk_frames.push((next_base, frames));
                            // Leave a gap so that adjacent chunks are not mistaken for one.
                            next_base += (frames as u64 + 1) * F;
                            pool.take(count).expect("a fresh chunk fits the request")
                        }
                    };
                    prop_assert_eq!(paddr % F, 0);
                    live.push((paddr, count));
                }
                Op::Free(i) if !live.is_empty() => {
                    let (paddr, count) = live.swap_remove(i % live.len());
                    pool.give_back(paddr, count);
                }
                Op::Free(_) => {}
                Op::Shrink => {
                    for (base, frames) in pool.remove_idle() {
                        prop_assert!(
                            live.iter().all(|&(p, _)| p < base || p >= base + frames as u64 * F),
                            "an idle chunk held a live allocation"
                        );
                        failed_conversions += 1;
                        if failed_conversions.is_multiple_of(2) {
                            pool.add(base, frames);
                        } else {
                            chunk_frames.retain(|&(b, _)| b != base);
                        }
                    }
                }
            }
            // Disjoint, page-aligned, inside one chunk, and handed out.
            let mut sorted = live.clone();
            sorted.sort();
            for pair in sorted.windows(2) {
                prop_assert!(pair[0].0 + pair[0].1 as u64 * F <= pair[1].0, "overlap: {:?}", pair);
            }
            for &(paddr, count) in &live {
                prop_assert!(pool.is_handed_out(paddr, count * F as usize));
                prop_assert!(
                    chunk_frames
                        .iter()
                        .any(|&(b, f)| b <= paddr && paddr + count as u64 * F <= b + f as u64 * F)
                );
            }
            let in_use: usize = live.iter().map(|&(_, c)| c).sum();
            high_water = high_water.max(in_use);
            let total: usize = chunk_frames.iter().map(|&(_, f)| f).sum();
            prop_assert_eq!(pool.stats(), PoolStats { total, in_use, high_water });
        }
    }
}

#[test]
fn ranges_list_every_chunk_for_the_iommu_to_map() {
    let mut pool = Chunks::new();
    pool.add(0x1000, 2);
    pool.add(0x10_0000, 16);
    pool.take(1);
    assert_eq!(pool.ranges(), vec![(0x1000, 2), (0x10_0000, 16)]);
    pool.give_back(0x1000, 1);
    pool.remove_idle();
    assert_eq!(pool.ranges(), vec![]);
}
