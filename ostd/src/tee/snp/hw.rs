//! The three SEV-SNP instructions the guest executes, and the GHCB MSR protocol on them.
//!
//! - VMGEXIT (`rep vmmcall`): hands control to the host, which reads the GHCB MSR (a request
//!   in the MSR protocol, or the GHCB's address) and the GHCB page, and writes its answer
//!   back into them.
//! - PVALIDATE: validates or rescinds a private page in the RMP, so the host cannot swap a
//!   page under the guest without the guest noticing (an unvalidated private page faults).
//! - RDMSR/WRMSR of the GHCB MSR, which the hardware never intercepts.
//!
//! Not run here: QEMU TCG emulates none of them.

use core::arch::asm;

use tee_abi::snp::GHCB_MSR;
use x86_64::registers::model_specific::Msr;

use crate::mm::Vaddr;

/// Reads the GHCB MSR.
pub(super) fn read_ghcb_msr() -> u64 {
    // SAFETY: the GHCB MSR exists on every SEV-ES/SNP guest (this module runs only there)
    // and reading it has no side effect.
    unsafe { Msr::new(GHCB_MSR).read() }
}

/// Writes the GHCB MSR.
pub(super) fn write_ghcb_msr(value: u64) {
    // SAFETY: the MSR only carries a request or the GHCB's address to the host at the next
    // VMGEXIT; writing it changes nothing in the guest's own memory or state.
    unsafe { Msr::new(GHCB_MSR).write(value) }
}

/// Exits to the host (VMGEXIT), which answers through the GHCB MSR and the GHCB.
pub(super) fn vmgexit() {
    // Without `nomem`: the host may write the memory it shares with us (GHCB, shared pool).
    // SAFETY: `rep vmmcall` is VMGEXIT in an SEV-ES/SNP guest; the host can change no register
    // (the VMSA is encrypted) and only shared memory, which no Rust reference aliases.
    unsafe { asm!("rep vmmcall", options(nostack, preserves_flags)) }
}

/// Runs one GHCB MSR protocol request and returns the host's answer, keeping whatever the
/// MSR held before (the GHCB's address, once one is registered).
pub(super) fn msr_protocol(request: u64) -> u64 {
    let _irqs_off = crate::sync::disable_local_irqs();
    let saved = read_ghcb_msr();
    write_ghcb_msr(request);
    vmgexit();
    let answer = read_ghcb_msr();
    write_ghcb_msr(saved);
    answer
}

/// What PVALIDATE answered when it did not validate or rescind the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvalidateError {
    /// RAX: 1 FAIL_INPUT, 6 FAIL_SIZEMISMATCH (a 2 MiB request over 4 KiB RMP entries).
    Failed(u32),
    /// RFLAGS.CF: the RMP entry was already in the state asked for. Validating a page
    /// twice means someone may have replaced it in between (Linux treats it as fatal).
    NoChange,
}

impl PvalidateError {
    /// FAIL_SIZEMISMATCH: retry as 512 4 KiB pages.
    pub(crate) const SIZE_MISMATCH: u32 = 6;
}

/// Validates (`validate`) or rescinds the page at `vaddr`: 4 KiB, or 2 MiB with `huge`.
///
/// # Safety
/// `vaddr` maps, privately, the guest-physical page to change. Rescinding makes every
/// private access to it fault: nothing may use the page privately until it is validated
/// again. Validating a page makes its current contents (whatever the host left) the page's:
/// the caller must treat them as garbage.
pub(super) unsafe fn pvalidate(
    vaddr: Vaddr,
    huge: bool,
    validate: bool,
) -> Result<(), PvalidateError> {
    let rax: u64;
    let unchanged: u8;
    // SAFETY: the caller's contract; PVALIDATE changes only the RMP entry's Validated bit
    // (and, on validation, the page's association with this guest).
    unsafe {
        asm!(
            // PVALIDATE (F2 0F 01 FF), spelt as bytes for assemblers that predate it.
            ".byte 0xf2, 0x0f, 0x01, 0xff",
            "setc {unchanged}",
            inout("rax") vaddr => rax,
            in("ecx") u32::from(huge),
            in("edx") u32::from(validate),
            unchanged = out(reg_byte) unchanged,
            options(nostack),
        );
    }
    match (rax as u32, unchanged) {
        (0, 0) => Ok(()),
        (0, _) => Err(PvalidateError::NoChange),
        (rc, _) => Err(PvalidateError::Failed(rc)),
    }
}

/// Returns whether the guest runs at VMPL0, as Linux's `running_at_vmpl0` finds out: only
/// VMPL0 may grant another VMPL rights to a page (RMPADJUST), so asking to give VMPL1 no
/// rights to `vaddr` succeeds exactly there, and changes nothing a guest without lower VMPLs
/// notices.
///
/// # Safety
/// `vaddr` maps, privately, a validated 4 KiB page of this guest.
pub(super) unsafe fn running_at_vmpl0(vaddr: Vaddr) -> bool {
    let rax: u64;
    // SAFETY: the caller's contract; RMPADJUST with target VMPL 1 and an empty permission
    // mask only changes VMPL1's rights in the page's RMP entry.
    unsafe {
        asm!(
            // RMPADJUST (F3 0F 01 FE), spelt as bytes for assemblers that predate it.
            ".byte 0xf3, 0x0f, 0x01, 0xfe",
            inout("rax") vaddr => rax,
            in("rcx") 0u64,
            in("rdx") 1u64,
            options(nostack),
        );
    }
    rax == 0
}

/// Asks the host to end the guest (MSR protocol termination request), and never returns:
/// what is left when a check on the host's answers fails before anything else can report it.
pub(super) fn terminate(reason: tee_abi::snp::msr_protocol::TerminationReason) -> ! {
    let _irqs_off = crate::sync::disable_local_irqs();
    write_ghcb_msr(tee_abi::snp::msr_protocol::termination_request(reason));
    loop {
        vmgexit();
        x86_64::instructions::hlt();
    }
}
