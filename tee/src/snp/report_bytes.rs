//! A checked view of an SNP report's bytes, and the ranges a verifier checks the signature
//! over.
//!
//! Verify over [`ReportBytes::signed_bytes`] of the buffer that arrived, never over a
//! re-serialized [`AttestationReport`]: re-serializing is exact here, but hashing what arrived
//! needs no such argument (and other parsers have dropped fields newer report versions use).

use crate::codec::Reader;
use crate::error::ParseError;
use crate::snp::AttestationReport;

/// Signed range and signature range of a report.
mod field {
    use core::ops::Range;
    pub(super) const SIGNED: Range<usize> = 0..0x2A0;
    pub(super) const SIGNATURE: Range<usize> = 0x2A0..0x4A0;
}

/// A length- and version-checked SNP report. Once [`ReportBytes::new_checked`] succeeds, no
/// accessor can fail or panic.
#[derive(Debug, Clone)]
pub struct ReportBytes<B: AsRef<[u8]>>(B);

impl<B: AsRef<[u8]>> ReportBytes<B> {
    /// Checks that `buf` is exactly 1184 bytes and of a supported version.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] or [`ParseError::TrailingData`] for a wrong length;
    /// [`ParseError::Unsupported`] for a version outside 2..=5.
    pub fn new_checked(buf: B) -> Result<Self, ParseError> {
        let b = buf.as_ref();
        let version = Reader::new(b).u32("version")?;
        if !(AttestationReport::MIN_VERSION..=AttestationReport::MAX_VERSION).contains(&version) {
            return Err(ParseError::Unsupported {
                field: "version",
                offset: 0,
                value: version.into(),
            });
        }
        let got = b.len();
        if got < AttestationReport::LEN {
            return Err(ParseError::Truncated {
                field: "report",
                offset: 0,
                need: AttestationReport::LEN,
                got,
            });
        }
        if got > AttestationReport::LEN {
            let len = got - AttestationReport::LEN;
            return Err(ParseError::TrailingData {
                field: "report",
                offset: AttestationReport::LEN,
                len,
            });
        }
        Ok(Self(buf))
    }

    /// Returns the whole report.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// Returns bytes `0..0x2A0`, which the VCEK or VLEK signs (ECDSA P-384 over SHA-384).
    pub fn signed_bytes(&self) -> &[u8] {
        self.0.as_ref().get(field::SIGNED).unwrap_or(&[])
    }

    /// Returns the 512-byte signature block at `0x2A0`.
    pub fn signature_bytes(&self) -> &[u8] {
        self.0.as_ref().get(field::SIGNATURE).unwrap_or(&[])
    }
}
