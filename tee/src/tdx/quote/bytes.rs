//! A checked view of a quote's bytes, and the byte ranges a verifier must check signatures over.
//!
//! Verify over these ranges of the *original* buffer, never over a re-serialized [`Quote`]:
//! re-serializing is exact for everything this crate accepts, but hashing what arrived on the
//! wire needs no such argument.
//!
//! Quote buffers often carry bytes after the quote: the TDX GetQuote buffer is fixed-size and
//! zero-padded (the `cos-113` vector is 8000 bytes for a 4935-byte quote), and one vector
//! appends text. Those bytes are outside every signed range; [`QuoteBytes::trailing`] exposes
//! them so a policy can insist they are empty or zero.

use core::ops::Range;

use crate::codec::Reader;
use crate::error::ParseError;
use crate::tdx::quote::{CertificationData, EnclaveReport, Quote, QuoteSignatureData};

/// Where the parts of a quote sit in its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    /// Header, v5 descriptor and body: what the attestation key signs.
    signed: Range<usize>,
    /// The 64-byte ECDSA signature.
    signature: Range<usize>,
    /// The 64-byte attestation key.
    attestation_key: Range<usize>,
    /// The 384-byte QE report that the PCK key signs (type-6 certification data only).
    qe_report: Option<Range<usize>>,
    /// One past the last byte of the quote.
    end: usize,
}

/// A structurally valid quote in a caller-owned buffer. Once
/// [`QuoteBytes::new_checked`] succeeds, no accessor can fail or panic.
#[derive(Debug, Clone)]
pub struct QuoteBytes<B: AsRef<[u8]>> {
    buf: B,
    layout: Layout,
}

impl<B: AsRef<[u8]>> QuoteBytes<B> {
    /// Parses `buf` as a TDX quote followed by any number of trailing bytes.
    ///
    /// # Errors
    /// The first structural error, naming the field and its absolute offset, e.g.
    /// `Truncated { field: "signature_data_len", offset: 632, need: 4, got: 1 }`.
    pub fn new_checked(buf: B) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf.as_ref());
        let quote = Quote::read(&mut r)?;
        let end = r.offset();
        let signed = 0..quote.signed_len();
        // Signature data starts after the 4-byte signature_data_len.
        let sig_start = signed.end + 4;
        let signature = sig_start..sig_start + 64;
        let attestation_key = signature.end..signature.end + 64;
        let qe_report = match quote.signature_data.certification {
            CertificationData::QeReport(_) => {
                // Past the certification data's type (2) and size (4).
                let start = sig_start + QuoteSignatureData::CERTIFICATION_OFFSET + 6;
                Some(start..start + EnclaveReport::LEN)
            }
            _ => None,
        };
        let layout = Layout { signed, signature, attestation_key, qe_report, end };
        Ok(Self { buf, layout })
    }

    fn range(&self, r: Range<usize>) -> &[u8] {
        self.buf.as_ref().get(r).unwrap_or(&[])
    }

    /// Returns the whole buffer, trailing bytes included.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Returns the quote proper: everything up to the end of the signature data.
    pub fn quote_bytes(&self) -> &[u8] {
        self.range(0..self.layout.end)
    }

    /// Returns the bytes after the quote.
    pub fn trailing(&self) -> &[u8] {
        self.buf.as_ref().get(self.layout.end..).unwrap_or(&[])
    }

    /// Returns the quote format version (4 or 5).
    pub fn version(&self) -> u16 {
        let b = self.as_bytes();
        u16::from_le_bytes([b.first().copied().unwrap_or(0), b.get(1).copied().unwrap_or(0)])
    }

    /// Returns the bytes the attestation key signs: header, v5 body descriptor, and body.
    pub fn signed_bytes(&self) -> &[u8] {
        self.range(self.layout.signed.clone())
    }

    /// Returns the 64-byte ECDSA P-256 signature (r ‖ s) over [`Self::signed_bytes`].
    pub fn signature(&self) -> &[u8] {
        self.range(self.layout.signature.clone())
    }

    /// Returns the 64-byte attestation public key (x ‖ y).
    pub fn attestation_key(&self) -> &[u8] {
        self.range(self.layout.attestation_key.clone())
    }

    /// Returns the 384-byte QE report the PCK key signs, when the certification data is type 6.
    pub fn qe_report_bytes(&self) -> Option<&[u8]> {
        self.layout.qe_report.clone().map(|r| self.range(r))
    }
}
