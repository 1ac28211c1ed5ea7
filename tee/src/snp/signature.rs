//! The 512-byte signature block at offset 0x2A0 of an SNP report.
//!
//! For algorithm 1 (ECDSA P-384 with SHA-384) it holds `r [72] | s [72] | reserved [368]`,
//! each component a **little-endian** integer zero-extended to 72 bytes. Most crypto libraries
//! want big-endian 48-byte scalars; [`EcdsaP384Signature::r_be`] and
//! [`EcdsaP384Signature::s_be`] convert, refusing components that do not fit in 48 bytes.

/// The signature block of an SNP report, with every byte kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcdsaP384Signature {
    /// The r component, little-endian, zero-extended to 72 bytes.
    pub r: [u8; 72],
    /// The s component, little-endian, zero-extended to 72 bytes.
    pub s: [u8; 72],
    /// Reserved bytes after s, kept verbatim.
    pub reserved: [u8; 368],
}

impl EcdsaP384Signature {
    /// Size of the signature block in bytes.
    pub const LEN: usize = 512;

    /// Returns r as a 48-byte big-endian scalar, or `None` if bytes 48..72 are not zero.
    pub fn r_be(&self) -> Option<[u8; 48]> {
        to_be48(&self.r)
    }

    /// Returns s as a 48-byte big-endian scalar, or `None` if bytes 48..72 are not zero.
    pub fn s_be(&self) -> Option<[u8; 48]> {
        to_be48(&self.s)
    }

    /// Returns `true` if every byte is zero, as in a report whose chip key is masked.
    pub fn is_zero(&self) -> bool {
        self.r.iter().chain(&self.s).chain(&self.reserved).all(|b| *b == 0)
    }
}

fn to_be48(le: &[u8; 72]) -> Option<[u8; 48]> {
    let (low, high) = le.split_at(48);
    if high.iter().any(|b| *b != 0) {
        return None;
    }
    let mut out = [0u8; 48];
    for (o, b) in out.iter_mut().zip(low.iter().rev()) {
        *o = *b;
    }
    Some(out)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn little_endian_component_becomes_big_endian_scalar() {
        let mut sig = EcdsaP384Signature { r: [0; 72], s: [0; 72], reserved: [0; 368] };
        sig.r[0] = 0x01; // least significant byte
        sig.r[47] = 0xFF; // most significant byte of a 48-byte scalar
        let r = sig.r_be().unwrap();
        assert_eq!((r[0], r[47]), (0xFF, 0x01));
    }

    #[test]
    fn component_wider_than_48_bytes_is_refused() {
        let mut sig = EcdsaP384Signature { r: [0; 72], s: [0; 72], reserved: [0; 368] };
        sig.s[48] = 1;
        assert_eq!(sig.s_be(), None);
    }
}
