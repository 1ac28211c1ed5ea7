//! Page-state change through the GHCB shared buffer (GHCB spec §4.1.6, "SNP Page State
//! Change").
//!
//! The request sits in the shared buffer: an 8-byte header {cur_entry u16, end_entry u16,
//! reserved u32} and up to 253 entries of 8 bytes (cur_page bits 11:0, GFN bits 51:12,
//! operation bits 55:52, page size bit 56). The host works from `cur_entry` to `end_entry`,
//! updating the header (and `cur_page` of a 2 MiB entry it processed partly) as it goes, and
//! may return before the end; the guest then sends the rest again.
//!
//! [`PscPlan`] splits a range of frames into [`PscBatch`]es. A batch writes its request, and
//! [`PscBatch::check_response`] checks the header the host left against what was sent:
//! `end_entry` unchanged, `cur_entry` neither before where this round started nor past
//! `end_entry + 1`, `cur_page` inside its page. The entries themselves are always rebuilt
//! from the batch's own copy, so a host that rewrites them changes nothing.

use core::fmt;

use super::frame::{FRAMES_PER_2M, Gfn, PageSize, PageStateOp};
use super::ghcb::SHARED_BUFFER_SIZE;
use super::le::{put_u16, put_u32, put_u64, u16_at, u64_at};

/// Entries that fit in the shared buffer after the header: (2032 - 8) / 8.
pub const MAX_ENTRIES: usize = 253;
const HEADER_SIZE: usize = 8;
const ENTRY_PAGE_SIZE_2M: u64 = 1 << 56;

/// One page-state-change entry: a 4 KiB or 2 MiB page and what to make of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PscEntry {
    /// The first frame of the page (2 MiB-aligned for a 2 MiB page).
    pub gfn: Gfn,
    /// Private or shared.
    pub op: PageStateOp,
    /// 4 KiB or 2 MiB.
    pub size: PageSize,
}

impl PscEntry {
    fn encode(&self, cur_page: u16) -> u64 {
        let size = match self.size {
            PageSize::Size4K => 0,
            PageSize::Size2M => ENTRY_PAGE_SIZE_2M,
        };
        size | self.op.code() << 52 | self.gfn.get() << 12 | u64::from(cur_page)
    }
}

/// The frames a request changes: `count` frames from `start`, all to `op`.
#[derive(Clone, Debug)]
pub struct PscPlan {
    next: Gfn,
    remaining: u64,
    op: PageStateOp,
    use_2m: bool,
}

/// A range that cannot be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PscPlanError {
    /// `start + count` goes past the largest frame number.
    RangeTooLarge {
        /// The first frame.
        start: u64,
        /// The number of frames.
        count: u64,
    },
}

impl PscPlan {
    /// Plans `count` frames from `start`. With `use_2m`, every 2 MiB-aligned run of 512
    /// frames inside the range becomes one 2 MiB entry; the rest are 4 KiB entries.
    pub fn new(
        start: Gfn,
        count: u64,
        op: PageStateOp,
        use_2m: bool,
    ) -> Result<Self, PscPlanError> {
        // The last frame must exist; `checked_add(count)` may name the frame just past it.
        if count > 0 && start.checked_add(count - 1).is_none() {
            return Err(PscPlanError::RangeTooLarge { start: start.get(), count });
        }
        Ok(Self { next: start, remaining: count, op, use_2m })
    }

    fn next_entry(&mut self) -> Option<PscEntry> {
        if self.remaining == 0 {
            return None;
        }
        let size = if self.use_2m && self.next.is_2m_aligned() && self.remaining >= FRAMES_PER_2M {
            PageSize::Size2M
        } else {
            PageSize::Size4K
        };
        let entry = PscEntry { gfn: self.next, op: self.op, size };
        self.remaining -= size.frames();
        // Past the last frame there is no next one to name; `remaining` is then 0.
        self.next = self.next.checked_add(size.frames()).unwrap_or(self.next);
        Some(entry)
    }
}

impl Iterator for PscPlan {
    type Item = PscBatch;

    fn next(&mut self) -> Option<PscBatch> {
        let first = self.next_entry()?;
        let mut batch =
            PscBatch { entries: [first; MAX_ENTRIES], len: 1, cur_entry: 0, cur_page: 0 };
        while batch.len < MAX_ENTRIES {
            let Some(entry) = self.next_entry() else { break };
            batch.entries[batch.len] = entry;
            batch.len += 1;
        }
        Some(batch)
    }
}

/// Up to 253 entries sent as one page-state-change request, and how far the host got.
#[derive(Clone, Debug)]
pub struct PscBatch {
    entries: [PscEntry; MAX_ENTRIES],
    len: usize,
    cur_entry: u16,
    cur_page: u16,
}

/// The host's updated header does not fit the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PscError {
    /// SW_EXITINFO2 is nonzero: the host reports a failure.
    HostError {
        /// SW_EXITINFO2.
        exit_info2: u64,
    },
    /// `end_entry` differs from the one sent.
    EndEntryChanged {
        /// The `end_entry` sent.
        sent: u16,
        /// The `end_entry` returned.
        returned: u16,
    },
    /// `cur_entry` is before where this round started.
    WentBackwards {
        /// The `cur_entry` sent.
        sent: u16,
        /// The `cur_entry` returned.
        returned: u16,
    },
    /// `cur_entry` is past `end_entry + 1`: it claims entries that were not requested.
    PastEnd {
        /// The `end_entry` of the request.
        end_entry: u16,
        /// The `cur_entry` returned.
        returned: u16,
    },
    /// `cur_page` of the current entry is outside its page, or before where it was.
    BadCurPage {
        /// The entry.
        entry: u16,
        /// The `cur_page` sent for it.
        sent: u16,
        /// The `cur_page` returned.
        returned: u16,
    },
}

impl fmt::Display for PscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::HostError { exit_info2 } => write!(f, "PSC failed: SW_EXITINFO2 {exit_info2:#x}"),
            Self::EndEntryChanged { sent, returned } => {
                write!(f, "PSC end_entry changed from {sent} to {returned}")
            }
            Self::WentBackwards { sent, returned } => {
                write!(f, "PSC cur_entry went back from {sent} to {returned}")
            }
            Self::PastEnd { end_entry, returned } => {
                write!(f, "PSC cur_entry {returned} is past end_entry {end_entry} + 1")
            }
            Self::BadCurPage { entry, sent, returned } => {
                write!(f, "PSC entry {entry} cur_page {returned} (sent {sent}) is not valid")
            }
        }
    }
}

/// What to do after the host returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PscProgress {
    /// Every entry is done.
    Complete,
    /// The host stopped early after making progress; send [`PscBatch::write_request`] again.
    Partial {
        /// The first entry not yet done.
        next_entry: u16,
    },
    /// The host returned without doing anything; sending again is allowed, but the caller
    /// bounds how often, since a host can stall for ever.
    Stalled {
        /// The first entry not yet done.
        next_entry: u16,
    },
}

impl PscBatch {
    /// The entries of the batch.
    pub fn entries(&self) -> &[PscEntry] {
        &self.entries[..self.len]
    }

    fn end_entry(&self) -> u16 {
        // A batch holds 1..=253 entries.
        (self.len - 1) as u16
    }

    /// Writes the request (what is still to do) into `buffer`, the GHCB shared buffer.
    /// Every byte is written, so nothing from an earlier request stays.
    pub fn write_request(&self, buffer: &mut [u8; SHARED_BUFFER_SIZE]) {
        buffer.fill(0);
        put_u16(buffer, 0, self.cur_entry);
        put_u16(buffer, 2, self.end_entry());
        put_u32(buffer, 4, 0);
        for (index, entry) in self.entries().iter().enumerate() {
            let cur_page = if index == usize::from(self.cur_entry) { self.cur_page } else { 0 };
            put_u64(buffer, HEADER_SIZE + index * 8, entry.encode(cur_page));
        }
    }

    /// Checks the shared buffer and SW_EXITINFO2 the host returned for the request last
    /// written, and records how far it got.
    pub fn check_response(
        &mut self,
        buffer: &[u8; SHARED_BUFFER_SIZE],
        exit_info2: u64,
    ) -> Result<PscProgress, PscError> {
        if exit_info2 != 0 {
            return Err(PscError::HostError { exit_info2 });
        }
        let returned_cur = u16_at(buffer, 0);
        let returned_end = u16_at(buffer, 2);
        let end_entry = self.end_entry();
        if returned_end != end_entry {
            return Err(PscError::EndEntryChanged { sent: end_entry, returned: returned_end });
        }
        if returned_cur < self.cur_entry {
            return Err(PscError::WentBackwards { sent: self.cur_entry, returned: returned_cur });
        }
        if returned_cur > end_entry + 1 {
            return Err(PscError::PastEnd { end_entry, returned: returned_cur });
        }
        if returned_cur > end_entry {
            self.cur_entry = returned_cur;
            self.cur_page = 0;
            return Ok(PscProgress::Complete);
        }
        let entry = self.entries[usize::from(returned_cur)];
        let returned_page =
            (u64_at(buffer, HEADER_SIZE + usize::from(returned_cur) * 8) & 0xfff) as u16;
        let sent_page = if returned_cur == self.cur_entry { self.cur_page } else { 0 };
        if u64::from(returned_page) >= entry.size.frames() || returned_page < sent_page {
            return Err(PscError::BadCurPage {
                entry: returned_cur,
                sent: sent_page,
                returned: returned_page,
            });
        }
        let progressed = returned_cur > self.cur_entry || returned_page > sent_page;
        self.cur_entry = returned_cur;
        self.cur_page = returned_page;
        Ok(if progressed {
            PscProgress::Partial { next_entry: returned_cur }
        } else {
            PscProgress::Stalled { next_entry: returned_cur }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gfn(frame: u64) -> Gfn {
        Gfn::new(frame).unwrap()
    }

    fn single_batch(start: u64, count: u64, op: PageStateOp, use_2m: bool) -> PscBatch {
        let mut plan = PscPlan::new(gfn(start), count, op, use_2m).unwrap();
        let batch = plan.next().unwrap();
        assert!(plan.next().is_none());
        batch
    }

    #[test]
    fn request_layout_matches_the_spec() {
        let batch = single_batch(0x12345, 2, PageStateOp::Shared, false);
        let mut buffer = [0xaa; SHARED_BUFFER_SIZE];
        batch.write_request(&mut buffer);
        // Header: cur_entry 0, end_entry 1, reserved 0.
        assert_eq!(&buffer[..8], &[0, 0, 1, 0, 0, 0, 0, 0]);
        // Entry: operation 2 in bits 55:52, GFN in bits 51:12, 4 KiB.
        assert_eq!(&buffer[8..16], &0x0020_0000_1234_5000u64.to_le_bytes());
        assert_eq!(&buffer[16..24], &0x0020_0000_1234_6000u64.to_le_bytes());
        assert!(buffer[24..].iter().all(|&b| b == 0));
    }

    #[test]
    fn plan_uses_2m_entries_where_aligned() {
        // 0x1fe..0x601: two 4K frames, then 0x200 and 0x400 as 2 MiB, then 0x600 as 4K.
        let batch = single_batch(0x1fe, 0x403, PageStateOp::Private, true);
        let sizes: alloc::vec::Vec<_> =
            batch.entries().iter().map(|e| (e.gfn.get(), e.size)).collect();
        assert_eq!(
            sizes,
            [
                (0x1fe, PageSize::Size4K),
                (0x1ff, PageSize::Size4K),
                (0x200, PageSize::Size2M),
                (0x400, PageSize::Size2M),
                (0x600, PageSize::Size4K),
            ]
        );
        let mut buffer = [0; SHARED_BUFFER_SIZE];
        batch.write_request(&mut buffer);
        assert_eq!(&buffer[24..32], &0x0110_0000_0020_0000u64.to_le_bytes());
        // Without 2 MiB entries the same range is 0x403 entries in 5 batches.
        let batches: alloc::vec::Vec<_> =
            PscPlan::new(gfn(0x1fe), 0x403, PageStateOp::Private, false).unwrap().collect();
        assert_eq!(
            batches.iter().map(|b| b.entries().len()).collect::<alloc::vec::Vec<_>>(),
            [253, 253, 253, 253, 15]
        );
        assert_eq!(batches[4].entries()[14].gfn.get(), 0x600);
    }

    #[test]
    fn plan_rejects_ranges_past_the_last_frame() {
        assert!(PscPlan::new(gfn(Gfn::MAX), 1, PageStateOp::Shared, false).is_ok());
        assert_eq!(
            PscPlan::new(gfn(Gfn::MAX), 2, PageStateOp::Shared, false).err(),
            Some(PscPlanError::RangeTooLarge { start: Gfn::MAX, count: 2 })
        );
        assert!(PscPlan::new(gfn(0), 0, PageStateOp::Shared, false).unwrap().next().is_none());
    }

    fn host_answer(
        batch: &PscBatch,
        cur_entry: u16,
        end_entry: u16,
        cur_page: u16,
    ) -> [u8; SHARED_BUFFER_SIZE] {
        let mut buffer = [0; SHARED_BUFFER_SIZE];
        batch.write_request(&mut buffer);
        put_u16(&mut buffer, 0, cur_entry);
        put_u16(&mut buffer, 2, end_entry);
        if let Some(raw) = buffer.get_mut(8 + usize::from(cur_entry) * 8..) {
            raw[0..2].copy_from_slice(&cur_page.to_le_bytes());
        }
        buffer
    }

    #[test]
    fn partial_progress_then_resubmit_the_rest() {
        let mut batch = single_batch(0x200, 0x402, PageStateOp::Private, true);
        // Entries: 2M at 0x200, 2M at 0x400, 4K at 0x600, 4K at 0x601. End entry 3.
        let answer = host_answer(&batch, 1, 3, 100);
        assert_eq!(batch.check_response(&answer, 0), Ok(PscProgress::Partial { next_entry: 1 }));
        let mut resubmit = [0; SHARED_BUFFER_SIZE];
        batch.write_request(&mut resubmit);
        assert_eq!(u16_at(&resubmit, 0), 1);
        assert_eq!(u64_at(&resubmit, 16) & 0xfff, 100);
        // No progress at all is reported as a stall, not as progress.
        assert_eq!(batch.check_response(&resubmit, 0), Ok(PscProgress::Stalled { next_entry: 1 }));
        let answer = host_answer(&batch, 4, 3, 0);
        assert_eq!(batch.check_response(&answer, 0), Ok(PscProgress::Complete));
    }

    #[test]
    fn hostile_headers_are_rejected_with_values() {
        let mut batch = single_batch(0x200, 0x402, PageStateOp::Private, true);
        let answer = host_answer(&batch, 2, 3, 0);
        batch.check_response(&answer, 0).unwrap();
        let mut probe = batch.clone();
        assert_eq!(
            probe.check_response(&host_answer(&batch, 1, 3, 0), 0),
            Err(PscError::WentBackwards { sent: 2, returned: 1 })
        );
        assert_eq!(
            probe.check_response(&host_answer(&batch, 5, 3, 0), 0),
            Err(PscError::PastEnd { end_entry: 3, returned: 5 })
        );
        assert_eq!(
            probe.check_response(&host_answer(&batch, 5, 4, 0), 0),
            Err(PscError::EndEntryChanged { sent: 3, returned: 4 })
        );
        // Entry 2 is a 4 KiB page: only cur_page 0 is inside it.
        assert_eq!(
            probe.check_response(&host_answer(&batch, 2, 3, 1), 0),
            Err(PscError::BadCurPage { entry: 2, sent: 0, returned: 1 })
        );
        assert_eq!(
            probe.check_response(&host_answer(&batch, 3, 3, 0), 7),
            Err(PscError::HostError { exit_info2: 7 })
        );
    }

    #[test]
    fn cur_page_of_a_2m_entry_is_bounded_and_monotonic() {
        let mut batch = single_batch(0x200, 0x400, PageStateOp::Shared, true);
        assert_eq!(
            batch.clone().check_response(&host_answer(&batch, 0, 1, 512), 0),
            Err(PscError::BadCurPage { entry: 0, sent: 0, returned: 512 })
        );
        batch.check_response(&host_answer(&batch, 0, 1, 300), 0).unwrap();
        assert_eq!(
            batch.check_response(&host_answer(&batch, 0, 1, 299), 0),
            Err(PscError::BadCurPage { entry: 0, sent: 300, returned: 299 })
        );
    }
}
