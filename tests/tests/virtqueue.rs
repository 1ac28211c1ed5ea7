//! Host tests of the split virtqueue's bookkeeping (`ostd/src/bus/virtio/ring.rs`) against a
//! simulated device: a well-behaved one that checks what the driver posts, and a malicious
//! one that writes arbitrary used ids, lengths and indices. The ring memory here is plain
//! memory; the file itself uses only `core` and `alloc`, and this crate's
//! `forbid(unsafe_code)` proves it holds no `unsafe`.
#![forbid(unsafe_code)]

extern crate alloc;

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../ostd/src/bus/virtio/ring.rs"]
mod ring;
#[allow(dead_code, reason = "each test file uses part of the shared simulator")]
mod virtqueue_sim;

use proptest::prelude::*;
use ring::{AVAIL_F_NO_INTERRUPT, Completion, DESC_F_WRITE, QueueSize, Rule, SubmitError};
use virtqueue_sim::*;

#[test]
fn layout_sizes_follow_the_spec_table() {
    let q = QueueSize::negotiate(256).unwrap();
    assert_eq!((q.desc_table_bytes(), q.avail_bytes(), q.used_bytes()), (4096, 518, 2054));
    assert_eq!(ring::desc_offset(3), 48);
    assert_eq!(ring::avail_entry_offset(3), 10);
    assert_eq!(ring::used_elem_offset(3), 28);
    assert_eq!((ring::DESC_ALIGN, ring::AVAIL_ALIGN, ring::USED_ALIGN), (16, 2, 4));
    assert_eq!((ring::AVAIL_IDX_OFFSET, ring::USED_IDX_OFFSET), (2, 2));
}

#[test]
fn queue_size_is_capped_by_the_driver() {
    assert_eq!(QueueSize::negotiate(32768).unwrap().get(), ring::DRIVER_QUEUE_CAP);
    assert_eq!(QueueSize::negotiate(64).unwrap().get(), 64);
    assert_eq!(QueueSize::negotiate(1).unwrap().get(), 1);
}

#[test]
fn queue_size_that_is_zero_not_a_power_of_two_or_too_big_is_rejected() {
    for bad in [0, 3, 100, 65535, 32769] {
        assert_eq!(
            QueueSize::negotiate(bad),
            Err(err("queue_size", bad.into(), Rule::PowerOfTwoUpTo(32768)))
        );
    }
}

// ---- Submitting ----

#[test]
fn submit_writes_a_linked_chain_and_publishes_it() {
    let mut r = ring(8);
    let t = r.submit(&request(0x1000, true)).unwrap();
    let mut dev = Device::default();
    dev.fetch(r.memory());
    assert_eq!(dev.pending.len(), 1);
    let p = &dev.pending[0];
    assert_eq!(p.head, t.index());
    assert_eq!(p.segs, request(0x1000, true));
    assert_eq!(p.writable, 513);
    assert_eq!(r.free_descriptors(), 5);
    assert_eq!(r.in_flight(), 1);
    // The last descriptor has no NEXT flag and a zero `next`.
    assert_eq!(r.memory().desc[usize::from(p.descs[2])][12..16], [DESC_F_WRITE as u8, 0, 0, 0]);
}

#[test]
fn an_empty_chain_is_refused() {
    assert_eq!(ring(8).submit(&[]), Err(SubmitError::Empty));
}

#[test]
fn a_zero_length_segment_is_refused() {
    let chain = [seg(0, 16, false), seg(16, 0, true)];
    assert_eq!(ring(8).submit(&chain), Err(SubmitError::ZeroLength { index: 1 }));
}

#[test]
fn a_readable_segment_after_a_writable_one_is_refused() {
    let chain = [seg(0, 16, true), seg(16, 16, false)];
    assert_eq!(ring(8).submit(&chain), Err(SubmitError::ReadableAfterWritable { index: 1 }));
}

#[test]
fn a_chain_longer_than_the_free_descriptors_is_refused_and_nothing_is_written() {
    let mut r = ring(4);
    r.submit(&request(0, true)).unwrap();
    let avail_before = r.memory().avail_idx;
    assert_eq!(r.submit(&request(0x1000, true)), Err(SubmitError::NoRoom { need: 3, free: 1 }));
    assert_eq!(r.memory().avail_idx, avail_before);
    assert_eq!(r.free_descriptors(), 1);
}

// ---- Completions from a well-behaved device ----

#[test]
fn completions_return_the_token_and_length_and_free_the_descriptors() {
    let mut r = ring(8);
    let a = r.submit(&request(0x1000, true)).unwrap();
    let b = r.submit(&request(0x2000, false)).unwrap();
    let mut dev = Device::default();
    dev.fetch(r.memory());
    assert_eq!(r.pop_used(), Ok(None));
    // Out of order: b first, with 1 byte (the status), then a with data + status.
    dev.complete(r.memory_mut(), 1, 1);
    dev.complete(r.memory_mut(), 0, 513);
    assert_eq!(r.pop_used(), Ok(Some(Completion { token: b, written_len: 1 })));
    assert_eq!(r.pop_used(), Ok(Some(Completion { token: a, written_len: 513 })));
    assert_eq!(r.pop_used(), Ok(None));
    assert_eq!((r.free_descriptors(), r.in_flight()), (8, 0));
}

#[test]
fn ring_indices_wrap_past_65535() {
    let mut r = ring(4);
    let mut dev = Device::default();
    for i in 0..70_000u64 {
        let t = r.submit(&[seg(i, 8, false), seg(i + 8, 4, true)]).unwrap();
        dev.fetch(r.memory());
        dev.complete(r.memory_mut(), 0, 4).unwrap();
        assert_eq!(r.pop_used(), Ok(Some(Completion { token: t, written_len: 4 })));
    }
    assert_eq!(r.memory().avail_idx, (70_000u32 % 65536) as u16);
    assert_eq!(r.free_descriptors(), 4);
}

// ---- A device that breaks the protocol ----

#[test]
fn used_idx_past_the_chains_in_flight_is_rejected() {
    let mut r = ring(8);
    r.submit(&request(0, true)).unwrap();
    r.memory_mut().used_idx = 2;
    let rule = Rule::UsedIdxAdvance { last_used: 0, in_flight: 1 };
    assert_eq!(r.pop_used(), Err(err("used.idx", 2, rule)));
}

#[test]
fn used_idx_moving_backwards_is_rejected() {
    let mut r = ring(8);
    r.memory_mut().used_idx = 0xffff;
    let rule = Rule::UsedIdxAdvance { last_used: 0, in_flight: 0 };
    assert_eq!(r.pop_used(), Err(err("used.idx", 0xffff, rule)));
}

#[test]
fn used_id_out_of_range_is_rejected() {
    let mut r = ring(8);
    r.submit(&request(0, true)).unwrap();
    r.memory_mut().push_used(8, 0);
    assert_eq!(r.pop_used(), Err(err("used.id", 8, Rule::Below(8))));
}

#[test]
fn used_id_of_a_descriptor_inside_a_chain_is_rejected() {
    let mut r = ring(8);
    let t = r.submit(&request(0, true)).unwrap();
    let mut dev = Device::default();
    dev.fetch(r.memory());
    let second = dev.pending[0].descs[1];
    assert_ne!(second, t.index());
    r.memory_mut().push_used(second.into(), 0);
    assert_eq!(r.pop_used(), Err(err("used.id", second.into(), Rule::HeadInFlight)));
}

#[test]
fn used_id_never_submitted_is_rejected() {
    let mut r = ring(8);
    r.submit(&request(0, true)).unwrap();
    r.memory_mut().push_used(7, 0);
    assert_eq!(r.pop_used(), Err(err("used.id", 7, Rule::HeadInFlight)));
}

#[test]
fn a_duplicate_completion_is_rejected() {
    let mut r = ring(8);
    let a = r.submit(&request(0, true)).unwrap();
    r.submit(&request(0x1000, true)).unwrap();
    r.memory_mut().push_used(a.index().into(), 1);
    r.memory_mut().push_used(a.index().into(), 1);
    let head = a.index().into();
    assert_eq!(r.pop_used(), Ok(Some(Completion { token: a, written_len: 1 })));
    assert_eq!(r.pop_used(), Err(err("used.id", head, Rule::HeadInFlight)));
}

#[test]
fn used_len_beyond_the_writable_bytes_is_rejected() {
    let mut r = ring(8);
    let t = r.submit(&request(0, false)).unwrap();
    r.memory_mut().push_used(t.index().into(), 2);
    assert_eq!(r.pop_used(), Err(err("used.len", 2, Rule::AtMost(1))));
}

#[test]
fn a_violation_is_sticky_and_blocks_submits_until_reset() {
    let mut r = ring(8);
    r.submit(&request(0, true)).unwrap();
    r.memory_mut().push_used(9, 0);
    let e = r.pop_used().unwrap_err();
    // The device now behaves, but the ring keeps reporting the violation.
    r.memory_mut().used_idx = 0;
    assert_eq!(r.pop_used(), Err(e));
    assert_eq!(r.broken(), Some(e));
    assert_eq!(r.submit(&request(0x1000, true)), Err(SubmitError::Broken(e)));
    assert_eq!(r.in_flight(), 1, "the violation changed nothing");
}

#[test]
fn reset_returns_every_token_in_flight_and_the_ring_works_again() {
    let mut r = ring(8);
    let a = r.submit(&request(0, true)).unwrap();
    let b = r.submit(&request(0x1000, true)).unwrap();
    r.memory_mut().push_used(200, 0);
    assert!(r.pop_used().is_err());
    let mut tokens = r.reset();
    tokens.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(tokens, expected);
    assert_eq!((r.free_descriptors(), r.in_flight(), r.broken()), (8, 0, None));
    assert_eq!((r.memory().avail_idx, r.memory().used_idx), (0, 0));

    let mut dev = Device::default();
    let t = r.submit(&request(0x2000, true)).unwrap();
    dev.fetch(r.memory());
    dev.complete(r.memory_mut(), 0, 513).unwrap();
    assert_eq!(r.pop_used(), Ok(Some(Completion { token: t, written_len: 513 })));
}

// ---- Interrupt suppression ----

#[test]
fn interrupts_are_on_after_new_and_reset_and_the_flag_follows_set_interrupts() {
    let mut r = ring(8);
    assert!(r.interrupts());
    assert_eq!(r.memory().avail_flags, 0, "new clears the dirty flags");
    r.set_interrupts(false).unwrap();
    assert!(!r.interrupts());
    assert_eq!(r.memory().avail_flags, AVAIL_F_NO_INTERRUPT);
    r.set_interrupts(true).unwrap();
    assert_eq!(r.memory().avail_flags, 0);
    r.set_interrupts(false).unwrap();
    r.reset();
    assert!(r.interrupts());
    assert_eq!(r.memory().avail_flags, 0, "reset turns interrupts back on");
}

#[test]
fn a_device_that_ignores_no_interrupt_changes_nothing() {
    // The same device script, once with interrupts on and once muted while the device
    // completes (and ignores the flag, and scribbles on it): the same answers.
    let run = |mute: bool| {
        let mut r = ring(8);
        let mut dev = Device::default();
        let mut answers = Vec::new();
        for round in 0..20u64 {
            if mute {
                r.set_interrupts(false).unwrap();
            }
            let a = r.submit(&request(round * 0x1000, true)).unwrap().index();
            let b = r.submit(&[seg(round * 0x1000 + 0x800, 64, true)]).unwrap().index();
            dev.fetch(r.memory());
            if mute {
                r.memory_mut().avail_flags = 0xffff;
            }
            dev.complete(r.memory_mut(), 1, 40).unwrap();
            dev.complete(r.memory_mut(), 0, 513).unwrap();
            if mute {
                r.set_interrupts(true).unwrap();
            }
            while let Some(c) = r.pop_used().unwrap() {
                answers.push((c.token.index(), c.written_len));
            }
            answers.push((a, b.into()));
        }
        (answers, r.free_descriptors(), r.in_flight())
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn set_interrupts_on_a_broken_ring_is_refused_and_writes_nothing() {
    let mut r = ring(8);
    r.submit(&request(0, true)).unwrap();
    r.memory_mut().push_used(9, 0);
    let e = r.pop_used().unwrap_err();
    assert_eq!(r.set_interrupts(false), Err(e));
    assert!(r.interrupts());
    assert_eq!(r.memory().avail_flags, 0);
}

/// What the well-behaved test does next.
#[derive(Clone, Debug)]
enum Step {
    Submit(Vec<(u32, bool)>),
    Complete { which: usize, len: u32 },
    Pop,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => chain().prop_map(Step::Submit),
        2 => (any::<usize>(), any::<u32>()).prop_map(|(which, len)| Step::Complete { which, len }),
        2 => Just(Step::Pop),
    ]
}

proptest! {
    #![proptest_config(cases(1000))]

    /// With a device that keeps the protocol, every chain comes back once, with its token
    /// and the length the device wrote, and no descriptor is lost or handed out twice.
    #[test]
    fn a_well_behaved_device_completes_random_mixes_of_chains(
        size in queue_size(),
        steps in prop::collection::vec(step(), 0..200),
    ) {
        let mut r = ring(size);
        let mut dev = Device::default();
        let mut books = Books::default();
        for s in &steps {
            match s {
                Step::Submit(spec) => submit_and_take(&mut r, &mut dev, &mut books, spec),
                Step::Complete { which, len } => {
                    complete_one(&mut r, &mut dev, &mut books, *which, *len)
                }
                Step::Pop => {
                    if let Some(c) = r.pop_used().expect("well-behaved device") {
                        books.popped(c);
                    }
                }
            }
            let owned: usize = books.owned.values().map(Vec::len).sum();
            prop_assert_eq!(r.free_descriptors() + owned, usize::from(size));
            prop_assert_eq!(usize::from(r.in_flight()), books.posted.len());
        }
        drain(&mut r, &mut dev, &mut books);
    }
}
