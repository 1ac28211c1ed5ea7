//! Where OSTD finds the RTMRs in the TDREPORT_STRUCT that TDG.MR.REPORT writes (ABI spec,
//! "TDREPORT_STRUCT", "TDINFO_STRUCT"). The full layout is parsed by `tee::tdx::report`,
//! which the kernel and the verifier use; OSTD needs only the registers, to answer
//! "what are the measurement registers now" on TDX, and cannot depend on `tee`.
//!
//! ```text
//!    0 REPORTMACSTRUCT (256)   256 TEE_TCB_INFO (239)   495 reserved (17)
//!  512 TDINFO: ATTRIBUTES 8, XFAM 8, MRTD 48, MRCONFIGID 48, MROWNER 48,
//!              MROWNERCONFIG 48, RTMR[0..4] 48 each (at 720), SERVTD_HASH 48, reserved 64
//! ```

/// Length of a TDREPORT_STRUCT.
pub const TDREPORT_LEN: usize = 1024;

/// Offset of RTMR0 in a TDREPORT_STRUCT: TDINFO (at 512) after ATTRIBUTES, XFAM, MRTD,
/// MRCONFIGID, MROWNER and MROWNERCONFIG.
pub const RTMR0_OFFSET: usize = 512 + 8 + 8 + 4 * 48;

/// Returns RTMR0..RTMR3 from a TDREPORT_STRUCT.
pub fn rtmrs(report: &[u8; TDREPORT_LEN]) -> [[u8; 48]; 4] {
    core::array::from_fn(|i| {
        let mut rtmr = [0u8; 48];
        let at = RTMR0_OFFSET + 48 * i;
        rtmr.copy_from_slice(&report[at..at + 48]);
        rtmr
    })
}
