//! Whether the TD gets a #VE when it touches private memory that is not (or no longer)
//! accepted, and how to turn that off.
//!
//! A "SEPT #VE" (pending-EPT-violation #VE) lets the host remove a private page and have
//! the guest notice only by a #VE at an arbitrary instruction, including in code that
//! cannot take one (the syscall entry, the #VE handler itself). A guest kernel must not run
//! with it on. Two generations of TDX modules control it differently:
//!
//! - TDX 1.0: only the host decides, through ATTRIBUTES.SEPT_VE_DISABLE (bit 28). The guest
//!   can only check it, and refuses to run without it unless the TD is a DEBUG TD.
//! - Newer modules set TDCS.CONFIG_FLAGS bit 1 (FLEXIBLE_PENDING_VE). Then the guest owns
//!   the control, TDCS.TD_CTLS bit 0 (PENDING_VE_DISABLE), and the attribute only records
//!   the initial state (a boot loader may have changed it since), so TD_CTLS is what counts.
//!
//! This is Linux's `disable_sept_ve()` (arch/x86/coco/tdx/tdx.c) as pure decisions: first
//! [`plan`] from the attributes and CONFIG_FLAGS, then, if it asks, [`decide_from_td_ctls`].
//! TDG.VM.RD returns 0 in R8 when the field does not exist, so a TDX 1.0 module, which has
//! no CONFIG_FLAGS, reads as "not flexible" without special-casing the error.

use super::td_info::TdAttributes;
use super::tdcall::{TdcallRegs, TdcsField, vm_wr};

/// TDCS.CONFIG_FLAGS bit 1: the guest may control pending-#VE delivery through TD_CTLS.
pub const CONFIG_FLEXIBLE_PENDING_VE: u64 = 1 << 1;
/// TDCS.TD_CTLS bit 0: no #VE on pending (unaccepted) private pages.
pub const TD_CTLS_PENDING_VE_DISABLE: u64 = 1 << 0;
/// TDCS.TD_CTLS bit 1 ENUM_TOPOLOGY (named as Linux names it; not used here).
pub const TD_CTLS_ENUM_TOPOLOGY: u64 = 1 << 1;
/// TDCS.TD_CTLS bit 2 VIRT_CPUID2 (named as Linux names it; not used here).
pub const TD_CTLS_VIRT_CPUID2: u64 = 1 << 2;
/// TDCS.TD_CTLS bit 3 REDUCE_VE (named as Linux names it; not used here).
pub const TD_CTLS_REDUCE_VE: u64 = 1 << 3;
/// TDCS.TD_CTLS bit 63 LOCK (named as Linux names it; not used here).
pub const TD_CTLS_LOCK: u64 = 1 << 63;

/// Where the SEPT #VE check stands after the attributes and CONFIG_FLAGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeptVePlan {
    /// Settled without reading TD_CTLS.
    Decided(SeptVeDecision),
    /// The module gives the guest the control: read TD_CTLS (`vm_rd(TdcsField::TD_CTLS)`)
    /// and pass the value to [`decide_from_td_ctls`].
    ReadTdCtls,
}

/// What the guest does about SEPT #VE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeptVeDecision {
    /// Already off (by the attribute on TDX 1.0, by TD_CTLS on newer modules): nothing to do.
    AlreadyDisabled,
    /// Off cannot be had and the TD is not a DEBUG TD: stop, report a fatal error.
    Misconfigured,
    /// Off cannot be had, but a DEBUG TD is allowed to run on with a warning so that
    /// crashes stay debuggable.
    MisconfiguredDebugTolerated,
    /// A DEBUG TD on a flexible module: keep #VE on so that a stray private access shows
    /// a backtrace instead of hanging.
    KeepForDebug,
    /// Write TD_CTLS.PENDING_VE_DISABLE: issue [`disable_write`].
    Disable,
}

/// First step, from ATTRIBUTES (TDG.VP.INFO RDX) and TDCS.CONFIG_FLAGS (TDG.VM.RD's R8,
/// 0 if the read failed).
pub const fn plan(attributes: TdAttributes, config_flags: u64) -> SeptVePlan {
    if config_flags & CONFIG_FLEXIBLE_PENDING_VE != 0 {
        return SeptVePlan::ReadTdCtls;
    }
    SeptVePlan::Decided(if attributes.sept_ve_disable() {
        SeptVeDecision::AlreadyDisabled
    } else if attributes.debug() {
        SeptVeDecision::MisconfiguredDebugTolerated
    } else {
        SeptVeDecision::Misconfigured
    })
}

/// Second step on a flexible module, from TDCS.TD_CTLS. The attribute is not consulted:
/// on such a module it only records how the TD started.
pub const fn decide_from_td_ctls(attributes: TdAttributes, td_ctls: u64) -> SeptVeDecision {
    if td_ctls & TD_CTLS_PENDING_VE_DISABLE != 0 {
        SeptVeDecision::AlreadyDisabled
    } else if attributes.debug() {
        SeptVeDecision::KeepForDebug
    } else {
        SeptVeDecision::Disable
    }
}

/// The TDG.VM.WR that sets TD_CTLS.PENDING_VE_DISABLE and nothing else.
pub const fn disable_write() -> TdcallRegs {
    vm_wr(TdcsField::TD_CTLS, TD_CTLS_PENDING_VE_DISABLE, TD_CTLS_PENDING_VE_DISABLE)
}
