//! The simulated ring memory and device shared by the virtqueue host tests
//! (`virtqueue.rs`: the protocol, case by case and with a well-behaved device;
//! `virtqueue_malicious.rs`: a device that lies), and the test-side books of what the driver
//! posted.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::ring::{
    Completion, DESC_F_INDIRECT, DESC_F_NEXT, DESC_F_WRITE, DESC_SIZE, QueueSize, Ring, RingError,
    RingMemory, Rule, Segment, SubmitError, USED_ELEM_SIZE,
};

// ---- The shared memory and the device ----

/// The three ring areas, as plain memory.
pub struct SimMem {
    pub desc: Vec<[u8; DESC_SIZE]>,
    pub avail_flags: u16,
    pub avail_ring: Vec<u16>,
    pub avail_idx: u16,
    pub used_ring: Vec<[u8; USED_ELEM_SIZE]>,
    pub used_idx: u16,
}

impl SimMem {
    pub fn new(size: QueueSize) -> Self {
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

    pub fn slot(&self, idx: u16) -> usize {
        usize::from(idx) % self.used_ring.len()
    }

    /// Writes a used element at `used_idx + ahead`, without publishing it.
    pub fn write_used(&mut self, ahead: u16, id: u32, len: u32) {
        let slot = self.slot(self.used_idx.wrapping_add(ahead));
        let mut e = [0u8; USED_ELEM_SIZE];
        e[..4].copy_from_slice(&id.to_le_bytes());
        e[4..].copy_from_slice(&len.to_le_bytes());
        self.used_ring[slot] = e;
    }

    /// Writes a used element at `used_idx` and publishes it.
    pub fn push_used(&mut self, id: u32, len: u32) {
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
pub struct Posted {
    pub head: u16,
    pub descs: Vec<u16>,
    pub segs: Vec<Segment>,
    pub writable: u64,
}

/// The device side: takes chains off the available ring, checking they are well formed.
#[derive(Default)]
pub struct Device {
    pub last_avail: u16,
    /// Chains taken but not completed, in the order taken.
    pub pending: Vec<Posted>,
}

impl Device {
    /// Takes every newly published chain; panics if the driver posted a malformed one.
    pub fn fetch(&mut self, mem: &SimMem) {
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
    pub fn complete(&mut self, mem: &mut SimMem, which: usize, len: u32) -> Option<Posted> {
        let posted = self.take(which)?;
        let len = (u64::from(len) % (posted.writable + 1)) as u32;
        mem.push_used(posted.head.into(), len);
        Some(posted)
    }

    /// Removes pending chain `which` (modulo the number pending), if any is pending.
    pub fn take(&mut self, which: usize) -> Option<Posted> {
        if self.pending.is_empty() {
            return None;
        }
        Some(self.pending.remove(which % self.pending.len()))
    }
}

pub fn seg(addr: u64, len: u32, device_writable: bool) -> Segment {
    Segment { addr, len, device_writable }
}

pub fn ring(size: u16) -> Ring<SimMem> {
    let size = QueueSize::negotiate(size).unwrap();
    Ring::new(SimMem::new(size), size)
}

/// A block-style request: header (read), data, status (written).
pub fn request(base: u64, data_writable: bool) -> [Segment; 3] {
    [seg(base, 16, false), seg(base + 16, 512, data_writable), seg(base + 528, 1, true)]
}

pub fn err(field: &'static str, value: u64, rule: Rule) -> RingError {
    RingError { field, value, rule }
}

// ---- Layout and queue size ----

// ---- Property tests ----

/// A chain: 1..=6 segments of 1..=8192 bytes, the device-readable ones first.
pub fn chain() -> impl Strategy<Value = Vec<(u32, bool)>> {
    prop::collection::vec((1u32..=8192, any::<bool>()), 1..=6).prop_map(|mut c| {
        c.sort_by_key(|&(_, writable)| writable);
        c
    })
}

pub fn queue_size() -> impl Strategy<Value = u16> {
    (0u32..=5).prop_map(|k| 1 << k)
}

/// The driver's test-side record: for each token index, the chain posted and, once the
/// device has taken it, its descriptors.
#[derive(Default)]
pub struct Books {
    pub next_addr: u64,
    pub posted: BTreeMap<u16, Vec<Segment>>,
    /// Descriptors the driver owns through a chain in flight (as the device found them).
    pub owned: BTreeMap<u16, Vec<u16>>,
    /// Lengths the device reported, by head, waiting for the driver to pop them.
    pub completed: BTreeMap<u16, u32>,
}

impl Books {
    pub fn make_chain(&mut self, spec: &[(u32, bool)]) -> Vec<Segment> {
        spec.iter()
            .map(|&(len, w)| {
                self.next_addr += 0x10_0000;
                seg(self.next_addr, len, w)
            })
            .collect()
    }

    /// Checks the chains the device just took match what was posted and share no descriptor
    /// with any chain the driver still owns.
    pub fn took(&mut self, fresh: &[Posted]) {
        for p in fresh {
            assert_eq!(self.posted.get(&p.head), Some(&p.segs), "chain at {} garbled", p.head);
            let all: BTreeSet<u16> = self.owned.values().flatten().copied().collect();
            assert!(p.descs.iter().all(|d| !all.contains(d)), "descriptor handed out twice");
            assert!(self.owned.insert(p.head, p.descs.clone()).is_none());
        }
    }

    /// Checks a completion is the one the device made, and retires it.
    pub fn popped(&mut self, c: Completion) {
        let head = c.token.index();
        assert_eq!(self.completed.remove(&head), Some(c.written_len), "wrong completion");
        self.posted.remove(&head);
        self.owned.remove(&head);
    }
}

pub fn submit_and_take(
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

pub fn complete_one(
    r: &mut Ring<SimMem>,
    dev: &mut Device,
    books: &mut Books,
    which: usize,
    len: u32,
) {
    if let Some(p) = dev.complete(r.memory_mut(), which, len) {
        let written = u32::from_le_bytes(
            r.memory().used_ring[r.memory().slot(r.memory().used_idx.wrapping_sub(1))][4..]
                .try_into()
                .unwrap(),
        );
        books.completed.insert(p.head, written);
    }
}

pub fn drain(r: &mut Ring<SimMem>, dev: &mut Device, books: &mut Books) {
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
/// cargo test --release -p tests --test virtqueue_malicious`).
pub fn cases(default: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok());
    ProptestConfig::with_cases(env.unwrap_or(default))
}
