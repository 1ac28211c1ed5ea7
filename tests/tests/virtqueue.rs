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

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use ring::{
    AVAIL_F_NO_INTERRUPT, Completion, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, DESC_SIZE,
    QueueSize, Ring, RingError, RingMemory, Rule, Segment, SubmitError, Token, USED_ELEM_SIZE,
};

// ---- The shared memory and the device ----

/// The three ring areas, as plain memory.
struct SimMem {
    desc: Vec<[u8; DESC_SIZE]>,
    avail_flags: u16,
    avail_ring: Vec<u16>,
    avail_idx: u16,
    used_ring: Vec<[u8; USED_ELEM_SIZE]>,
    used_idx: u16,
}

impl SimMem {
    fn new(size: QueueSize) -> Self {
        let n = usize::from(size.get());
        // Start dirty, so a missing `clear` shows.
        Self {
            desc: vec![[0xaa; DESC_SIZE]; n],
            avail_flags: 0xaaaa,
            avail_ring: vec![0xaaaa; n],
            avail_idx: 0xaaaa,
            used_ring: vec![[0xaa; USED_ELEM_SIZE]; n],
            used_idx: 0xaaaa,
        }
    }

    fn slot(&self, idx: u16) -> usize {
        usize::from(idx) % self.used_ring.len()
    }

    /// Writes a used element at `used_idx + ahead`, without publishing it.
    fn write_used(&mut self, ahead: u16, id: u32, len: u32) {
        let slot = self.slot(self.used_idx.wrapping_add(ahead));
        let mut e = [0u8; USED_ELEM_SIZE];
        e[..4].copy_from_slice(&id.to_le_bytes());
        e[4..].copy_from_slice(&len.to_le_bytes());
        self.used_ring[slot] = e;
    }

    /// Writes a used element at `used_idx` and publishes it.
    fn push_used(&mut self, id: u32, len: u32) {
        self.write_used(0, id, len);
        self.used_idx = self.used_idx.wrapping_add(1);
    }
}

impl RingMemory for SimMem {
    fn clear(&mut self) {
        self.desc.fill([0; DESC_SIZE]);
        self.avail_flags = 0;
        self.avail_ring.fill(0);
        self.avail_idx = 0;
        self.used_ring.fill([0; USED_ELEM_SIZE]);
        self.used_idx = 0;
    }
    fn write_desc(&mut self, index: u16, desc: &[u8; DESC_SIZE]) {
        self.desc[usize::from(index)] = *desc;
    }
    fn write_avail_entry(&mut self, slot: u16, head: u16) {
        self.avail_ring[usize::from(slot)] = head;
    }
    fn publish_avail_idx(&mut self, idx: u16) {
        self.avail_idx = idx;
    }
    fn write_avail_flags(&mut self, flags: u16) {
        self.avail_flags = flags;
    }
    fn read_used_idx(&mut self) -> u16 {
        self.used_idx
    }
    fn read_used_elem(&mut self, slot: u16) -> [u8; USED_ELEM_SIZE] {
        self.used_ring[usize::from(slot)]
    }
}

/// A chain as the device found it in the descriptor table.
#[derive(Debug)]
struct Posted {
    head: u16,
    descs: Vec<u16>,
    segs: Vec<Segment>,
    writable: u64,
}

/// The device side: takes chains off the available ring, checking they are well formed.
#[derive(Default)]
struct Device {
    last_avail: u16,
    /// Chains taken but not completed, in the order taken.
    pending: Vec<Posted>,
}

impl Device {
    /// Takes every newly published chain; panics if the driver posted a malformed one.
    fn fetch(&mut self, mem: &SimMem) {
        let size = mem.desc.len();
        while self.last_avail != mem.avail_idx {
            let head = mem.avail_ring[usize::from(self.last_avail) % size];
            self.last_avail = self.last_avail.wrapping_add(1);
            let mut posted = Posted { head, descs: vec![], segs: vec![], writable: 0 };
            let mut id = head;
            loop {
                assert!(usize::from(id) < size, "descriptor {id} out of range");
                assert!(posted.descs.len() < size, "descriptor chain loops");
                let d = mem.desc[usize::from(id)];
                let addr = u64::from_le_bytes(d[0..8].try_into().unwrap());
                let len = u32::from_le_bytes(d[8..12].try_into().unwrap());
                let flags = u16::from_le_bytes(d[12..14].try_into().unwrap());
                let next = u16::from_le_bytes(d[14..16].try_into().unwrap());
                assert_eq!(flags & !(DESC_F_NEXT | DESC_F_WRITE), 0, "unexpected flags");
                assert_eq!(flags & DESC_F_INDIRECT, 0);
                let device_writable = flags & DESC_F_WRITE != 0;
                if device_writable {
                    posted.writable += u64::from(len);
                }
                posted.descs.push(id);
                posted.segs.push(Segment { addr, len, device_writable });
                if flags & DESC_F_NEXT == 0 {
                    break;
                }
                id = next;
            }
            self.pending.push(posted);
        }
    }

    /// Completes pending chain `which` (modulo the number pending) honestly, writing
    /// `len % (writable + 1)` bytes. Returns the chain, or `None` if nothing is pending.
    fn complete(&mut self, mem: &mut SimMem, which: usize, len: u32) -> Option<Posted> {
        let posted = self.take(which)?;
        let len = (u64::from(len) % (posted.writable + 1)) as u32;
        mem.push_used(posted.head.into(), len);
        Some(posted)
    }

    /// Removes pending chain `which` (modulo the number pending), if any is pending.
    fn take(&mut self, which: usize) -> Option<Posted> {
        if self.pending.is_empty() {
            return None;
        }
        Some(self.pending.remove(which % self.pending.len()))
    }
}

fn seg(addr: u64, len: u32, device_writable: bool) -> Segment {
    Segment { addr, len, device_writable }
}

fn ring(size: u16) -> Ring<SimMem> {
    let size = QueueSize::negotiate(size).unwrap();
    Ring::new(SimMem::new(size), size)
}

/// A block-style request: header (read), data, status (written).
fn request(base: u64, data_writable: bool) -> [Segment; 3] {
    [seg(base, 16, false), seg(base + 16, 512, data_writable), seg(base + 528, 1, true)]
}

fn err(field: &'static str, value: u64, rule: Rule) -> RingError {
    RingError { field, value, rule }
}

// ---- Layout and queue size ----

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

// ---- Property tests ----

/// A chain: 1..=6 segments of 1..=8192 bytes, the device-readable ones first.
fn chain() -> impl Strategy<Value = Vec<(u32, bool)>> {
    prop::collection::vec((1u32..=8192, any::<bool>()), 1..=6).prop_map(|mut c| {
        c.sort_by_key(|&(_, writable)| writable);
        c
    })
}

fn queue_size() -> impl Strategy<Value = u16> {
    (0u32..=5).prop_map(|k| 1 << k)
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

/// The driver's test-side record: for each token index, the chain posted and, once the
/// device has taken it, its descriptors.
#[derive(Default)]
struct Books {
    next_addr: u64,
    posted: BTreeMap<u16, Vec<Segment>>,
    /// Descriptors the driver owns through a chain in flight (as the device found them).
    owned: BTreeMap<u16, Vec<u16>>,
    /// Lengths the device reported, by head, waiting for the driver to pop them.
    completed: BTreeMap<u16, u32>,
}

impl Books {
    fn make_chain(&mut self, spec: &[(u32, bool)]) -> Vec<Segment> {
        spec.iter()
            .map(|&(len, w)| {
                self.next_addr += 0x10_0000;
                seg(self.next_addr, len, w)
            })
            .collect()
    }

    /// Checks the chains the device just took match what was posted and share no descriptor
    /// with any chain the driver still owns.
    fn took(&mut self, fresh: &[Posted]) {
        for p in fresh {
            assert_eq!(self.posted.get(&p.head), Some(&p.segs), "chain at {} garbled", p.head);
            let all: BTreeSet<u16> = self.owned.values().flatten().copied().collect();
            assert!(p.descs.iter().all(|d| !all.contains(d)), "descriptor handed out twice");
            assert!(self.owned.insert(p.head, p.descs.clone()).is_none());
        }
    }

    /// Checks a completion is the one the device made, and retires it.
    fn popped(&mut self, c: Completion) {
        let head = c.token.index();
        assert_eq!(self.completed.remove(&head), Some(c.written_len), "wrong completion");
        self.posted.remove(&head);
        self.owned.remove(&head);
    }
}

fn submit_and_take(
    r: &mut Ring<SimMem>,
    dev: &mut Device,
    books: &mut Books,
    spec: &[(u32, bool)],
) {
    let chain = books.make_chain(spec);
    match r.submit(&chain) {
        Ok(t) => {
            assert!(books.posted.insert(t.index(), chain).is_none(), "token reused");
            let before = dev.pending.len();
            dev.fetch(r.memory());
            books.took(&dev.pending[before..]);
        }
        Err(SubmitError::NoRoom { need, free }) => {
            assert_eq!((need, free), (chain.len(), r.free_descriptors()));
            assert!(need > free);
        }
        Err(e) => panic!("a valid chain was refused: {e:?}"),
    }
}

fn complete_one(r: &mut Ring<SimMem>, dev: &mut Device, books: &mut Books, which: usize, len: u32) {
    if let Some(p) = dev.complete(r.memory_mut(), which, len) {
        let written = u32::from_le_bytes(
            r.memory().used_ring[r.memory().slot(r.memory().used_idx.wrapping_sub(1))][4..]
                .try_into()
                .unwrap(),
        );
        books.completed.insert(p.head, written);
    }
}

fn drain(r: &mut Ring<SimMem>, dev: &mut Device, books: &mut Books) {
    while !dev.pending.is_empty() {
        complete_one(r, dev, books, 0, u32::MAX);
    }
    while let Some(c) = r.pop_used().expect("well-behaved device") {
        books.popped(c);
    }
    assert!(books.completed.is_empty() && books.posted.is_empty());
    assert_eq!((r.free_descriptors(), r.in_flight()), (usize::from(r.size()), 0));
}

/// `default` cases, or `PROPTEST_CASES` for a long run (e.g. `PROPTEST_CASES=1000000
/// cargo test --release -p tests --test virtqueue`).
fn cases(default: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok());
    ProptestConfig::with_cases(env.unwrap_or(default))
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

/// What the malicious test does next: driver actions, honest device actions, and lies.
#[derive(Clone, Debug)]
enum Evil {
    Submit(Vec<(u32, bool)>),
    Complete {
        which: usize,
        len: u32,
    },
    Pop,
    Reset,
    /// Writes an arbitrary element `ahead` slots past `used.idx`, without publishing it.
    Scribble {
        ahead: u16,
        id: u32,
        len: u32,
    },
    /// Publishes an element with an arbitrary id and length.
    Forge {
        id: u32,
        len: u32,
    },
    /// Completes a pending chain claiming `extra + 1` bytes more than it can hold.
    Overrun {
        which: usize,
        extra: u32,
    },
    /// Publishes a copy of the last element again.
    Duplicate,
    /// Moves `used.idx` by an arbitrary amount (backwards, a little, far forward).
    Jump(u16),
    /// The driver mutes (`false`) or unmutes the queue's interrupts.
    Interrupts(bool),
    /// The device overwrites the driver-owned `avail.flags`.
    ScribbleFlags(u16),
}

fn evil() -> impl Strategy<Value = Evil> {
    // Ids are mostly small (so some name real heads), sometimes anything.
    let id = prop_oneof![3 => 0u32..40, 1 => any::<u32>()];
    let len = prop_oneof![3 => 0u32..20_000, 1 => any::<u32>()];
    prop_oneof![
        6 => chain().prop_map(Evil::Submit),
        5 => (any::<usize>(), any::<u32>()).prop_map(|(which, len)| Evil::Complete { which, len }),
        6 => Just(Evil::Pop),
        1 => Just(Evil::Reset),
        1 => (any::<usize>(), prop_oneof![Just(0u32), any::<u32>()])
            .prop_map(|(which, extra)| Evil::Overrun { which, extra }),
        1 => (0u16..4, id.clone(), len.clone())
            .prop_map(|(ahead, id, len)| Evil::Scribble { ahead, id, len }),
        1 => (id, len).prop_map(|(id, len)| Evil::Forge { id, len }),
        1 => Just(Evil::Duplicate),
        1 => prop_oneof![Just(1u16), Just(0xffff), any::<u16>()].prop_map(Evil::Jump),
        1 => any::<bool>().prop_map(Evil::Interrupts),
        1 => any::<u16>().prop_map(Evil::ScribbleFlags),
    ]
}

/// The reference model: what `pop_used` must answer, written from the spec's rules.
#[derive(Default)]
struct Model {
    /// Head → device-writable bytes, for each chain in flight.
    in_flight: BTreeMap<u16, u64>,
    last_used: u16,
    seen_used: u16,
    broken: Option<RingError>,
}

impl Model {
    fn expect_pop(&mut self, mem: &SimMem) -> Result<Option<(u16, u32)>, RingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        let count = self.in_flight.len() as u16;
        if self.seen_used == self.last_used {
            let idx = mem.used_idx;
            if idx.wrapping_sub(self.last_used) > count {
                let rule = Rule::UsedIdxAdvance { last_used: self.last_used, in_flight: count };
                return Err(self.fail(err("used.idx", idx.into(), rule)));
            }
            self.seen_used = idx;
            if idx == self.last_used {
                return Ok(None);
            }
        }
        let raw = mem.used_ring[mem.slot(self.last_used)];
        let id = u32::from_le_bytes(raw[..4].try_into().unwrap());
        let len = u32::from_le_bytes(raw[4..].try_into().unwrap());
        let size = mem.desc.len() as u64;
        if u64::from(id) >= size {
            return Err(self.fail(err("used.id", id.into(), Rule::Below(size))));
        }
        let Some(&writable) = self.in_flight.get(&(id as u16)) else {
            return Err(self.fail(err("used.id", id.into(), Rule::HeadInFlight)));
        };
        if u64::from(len) > writable {
            return Err(self.fail(err("used.len", len.into(), Rule::AtMost(writable))));
        }
        self.in_flight.remove(&(id as u16));
        self.last_used = self.last_used.wrapping_add(1);
        Ok(Some((id as u16, len)))
    }

    fn fail(&mut self, e: RingError) -> RingError {
        self.broken = Some(e);
        e
    }
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Whatever the device writes, the ring never panics, answers each `pop_used` exactly as
    /// the spec's rules say (naming the field on a violation), and after `reset` hands back
    /// every token in flight and works with a well-behaved device again. Muting interrupts,
    /// and a device that overwrites the flag, change none of the answers.
    #[test]
    fn a_malicious_device_gets_a_named_error_never_a_panic(
        size in queue_size(),
        steps in prop::collection::vec(evil(), 0..200),
    ) {
        let mut r = ring(size);
        let mut dev = Device::default();
        let mut model = Model::default();
        let mut next_addr = 0u64;
        for s in &steps {
            match s {
                Evil::Submit(spec) => {
                    let chain: Vec<Segment> = spec
                        .iter()
                        .map(|&(len, w)| { next_addr += 0x10_0000; seg(next_addr, len, w) })
                        .collect();
                    match r.submit(&chain) {
                        Ok(t) => {
                            prop_assert!(model.broken.is_none());
                            let w = chain.iter().filter(|s| s.device_writable);
                            let w = w.map(|s| u64::from(s.len)).sum();
                            prop_assert!(model.in_flight.insert(t.index(), w).is_none());
                            dev.fetch(r.memory());
                        }
                        Err(SubmitError::Broken(e)) => prop_assert_eq!(Some(e), model.broken),
                        Err(SubmitError::NoRoom { need, free }) => prop_assert!(need > free),
                        Err(e) => prop_assert!(false, "a valid chain was refused: {:?}", e),
                    }
                }
                Evil::Complete { which, len } => {
                    dev.complete(r.memory_mut(), *which, *len);
                }
                Evil::Pop => {
                    let expected = model.expect_pop(r.memory());
                    let got = r.pop_used().map(|c| c.map(|c| (c.token.index(), c.written_len)));
                    prop_assert_eq!(got, expected);
                }
                Evil::Reset => {
                    let tokens: BTreeSet<u16> = r.reset().iter().map(Token::index).collect();
                    let heads: BTreeSet<u16> = model.in_flight.keys().copied().collect();
                    prop_assert_eq!(tokens, heads);
                    model = Model::default();
                    dev = Device::default();
                }
                Evil::Overrun { which, extra } => {
                    if let Some(p) = dev.take(*which) {
                        let len = (p.writable + 1).saturating_add((*extra).into());
                        r.memory_mut().push_used(p.head.into(), len.min(u32::MAX.into()) as u32);
                    }
                }
                Evil::Scribble { ahead, id, len } => r.memory_mut().write_used(*ahead, *id, *len),
                Evil::Forge { id, len } => r.memory_mut().push_used(*id, *len),
                Evil::Duplicate => {
                    let mem = r.memory_mut();
                    let last = mem.used_ring[mem.slot(mem.used_idx.wrapping_sub(1))];
                    let slot = mem.slot(mem.used_idx);
                    mem.used_ring[slot] = last;
                    mem.used_idx = mem.used_idx.wrapping_add(1);
                }
                Evil::Jump(by) => {
                    let mem = r.memory_mut();
                    mem.used_idx = mem.used_idx.wrapping_add(*by);
                }
                // The model ignores both: muting is a hint, and the flags are never read back.
                Evil::Interrupts(on) => prop_assert_eq!(r.set_interrupts(*on).err(), model.broken),
                Evil::ScribbleFlags(flags) => r.memory_mut().avail_flags = *flags,
            }
            prop_assert_eq!(usize::from(r.in_flight()), model.in_flight.len());
        }

        // Whatever happened, a reset makes the ring whole: full queue, then all back.
        r.reset();
        let mut dev = Device::default();
        let mut books = Books::default();
        for _ in 0..size {
            submit_and_take(&mut r, &mut dev, &mut books, &[(16, false), (1, true)]);
        }
        prop_assert_eq!(r.free_descriptors(), usize::from(size % 2));
        drain(&mut r, &mut dev, &mut books);
    }
}
