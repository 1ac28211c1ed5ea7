//! Accepting a whole range of private memory: which TDG.MEM.PAGE.ACCEPT to issue next.
//!
//! The loop Linux runs in `tdx_accept_memory()`/`try_accept_one()` and TDVF in its accept
//! routine, as a state machine OSTD drives: ask [`RangeAcceptor::next_call`] for the
//! registers, execute TDCALL, hand the status to [`RangeAcceptor::on_status`], repeat until
//! `next_call` returns `None`. Each step accepts at the largest level the position allows
//! ([`largest_level`]); when the module answers TDX_PAGE_SIZE_MISMATCH (the host mapped
//! that page with smaller pages), the same page is retried one level down until its end,
//! after which larger levels are tried again. Unlike Linux, which treats any failure as a
//! reason to go one level down, only a size mismatch does so here; busy retries the same
//! call, and anything else stops with the module's status.

use super::accept_page::{AcceptOutcome, accept_outcome, largest_level};
use super::error::TdxError;
use super::gpa::{Gpa, PAGE_SIZE_4K, PageLevel, SharedBit};
use super::status::TdxStatus;
use super::tdcall::{TdcallRegs, mem_page_accept};

/// A level cap in force up to `until`: inside a page the module refused at a larger level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cap {
    until: u64,
    level: PageLevel,
}

/// Progress through one range `[start, end)` of private GPAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeAcceptor {
    next: u64,
    end: u64,
    shared: SharedBit,
    /// Innermost last; at most two (1 GiB down to 2 MiB, 2 MiB down to 4 KiB).
    caps: [Option<Cap>; 2],
}

impl RangeAcceptor {
    /// Starts accepting `[start, end)`: both 4 KiB aligned, private, `start <= end`.
    pub fn new(start: Gpa, end: Gpa, shared: SharedBit) -> Result<Self, TdxError> {
        const START: &str = "accept range start";
        const END: &str = "accept range end";
        start.check_aligned(START, PAGE_SIZE_4K)?;
        end.check_aligned(END, PAGE_SIZE_4K)?;
        shared.check_private(START, start)?;
        if end.raw() > shared.private_limit() {
            return Err(TdxError::WrongSharing { field: END, gpa: end.raw(), want_shared: false });
        }
        if end < start {
            return Err(TdxError::OutOfRange {
                field: END,
                value: end.raw(),
                min: start.raw(),
                max: shared.private_limit(),
            });
        }
        Ok(Self { next: start.raw(), end: end.raw(), shared, caps: [None; 2] })
    }

    /// The page the next call accepts, or `None` when the range is done.
    pub fn next_page(&self) -> Option<(Gpa, PageLevel)> {
        let mut level = largest_level(self.next, self.end)?;
        if let Some(cap) = self.caps.iter().flatten().last() {
            level = level.min(cap.level);
        }
        Some((Gpa::new(self.next), level))
    }

    /// The registers for the next TDG.MEM.PAGE.ACCEPT, or `None` when the range is done.
    pub fn next_call(&self) -> Option<TdcallRegs> {
        let (gpa, level) = self.next_page()?;
        // Cannot fail: `next` is 4 KiB aligned and private, `level` fits its alignment.
        mem_page_accept(gpa, level, self.shared).ok()
    }

    /// Takes the status of the call [`Self::next_call`] returned and moves on.
    pub fn on_status(&mut self, status: TdxStatus) -> Result<(), TdxError> {
        let Some((gpa, level)) = self.next_page() else {
            return Ok(());
        };
        match accept_outcome(level, status)? {
            AcceptOutcome::Accepted | AcceptOutcome::AlreadyAccepted => {
                self.next = gpa.raw() + level.size();
                self.drop_finished_caps();
            }
            AcceptOutcome::Busy => {}
            AcceptOutcome::RetryAt(smaller) => {
                let cap = Cap { until: gpa.raw() + level.size(), level: smaller };
                let slot = self.caps.iter_mut().find(|slot| slot.is_none());
                // Two slots always suffice: each cap is a level below the one before.
                if let Some(slot) = slot {
                    *slot = Some(cap);
                }
            }
        }
        Ok(())
    }

    fn drop_finished_caps(&mut self) {
        for slot in self.caps.iter_mut().rev() {
            if slot.is_some_and(|cap| cap.until <= self.next) {
                *slot = None;
            }
        }
    }
}
