//! The SEPT #VE decision, branch by branch against Linux's `disable_sept_ve()`
//! (arch/x86/coco/tdx/tdx.c) and the TDCS values in `shared/tdx.h`.
#![forbid(unsafe_code)]

use tee_abi::tdx::sept_ve::{SeptVeDecision, SeptVePlan, decide_from_td_ctls, disable_write, plan};
use tee_abi::tdx::td_info::TdAttributes;

const DEBUG: u64 = 1 << 0;
const SEPT_VE_DISABLE: u64 = 1 << 28;
const FLEXIBLE_PENDING_VE: u64 = 1 << 1;
const PENDING_VE_DISABLE: u64 = 1 << 0;

fn attrs(raw: u64) -> TdAttributes {
    TdAttributes::from_raw(raw)
}

#[test]
fn tdx_1_0_trusts_the_attribute() {
    // TDG.VM.RD of CONFIG_FLAGS fails on TDX 1.0 and R8 reads 0.
    assert_eq!(
        plan(attrs(SEPT_VE_DISABLE), 0),
        SeptVePlan::Decided(SeptVeDecision::AlreadyDisabled)
    );
    assert_eq!(plan(attrs(0), 0), SeptVePlan::Decided(SeptVeDecision::Misconfigured));
    assert_eq!(
        plan(attrs(DEBUG), 0),
        SeptVePlan::Decided(SeptVeDecision::MisconfiguredDebugTolerated)
    );
    // Other CONFIG_FLAGS bits do not make the module flexible.
    assert_eq!(
        plan(attrs(0), !FLEXIBLE_PENDING_VE),
        SeptVePlan::Decided(SeptVeDecision::Misconfigured)
    );
}

#[test]
fn flexible_module_reads_td_ctls_whatever_the_attribute() {
    for raw in [0, SEPT_VE_DISABLE, DEBUG, DEBUG | SEPT_VE_DISABLE] {
        assert_eq!(plan(attrs(raw), FLEXIBLE_PENDING_VE), SeptVePlan::ReadTdCtls);
    }
}

#[test]
fn td_ctls_decides_on_a_flexible_module() {
    assert_eq!(decide_from_td_ctls(attrs(0), PENDING_VE_DISABLE), SeptVeDecision::AlreadyDisabled);
    assert_eq!(
        decide_from_td_ctls(attrs(DEBUG), PENDING_VE_DISABLE),
        SeptVeDecision::AlreadyDisabled
    );
    assert_eq!(decide_from_td_ctls(attrs(DEBUG), 0), SeptVeDecision::KeepForDebug);
    // The attribute only records the initial state: TD_CTLS clear means #VE is on.
    assert_eq!(decide_from_td_ctls(attrs(SEPT_VE_DISABLE), 0), SeptVeDecision::Disable);
    assert_eq!(decide_from_td_ctls(attrs(0), 0), SeptVeDecision::Disable);
}

#[test]
fn disable_writes_only_pending_ve_disable() {
    let regs = disable_write();
    assert_eq!(regs.rax, 8);
    assert_eq!(regs.rdx, 0x1110_0003_0000_0017);
    assert_eq!(regs.r8, 1);
    assert_eq!(regs.r9, 1);
}
