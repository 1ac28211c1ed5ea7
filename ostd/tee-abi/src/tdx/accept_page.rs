//! How to accept a range of private memory with TDG.MEM.PAGE.ACCEPT, and what to do with
//! each answer.
//!
//! Accepting at the largest level that fits is much cheaper (one call per 2 MiB or 1 GiB
//! instead of 512 or 262144), but the host may have mapped the range with smaller pages,
//! in which case the module answers TDX_PAGE_SIZE_MISMATCH and the guest retries the same
//! range one level down (Linux `try_accept_one()`, TDVF's accept loop). A page that is
//! already accepted answers TDX_PAGE_ALREADY_ACCEPTED, a warning: its contents are intact
//! and it is usable. Callers still track what they accepted (`crate::accept`) rather than
//! lean on this warning: if the host removed an accepted page and added a fresh one, the
//! accept succeeds on a zeroed page, and only the guest's own record says that page should
//! never have needed accepting again.

use super::error::TdxError;
use super::gpa::PageLevel;
use super::status::{TdxStatus, TdxStatusKind};
use super::tdcall::TdcallLeaf;

/// What the caller of TDG.MEM.PAGE.ACCEPT does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// The page is now accepted (and zeroed by the module).
    Accepted,
    /// It was accepted before; it is usable as it is.
    AlreadyAccepted,
    /// The host mapped the range with smaller pages: accept the same range again at this
    /// level, page by page.
    RetryAt(PageLevel),
    /// The module was busy with the same Secure-EPT entry: retry the same call.
    Busy,
}

/// Maps TDG.MEM.PAGE.ACCEPT's status, for a call made at `level`, to the next step.
/// A size mismatch at 4 KiB has nowhere to fall back to and is an error, as is every
/// status not named here.
pub fn accept_outcome(level: PageLevel, status: TdxStatus) -> Result<AcceptOutcome, TdxError> {
    let failed = TdxError::Tdcall { leaf: TdcallLeaf::MemPageAccept, status };
    match status.kind() {
        TdxStatusKind::Success => Ok(AcceptOutcome::Accepted),
        TdxStatusKind::PageAlreadyAccepted => Ok(AcceptOutcome::AlreadyAccepted),
        TdxStatusKind::OperandBusy => Ok(AcceptOutcome::Busy),
        TdxStatusKind::PageSizeMismatch => {
            level.smaller().map(AcceptOutcome::RetryAt).ok_or(failed)
        }
        _ => Err(failed),
    }
}

/// The largest level at which the range `[start, end)` can begin: `start` aligned to the
/// level's size and the whole page inside the range. `None` if `start` is not 4 KiB
/// aligned or less than 4 KiB remains (nothing acceptable starts there).
pub fn largest_level(start: u64, end: u64) -> Option<PageLevel> {
    [PageLevel::Size1G, PageLevel::Size2M, PageLevel::Size4K].into_iter().find(|level| {
        let size = level.size();
        start.is_multiple_of(size) && end.checked_sub(start).is_some_and(|left| left >= size)
    })
}
