//! The SEV_STATUS bits that change what the guest must do (AMD APM vol. 2, "SEV_STATUS
//! MSR"; Linux's `MSR_AMD64_SNP_*` and `snp_check_features`).
//!
//! The host chooses the guest's SEV features at launch, and the launch measurement covers
//! them, but a guest that runs on with a feature it does not implement fails in ways that
//! are hard to diagnose (with vTOM the C-bit means nothing, so "shared" pages stay private;
//! with restricted injection interrupts arrive as #HV). So the guest refuses to boot with
//! any feature that needs its cooperation, as Linux does, and accepts the ones that are
//! transparent to it.

/// vTOM: memory above a virtual top-of-memory is shared, and the C-bit is ignored.
pub const VTOM: u64 = 1 << 3;
/// ReflectVC: #VC is reflected to a higher VMPL.
pub const REFLECT_VC: u64 = 1 << 4;
/// Restricted injection: the host may only inject #HV.
pub const RESTRICTED_INJECTION: u64 = 1 << 5;
/// Alternate injection: interrupts come from a VMPL-0 managed queue.
pub const ALTERNATE_INJECTION: u64 = 1 << 6;
/// DebugSwap: the hardware swaps the debug registers (transparent to the guest).
pub const DEBUG_SWAP: u64 = 1 << 7;
/// Prevent host IBS (transparent).
pub const PREVENT_HOST_IBS: u64 = 1 << 8;
/// BTB isolation (transparent).
pub const BTB_ISOLATION: u64 = 1 << 9;
/// VMPL supervisor shadow stacks.
pub const VMPL_SSS: u64 = 1 << 10;
/// Secure TSC: the guest must read its TSC scale from the PSP.
pub const SECURE_TSC: u64 = 1 << 11;
/// VMGEXIT parameter.
pub const VMGEXIT_PARAMETER: u64 = 1 << 12;
/// IBS virtualisation (transparent).
pub const IBS_VIRTUALIZATION: u64 = 1 << 14;
/// VMSA register protection.
pub const VMSA_REG_PROTECTION: u64 = 1 << 16;
/// SMT protection (transparent).
pub const SMT_PROTECTION: u64 = 1 << 17;
/// Secure AVIC: the guest must run its own APIC backing page.
pub const SECURE_AVIC: u64 = 1 << 18;

/// Bits this guest runs with: SEV, SEV-ES and SNP themselves (bits 0 to 2) and the features
/// the hardware implements without the guest's help.
pub const SUPPORTED: u64 =
    0b111 | DEBUG_SWAP | PREVENT_HOST_IBS | BTB_ISOLATION | IBS_VIRTUALIZATION | SMT_PROTECTION;

/// Returns the bits of `sev_status` this guest cannot run with: every feature that needs
/// the guest's cooperation, and every bit the APM reserves (13, 15, 19 and up), since a
/// future feature there may need it too. 0 means the guest may boot.
pub const fn unsupported(sev_status: u64) -> u64 {
    sev_status & !SUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snp_with_transparent_features_boots() {
        let status = 0b111 | DEBUG_SWAP | PREVENT_HOST_IBS | SMT_PROTECTION;
        assert_eq!(unsupported(status), 0);
    }

    #[test]
    fn features_needing_the_guest_and_reserved_bits_are_refused() {
        for bit in [
            VTOM,
            REFLECT_VC,
            RESTRICTED_INJECTION,
            ALTERNATE_INJECTION,
            VMPL_SSS,
            SECURE_TSC,
            VMGEXIT_PARAMETER,
            VMSA_REG_PROTECTION,
            SECURE_AVIC,
            1 << 13,
            1 << 15,
            1 << 19,
            1 << 63,
        ] {
            assert_eq!(unsupported(0b111 | DEBUG_SWAP | bit), bit, "bit {}", bit.trailing_zeros());
        }
    }
}
