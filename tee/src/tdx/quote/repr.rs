//! A parsed TDX quote (v4 or v5): header, body and signature data.
//!
//! ```text
//! v4:  header [48] | TD report body 1.0 [584]                         | sig_len u32 |
//!      signature data
//! v5:  header [48] | body_type u16 | body_size u32 | body [584 or 648] | sig_len u32 |
//!      signature data
//! ```
//! [`Quote`] keeps every byte of the quote proper, so [`Quote::to_bytes`] reproduces it
//! exactly. Bytes after the signature data are not part of the quote; see
//! [`QuoteBytes::trailing`](crate::tdx::quote::QuoteBytes::trailing).

use alloc::vec::Vec;

use crate::codec::{Reader, len_u32, prefix_u32, put_u32};
use crate::error::{EmitError, ParseError};
use crate::tdx::quote::{QuoteBody, QuoteBytes, QuoteHeader, QuoteSignatureData, TdReportBody10};

/// A TDX quote, structurally valid but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The 48-byte header.
    pub header: QuoteHeader,
    /// The TD report body (1.0 in v4; 1.0 or 1.5 in v5).
    pub body: QuoteBody,
    /// ECDSA signature, attestation key and certification data.
    pub signature_data: QuoteSignatureData,
}

impl Quote {
    /// Reads one quote from the start of `r`, leaving any trailing bytes unread.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let header = QuoteHeader::read(r)?;
        let body = if header.version == QuoteHeader::VERSION_4 {
            QuoteBody::Td10(TdReportBody10::read(r)?)
        } else {
            QuoteBody::read_v5(r)?
        };
        let sig_len = len_u32(r.u32("signature_data_len")?);
        let mut sig = r.sub(sig_len, "signature_data")?;
        let signature_data = QuoteSignatureData::read(&mut sig)?;
        Ok(Self { header, body, signature_data })
    }

    /// Parses the quote a checked view holds.
    ///
    /// # Errors
    /// None in practice, since [`QuoteBytes::new_checked`] already parsed it; kept for a
    /// uniform signature.
    pub fn parse<B: AsRef<[u8]>>(bytes: &QuoteBytes<B>) -> Result<Self, ParseError> {
        Self::read(&mut Reader::new(bytes.quote_bytes()))
    }

    /// Parses a buffer that holds exactly one quote and nothing after it.
    ///
    /// # Errors
    /// Any structural error, naming the field and offset; [`ParseError::TrailingData`] if
    /// bytes follow the signature data (use [`QuoteBytes`] to accept padded buffers).
    pub fn from_bytes(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        let quote = Self::read(&mut r)?;
        r.finish("quote")?;
        Ok(quote)
    }

    /// Returns the number of bytes the header, descriptor and body take: the signed length.
    pub fn signed_len(&self) -> usize {
        let descriptor = match self.header.version {
            QuoteHeader::VERSION_4 => 0,
            _ => QuoteBody::DESCRIPTOR_LEN,
        };
        QuoteHeader::LEN + descriptor + self.body.len()
    }

    /// Returns the TD's 64 bytes of report data.
    pub fn report_data(&self) -> &[u8; 64] {
        &self.body.td10().report_data
    }

    /// Returns MRTD, the TD's build-time measurement.
    pub fn mr_td(&self) -> &[u8; 48] {
        &self.body.td10().mr_td
    }

    /// Returns RTMR0..RTMR3.
    pub fn rtmrs(&self) -> &[[u8; 48]; 4] {
        &self.body.td10().rtmr
    }

    /// Serializes the quote.
    ///
    /// # Errors
    /// [`EmitError::Inconsistent`] if a v4 header is paired with a 1.5 body, or the version is
    /// not 4 or 5; [`EmitError::TooLong`] if a variable-length part overflows its prefix.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = Vec::new();
        self.header.write(&mut out);
        match (self.header.version, &self.body) {
            (QuoteHeader::VERSION_4, QuoteBody::Td10(b)) => b.write(&mut out),
            (QuoteHeader::VERSION_4, QuoteBody::Td15(_)) => {
                let reason = "a v4 quote carries only a TD report 1.0 body";
                return Err(EmitError::Inconsistent { field: "body", reason });
            }
            (QuoteHeader::VERSION_5, body) => body.write_v5(&mut out),
            _ => {
                let reason = "only quote versions 4 and 5 can be emitted";
                return Err(EmitError::Inconsistent { field: "header.version", reason });
            }
        }
        let mut sig = Vec::new();
        self.signature_data.write(&mut sig)?;
        put_u32(&mut out, prefix_u32("signature_data", sig.len())?);
        out.extend_from_slice(&sig);
        Ok(out)
    }
}
