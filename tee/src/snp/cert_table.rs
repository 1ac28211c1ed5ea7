//! The SNP certificate table: the certificates the host hands out with an extended report
//! (`SNP_GET_EXT_REPORT`, and the configfs-tsm `auxblob`).
//!
//! ```text
//! entry 0:  guid [16] | offset u32 | length u32      offset is from the start of the table
//! entry 1:  ...
//! terminator: 24 zero bytes
//! data:     the certificates, at the offsets the entries name
//! ```
//! GUIDs are in RFC 4122 byte order ([`Guid`]). The well-known ones are on [`CertKind`].
//! The format says the data is DER; the veraison configfs-tsm vector carries PEM, so this
//! crate does not look inside the data.
//!
//! The host writes this table, so every entry is checked: its data must lie inside the
//! buffer, after the terminator, and share no byte with another entry's (so parsing copies
//! at most the buffer's size). [`CertTable::to_bytes`] lays the data out contiguously in
//! entry order, which is what Linux and the vectors produce, so such tables round-trip
//! byte for byte.

use alloc::vec::Vec;

use crate::codec::{Reader, len_u32, prefix_u32, put_u32};
use crate::error::{EmitError, ParseError};
use crate::guid::Guid;

/// What a certificate-table entry holds, by its GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// AMD Root Key certificate.
    Ark,
    /// AMD SEV Key certificate (signed by the ARK, signs VCEKs).
    Ask,
    /// Versioned Chip Endorsement Key certificate.
    Vcek,
    /// Versioned Loaded Endorsement Key certificate.
    Vlek,
    /// Certificate revocation list for the ASK/ASVK.
    Crl,
    /// A GUID this crate does not know.
    Other(Guid),
}

impl CertKind {
    /// GUID of the ARK entry.
    pub const ARK_GUID: Guid = guid("c0b406a4-a803-4952-9743-3fb6014cd0ae");
    /// GUID of the ASK entry.
    pub const ASK_GUID: Guid = guid("4ab7b379-bbac-4fe4-a02f-05aef327c782");
    /// GUID of the VCEK entry.
    pub const VCEK_GUID: Guid = guid("63da758d-e664-4564-adc5-f4b93be8accd");
    /// GUID of the VLEK entry.
    pub const VLEK_GUID: Guid = guid("a8074bc2-a25a-483e-aae6-39c045a0b8a1");
    /// GUID of the CRL entry.
    pub const CRL_GUID: Guid = guid("92f81bc3-5811-4d3d-97ff-d19f88dc67ea");

    /// Names the GUID.
    pub fn from_guid(g: Guid) -> Self {
        match g {
            Self::ARK_GUID => Self::Ark,
            Self::ASK_GUID => Self::Ask,
            Self::VCEK_GUID => Self::Vcek,
            Self::VLEK_GUID => Self::Vlek,
            Self::CRL_GUID => Self::Crl,
            other => Self::Other(other),
        }
    }

    /// Returns the GUID for this kind.
    pub fn guid(self) -> Guid {
        match self {
            Self::Ark => Self::ARK_GUID,
            Self::Ask => Self::ASK_GUID,
            Self::Vcek => Self::VCEK_GUID,
            Self::Vlek => Self::VLEK_GUID,
            Self::Crl => Self::CRL_GUID,
            Self::Other(g) => g,
        }
    }
}

/// Parses a GUID literal. Used only to initialise `const` items, so a typo is a compile
/// error rather than a panic at run time.
#[allow(clippy::panic, reason = "const-evaluated only: a malformed literal fails the build")]
const fn guid(s: &str) -> Guid {
    match Guid::parse_str(s) {
        Some(g) => g,
        None => panic!("malformed GUID literal"),
    }
}

/// One certificate from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertTableEntry {
    /// What the certificate is.
    pub kind: CertKind,
    /// The certificate bytes (DER per the spec; PEM in some producers).
    pub data: Vec<u8>,
}

/// A parsed SNP certificate table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertTable {
    /// The entries in table order.
    pub entries: Vec<CertTableEntry>,
}

impl CertTable {
    /// Size of one table entry in bytes.
    pub const ENTRY_LEN: usize = 24;

    /// Parses a certificate table.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] if the terminator or an entry's data is missing;
    /// [`ParseError::Invalid`] if an entry's data starts inside the table itself or shares
    /// bytes with another entry's, or an entry has the nil GUID but is not all zero.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        // First pass: the entry headers, up to the terminator.
        let mut r = Reader::new(buf);
        let mut headers = Vec::new();
        loop {
            let at = r.offset();
            let g = Guid(r.array("cert_table.guid")?);
            let offset = r.u32("cert_table.offset")?;
            let length = r.u32("cert_table.length")?;
            if g == Guid::NIL {
                if offset != 0 || length != 0 {
                    let reason = "nil GUID with a non-zero offset or length";
                    return Err(ParseError::Invalid {
                        field: "cert_table.guid",
                        offset: at,
                        reason,
                    });
                }
                break;
            }
            headers.push((at, g, offset, length));
        }
        let table_end = r.offset();
        // Second pass: each entry's data must lie after the table and inside the buffer.
        let mut ranges = Vec::with_capacity(headers.len());
        for &(at, _, offset, length) in &headers {
            let (offset, length) = (len_u32(offset), len_u32(length));
            if offset < table_end {
                let reason = "certificate data overlaps the entry table";
                return Err(ParseError::Invalid {
                    field: "cert_table.offset",
                    offset: at + 16,
                    reason,
                });
            }
            let got = buf.len().saturating_sub(offset);
            let end = offset.checked_add(length).filter(|end| *end <= buf.len()).ok_or(
                ParseError::Truncated { field: "cert_table.data", offset, need: length, got },
            )?;
            ranges.push((offset, end, at));
        }
        // No two entries may share bytes: otherwise a small table could make us copy the
        // same large range once per entry.
        // Sorted by start, any overlap shows up between neighbours.
        let mut sorted: Vec<_> =
            ranges.iter().copied().filter(|(start, end, _)| start < end).collect();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            if let [(_, end, _), (start, _, at)] = pair
                && start < end
            {
                let reason = "certificate data of two entries overlaps";
                return Err(ParseError::Invalid {
                    field: "cert_table.offset",
                    offset: at + 16,
                    reason,
                });
            }
        }
        let mut entries = Vec::with_capacity(headers.len());
        for ((_, g, _, _), (start, end, _)) in headers.into_iter().zip(ranges) {
            let data = buf.get(start..end).unwrap_or(&[]).to_vec();
            entries.push(CertTableEntry { kind: CertKind::from_guid(g), data });
        }
        Ok(Self { entries })
    }

    /// Returns the data of the first entry of `kind`.
    pub fn get(&self, kind: CertKind) -> Option<&[u8]> {
        self.entries.iter().find(|e| e.kind == kind).map(|e| &e.data[..])
    }

    /// Serializes the table: entries, terminator, then the data contiguously in entry order.
    ///
    /// # Errors
    /// [`EmitError::TooLong`] if an offset or length does not fit in a `u32`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let table_len = (self.entries.len() + 1) * Self::ENTRY_LEN;
        let mut out = Vec::new();
        let mut offset = table_len;
        for e in &self.entries {
            out.extend_from_slice(&e.kind.guid().0);
            put_u32(&mut out, prefix_u32("cert_table.offset", offset)?);
            put_u32(&mut out, prefix_u32("cert_table.length", e.data.len())?);
            offset += e.data.len();
        }
        out.resize(table_len, 0);
        for e in &self.entries {
            out.extend_from_slice(&e.data);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn entry(g: Guid, offset: u32, length: u32) -> Vec<u8> {
        let mut b = g.0.to_vec();
        put_u32(&mut b, offset);
        put_u32(&mut b, length);
        b
    }

    #[test]
    fn vcek_entry_is_found_by_kind() {
        let mut b = entry(CertKind::VCEK_GUID, 48, 3);
        b.extend(entry(Guid::NIL, 0, 0));
        b.extend_from_slice(b"abc");
        let t = CertTable::parse(&b).unwrap();
        assert_eq!(t.get(CertKind::Vcek), Some(&b"abc"[..]));
        assert_eq!(t.get(CertKind::Ark), None);
        assert_eq!(t.to_bytes().unwrap(), b);
    }

    #[test]
    fn table_without_terminator_is_truncated() {
        let b = entry(CertKind::ARK_GUID, 48, 0);
        assert_eq!(
            CertTable::parse(&b),
            Err(ParseError::Truncated { field: "cert_table.guid", offset: 24, need: 16, got: 0 })
        );
    }

    #[test]
    fn data_past_the_end_is_truncated() {
        let mut b = entry(CertKind::ASK_GUID, 48, 100);
        b.extend(entry(Guid::NIL, 0, 0));
        b.extend_from_slice(&[0; 10]);
        assert_eq!(
            CertTable::parse(&b),
            Err(ParseError::Truncated { field: "cert_table.data", offset: 48, need: 100, got: 10 })
        );
    }

    #[test]
    fn data_pointing_into_the_table_is_invalid() {
        let mut b = entry(CertKind::ASK_GUID, 0, 8);
        b.extend(entry(Guid::NIL, 0, 0));
        assert!(matches!(
            CertTable::parse(&b),
            Err(ParseError::Invalid { field: "cert_table.offset", offset: 16, .. })
        ));
    }

    #[test]
    fn entries_sharing_data_are_invalid() {
        let mut b = entry(CertKind::ARK_GUID, 72, 4);
        b.extend(entry(CertKind::ASK_GUID, 74, 4));
        b.extend(entry(Guid::NIL, 0, 0));
        b.extend_from_slice(&[0; 8]);
        assert!(matches!(
            CertTable::parse(&b),
            Err(ParseError::Invalid { field: "cert_table.offset", offset: 40, .. })
        ));
    }

    #[test]
    fn nil_guid_with_nonzero_length_is_invalid() {
        let b = entry(Guid::NIL, 0, 5);
        assert!(matches!(
            CertTable::parse(&b),
            Err(ParseError::Invalid { field: "cert_table.guid", .. })
        ));
    }

    #[test]
    fn unknown_guid_is_kept() {
        let g = Guid([7; 16]);
        assert_eq!(CertKind::from_guid(g), CertKind::Other(g));
        assert_eq!(CertKind::Other(g).guid(), g);
    }
}
