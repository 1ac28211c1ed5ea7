//! The deadline timers' queue (`ostd/src/time/timer_queue.rs`), tested on the host: order,
//! ties, removal by key, and what counts as expired.
#![forbid(unsafe_code)]

extern crate alloc;

#[path = "../../ostd/src/time/timer_queue.rs"]
mod timer_queue;

use proptest::prelude::*;
use timer_queue::TimerQueue;

fn drain(q: &mut TimerQueue<u32>, now: u64) -> Vec<u32> {
    core::iter::from_fn(|| q.pop_expired(now)).collect()
}

#[test]
fn entries_leave_earliest_first_and_ties_in_insertion_order() {
    let mut q = TimerQueue::new();
    q.insert(30, 1);
    q.insert(10, 2);
    q.insert(20, 3);
    q.insert(10, 4);
    assert_eq!(q.next_deadline(), Some(10));
    assert_eq!(drain(&mut q, 25), [2, 4, 3]);
    assert_eq!(q.next_deadline(), Some(30));
    assert_eq!(drain(&mut q, 29), []);
    assert_eq!(drain(&mut q, 30), [1]);
    assert_eq!(q.next_deadline(), None);
}

#[test]
fn a_deadline_equal_to_now_is_expired() {
    let mut q = TimerQueue::new();
    q.insert(100, 7);
    assert_eq!(q.pop_expired(99), None);
    assert_eq!(q.pop_expired(100), Some(7));
}

#[test]
fn a_key_removes_exactly_its_entry_even_among_equal_deadlines() {
    let mut q = TimerQueue::new();
    let a = q.insert(50, 1);
    let b = q.insert(50, 2);
    let c = q.insert(50, 3);
    assert_eq!(q.remove(b), Some(2));
    assert_eq!(q.remove(b), None, "a key removes once");
    assert_eq!(drain(&mut q, 50), [1, 3]);
    assert_eq!(q.remove(a), None, "an expired entry is gone");
    assert_eq!(q.remove(c), None);
    // A new entry at the same deadline gets a new key: the old ones never name it.
    let d = q.insert(50, 4);
    assert_ne!(d, a);
    assert_eq!(q.remove(a), None);
    assert_eq!(q.remove(d), Some(4));
}

proptest! {
    /// Whatever is inserted and removed, the queue pops exactly the entries still in it,
    /// in (deadline, insertion) order, and only those due.
    #[test]
    fn behaves_like_a_sorted_list(
        ops in prop::collection::vec((0u64..100, any::<bool>(), any::<prop::sample::Index>()), 0..200),
        now in 0u64..120,
    ) {
        let mut q = TimerQueue::new();
        let mut model: Vec<(u64, usize, u32)> = Vec::new();
        let mut keys = Vec::new();
        for (i, (deadline, remove, pick)) in ops.into_iter().enumerate() {
            if remove && !keys.is_empty() {
                let (key, seq) = keys.swap_remove(pick.index(keys.len()));
                let expected = model.iter().position(|&(_, s, _)| s == seq).map(|p| model.remove(p).2);
                prop_assert_eq!(q.remove(key), expected);
            } else {
                keys.push((q.insert(deadline, i as u32), i));
                model.push((deadline, i, i as u32));
            }
        }
        model.sort();
        prop_assert_eq!(q.next_deadline(), model.first().map(|m| m.0));
        let due: Vec<u32> = model.iter().filter(|m| m.0 <= now).map(|m| m.2).collect();
        prop_assert_eq!(drain(&mut q, now), due);
    }
}
