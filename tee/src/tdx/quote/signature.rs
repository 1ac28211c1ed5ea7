//! Quote signature data: what follows the `signature_data_len` field of a v4/v5 quote.
//!
//! ```text
//! signature [64] | attestation_key [64] | certification data (type u16 | size u32 | data)
//! ```
//! `signature` is ECDSA P-256 (r ‖ s, big-endian) by `attestation_key` (the raw x ‖ y point)
//! over the quote's signed bytes (see [`crate::tdx::quote::QuoteBytes::signed_bytes`]). The
//! certification data must end exactly at `signature_data_len`.

use alloc::vec::Vec;

use crate::codec::Reader;
use crate::error::{EmitError, ParseError};
use crate::tdx::quote::CertificationData;

/// The ECDSA signature, attestation key and certification data of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteSignatureData {
    /// ECDSA P-256 signature (r ‖ s) over the header and body.
    pub signature: [u8; 64],
    /// The QE's attestation public key, uncompressed x ‖ y without the 0x04 prefix.
    pub attestation_key: [u8; 64],
    /// How the attestation key is certified (type 6 wrapping type 5 in TDX quotes).
    pub certification: CertificationData,
}

impl QuoteSignatureData {
    /// Offset of the certification data within the signature data.
    pub const CERTIFICATION_OFFSET: usize = 128;

    /// Reads signature data that must fill `r` exactly.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let data = Self {
            signature: r.array("quote_signature")?,
            attestation_key: r.array("attestation_key")?,
            certification: CertificationData::read(r, false)?,
        };
        r.finish("signature_data")?;
        Ok(data)
    }

    /// Appends the signature data (without its length prefix).
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.attestation_key);
        self.certification.write(out)
    }
}
