//! The 48-byte quote header shared by TDX quote versions 4 and 5.
//!
//! ```text
//!  0 version u16 | 2 attestation_key_type u16 | 4 tee_type u32 | 8 qe_svn u16 | 10 pce_svn u16
//! 12 qe_vendor_id [16] | 28 user_data [20]
//! ```
//! This crate implements TDX quotes only: `version` 4 or 5, `tee_type` 0x81 and
//! `attestation_key_type` 2 (ECDSA-256 with P-256). Anything else is
//! [`ParseError::Unsupported`], naming the field.

use alloc::vec::Vec;

use crate::codec::{Reader, put_u16, put_u32};
use crate::error::ParseError;

/// A TDX quote header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteHeader {
    /// Quote format version: [`QuoteHeader::VERSION_4`] or [`QuoteHeader::VERSION_5`].
    pub version: u16,
    /// Type of the attestation key; only [`QuoteHeader::ATT_KEY_ECDSA_P256`] is implemented.
    pub attestation_key_type: u16,
    /// TEE that produced the body; only [`QuoteHeader::TEE_TYPE_TDX`] is implemented.
    pub tee_type: u32,
    /// QE security version in SGX quotes; reserved in TDX quotes. Kept verbatim.
    pub qe_svn: u16,
    /// PCE security version in SGX quotes; reserved in TDX quotes. Kept verbatim.
    pub pce_svn: u16,
    /// Vendor of the Quoting Enclave; [`QuoteHeader::INTEL_QE_VENDOR_ID`] for Intel's QE.
    pub qe_vendor_id: [u8; 16],
    /// Custom data the QE put in; Intel's QE puts a 16-byte QE identifier first.
    pub user_data: [u8; 20],
}

impl QuoteHeader {
    /// Size of the header in bytes.
    pub const LEN: usize = 48;
    /// Quote version 4: header, TD report body 1.0, signature data.
    pub const VERSION_4: u16 = 4;
    /// Quote version 5: header, body descriptor, body (1.0 or 1.5), signature data.
    pub const VERSION_5: u16 = 5;
    /// Attestation key type 2: ECDSA-256 with the P-256 curve.
    pub const ATT_KEY_ECDSA_P256: u16 = 2;
    /// TEE type of TDX.
    pub const TEE_TYPE_TDX: u32 = 0x81;
    /// QE vendor ID of Intel's Quoting Enclave (`939a7233-f79c-4ca9-940a-0db3957f0607`).
    pub const INTEL_QE_VENDOR_ID: [u8; 16] = [
        0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06,
        0x07,
    ];

    /// Reads and checks a header.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let at = r.offset();
        let version = r.u16("version")?;
        if version != Self::VERSION_4 && version != Self::VERSION_5 {
            return Err(ParseError::Unsupported {
                field: "version",
                offset: at,
                value: version.into(),
            });
        }
        let attestation_key_type = r.u16("attestation_key_type")?;
        if attestation_key_type != Self::ATT_KEY_ECDSA_P256 {
            let value = attestation_key_type.into();
            return Err(ParseError::Unsupported {
                field: "attestation_key_type",
                offset: at + 2,
                value,
            });
        }
        let tee_type = r.u32("tee_type")?;
        if tee_type != Self::TEE_TYPE_TDX {
            return Err(ParseError::Unsupported {
                field: "tee_type",
                offset: at + 4,
                value: tee_type.into(),
            });
        }
        Ok(Self {
            version,
            attestation_key_type,
            tee_type,
            qe_svn: r.u16("qe_svn")?,
            pce_svn: r.u16("pce_svn")?,
            qe_vendor_id: r.array("qe_vendor_id")?,
            user_data: r.array("user_data")?,
        })
    }

    /// Appends the header's 48 bytes.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        put_u16(out, self.attestation_key_type);
        put_u32(out, self.tee_type);
        put_u16(out, self.qe_svn);
        put_u16(out, self.pce_svn);
        out.extend_from_slice(&self.qe_vendor_id);
        out.extend_from_slice(&self.user_data);
    }

    /// Parses exactly 48 bytes as a header.
    ///
    /// # Errors
    /// [`ParseError::Unsupported`] for a version, key type or TEE type other than the above;
    /// [`ParseError::Truncated`] / [`ParseError::TrailingData`] for a wrong length.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        let h = Self::read(&mut r)?;
        r.finish("quote_header")?;
        Ok(h)
    }

    /// Serializes the header into its 48 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        self.write(&mut out);
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn header(version: u16, key: u16, tee: u32) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, version);
        put_u16(&mut b, key);
        put_u32(&mut b, tee);
        b.resize(QuoteHeader::LEN, 0);
        b
    }

    #[test]
    fn sgx_quote_version_3_is_unsupported() {
        assert_eq!(
            QuoteHeader::parse(&header(3, 2, 0)),
            Err(ParseError::Unsupported { field: "version", offset: 0, value: 3 })
        );
    }

    #[test]
    fn p384_attestation_key_is_unsupported() {
        assert_eq!(
            QuoteHeader::parse(&header(4, 3, 0x81)),
            Err(ParseError::Unsupported { field: "attestation_key_type", offset: 2, value: 3 })
        );
    }

    #[test]
    fn sgx_tee_type_in_a_v4_quote_is_unsupported() {
        assert_eq!(
            QuoteHeader::parse(&header(4, 2, 0)),
            Err(ParseError::Unsupported { field: "tee_type", offset: 4, value: 0 })
        );
    }

    #[test]
    fn tdx_header_round_trips() {
        let mut b = header(5, 2, 0x81);
        b[12..28].copy_from_slice(&QuoteHeader::INTEL_QE_VENDOR_ID);
        let h = QuoteHeader::parse(&b).unwrap();
        assert_eq!(h.version, 5);
        assert_eq!(h.to_bytes(), b);
    }
}
