//! The 384-byte SGX enclave report body, as used for the Quoting Enclave's own report (the
//! "QE report") inside certification data type 6.
//!
//! The PCK key signs these 384 bytes; the first 32 bytes of `report_data` must be
//! SHA-256(attestation key ‖ QE authentication data), which binds the quote's attestation key
//! to the QE. Both checks are the verifier's job. Every byte is kept, so serialization is exact.

use alloc::vec::Vec;

use crate::codec::{Reader, put_u16, put_u32};
use crate::error::ParseError;

/// An SGX enclave report body (`sgx_report_body_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveReport {
    /// Security version of the CPU.
    pub cpu_svn: [u8; 16],
    /// The enclave's `MISCSELECT`.
    pub misc_select: u32,
    /// Reserved bytes, kept verbatim.
    pub reserved1: [u8; 28],
    /// The enclave's `ATTRIBUTES` (flags and XFRM).
    pub attributes: [u8; 16],
    /// Measurement of the enclave (`MRENCLAVE`).
    pub mr_enclave: [u8; 32],
    /// Reserved bytes, kept verbatim.
    pub reserved2: [u8; 32],
    /// Hash of the enclave signer's key (`MRSIGNER`).
    pub mr_signer: [u8; 32],
    /// Reserved bytes, kept verbatim.
    pub reserved3: [u8; 96],
    /// Product ID the signer assigned.
    pub isv_prod_id: u16,
    /// Security version the signer assigned.
    pub isv_svn: u16,
    /// Reserved bytes, kept verbatim.
    pub reserved4: [u8; 60],
    /// Data the enclave bound into the report.
    pub report_data: [u8; 64],
}

impl EnclaveReport {
    /// Size of the report body in bytes.
    pub const LEN: usize = 384;

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            cpu_svn: r.array("qe_report.cpu_svn")?,
            misc_select: r.u32("qe_report.misc_select")?,
            reserved1: r.array("qe_report.reserved1")?,
            attributes: r.array("qe_report.attributes")?,
            mr_enclave: r.array("qe_report.mr_enclave")?,
            reserved2: r.array("qe_report.reserved2")?,
            mr_signer: r.array("qe_report.mr_signer")?,
            reserved3: r.array("qe_report.reserved3")?,
            isv_prod_id: r.u16("qe_report.isv_prod_id")?,
            isv_svn: r.u16("qe_report.isv_svn")?,
            reserved4: r.array("qe_report.reserved4")?,
            report_data: r.array("qe_report.report_data")?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cpu_svn);
        put_u32(out, self.misc_select);
        for part in [&self.reserved1[..], &self.attributes, &self.mr_enclave, &self.reserved2] {
            out.extend_from_slice(part);
        }
        out.extend_from_slice(&self.mr_signer);
        out.extend_from_slice(&self.reserved3);
        put_u16(out, self.isv_prod_id);
        put_u16(out, self.isv_svn);
        out.extend_from_slice(&self.reserved4);
        out.extend_from_slice(&self.report_data);
    }

    /// Parses exactly 384 bytes.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] or [`ParseError::TrailingData`] for a wrong length.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        let rep = Self::read(&mut r)?;
        r.finish("qe_report")?;
        Ok(rep)
    }

    /// Serializes the report into its 384 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.write(&mut out);
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn isv_fields_and_report_data_sit_at_sgx_offsets() {
        let mut b = [0u8; 384];
        b[256] = 1; // isv_prod_id
        b[258] = 7; // isv_svn
        b[320] = 0xEE; // report_data[0]
        let rep = EnclaveReport::parse(&b).unwrap();
        assert_eq!((rep.isv_prod_id, rep.isv_svn, rep.report_data[0]), (1, 7, 0xEE));
        assert_eq!(rep.to_bytes(), b);
    }
}
