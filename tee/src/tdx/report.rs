//! The TDREPORT: the 1024-byte `TDREPORT_STRUCT` that `TDG.MR.REPORT` writes.
//!
//! ```text
//!    0 ┌ REPORTMACSTRUCT (256) ─ report type, CPUSVN, TEE_TCB_INFO_HASH, TEE_INFO_HASH,
//!      │                         REPORTDATA, MAC
//!  256 ├ TEE_TCB_INFO    (239) ─ TDX module identity (MRSEAM, TEE_TCB_SVN, ...)
//!  495 ├ reserved         (17)
//!  512 └ TDINFO          (512) ─ the TD: ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER,
//!                                MROWNERCONFIG, RTMR[0..4], SERVTD_HASH
//! ```
//! The layout is the TDX 1.5 one; on TDX 1.0 modules `tee_tcb_svn2` and `servtd_hash` read as
//! zero because they sit in what 1.0 called reserved space.
//!
//! The MAC can only be checked on the platform that made the report (`TDG.MR.VERIFYREPORT`),
//! so this crate only exposes it. What an off-platform party *can* check is that
//! `tee_tcb_info_hash` is the SHA-384 of [`TdReportBytes::tee_tcb_info_bytes`] and
//! `tee_info_hash` the SHA-384 of [`TdReportBytes::td_info_bytes`].
//!
//! Every byte, reserved ones included, is kept, so [`TdReport::to_bytes`] reproduces the
//! input exactly. Nothing here rejects a value: whether a report type or reserved byte is
//! acceptable is the verifier's policy. Usage: `TdReportBytes::new_checked(buf)?`, then
//! [`TdReport::parse`].

use alloc::vec::Vec;
use core::ops::Range;

use crate::codec::Reader;
use crate::error::ParseError;
use crate::tdx::quote::{TdReportBody10, TdReportBody15};

/// Byte ranges of the TDREPORT's parts.
mod field {
    use core::ops::Range;
    pub(super) const MAC_STRUCT: Range<usize> = 0..256;
    pub(super) const TEE_TCB_INFO: Range<usize> = 256..495;
    pub(super) const TD_INFO: Range<usize> = 512..1024;
}

/// A length-checked view of a TDREPORT. Once [`TdReportBytes::new_checked`] succeeds, no
/// accessor can fail or panic.
#[derive(Debug, Clone)]
pub struct TdReportBytes<B: AsRef<[u8]>>(B);

impl<B: AsRef<[u8]>> TdReportBytes<B> {
    /// Checks that `buf` is exactly [`TdReport::LEN`] bytes long.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] if shorter, [`ParseError::TrailingData`] if longer.
    pub fn new_checked(buf: B) -> Result<Self, ParseError> {
        let got = buf.as_ref().len();
        if got < TdReport::LEN {
            return Err(ParseError::Truncated {
                field: "tdreport",
                offset: 0,
                need: TdReport::LEN,
                got,
            });
        }
        if got > TdReport::LEN {
            let len = got - TdReport::LEN;
            return Err(ParseError::TrailingData { field: "tdreport", offset: TdReport::LEN, len });
        }
        Ok(Self(buf))
    }

    /// Returns the whole report.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    fn range(&self, r: Range<usize>) -> &[u8] {
        self.0.as_ref().get(r).unwrap_or(&[])
    }

    /// Returns `REPORTMACSTRUCT` (bytes 0..256), which the MAC covers.
    pub fn mac_struct_bytes(&self) -> &[u8] {
        self.range(field::MAC_STRUCT)
    }

    /// Returns `TEE_TCB_INFO` (bytes 256..495); its SHA-384 is `tee_tcb_info_hash`.
    pub fn tee_tcb_info_bytes(&self) -> &[u8] {
        self.range(field::TEE_TCB_INFO)
    }

    /// Returns `TDINFO` (bytes 512..1024); its SHA-384 is `tee_info_hash`.
    pub fn td_info_bytes(&self) -> &[u8] {
        self.range(field::TD_INFO)
    }
}

/// The `REPORTTYPE` field: which TEE made the report, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportType {
    /// TEE type: `0x81` for TDX (`0x00` is SGX).
    pub tee_type: u8,
    /// Subtype; 0 for TDX.
    pub subtype: u8,
    /// Format version: 0 for TDX 1.0, 1 when `SERVTD_HASH` is meaningful (TDX 1.5).
    pub version: u8,
    /// Reserved byte, kept verbatim.
    pub reserved: u8,
}

impl ReportType {
    /// The `tee_type` of a TDX report.
    pub const TDX: u8 = 0x81;
}

/// `REPORTMACSTRUCT`: the 256-byte MAC-protected header of a TDREPORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMacStruct {
    /// Which TEE made the report.
    pub report_type: ReportType,
    /// Reserved bytes 4..16, kept verbatim.
    pub reserved1: [u8; 12],
    /// The CPU's security version number.
    pub cpu_svn: [u8; 16],
    /// SHA-384 of `TEE_TCB_INFO`.
    pub tee_tcb_info_hash: [u8; 48],
    /// SHA-384 of `TDINFO`.
    pub tee_info_hash: [u8; 48],
    /// The 64 bytes the TD asked to have bound into the report.
    pub report_data: [u8; 64],
    /// Reserved bytes 192..224, kept verbatim.
    pub reserved2: [u8; 32],
    /// HMAC-SHA-256 over the structure, checkable only on the same platform.
    pub mac: [u8; 32],
}

/// `TEE_TCB_INFO`: the 239-byte identity of the TDX module that made the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeeTcbInfo {
    /// Bitmap of which of the following fields are valid.
    pub valid: [u8; 8],
    /// The TDX module's TCB security version numbers.
    pub tee_tcb_svn: [u8; 16],
    /// Measurement of the TDX module.
    pub mr_seam: [u8; 48],
    /// Measurement of the TDX module's signer (zero for Intel's own module).
    pub mr_signer_seam: [u8; 48],
    /// The TDX module's attributes.
    pub attributes: [u8; 8],
    /// TCB SVN of the running TDX module when it differs (TDX 1.5 runtime update).
    pub tee_tcb_svn2: [u8; 16],
    /// Reserved bytes, kept verbatim.
    pub reserved: [u8; 95],
}

/// `TDINFO`: the 512-byte description of the TD itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdInfo {
    /// TD attributes (bit 0 is DEBUG).
    pub attributes: [u8; 8],
    /// Extended features allowed for the TD (XCR0/XSS mask).
    pub xfam: [u8; 8],
    /// Build-time measurement of the TD's initial memory.
    pub mr_td: [u8; 48],
    /// Software-defined ID of the TD's configuration.
    pub mr_config_id: [u8; 48],
    /// Software-defined ID of the TD's owner.
    pub mr_owner: [u8; 48],
    /// Software-defined ID of owner-defined configuration.
    pub mr_owner_config: [u8; 48],
    /// Runtime-extendable measurement registers RTMR0..RTMR3.
    pub rtmr: [[u8; 48]; 4],
    /// Hash of the service TDs bound to this TD (TDX 1.5).
    pub servtd_hash: [u8; 48],
    /// Reserved bytes, kept verbatim.
    pub reserved: [u8; 64],
}

/// A parsed TDREPORT; every byte of the input is in exactly one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReport {
    /// The MAC-protected header.
    pub mac_struct: ReportMacStruct,
    /// The TDX module's identity.
    pub tee_tcb_info: TeeTcbInfo,
    /// Reserved bytes 495..512, kept verbatim.
    pub reserved: [u8; 17],
    /// The TD's identity and measurements.
    pub td_info: TdInfo,
}

impl TdReport {
    /// Size of a TDREPORT in bytes.
    pub const LEN: usize = 1024;

    /// Parses a checked TDREPORT.
    ///
    /// # Errors
    /// None in practice: the view is already length-checked. The `Result` keeps the
    /// signature uniform with the other parsers.
    pub fn parse<B: AsRef<[u8]>>(bytes: &TdReportBytes<B>) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes.as_bytes());
        let mac_struct = ReportMacStruct {
            report_type: ReportType {
                tee_type: r.u8("report_type.tee_type")?,
                subtype: r.u8("report_type.subtype")?,
                version: r.u8("report_type.version")?,
                reserved: r.u8("report_type.reserved")?,
            },
            reserved1: r.array("reserved1")?,
            cpu_svn: r.array("cpu_svn")?,
            tee_tcb_info_hash: r.array("tee_tcb_info_hash")?,
            tee_info_hash: r.array("tee_info_hash")?,
            report_data: r.array("report_data")?,
            reserved2: r.array("reserved2")?,
            mac: r.array("mac")?,
        };
        let tee_tcb_info = TeeTcbInfo {
            valid: r.array("tee_tcb_info.valid")?,
            tee_tcb_svn: r.array("tee_tcb_info.tee_tcb_svn")?,
            mr_seam: r.array("tee_tcb_info.mr_seam")?,
            mr_signer_seam: r.array("tee_tcb_info.mr_signer_seam")?,
            attributes: r.array("tee_tcb_info.attributes")?,
            tee_tcb_svn2: r.array("tee_tcb_info.tee_tcb_svn2")?,
            reserved: r.array("tee_tcb_info.reserved")?,
        };
        let reserved = r.array("reserved")?;
        let td_info = TdInfo {
            attributes: r.array("td_info.attributes")?,
            xfam: r.array("td_info.xfam")?,
            mr_td: r.array("td_info.mr_td")?,
            mr_config_id: r.array("td_info.mr_config_id")?,
            mr_owner: r.array("td_info.mr_owner")?,
            mr_owner_config: r.array("td_info.mr_owner_config")?,
            rtmr: [
                r.array("td_info.rtmr0")?,
                r.array("td_info.rtmr1")?,
                r.array("td_info.rtmr2")?,
                r.array("td_info.rtmr3")?,
            ],
            servtd_hash: r.array("td_info.servtd_hash")?,
            reserved: r.array("td_info.reserved")?,
        };
        r.finish("tdreport")?;
        Ok(Self { mac_struct, tee_tcb_info, reserved, td_info })
    }

    /// Checks and parses a TDREPORT in one step.
    ///
    /// # Errors
    /// As [`TdReportBytes::new_checked`].
    pub fn from_bytes(buf: &[u8]) -> Result<Self, ParseError> {
        Self::parse(&TdReportBytes::new_checked(buf)?)
    }

    /// Serializes the report back into its 1024 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        let m = &self.mac_struct;
        let t = &m.report_type;
        out.extend_from_slice(&[t.tee_type, t.subtype, t.version, t.reserved]);
        for part in [&m.reserved1[..], &m.cpu_svn, &m.tee_tcb_info_hash, &m.tee_info_hash] {
            out.extend_from_slice(part);
        }
        for part in [&m.report_data[..], &m.reserved2, &m.mac] {
            out.extend_from_slice(part);
        }
        let i = &self.tee_tcb_info;
        for part in [&i.valid[..], &i.tee_tcb_svn, &i.mr_seam, &i.mr_signer_seam] {
            out.extend_from_slice(part);
        }
        for part in [&i.attributes[..], &i.tee_tcb_svn2, &i.reserved, &self.reserved] {
            out.extend_from_slice(part);
        }
        let d = &self.td_info;
        for part in [&d.attributes[..], &d.xfam, &d.mr_td, &d.mr_config_id, &d.mr_owner] {
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&d.mr_owner_config);
        for rtmr in &d.rtmr {
            out.extend_from_slice(rtmr);
        }
        out.extend_from_slice(&d.servtd_hash);
        out.extend_from_slice(&d.reserved);
        out
    }

    /// Returns the TD report body 1.0 a Quoting Enclave builds from this report.
    pub fn to_quote_body_10(&self) -> TdReportBody10 {
        let (i, d) = (&self.tee_tcb_info, &self.td_info);
        TdReportBody10 {
            tee_tcb_svn: i.tee_tcb_svn,
            mr_seam: i.mr_seam,
            mr_signer_seam: i.mr_signer_seam,
            seam_attributes: i.attributes,
            td_attributes: d.attributes,
            xfam: d.xfam,
            mr_td: d.mr_td,
            mr_config_id: d.mr_config_id,
            mr_owner: d.mr_owner,
            mr_owner_config: d.mr_owner_config,
            rtmr: d.rtmr,
            report_data: self.mac_struct.report_data,
        }
    }

    /// Returns the TD report body 1.5 a Quoting Enclave builds from this report.
    pub fn to_quote_body_15(&self) -> TdReportBody15 {
        TdReportBody15 {
            base: self.to_quote_body_10(),
            tee_tcb_svn2: self.tee_tcb_info.tee_tcb_svn2,
            mr_service_td: self.td_info.servtd_hash,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn report_of_wrong_length_is_rejected_with_need_and_got() {
        assert_eq!(
            TdReport::from_bytes(&[0; 1023]),
            Err(ParseError::Truncated { field: "tdreport", offset: 0, need: 1024, got: 1023 })
        );
        assert_eq!(
            TdReport::from_bytes(&[0; 1025]),
            Err(ParseError::TrailingData { field: "tdreport", offset: 1024, len: 1 })
        );
    }

    #[test]
    fn parts_land_at_their_documented_offsets() {
        let mut buf = [0u8; 1024];
        buf[0] = 0x81;
        buf[128] = 0xAA; // REPORTDATA[0]
        buf[256 + 24] = 0xBB; // MRSEAM[0]
        buf[512 + 16] = 0xCC; // MRTD[0]
        buf[720 + 3 * 48] = 0xDD; // RTMR3[0]
        let rep = TdReport::from_bytes(&buf).unwrap();
        assert_eq!(rep.mac_struct.report_type.tee_type, ReportType::TDX);
        assert_eq!(rep.mac_struct.report_data[0], 0xAA);
        assert_eq!(rep.tee_tcb_info.mr_seam[0], 0xBB);
        assert_eq!(rep.td_info.mr_td[0], 0xCC);
        assert_eq!(rep.td_info.rtmr[3][0], 0xDD);
        assert_eq!(rep.to_bytes(), buf);
    }
}
