//! The ACPI CCEL table (Confidential Computing Event Log, ACPI 6.5 §5.2.34): 56 bytes that
//! tell the OS where firmware left the CC event log.
//!
//! ```text
//!  0 standard ACPI header (36): signature "CCEL" | length u32 | revision u8 | checksum u8
//!    | oem_id [6] | oem_table_id [8] | oem_revision u32 | creator_id [4] | creator_revision u32
//! 36 cc_type u8 (1 SEV, 2 TDX) | cc_subtype u8 | reserved u16
//! 40 laml u64: log area minimum length
//! 48 lasa u64: log area start (guest physical address)
//! ```
//! [`CcelTable::parse`] checks the signature, the length and the checksum (all bytes sum to 0
//! mod 256), so [`CcelTable`] has no checksum field: [`CcelTable::to_bytes`] computes it.

use alloc::vec::Vec;

use crate::codec::{Reader, put_u32, put_u64};
use crate::error::ParseError;

/// A parsed, checksum-verified CCEL table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcelTable {
    /// ACPI table revision.
    pub revision: u8,
    /// OEM ID.
    pub oem_id: [u8; 6],
    /// OEM table ID.
    pub oem_table_id: [u8; 8],
    /// OEM revision.
    pub oem_revision: u32,
    /// ID of the tool that made the table.
    pub creator_id: [u8; 4],
    /// Revision of that tool.
    pub creator_revision: u32,
    /// Confidential-computing type: [`CcelTable::CC_TYPE_TDX`] or [`CcelTable::CC_TYPE_SEV`].
    pub cc_type: u8,
    /// Confidential-computing subtype.
    pub cc_subtype: u8,
    /// Reserved, kept verbatim.
    pub reserved: u16,
    /// Log area minimum length in bytes.
    pub laml: u64,
    /// Log area start address.
    pub lasa: u64,
}

impl CcelTable {
    /// Size of the table in bytes.
    pub const LEN: usize = 56;
    /// The ACPI signature.
    pub const SIGNATURE: [u8; 4] = *b"CCEL";
    /// `cc_type` of AMD SEV.
    pub const CC_TYPE_SEV: u8 = 1;
    /// `cc_type` of Intel TDX.
    pub const CC_TYPE_TDX: u8 = 2;

    /// Parses and checks a 56-byte CCEL table.
    ///
    /// # Errors
    /// [`ParseError::Invalid`] for a wrong signature, a `length` field other than 56, or a bad
    /// checksum; [`ParseError::Truncated`] / [`ParseError::TrailingData`] for a wrong size.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        if r.array::<4>("signature")? != Self::SIGNATURE {
            return Err(ParseError::Invalid {
                field: "signature",
                offset: 0,
                reason: "not \"CCEL\"",
            });
        }
        if r.u32("length")? != Self::LEN as u32 {
            return Err(ParseError::Invalid {
                field: "length",
                offset: 4,
                reason: "a CCEL table is 56 bytes",
            });
        }
        let revision = r.u8("revision")?;
        let _checksum = r.u8("checksum")?;
        let table = Self {
            revision,
            oem_id: r.array("oem_id")?,
            oem_table_id: r.array("oem_table_id")?,
            oem_revision: r.u32("oem_revision")?,
            creator_id: r.array("creator_id")?,
            creator_revision: r.u32("creator_revision")?,
            cc_type: r.u8("cc_type")?,
            cc_subtype: r.u8("cc_subtype")?,
            reserved: r.u16("reserved")?,
            laml: r.u64("laml")?,
            lasa: r.u64("lasa")?,
        };
        r.finish("ccel")?;
        if buf.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
            return Err(ParseError::Invalid {
                field: "checksum",
                offset: 9,
                reason: "bytes do not sum to zero",
            });
        }
        Ok(table)
    }

    /// Serializes the table, computing its checksum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&Self::SIGNATURE);
        put_u32(&mut out, Self::LEN as u32);
        out.extend_from_slice(&[self.revision, 0]);
        out.extend_from_slice(&self.oem_id);
        out.extend_from_slice(&self.oem_table_id);
        put_u32(&mut out, self.oem_revision);
        out.extend_from_slice(&self.creator_id);
        put_u32(&mut out, self.creator_revision);
        out.extend_from_slice(&[self.cc_type, self.cc_subtype]);
        out.extend_from_slice(&self.reserved.to_le_bytes());
        put_u64(&mut out, self.laml);
        put_u64(&mut out, self.lasa);
        let sum = out.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        if let Some(c) = out.get_mut(9) {
            *c = 0u8.wrapping_sub(sum);
        }
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn table() -> CcelTable {
        CcelTable {
            revision: 1,
            oem_id: *b"OEMID ",
            oem_table_id: *b"TABLE   ",
            oem_revision: 2,
            creator_id: *b"TEST",
            creator_revision: 3,
            cc_type: CcelTable::CC_TYPE_TDX,
            cc_subtype: 0,
            reserved: 0,
            laml: 0x10000,
            lasa: 0x8000_0000,
        }
    }

    #[test]
    fn emitted_table_has_a_valid_checksum_and_parses_back() {
        let bytes = table().to_bytes();
        assert_eq!(bytes.len(), 56);
        assert_eq!(CcelTable::parse(&bytes), Ok(table()));
    }

    #[test]
    fn flipped_byte_fails_the_checksum() {
        let mut bytes = table().to_bytes();
        bytes[50] ^= 1;
        assert!(matches!(
            CcelTable::parse(&bytes),
            Err(ParseError::Invalid { field: "checksum", offset: 9, .. })
        ));
    }

    #[test]
    fn other_acpi_table_is_rejected_by_signature() {
        let mut bytes = table().to_bytes();
        bytes[..4].copy_from_slice(b"TDEL");
        assert!(matches!(
            CcelTable::parse(&bytes),
            Err(ParseError::Invalid { field: "signature", .. })
        ));
    }
}
