//! A virtqueue in the shared pool: the split ring's bookkeeping ([`super::ring`]) over one
//! coherent DMA allocation, holding the buffers of every chain in flight until the device
//! hands the chain back.
//!
//! Drivers give the queue *owned* bounce buffers ([`DmaBuffer`]); the device only ever sees
//! their [`DeviceAddr`](crate::mm::dma::DeviceAddr)s, and a buffer cannot be freed, reused or
//! read by the driver while the device may still write it. What the device wrote comes back
//! with the completion ([`UsedChain`]), with the length it claims checked against what was
//! posted.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{Ordering, fence};

use super::ring::{
    self, AVAIL_ALIGN, DESC_SIZE, QueueSize, Ring, RingMemory, SubmitError, USED_ALIGN,
    USED_ELEM_SIZE,
};
use crate::mm::dma::{DeviceAddr, DmaCoherent, DmaError, DmaStream, FromDevice, ToDevice};

/// A bounce buffer one chain segment uses.
pub enum DmaBuffer {
    /// The device reads it (a request header, data to write).
    ToDevice(DmaStream<ToDevice>),
    /// The device reads its first `len` bytes only: a buffer sized for the largest transfer
    /// and reused for smaller ones (a network frame). `len` must be at most the buffer's
    /// length, or the chain is refused.
    ToDevicePrefix {
        /// The buffer.
        buffer: DmaStream<ToDevice>,
        /// The bytes the device is told about, from the start.
        len: usize,
    },
    /// The device reads `len` bytes at `offset` of a buffer that other chains may use too:
    /// one bounce buffer, filled once, whose parts go to different places (a direct write
    /// whose file blocks lie in several runs on the disk). The range must lie inside the
    /// buffer, or the chain is refused.
    ToDeviceShared {
        /// The buffer.
        buffer: Arc<DmaStream<ToDevice>>,
        /// Where the device's part starts.
        offset: usize,
        /// The bytes of the part.
        len: usize,
    },
    /// The device writes it (data read, a status byte).
    FromDevice(DmaStream<FromDevice>),
}

impl DmaBuffer {
    fn segment(&self) -> Result<ring::Segment, QueueError> {
        let (addr, len, device_writable) = match self {
            Self::ToDevice(b) => (b.device_addr(), b.len(), false),
            Self::ToDevicePrefix { buffer, len } => {
                // The descriptor must not reach past the buffer into pool memory it does not
                // own.
                if *len > buffer.len() {
                    return Err(QueueError::BadChain("a prefix longer than its buffer"));
                }
                (buffer.device_addr(), *len, false)
            }
            Self::ToDeviceShared { buffer, offset, len } => {
                let addr = buffer
                    .device_addr_at(*offset, *len)
                    .map_err(|_| QueueError::BadChain("a shared part outside its buffer"))?;
                (addr, *len, false)
            }
            Self::FromDevice(b) => (b.device_addr(), b.len(), true),
        };
        let len = u32::try_from(len).map_err(|_| QueueError::TooLarge { len })?;
        Ok(ring::Segment { addr: addr.as_u64(), len, device_writable })
    }
}

/// Names a chain in flight, as [`VirtQueue::submit`] returned it (its head descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(u16);

impl RequestId {
    /// The head descriptor's index, below the queue size.
    pub fn index(self) -> u16 {
        self.0
    }
}

/// A chain the device has finished with, and its buffers back.
pub struct UsedChain {
    /// Which chain.
    pub id: RequestId,
    /// The bytes the device says it wrote into the chain's device-writable buffers, in order;
    /// checked to be at most their total size, and still the device's word.
    pub written: u32,
    /// The chain's buffers, in the order they were submitted.
    pub buffers: Vec<DmaBuffer>,
}

/// Why a queue operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// No descriptors are free now: wait for completions.
    Full,
    /// The chain is empty, has an empty buffer, or puts a buffer the device reads after one
    /// it writes: a driver bug.
    BadChain(&'static str),
    /// A buffer is longer than a descriptor can describe.
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The shared pool could not provide the ring.
    Dma(DmaError),
    /// The queue was never set up on the device.
    NotSetUp {
        /// The queue index.
        index: u16,
    },
    /// The device broke the virtqueue protocol; reset it, then [`VirtQueue::reset`].
    Violation {
        /// The field it wrote (`used.idx`, `used.id`, `used.len`, `queue_size`).
        field: &'static str,
        /// The value it wrote.
        value: u64,
        /// The rule, in words.
        detail: String,
    },
}

impl From<ring::RingError> for QueueError {
    fn from(e: ring::RingError) -> Self {
        Self::Violation { field: e.field, value: e.value, detail: e.to_string() }
    }
}

/// The device addresses of a queue's three areas, for the transport to program.
pub(crate) struct QueueAreas {
    pub(crate) size: u16,
    pub(crate) desc: DeviceAddr,
    pub(crate) driver: DeviceAddr,
    pub(crate) device: DeviceAddr,
}

/// The three areas of one split ring, laid out in one coherent allocation: the descriptor
/// table at 0, the available ring after it, the used ring after that (each aligned as
/// §2.7 requires).
struct CoherentRing {
    mem: DmaCoherent,
    avail: usize,
    used: usize,
    end: usize,
}

impl CoherentRing {
    fn alloc(size: QueueSize) -> Result<Self, DmaError> {
        let avail = size.desc_table_bytes().next_multiple_of(AVAIL_ALIGN);
        let used = (avail + size.avail_bytes()).next_multiple_of(USED_ALIGN);
        let end = used + size.used_bytes();
        Ok(Self { mem: DmaCoherent::alloc(end)?, avail, used, end })
    }

    // The ring passes indices below the queue size only (RingMemory's contract), so every
    // offset below lies inside `end` bytes and is aligned: an error here is a bug in the
    // layout above, not something a device can cause.
    fn expect_in_layout<T>(result: Result<T, DmaError>) -> T {
        result.expect("virtqueue offsets lie inside the ring's own allocation")
    }
}

impl RingMemory for CoherentRing {
    fn clear(&mut self) {
        let zeros = alloc::vec![0u8; self.end];
        Self::expect_in_layout(self.mem.write_from(0, &zeros));
    }

    fn write_desc(&mut self, index: u16, desc: &[u8; DESC_SIZE]) {
        Self::expect_in_layout(self.mem.write_from(ring::desc_offset(index), desc));
    }

    fn write_avail_entry(&mut self, slot: u16, head: u16) {
        let at = self.avail + ring::avail_entry_offset(slot);
        Self::expect_in_layout(self.mem.write_u16_once(at, head));
    }

    fn publish_avail_idx(&mut self, idx: u16) {
        // Every descriptor and entry written before is visible before the index.
        fence(Ordering::Release);
        let at = self.avail + ring::AVAIL_IDX_OFFSET;
        Self::expect_in_layout(self.mem.write_u16_once(at, idx));
    }

    fn write_avail_flags(&mut self, flags: u16) {
        let at = self.avail + ring::AVAIL_FLAGS_OFFSET;
        Self::expect_in_layout(self.mem.write_u16_once(at, flags));
        // The next `read_used_idx` must not be performed before the device can see the flag
        // (a store followed by a load needs the full fence; see the trait).
        fence(Ordering::SeqCst);
    }

    fn read_used_idx(&mut self) -> u16 {
        let idx = Self::expect_in_layout(self.mem.read_u16_once(self.used + ring::USED_IDX_OFFSET));
        // No element is read before the index that announced it.
        fence(Ordering::Acquire);
        idx
    }

    fn read_used_elem(&mut self, slot: u16) -> [u8; USED_ELEM_SIZE] {
        let mut raw = [0u8; USED_ELEM_SIZE];
        let at = self.used + ring::used_elem_offset(slot);
        Self::expect_in_layout(self.mem.read_into(at, &mut raw));
        raw
    }
}

/// One virtqueue of a device.
///
/// # Invariants
/// Every descriptor the device can see holds the address and length of a buffer in `held`
/// (under the chain's head), or of a prefix of one, so the device can never reach memory that
/// was freed or reused. The one
/// exception is the segment [`VirtQueue::submit_with_blocked`] adds for the IOMMU fault
/// ktest, whose address the IOMMU was checked to block (it is no pool memory; only pool
/// chunks are ever mapped for devices, so it stays blocked until the pool takes it in, and
/// pool memory is the device's to write anyway).
pub struct VirtQueue {
    ring: Ring<CoherentRing>,
    held: Vec<Option<Vec<DmaBuffer>>>,
}

impl VirtQueue {
    /// Makes a queue of at most `device_max` entries (the device's `queue_size`, checked: a
    /// power of two up to 32768; the driver caps it at 256).
    pub(crate) fn new(device_max: u16) -> Result<Self, QueueError> {
        let size = QueueSize::negotiate(device_max)?;
        let mem = CoherentRing::alloc(size).map_err(QueueError::Dma)?;
        let held = (0..size.get()).map(|_| None).collect();
        Ok(Self { ring: Ring::new(mem, size), held })
    }

    /// The queue size and its areas' device addresses, for the transport.
    pub(crate) fn areas(&self) -> QueueAreas {
        let mem = self.ring.memory();
        let at = |offset: usize, len: usize| {
            CoherentRing::expect_in_layout(mem.mem.device_addr_at(offset, len))
        };
        QueueAreas {
            size: self.ring.size(),
            desc: at(0, mem.avail),
            driver: at(mem.avail, mem.used - mem.avail),
            device: at(mem.used, mem.end - mem.used),
        }
    }

    /// Returns the number of entries.
    pub fn size(&self) -> u16 {
        self.ring.size()
    }

    /// Returns how many chains the device holds.
    pub fn in_flight(&self) -> u16 {
        self.ring.in_flight()
    }

    /// Returns how many descriptors are free: a chain of that many buffers fits now.
    pub fn free_descriptors(&self) -> usize {
        self.ring.free_descriptors()
    }

    /// Posts `buffers` as one chain (the ones the device reads first). The queue keeps
    /// them until the device hands the chain back. The caller then notifies the device.
    ///
    /// # Errors
    /// [`QueueError::Full`] (the buffers come back), a driver bug, or an earlier violation.
    pub(crate) fn submit(
        &mut self,
        buffers: Vec<DmaBuffer>,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        self.submit_with(buffers, None)
    }

    /// As [`Self::submit`], with `blocked` inserted into the chain at `position`: a segment
    /// whose address is no pool buffer's. Only for
    /// [`VirtioPciDevice::submit_blocked_for_test`](super::VirtioPciDevice::submit_blocked_for_test),
    /// which first checks that the IOMMU blocks that address (see the invariant).
    pub(super) fn submit_with_blocked(
        &mut self,
        buffers: Vec<DmaBuffer>,
        position: usize,
        blocked: ring::Segment,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        self.submit_with(buffers, Some((position, blocked)))
    }

    fn submit_with(
        &mut self,
        buffers: Vec<DmaBuffer>,
        blocked: Option<(usize, ring::Segment)>,
    ) -> Result<RequestId, (QueueError, Vec<DmaBuffer>)> {
        let segments: Result<Vec<_>, _> = buffers.iter().map(DmaBuffer::segment).collect();
        let mut segments = match segments {
            Ok(s) => s,
            Err(e) => return Err((e, buffers)),
        };
        if let Some((position, segment)) = blocked {
            segments.insert(position.min(segments.len()), segment);
        }
        match self.ring.submit(&segments) {
            Ok(token) => {
                let head = token.index();
                self.held[usize::from(head)] = Some(buffers);
                Ok(RequestId(head))
            }
            Err(e) => {
                let e = match e {
                    SubmitError::NoRoom { .. } => QueueError::Full,
                    SubmitError::Empty => QueueError::BadChain("empty chain"),
                    SubmitError::ZeroLength { .. } => QueueError::BadChain("empty buffer"),
                    SubmitError::ReadableAfterWritable { .. } => {
                        QueueError::BadChain("a device-readable buffer after a writable one")
                    }
                    SubmitError::Broken(e) => e.into(),
                };
                Err((e, buffers))
            }
        }
    }

    /// Asks the device to interrupt (`on`) or not when it finishes a chain; a hint it may
    /// ignore. After turning interrupts on, call [`Self::pop_used`] again: a chain finished
    /// while they were off raised none.
    ///
    /// # Errors
    /// The device broke the protocol earlier.
    pub fn set_interrupts(&mut self, on: bool) -> Result<(), QueueError> {
        Ok(self.ring.set_interrupts(on)?)
    }

    /// Takes the next chain the device has finished with, if any.
    ///
    /// # Errors
    /// The device broke the protocol: reset it, then call [`VirtQueue::reset`].
    pub fn pop_used(&mut self) -> Result<Option<UsedChain>, QueueError> {
        let Some(done) = self.ring.pop_used()? else {
            return Ok(None);
        };
        let head = done.token.index();
        // The ring only completes heads in flight, and every head in flight holds buffers.
        let buffers = self.held[usize::from(head)].take().unwrap_or_default();
        Ok(Some(UsedChain { id: RequestId(head), written: done.written_len, buffers }))
    }
}
