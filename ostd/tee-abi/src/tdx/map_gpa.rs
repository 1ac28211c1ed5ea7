//! MapGPA: asking the VMM to map a GPA range as shared or as private, resuming where the
//! VMM says when it answers "retry".
//!
//! GHCI spec, `TDG.VP.VMCALL<MapGPA>`: R12 = start GPA, with the shared bit set to map the
//! range shared and clear to map it private; R13 = size in bytes; both 4 KiB aligned. The
//! VMM may do part of the range and answer TDG.VP.VMCALL_RETRY with R11 = the GPA to
//! resume from. R11 is the VMM's word, so before it becomes the next start it must lie in
//! what is left of the request and be 4 KiB aligned; an answer that does not move forward
//! is allowed a few times (the VMM may be briefly busy) and then refused, as Linux's
//! `tdx_map_gpa()` does, so that a hostile VMM cannot spin the guest for ever.
//!
//! After a private -> shared MapGPA, the guest's own page tables must use the shared alias;
//! after shared -> private, the pages must be accepted (TDG.MEM.PAGE.ACCEPT) before use.

use super::error::TdxError;
use super::gpa::{Gpa, PAGE_SIZE_4K, SharedBit};
use super::status::TdxStatus;
use super::tdcall::TdcallLeaf;
use super::tdvmcall::{TDVMCALL_RETRY, TDVMCALL_SUCCESS, TdvmcallRegs, VmcallSubfunction};

/// How many RETRY answers in a row without progress are tolerated (Linux:
/// `max_retries_per_page = 3`).
pub const MAP_GPA_MAX_RETRIES_WITHOUT_PROGRESS: u32 = 3;

/// Which half of the GPA space the range should end up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapTarget {
    /// Map as private (shared bit clear in R12); accept the pages afterwards.
    Private,
    /// Map as shared (shared bit set in R12).
    Shared,
}

/// What to do after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapGpaStep {
    /// The whole range is mapped.
    Done,
    /// Call MapGPA again with these registers.
    Again(TdvmcallRegs),
}

/// One MapGPA conversion in progress. Addresses are kept in the form that goes in R12
/// (shared bit set when mapping shared), as the VMM's R11 is in that form too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapGpa {
    next: u64,
    end: u64,
    answers_without_progress: u32,
}

impl MapGpa {
    /// Starts a conversion of `len` bytes at the private GPA `start` (shared bit clear,
    /// whichever the target) to `target`. Both must be 4 KiB aligned, `len` non-zero, and
    /// the range inside the private half of the GPA space.
    pub fn new(
        start: Gpa,
        len: u64,
        target: MapTarget,
        shared: SharedBit,
    ) -> Result<Self, TdxError> {
        const START: &str = "MapGPA R12 (start GPA)";
        const SIZE: &str = "MapGPA R13 (size)";
        start.check_aligned(START, PAGE_SIZE_4K)?;
        shared.check_private(START, start)?;
        if len == 0 {
            return Err(TdxError::OutOfRange {
                field: SIZE,
                value: 0,
                min: PAGE_SIZE_4K,
                max: shared.private_limit() - start.raw(),
            });
        }
        Gpa::new(len).check_aligned(SIZE, PAGE_SIZE_4K)?;
        let end = start.raw().checked_add(len).filter(|&end| end <= shared.private_limit()).ok_or(
            TdxError::OutOfRange {
                field: SIZE,
                value: len,
                min: PAGE_SIZE_4K,
                max: shared.private_limit() - start.raw(),
            },
        )?;
        // Adding (not OR-ing) the shared bit keeps `end` right when it equals the limit.
        let alias = match target {
            MapTarget::Private => 0,
            MapTarget::Shared => shared.mask(),
        };
        Ok(Self { next: start.raw() + alias, end: end + alias, answers_without_progress: 0 })
    }

    /// The registers for the next MapGPA call: R12 = where to start, R13 = what is left.
    pub const fn regs(&self) -> TdvmcallRegs {
        TdvmcallRegs::new(VmcallSubfunction::MapGpa, self.next, self.end - self.next, 0, 0)
    }

    /// Reads the VMM's answer to [`Self::regs`] and says what comes next.
    pub fn on_answer(&mut self, out: &TdvmcallRegs) -> Result<MapGpaStep, TdxError> {
        if out.rax != 0 {
            return Err(TdxError::Tdcall {
                leaf: TdcallLeaf::VpVmcall,
                status: TdxStatus::from_raw(out.rax),
            });
        }
        match out.r10 {
            TDVMCALL_SUCCESS => Ok(MapGpaStep::Done),
            TDVMCALL_RETRY => self.resume_at(out.r11),
            _ => Err(TdxError::Vmcall {
                subfunction: VmcallSubfunction::MapGpa,
                status: out.status(),
            }),
        }
    }

    fn resume_at(&mut self, resume: u64) -> Result<MapGpaStep, TdxError> {
        const FIELD: &str = "MapGPA R11 (resume GPA)";
        if resume < self.next || resume >= self.end {
            return Err(TdxError::OutOfRange {
                field: FIELD,
                value: resume,
                min: self.next,
                max: self.end - 1,
            });
        }
        Gpa::new(resume).check_aligned(FIELD, PAGE_SIZE_4K)?;
        if resume == self.next {
            self.answers_without_progress += 1;
            if self.answers_without_progress >= MAP_GPA_MAX_RETRIES_WITHOUT_PROGRESS {
                return Err(TdxError::NoProgress {
                    gpa: resume,
                    attempts: self.answers_without_progress,
                });
            }
        } else {
            self.next = resume;
            self.answers_without_progress = 0;
        }
        Ok(MapGpaStep::Again(self.regs()))
    }
}
