//! The confidential-computing blob SNP firmware leaves for the kernel (Linux
//! `struct cc_blob_sev_info`, found through the EFI configuration table under
//! [`CC_BLOB_GUID`]): where the secrets page and the CPUID page are.
//!
//! Layout (little-endian): magic u32 @0 ("AMDE"), version u16 @4, reserved u16 @6,
//! secrets_phys u64 @8, secrets_len u32 @0x10, reserved u32 @0x14, cpuid_phys u64 @0x18,
//! cpuid_len u32 @0x20, reserved u32 @0x24. The blob lives in firmware memory measured at
//! launch, but its addresses are still checked: page-aligned, at least a page long, and not
//! overlapping each other.

use core::fmt;

use super::le::{u16_at, u32_at, u64_at};

/// The EFI configuration table GUID of the blob, {067b1f5f-cf26-44c5-8554-93d777912d42}, in
/// the byte order EFI stores GUIDs (the first three fields little-endian).
pub const CC_BLOB_GUID: [u8; 16] = [
    0x5f, 0x1f, 0x7b, 0x06, 0x26, 0xcf, 0xc5, 0x44, 0x85, 0x54, 0x93, 0xd7, 0x77, 0x91, 0x2d, 0x42,
];
/// The blob's size in bytes.
pub const CC_BLOB_SIZE: usize = 0x28;
/// "AMDE", little-endian.
pub const CC_BLOB_MAGIC: u32 = 0x4544_4d41;

const PAGE: u64 = 4096;

/// Where the firmware put the two pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CcBlob {
    /// The blob's version.
    pub version: u16,
    /// The secrets page's physical address.
    pub secrets_paddr: u64,
    /// The CPUID page's physical address.
    pub cpuid_paddr: u64,
}

/// What is wrong with a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CcBlobError {
    /// The magic is not "AMDE".
    BadMagic(u32),
    /// A page address is 0 or not page-aligned (`what` names which).
    BadAddress {
        /// "secrets" or "CPUID".
        what: &'static str,
        /// The address.
        paddr: u64,
    },
    /// A page is shorter than 4 KiB.
    TooShort {
        /// "secrets" or "CPUID".
        what: &'static str,
        /// The length the blob gives.
        len: u32,
    },
    /// Both addresses name the same page.
    SamePage(u64),
}

impl fmt::Display for CcBlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(magic) => write!(f, "CC blob magic {magic:#x} is not 'AMDE'"),
            Self::BadAddress { what, paddr } => {
                write!(f, "CC blob {what} page address {paddr:#x} is 0 or not page-aligned")
            }
            Self::TooShort { what, len } => {
                write!(f, "CC blob {what} length {len} is shorter than a page")
            }
            Self::SamePage(paddr) => {
                write!(f, "CC blob names {paddr:#x} as both the secrets and the CPUID page")
            }
        }
    }
}

impl CcBlob {
    /// Parses a copy of the blob.
    pub fn parse(bytes: &[u8; CC_BLOB_SIZE]) -> Result<Self, CcBlobError> {
        let magic = u32_at(bytes, 0);
        if magic != CC_BLOB_MAGIC {
            return Err(CcBlobError::BadMagic(magic));
        }
        let page = |what, paddr: u64, len: u32| {
            if paddr == 0 || !paddr.is_multiple_of(PAGE) {
                Err(CcBlobError::BadAddress { what, paddr })
            } else if u64::from(len) < PAGE {
                Err(CcBlobError::TooShort { what, len })
            } else {
                Ok(paddr)
            }
        };
        let secrets_paddr = page("secrets", u64_at(bytes, 8), u32_at(bytes, 0x10))?;
        let cpuid_paddr = page("CPUID", u64_at(bytes, 0x18), u32_at(bytes, 0x20))?;
        if secrets_paddr == cpuid_paddr {
            return Err(CcBlobError::SamePage(secrets_paddr));
        }
        Ok(Self { version: u16_at(bytes, 4), secrets_paddr, cpuid_paddr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(secrets: u64, secrets_len: u32, cpuid: u64, cpuid_len: u32) -> [u8; CC_BLOB_SIZE] {
        let mut b = [0u8; CC_BLOB_SIZE];
        b[0..4].copy_from_slice(b"AMDE");
        b[4..6].copy_from_slice(&1u16.to_le_bytes());
        b[8..16].copy_from_slice(&secrets.to_le_bytes());
        b[0x10..0x14].copy_from_slice(&secrets_len.to_le_bytes());
        b[0x18..0x20].copy_from_slice(&cpuid.to_le_bytes());
        b[0x20..0x24].copy_from_slice(&cpuid_len.to_le_bytes());
        b
    }

    #[test]
    fn the_magic_is_amde_in_memory_order() {
        assert_eq!(CC_BLOB_MAGIC.to_le_bytes(), *b"AMDE");
    }

    #[test]
    fn a_good_blob_gives_both_pages() {
        let parsed = CcBlob::parse(&blob(0x80_5000, 4096, 0x80_6000, 4096)).unwrap();
        assert_eq!(parsed, CcBlob { version: 1, secrets_paddr: 0x80_5000, cpuid_paddr: 0x80_6000 });
    }

    #[test]
    fn bad_blobs_name_the_field() {
        let mut bad_magic = blob(0x5000, 4096, 0x6000, 4096);
        bad_magic[0] = b'X';
        assert!(matches!(CcBlob::parse(&bad_magic), Err(CcBlobError::BadMagic(_))));
        assert_eq!(
            CcBlob::parse(&blob(0x5008, 4096, 0x6000, 4096)),
            Err(CcBlobError::BadAddress { what: "secrets", paddr: 0x5008 })
        );
        assert_eq!(
            CcBlob::parse(&blob(0x5000, 4096, 0, 4096)),
            Err(CcBlobError::BadAddress { what: "CPUID", paddr: 0 })
        );
        assert_eq!(
            CcBlob::parse(&blob(0x5000, 4096, 0x6000, 100)),
            Err(CcBlobError::TooShort { what: "CPUID", len: 100 })
        );
        assert_eq!(
            CcBlob::parse(&blob(0x5000, 4096, 0x5000, 4096)),
            Err(CcBlobError::SamePage(0x5000))
        );
    }
}
