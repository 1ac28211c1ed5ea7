//! The GHCB MSR protocol (GHCB spec §2.3.1, "GHCB MSR Protocol").
//!
//! Before a GHCB page is registered (and for a few requests that never need one) the guest
//! talks to the host through the GHCB MSR (0xc001_0130) alone: it writes a request, executes
//! VMGEXIT, and reads the host's response from the same MSR. GHCBData[11:0] is GHCBInfo,
//! which names the request or response; the other 52 bits carry its data.
//!
//! Requests are encoded here as the `u64` OSTD writes; responses are decoded from the `u64`
//! OSTD read back, and anything unexpected (a different GHCBInfo, a nonzero error field, a
//! value outside its sane range) is a [`MsrError`] naming the field and the value.

use core::fmt;

use bitflags::bitflags;

use super::frame::{Gfn, PageStateOp};

/// The GHCB protocol version this guest speaks: 2, the first with SEV-SNP support.
pub const SUPPORTED_PROTOCOL_VERSION: u16 = 2;

/// Mask of GHCBInfo, GHCBData[11:0].
const INFO_MASK: u64 = 0xfff;

/// GHCBInfo values (GHCB spec §2.3.1, table "GHCB MSR Protocol").
pub mod info {
    /// SEV information response (host to guest).
    pub const SEV_INFO_RESPONSE: u16 = 0x001;
    /// SEV information request (guest to host).
    pub const SEV_INFO_REQUEST: u16 = 0x002;
    /// CPUID request, one register of one leaf.
    pub const CPUID_REQUEST: u16 = 0x004;
    /// CPUID response.
    pub const CPUID_RESPONSE: u16 = 0x005;
    /// GHCB guest-physical address registration request.
    pub const REGISTER_GHCB_REQUEST: u16 = 0x012;
    /// GHCB guest-physical address registration response.
    pub const REGISTER_GHCB_RESPONSE: u16 = 0x013;
    /// SNP page state change request, one 4 KiB page.
    pub const PAGE_STATE_CHANGE_REQUEST: u16 = 0x014;
    /// SNP page state change response.
    pub const PAGE_STATE_CHANGE_RESPONSE: u16 = 0x015;
    /// Hypervisor feature support request.
    pub const HYPERVISOR_FEATURES_REQUEST: u16 = 0x080;
    /// Hypervisor feature support response.
    pub const HYPERVISOR_FEATURES_RESPONSE: u16 = 0x081;
    /// Termination request; the host does not answer.
    pub const TERMINATION_REQUEST: u16 = 0x100;
}

/// A response the guest cannot accept, with the field and the value the host gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrError {
    /// GHCBInfo (GHCBData[11:0]) is not the response to the request made.
    WrongInfo {
        /// The GHCBInfo the request calls for.
        expected: u16,
        /// The GHCBInfo the host wrote.
        got: u16,
    },
    /// The SEV information response's version range (GHCBData[47:32] minimum,
    /// GHCBData[63:48] maximum) leaves out [`SUPPORTED_PROTOCOL_VERSION`] or is inverted.
    UnsupportedProtocolRange {
        /// The host's minimum version.
        min: u16,
        /// The host's maximum version.
        max: u16,
    },
    /// The C-bit position (GHCBData[31:24]) is outside 32..=51, where no SNP part puts it.
    CBitOutOfRange {
        /// The position the host gave.
        position: u8,
    },
    /// The GHCB registration response (GHCBData[63:12]) names another frame than the one
    /// requested; all ones means the host refused.
    GhcbNotRegistered {
        /// The frame the guest asked to register.
        requested: u64,
        /// The frame number in the response.
        got: u64,
    },
    /// The page state change response carries a nonzero error code (GHCBData[63:32]).
    PageStateChangeFailed {
        /// The host's error code.
        code: u32,
    },
}

impl fmt::Display for MsrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::WrongInfo { expected, got } => {
                write!(f, "GHCBInfo is {got:#05x}, expected {expected:#05x}")
            }
            Self::UnsupportedProtocolRange { min, max } => write!(
                f,
                "GHCB protocol range {min}..={max} excludes version {SUPPORTED_PROTOCOL_VERSION}"
            ),
            Self::CBitOutOfRange { position } => {
                write!(f, "C-bit position {position} is outside 32..=51")
            }
            Self::GhcbNotRegistered { requested, got } => {
                write!(f, "GHCB registration answered gfn {got:#x} for gfn {requested:#x}")
            }
            Self::PageStateChangeFailed { code } => {
                write!(f, "page state change error code {code:#x}")
            }
        }
    }
}

fn expect_info(msr: u64, expected: u16) -> Result<(), MsrError> {
    let got = (msr & INFO_MASK) as u16;
    if got == expected { Ok(()) } else { Err(MsrError::WrongInfo { expected, got }) }
}

/// The SEV information request: asks for the host's protocol range and the C-bit position.
pub const fn sev_info_request() -> u64 {
    info::SEV_INFO_REQUEST as u64
}

/// The host's SEV information response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SevInfo {
    /// The lowest GHCB protocol version the host supports.
    pub min_version: u16,
    /// The highest GHCB protocol version the host supports.
    pub max_version: u16,
    /// The page-table bit that marks a page encrypted (C-bit), 32..=51.
    pub c_bit_position: u8,
}

impl SevInfo {
    /// Decodes the SEV information response: GHCBData[63:48] maximum version,
    /// GHCBData[47:32] minimum version, GHCBData[31:24] C-bit position. The range must
    /// include [`SUPPORTED_PROTOCOL_VERSION`], which is then the version to use.
    pub fn decode(msr: u64) -> Result<Self, MsrError> {
        expect_info(msr, info::SEV_INFO_RESPONSE)?;
        let max_version = (msr >> 48) as u16;
        let min_version = (msr >> 32) as u16;
        let c_bit_position = (msr >> 24) as u8;
        if !(min_version..=max_version).contains(&SUPPORTED_PROTOCOL_VERSION) {
            return Err(MsrError::UnsupportedProtocolRange { min: min_version, max: max_version });
        }
        if !(32..=51).contains(&c_bit_position) {
            return Err(MsrError::CBitOutOfRange { position: c_bit_position });
        }
        Ok(Self { min_version, max_version, c_bit_position })
    }

    /// The page-table mask of the C-bit.
    pub const fn c_bit_mask(&self) -> u64 {
        1 << self.c_bit_position
    }
}

/// The register a CPUID request through the MSR protocol asks for (GHCBData[31:30]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidRegister {
    /// EAX, 0.
    Eax,
    /// EBX, 1.
    Ebx,
    /// ECX, 2.
    Ecx,
    /// EDX, 3.
    Edx,
}

impl CpuidRegister {
    /// All four, in the order CPUID returns them.
    pub const ALL: [Self; 4] = [Self::Eax, Self::Ebx, Self::Ecx, Self::Edx];

    const fn selector(self) -> u64 {
        match self {
            Self::Eax => 0,
            Self::Ebx => 1,
            Self::Ecx => 2,
            Self::Edx => 3,
        }
    }
}

/// A CPUID request for one register of `leaf` (sub-leaf 0: the MSR protocol has no field
/// for ECX): GHCBData[63:32] leaf, GHCBData[31:30] register.
pub const fn cpuid_request(leaf: u32, register: CpuidRegister) -> u64 {
    ((leaf as u64) << 32) | (register.selector() << 30) | info::CPUID_REQUEST as u64
}

/// Decodes a CPUID response: the register's value is GHCBData[63:32].
///
/// GHCBData[31:12] is not checked: Linux ignores it and KVM leaves the request's register
/// selector there, so neither zero nor an echo can be required.
pub fn decode_cpuid_response(msr: u64) -> Result<u32, MsrError> {
    expect_info(msr, info::CPUID_RESPONSE)?;
    Ok((msr >> 32) as u32)
}

/// The request to register `gfn` as this vCPU's GHCB: GHCBData[63:12] the frame number.
pub const fn register_ghcb_request(gfn: Gfn) -> u64 {
    (gfn.get() << 12) | info::REGISTER_GHCB_REQUEST as u64
}

/// Checks the registration response: GHCBData[63:12] must repeat the requested frame.
pub fn decode_register_ghcb_response(msr: u64, requested: Gfn) -> Result<(), MsrError> {
    expect_info(msr, info::REGISTER_GHCB_RESPONSE)?;
    let got = msr >> 12;
    if got == requested.get() {
        Ok(())
    } else {
        Err(MsrError::GhcbNotRegistered { requested: requested.get(), got })
    }
}

/// A page state change request for one 4 KiB page: GHCBData[55:52] operation,
/// GHCBData[51:12] frame number.
pub const fn page_state_change_request(gfn: Gfn, op: PageStateOp) -> u64 {
    (op.code() << 52) | (gfn.get() << 12) | info::PAGE_STATE_CHANGE_REQUEST as u64
}

/// Checks a page state change response: the error code GHCBData[63:32] must be 0.
pub fn decode_page_state_change_response(msr: u64) -> Result<(), MsrError> {
    expect_info(msr, info::PAGE_STATE_CHANGE_RESPONSE)?;
    match (msr >> 32) as u32 {
        0 => Ok(()),
        code => Err(MsrError::PageStateChangeFailed { code }),
    }
}

/// The hypervisor feature support request.
pub const fn hypervisor_features_request() -> u64 {
    info::HYPERVISOR_FEATURES_REQUEST as u64
}

bitflags! {
    /// The hypervisor's feature bitmap (GHCB spec §2.3.1 and §7, "Hypervisor Feature
    /// Support"), GHCBData[63:12] of the response. Bits this crate does not name are kept.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct HypervisorFeatures: u64 {
        /// SEV-SNP is supported (bit 0); required for an SNP guest.
        const SNP = 1 << 0;
        /// AP creation through the AP Creation NAE event (bit 1).
        const SNP_AP_CREATION = 1 << 1;
        /// Restricted injection (bit 2).
        const SNP_RESTRICTED_INJECTION = 1 << 2;
        /// Restricted injection timer (bit 3).
        const SNP_RESTRICTED_INJECTION_TIMER = 1 << 3;
        /// Bits this crate does not interpret, kept as the host gave them.
        const _ = !0;
    }
}

impl HypervisorFeatures {
    /// Decodes the hypervisor feature support response.
    pub fn decode(msr: u64) -> Result<Self, MsrError> {
        expect_info(msr, info::HYPERVISOR_FEATURES_RESPONSE)?;
        Ok(Self::from_bits_retain(msr >> 12))
    }
}

/// Why the guest asks to be terminated: a reason set (4 bits) and a code within it (8 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminationReason {
    set: u8,
    code: u8,
}

impl TerminationReason {
    /// Set 0, code 0: general termination request.
    pub const GENERAL: Self = Self { set: 0, code: 0 };
    /// Set 0, code 1: the host's GHCB protocol range is not supported.
    pub const PROTOCOL_UNSUPPORTED: Self = Self { set: 0, code: 1 };
    /// Set 0, code 2: SEV-SNP features are not supported.
    pub const SNP_UNSUPPORTED: Self = Self { set: 0, code: 2 };

    /// A reason in `set` (0..=15), or `None` if the set does not fit its 4 bits.
    pub const fn new(set: u8, code: u8) -> Option<Self> {
        if set <= 0xf { Some(Self { set, code }) } else { None }
    }
}

/// The termination request: GHCBData[15:12] reason set, GHCBData[23:16] reason code.
pub const fn termination_request(reason: TerminationReason) -> u64 {
    ((reason.code as u64) << 16) | ((reason.set as u64) << 12) | info::TERMINATION_REQUEST as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gfn(frame: u64) -> Gfn {
        Gfn::new(frame).unwrap()
    }

    #[test]
    fn sev_info_accepts_a_range_with_version_2() {
        // max 2, min 1, C-bit 51, GHCBInfo 1: what KVM answers on Genoa.
        let info = SevInfo::decode(0x0002_0001_3300_0001).unwrap();
        assert_eq!(info, SevInfo { min_version: 1, max_version: 2, c_bit_position: 51 });
        assert_eq!(info.c_bit_mask(), 1 << 51);
    }

    #[test]
    fn sev_info_rejects_bad_answers() {
        assert_eq!(
            SevInfo::decode(0x0002_0001_3300_0005),
            Err(MsrError::WrongInfo { expected: 1, got: 5 })
        );
        assert_eq!(
            SevInfo::decode(0x0001_0001_3300_0001),
            Err(MsrError::UnsupportedProtocolRange { min: 1, max: 1 })
        );
        assert_eq!(
            SevInfo::decode(0x0002_0003_3300_0001),
            Err(MsrError::UnsupportedProtocolRange { min: 3, max: 2 })
        );
        assert_eq!(
            SevInfo::decode(0x0002_0002_3400_0001),
            Err(MsrError::CBitOutOfRange { position: 52 })
        );
        assert_eq!(
            SevInfo::decode(0x0002_0002_1f00_0001),
            Err(MsrError::CBitOutOfRange { position: 31 })
        );
    }

    #[test]
    fn cpuid_request_layout() {
        assert_eq!(cpuid_request(0x8000_001f, CpuidRegister::Ebx), 0x8000_001f_4000_0004);
        assert_eq!(cpuid_request(1, CpuidRegister::Edx), 0x0000_0001_c000_0004);
        assert_eq!(decode_cpuid_response(0x1234_5678_4000_0005), Ok(0x1234_5678));
        assert_eq!(
            decode_cpuid_response(0x1234_5678_4000_0004),
            Err(MsrError::WrongInfo { expected: 5, got: 4 })
        );
    }

    #[test]
    fn ghcb_registration_must_echo_the_frame() {
        assert_eq!(register_ghcb_request(gfn(0xabcde)), 0xabcd_e012);
        assert_eq!(decode_register_ghcb_response(0xabcd_e013, gfn(0xabcde)), Ok(()));
        assert_eq!(
            decode_register_ghcb_response(0xffff_ffff_ffff_f013, gfn(0xabcde)),
            Err(MsrError::GhcbNotRegistered { requested: 0xabcde, got: 0x000f_ffff_ffff_ffff })
        );
    }

    #[test]
    fn page_state_change_over_msr() {
        assert_eq!(
            page_state_change_request(gfn(0x12345), PageStateOp::Shared),
            0x0020_0000_1234_5014
        );
        assert_eq!(
            page_state_change_request(gfn(Gfn::MAX), PageStateOp::Private),
            0x001f_ffff_ffff_f014
        );
        assert_eq!(decode_page_state_change_response(0x015), Ok(()));
        assert_eq!(
            decode_page_state_change_response(0x0000_0007_0000_0015),
            Err(MsrError::PageStateChangeFailed { code: 7 })
        );
    }

    #[test]
    fn hypervisor_features_keep_unknown_bits() {
        let features = HypervisorFeatures::decode(0x0000_0000_0002_3081).unwrap();
        assert!(features.contains(HypervisorFeatures::SNP | HypervisorFeatures::SNP_AP_CREATION));
        assert!(!features.contains(HypervisorFeatures::SNP_RESTRICTED_INJECTION));
        assert_eq!(features.bits(), 0x23);
        assert!(HypervisorFeatures::decode(0x0000_0000_0002_3080).is_err());
    }

    #[test]
    fn termination_request_layout() {
        assert_eq!(termination_request(TerminationReason::GENERAL), 0x100);
        assert_eq!(termination_request(TerminationReason::SNP_UNSUPPORTED), 0x2_0100);
        assert_eq!(termination_request(TerminationReason::new(1, 3).unwrap()), 0x3_1100);
        assert_eq!(TerminationReason::new(16, 0), None);
    }
}
