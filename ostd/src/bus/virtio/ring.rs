//! Split-virtqueue bookkeeping (virtio 1.2 §2.7), with the device treated as hostile.
//!
//! A split virtqueue is three areas of memory shared with the device: the descriptor table
//! (which buffers), the available ring (driver → device: chains to process) and the used
//! ring (device → driver: chains done, with a length). This module keeps the driver's side:
//! the free descriptors, the chains in flight, and the two ring indices. It never touches
//! memory itself: every access goes through a [`RingMemory`], which `queue.rs` implements
//! over coherent DMA memory and the host tests (`tests/tests/virtqueue.rs`, which includes
//! this file) implement over plain memory with a malicious device. So this file is pure: no
//! `unsafe`, no hardware, only `core` and `alloc`.
//!
//! How to use it: [`QueueSize::negotiate`] the size with the device's maximum, make a
//! [`Ring`], [`Ring::submit`] chains of [`Segment`]s (each returns a [`Token`]; notify the
//! device afterwards), and on each interrupt call [`Ring::pop_used`] until it returns
//! `Ok(None)`. When it returns a [`RingError`], the device broke the protocol: reset the
//! device, then [`Ring::reset`], and fail the tokens it returns.
//!
//! What the device writes is untrusted. `used.idx` is read once per batch and may advance by
//! at most the number of chains in flight; each used element is copied out once (8 bytes)
//! and its id must be the head of a chain in flight, its length at most the device-writable
//! bytes of that chain. The driver's own record (free list, chain links, lengths) lives in
//! private memory and is never read back from the ring. A violation is sticky: the ring
//! changes nothing, reports the same error until [`Ring::reset`], and refuses new chains.
//!
//! Interrupt suppression: [`Ring::set_interrupts`] writes `VIRTQ_AVAIL_F_NO_INTERRUPT` into
//! the available ring's `flags`, a field only the driver writes and the ring never reads
//! back. It is a hint the device may ignore (§2.7.7), so nothing here depends on it: a device
//! that interrupts anyway, or scribbles on the field, changes no answer the ring gives. A
//! driver that turns interrupts back on must then call [`Ring::pop_used`] once more, since a
//! chain completed while they were off raised none.
//!
//! Not supported: indirect descriptors, `VIRTIO_F_EVENT_IDX`, and the device's notification
//! suppression (`VIRTQ_USED_F_NO_NOTIFY`: the driver notifies whenever it is asked to).

use alloc::vec::Vec;
use core::fmt;

// Split-ring layout (virtio 1.2 §2.7, table "Virtqueue Part Alignment and Size").

/// The largest queue size a split ring can have (§2.7: "Queue Size ... maximum 32768").
pub(crate) const MAX_QUEUE_SIZE: u16 = 32768;
/// The largest queue size this driver uses, whatever the device offers.
pub(crate) const DRIVER_QUEUE_CAP: u16 = 256;

/// Bytes per descriptor: `le64 addr; le32 len; le16 flags; le16 next`.
pub(crate) const DESC_SIZE: usize = 16;
/// Alignment of the descriptor table.
pub(crate) const DESC_ALIGN: usize = 16;
/// Alignment of the available ring.
pub(crate) const AVAIL_ALIGN: usize = 2;
/// Alignment of the used ring.
pub(crate) const USED_ALIGN: usize = 4;

/// Descriptor flag: the chain continues at `next`.
pub(crate) const DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the device writes this buffer (otherwise it reads it).
pub(crate) const DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer is an indirect table. This driver never sets it.
pub(crate) const DESC_F_INDIRECT: u16 = 4;

/// Offset of `le16 flags` in the available ring.
pub(crate) const AVAIL_FLAGS_OFFSET: usize = 0;
/// Available-ring flag: the driver asks the device not to interrupt when it uses a chain
/// (`VIRTQ_AVAIL_F_NO_INTERRUPT`, §2.7.7). Only a hint.
pub(crate) const AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Offset of `le16 idx` in the available ring (after `le16 flags`).
pub(crate) const AVAIL_IDX_OFFSET: usize = 2;
/// Offset of `le16 ring[0]` in the available ring.
pub(crate) const AVAIL_RING_OFFSET: usize = 4;
/// Offset of `le16 idx` in the used ring (after `le16 flags`).
pub(crate) const USED_IDX_OFFSET: usize = 2;
/// Offset of the first used element in the used ring.
pub(crate) const USED_RING_OFFSET: usize = 4;
/// Bytes per used element: `le32 id; le32 len`.
pub(crate) const USED_ELEM_SIZE: usize = 8;

/// Returns the offset of descriptor `index` in the descriptor table.
pub(crate) const fn desc_offset(index: u16) -> usize {
    index as usize * DESC_SIZE
}

/// Returns the offset of `ring[slot]` in the available ring.
pub(crate) const fn avail_entry_offset(slot: u16) -> usize {
    AVAIL_RING_OFFSET + slot as usize * 2
}

/// Returns the offset of `ring[slot]` in the used ring.
pub(crate) const fn used_elem_offset(slot: u16) -> usize {
    USED_RING_OFFSET + slot as usize * USED_ELEM_SIZE
}

/// A queue size both sides accept: a power of two, at most [`DRIVER_QUEUE_CAP`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueueSize(u16);

impl QueueSize {
    /// Chooses the queue size from the device's maximum (`queue_size` in the common config).
    ///
    /// # Errors
    /// `queue_size` is zero, not a power of two, or above [`MAX_QUEUE_SIZE`].
    pub(crate) fn negotiate(device_max: u16) -> Result<Self, RingError> {
        if !device_max.is_power_of_two() || device_max > MAX_QUEUE_SIZE {
            return Err(RingError {
                field: "queue_size",
                value: device_max.into(),
                rule: Rule::PowerOfTwoUpTo(MAX_QUEUE_SIZE),
            });
        }
        Ok(Self(device_max.min(DRIVER_QUEUE_CAP)))
    }

    /// Returns the size in entries.
    pub(crate) fn get(self) -> u16 {
        self.0
    }

    /// Returns the bytes of the descriptor table.
    pub(crate) fn desc_table_bytes(self) -> usize {
        DESC_SIZE * self.0 as usize
    }

    /// Returns the bytes of the available ring (flags, idx, ring, used_event).
    pub(crate) fn avail_bytes(self) -> usize {
        6 + 2 * self.0 as usize
    }

    /// Returns the bytes of the used ring (flags, idx, ring, avail_event).
    pub(crate) fn used_bytes(self) -> usize {
        6 + USED_ELEM_SIZE * self.0 as usize
    }
}

/// The primitive accesses the ring makes to the memory it shares with the device.
///
/// The ring calls these only with `index`/`slot` below its queue size, so an implementation
/// whose areas are at least [`QueueSize::desc_table_bytes`], [`QueueSize::avail_bytes`] and
/// [`QueueSize::used_bytes`] long never sees an out-of-range access. Every access is a copy:
/// no implementation may hand out a reference into the shared memory.
pub(crate) trait RingMemory {
    /// Zeroes all three areas (so both ring indices read 0).
    ///
    /// Called by [`Ring::new`] and [`Ring::reset`], while the device is not running.
    fn clear(&mut self);

    /// Writes descriptor `index` (already encoded, little-endian).
    ///
    /// Ordering: none of its own; [`RingMemory::publish_avail_idx`] orders it.
    fn write_desc(&mut self, index: u16, desc: &[u8; DESC_SIZE]);

    /// Writes `head` into the available ring's `ring[slot]`.
    ///
    /// Ordering: none of its own; [`RingMemory::publish_avail_idx`] orders it.
    fn write_avail_entry(&mut self, slot: u16, head: u16);

    /// Writes the available ring's `idx`, which hands every entry before it to the device.
    ///
    /// Ordering: **Release**. Every earlier `write_desc` and `write_avail_entry` must be
    /// visible to the device before the new `idx` is (a release fence, then the store). The
    /// store must be a single 16-bit write, so the device never sees a torn index. The
    /// caller's notify (an MMIO write) comes after this store.
    fn publish_avail_idx(&mut self, idx: u16);

    /// Writes the available ring's `flags` (0 or [`AVAIL_F_NO_INTERRUPT`]).
    ///
    /// Ordering: **SeqCst** (the store, then a full fence). A driver that turns interrupts
    /// back on then reads `used.idx`; if that load were performed before this store became
    /// visible, a chain the device used in between would raise no interrupt and go unseen
    /// until some later one. The store must be a single 16-bit write.
    fn write_avail_flags(&mut self, flags: u16);

    /// Reads the used ring's `idx` once.
    ///
    /// Ordering: **Acquire**. No later `read_used_elem` may be performed before it (the load,
    /// then an acquire fence), or an element could be read before the device wrote it. It
    /// must be a single 16-bit load: a torn value is still checked, but could name elements
    /// the device has not written yet.
    fn read_used_idx(&mut self) -> u16;

    /// Copies the used ring's `ring[slot]` out, reading each byte once.
    ///
    /// Ordering: after the `read_used_idx` that covered `slot` (see there).
    fn read_used_elem(&mut self, slot: u16) -> [u8; USED_ELEM_SIZE];
}

/// One buffer of a chain: where the device finds it, how long, and which way data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// The address the device uses (a pool address; `queue.rs` makes it from a `DeviceAddr`).
    pub(crate) addr: u64,
    /// The length in bytes; never zero.
    pub(crate) len: u32,
    /// Whether the device writes the buffer (`VIRTQ_DESC_F_WRITE`) rather than reads it.
    pub(crate) device_writable: bool,
}

/// A chain in flight, named by its head descriptor. Only [`Ring::submit`] makes one, and the
/// ring gives it back exactly once: in a [`Completion`] or from [`Ring::reset`].
///
/// It is neither `Clone` nor `Copy`, so a caller that keeps it as a map key cannot end up
/// with two live tokens for one chain.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Token {
    head: u16,
}

impl Token {
    /// Returns the head descriptor's index, below the queue size (usable as a slot index).
    pub(crate) fn index(&self) -> u16 {
        self.head
    }
}

/// A chain the device has finished with.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Completion {
    /// The chain, as [`Ring::submit`] named it.
    pub(crate) token: Token,
    /// The bytes the device says it wrote, at most the chain's device-writable bytes.
    /// Still the device's word: trust no byte past it, and check it against the protocol.
    pub(crate) written_len: u32,
}

/// The rule a device-written value broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A power of two, at most the bound.
    PowerOfTwoUpTo(u16),
    /// `used.idx` may move forward from `last_used` by at most `in_flight` entries.
    UsedIdxAdvance {
        /// The used index the driver had consumed up to.
        last_used: u16,
        /// The chains in flight.
        in_flight: u16,
    },
    /// Below the bound (a descriptor index below the queue size).
    Below(u64),
    /// The head of a chain in flight.
    HeadInFlight,
    /// At most the bound (the device-writable bytes posted).
    AtMost(u64),
}

/// The device broke the split-ring protocol: which field, the value it wrote, and the rule.
/// The driver resets the device; see [`Ring::reset`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingError {
    /// The field, as the spec names it: `queue_size`, `used.idx`, `used.id` or `used.len`.
    pub(crate) field: &'static str,
    /// The value the device wrote.
    pub(crate) value: u64,
    /// The rule it broke.
    pub(crate) rule: Rule,
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "virtqueue: device wrote {} = {}, which must be ", self.field, self.value)?;
        match self.rule {
            Rule::PowerOfTwoUpTo(max) => write!(f, "a power of two up to {max}"),
            Rule::UsedIdxAdvance { last_used, in_flight } => {
                write!(f, "at most {in_flight} (in flight) past {last_used}")
            }
            Rule::Below(bound) => write!(f, "below {bound}"),
            Rule::HeadInFlight => write!(f, "the head of a chain in flight"),
            Rule::AtMost(bound) => write!(f, "at most {bound} (device-writable bytes posted)"),
        }
    }
}

/// Why [`Ring::submit`] refused a chain. These are the caller's mistakes or a full queue,
/// never caused by what the device wrote (those are [`RingError`]s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// The chain has no segments.
    Empty,
    /// Not enough free descriptors now; retry after completions. (A chain longer than the
    /// queue size never fits.)
    NoRoom {
        /// Descriptors the chain needs.
        need: usize,
        /// Descriptors free.
        free: usize,
    },
    /// Segment `index` has length zero.
    ZeroLength {
        /// The segment's position in the chain.
        index: usize,
    },
    /// Segment `index` is device-readable but follows a device-writable one (§2.7.4.2
    /// requires the readable ones first).
    ReadableAfterWritable {
        /// The segment's position in the chain.
        index: usize,
    },
    /// The device broke the protocol earlier; the ring takes nothing until [`Ring::reset`].
    Broken(RingError),
}

/// A used element as copied out of the ring, not yet checked.
struct RawUsedElem {
    id: u32,
    len: u32,
}

impl RawUsedElem {
    /// Parses the one copy of `le32 id; le32 len`.
    fn parse(raw: [u8; USED_ELEM_SIZE]) -> Self {
        let [a, b, c, d, e, f, g, h] = raw;
        Self { id: u32::from_le_bytes([a, b, c, d]), len: u32::from_le_bytes([e, f, g, h]) }
    }
}

/// A used element that names a chain this ring has in flight.
///
/// # Invariants
/// `head < size`, `in_flight[head]` is `chain`, and `len` is at most `chain.writable`.
/// Only [`Ring::check_used`] makes one, from a [`RawUsedElem`], and [`Ring::complete`]
/// consumes it before the ring changes.
struct UsedElem {
    head: u16,
    len: u32,
    chain: Chain,
}

/// A chain in flight, as the driver posted it (private memory, never read from the ring).
#[derive(Clone, Copy)]
struct Chain {
    /// Descriptors in the chain (≥ 1).
    len: u16,
    /// The sum of its device-writable segment lengths.
    writable: u64,
}

/// The driver's side of one split virtqueue over the memory `M`.
///
/// # Invariants
/// 1. The indices in `free` and the descriptors of the chains in `in_flight` (followed
///    through `next`) are together exactly `0..size`, each once.
/// 2. `in_flight_count` is the number of `Some` in `in_flight`, and equals
///    `avail_idx - last_used` (mod 2^16).
/// 3. `seen_used - last_used` (mod 2^16) is at most `in_flight_count`: the entries the
///    device published and the ring has accepted but not yet consumed.
/// 4. While `broken` is `Some`, nothing changes until [`Ring::reset`].
pub(crate) struct Ring<M: RingMemory> {
    mem: M,
    size: u16,
    /// Free descriptor indices, used as a stack.
    free: Vec<u16>,
    /// The `next` of each descriptor, as this driver wrote it; meaningful inside a chain.
    next: Vec<u16>,
    /// Per head descriptor: the chain in flight that starts there.
    in_flight: Vec<Option<Chain>>,
    in_flight_count: u16,
    /// The next `avail.idx` to publish (free-running).
    avail_idx: u16,
    /// The used index up to which elements have been consumed (free-running).
    last_used: u16,
    /// The last `used.idx` read and accepted.
    seen_used: u16,
    /// Whether the driver takes interrupts: the available ring's `flags` as last written
    /// (cleared memory reads 0, interrupts on).
    interrupts: bool,
    broken: Option<RingError>,
}

impl<M: RingMemory> Ring<M> {
    /// Makes an empty ring over `mem`, which it clears. The device must not be using `mem`.
    pub(crate) fn new(mut mem: M, size: QueueSize) -> Self {
        mem.clear();
        let n = size.get();
        Self {
            mem,
            size: n,
            free: (0..n).rev().collect(),
            next: alloc::vec![0; n.into()],
            in_flight: alloc::vec![None; n.into()],
            in_flight_count: 0,
            avail_idx: 0,
            last_used: 0,
            seen_used: 0,
            interrupts: true,
            broken: None,
        }
    }

    /// Returns the queue size.
    pub(crate) fn size(&self) -> u16 {
        self.size
    }

    /// Returns the number of free descriptors (the longest chain [`Ring::submit`] takes now).
    pub(crate) fn free_descriptors(&self) -> usize {
        self.free.len()
    }

    /// Returns the number of chains in flight.
    pub(crate) fn in_flight(&self) -> u16 {
        self.in_flight_count
    }

    /// Returns whether the driver asks for interrupts ([`Ring::set_interrupts`]).
    pub(crate) fn interrupts(&self) -> bool {
        self.interrupts
    }

    /// Asks the device to interrupt (`on`) or not when it uses a chain, by writing the
    /// available ring's `flags`. Only a hint: the device may interrupt anyway, and nothing the
    /// ring does depends on it. After turning interrupts on, call [`Ring::pop_used`] again:
    /// a chain used while they were off raised none.
    ///
    /// # Errors
    /// The device broke the protocol earlier; the ring changes nothing until [`Ring::reset`].
    pub(crate) fn set_interrupts(&mut self, on: bool) -> Result<(), RingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        self.interrupts = on;
        self.mem.write_avail_flags(if on { 0 } else { AVAIL_F_NO_INTERRUPT });
        Ok(())
    }

    /// Returns the protocol violation that stopped the ring, if one did.
    pub(crate) fn broken(&self) -> Option<RingError> {
        self.broken
    }

    /// Returns the ring memory (for the device side of tests, and for `queue.rs`).
    pub(crate) fn memory(&self) -> &M {
        &self.mem
    }

    /// Returns the ring memory mutably (for the device side of tests, and for `queue.rs`).
    pub(crate) fn memory_mut(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Posts `chain` to the device: writes its descriptors, adds its head to the available
    /// ring and publishes it. The caller notifies the device afterwards.
    ///
    /// # Errors
    /// See [`SubmitError`]; on an error nothing was written.
    pub(crate) fn submit(&mut self, chain: &[Segment]) -> Result<Token, SubmitError> {
        if let Some(e) = self.broken {
            return Err(SubmitError::Broken(e));
        }
        if chain.is_empty() {
            return Err(SubmitError::Empty);
        }
        if chain.len() > self.free.len() {
            return Err(SubmitError::NoRoom { need: chain.len(), free: self.free.len() });
        }
        let mut writable = 0u64;
        for (index, seg) in chain.iter().enumerate() {
            if seg.len == 0 {
                return Err(SubmitError::ZeroLength { index });
            }
            if seg.device_writable {
                writable += u64::from(seg.len);
            } else if writable > 0 {
                return Err(SubmitError::ReadableAfterWritable { index });
            }
        }

        // The chain takes the top `chain.len()` free indices, in order.
        let base = self.free.len() - chain.len();
        let ids = &self.free[base..];
        for (i, seg) in chain.iter().enumerate() {
            let id = ids[i];
            let next = ids.get(i + 1).copied();
            let mut flags = if seg.device_writable { DESC_F_WRITE } else { 0 };
            if next.is_some() {
                flags |= DESC_F_NEXT;
            }
            let next = next.unwrap_or(0);
            self.next[usize::from(id)] = next;
            self.mem.write_desc(id, &encode_desc(seg.addr, seg.len, flags, next));
        }
        let head = ids[0];
        self.free.truncate(base);
        // `chain.len() <= free.len() <= size <= 32768`, so it fits.
        let len = chain.len() as u16;
        self.in_flight[usize::from(head)] = Some(Chain { len, writable });
        self.in_flight_count += 1;

        self.mem.write_avail_entry(self.avail_idx & (self.size - 1), head);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.publish_avail_idx(self.avail_idx);
        Ok(Token { head })
    }

    /// Takes the next chain the device has finished with, if there is one.
    ///
    /// `used.idx` is read once per batch (when every element it announced has been
    /// consumed); each element is copied out once and checked before anything changes.
    ///
    /// # Errors
    /// The device broke the protocol (see [`RingError::field`]). The ring is left as it was,
    /// keeps returning this error and takes no chains; reset the device, then
    /// [`Ring::reset`].
    pub(crate) fn pop_used(&mut self) -> Result<Option<Completion>, RingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        if self.seen_used == self.last_used {
            let idx = self.mem.read_used_idx();
            if idx.wrapping_sub(self.last_used) > self.in_flight_count {
                let rule = Rule::UsedIdxAdvance {
                    last_used: self.last_used,
                    in_flight: self.in_flight_count,
                };
                return Err(self.fail("used.idx", idx.into(), rule));
            }
            self.seen_used = idx;
            if idx == self.last_used {
                return Ok(None);
            }
        }
        let raw = self.mem.read_used_elem(self.last_used & (self.size - 1));
        let elem = self.check_used(RawUsedElem::parse(raw))?;
        Ok(Some(self.complete(elem)))
    }

    /// Forgets every chain in flight and returns their tokens, so the caller can fail
    /// them; the ring is then as [`Ring::new`] made it (interrupts on), and clears a
    /// violation.
    ///
    /// Call it only once the device is reset (its status reads 0): the memory is cleared,
    /// and the buffers the tokens name are free for reuse. If the device cannot be reset,
    /// keep the ring memory and the buffers out of use instead.
    pub(crate) fn reset(&mut self) -> Vec<Token> {
        let tokens = (0..self.size)
            .filter(|&head| self.in_flight[usize::from(head)].is_some())
            .map(|head| Token { head })
            .collect();
        self.mem.clear();
        self.free = (0..self.size).rev().collect();
        self.in_flight.fill(None);
        self.in_flight_count = 0;
        self.avail_idx = 0;
        self.last_used = 0;
        self.seen_used = 0;
        self.interrupts = true;
        self.broken = None;
        tokens
    }

    /// Checks a copied used element against the chains in flight.
    fn check_used(&mut self, raw: RawUsedElem) -> Result<UsedElem, RingError> {
        if raw.id >= u32::from(self.size) {
            return Err(self.fail("used.id", raw.id.into(), Rule::Below(self.size.into())));
        }
        // `id < size <= 32768`.
        let head = raw.id as u16;
        let Some(chain) = self.in_flight[usize::from(head)] else {
            return Err(self.fail("used.id", raw.id.into(), Rule::HeadInFlight));
        };
        if u64::from(raw.len) > chain.writable {
            return Err(self.fail("used.len", raw.len.into(), Rule::AtMost(chain.writable)));
        }
        Ok(UsedElem { head, len: raw.len, chain })
    }

    /// Retires the chain `elem` names: its descriptors go back to the free list.
    fn complete(&mut self, elem: UsedElem) -> Completion {
        // By `UsedElem`'s invariant the chain is in flight, so its descriptors are not free.
        self.in_flight[usize::from(elem.head)] = None;
        self.in_flight_count -= 1;
        let mut id = elem.head;
        for _ in 0..elem.chain.len {
            self.free.push(id);
            id = self.next[usize::from(id)];
        }
        self.last_used = self.last_used.wrapping_add(1);
        Completion { token: Token { head: elem.head }, written_len: elem.len }
    }

    /// Records a violation (the ring stops until reset) and returns it.
    fn fail(&mut self, field: &'static str, value: u64, rule: Rule) -> RingError {
        let e = RingError { field, value, rule };
        self.broken = Some(e);
        e
    }
}

/// Encodes one descriptor: `le64 addr; le32 len; le16 flags; le16 next`.
fn encode_desc(addr: u64, len: u32, flags: u16, next: u16) -> [u8; DESC_SIZE] {
    let mut d = [0u8; DESC_SIZE];
    d[0..8].copy_from_slice(&addr.to_le_bytes());
    d[8..12].copy_from_slice(&len.to_le_bytes());
    d[12..14].copy_from_slice(&flags.to_le_bytes());
    d[14..16].copy_from_slice(&next.to_le_bytes());
    d
}
