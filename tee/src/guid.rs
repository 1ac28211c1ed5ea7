//! A 16-byte GUID kept in RFC 4122 byte order.
//!
//! RFC 4122 order means the bytes appear in the same order as the hex digits of the usual
//! text form: `c0b406a4-a803-4952-9743-3fb6014cd0ae` is stored as `c0 b4 06 a4 a8 03 ...`.
//! The SNP certificate table in a configfs-tsm `auxblob` uses this order (see the veraison
//! vector). UEFI's `EFI_GUID` stores the first three groups little-endian instead; this type
//! does not, so never build one from an `EFI_GUID` without swapping.

use core::fmt;

/// A GUID in RFC 4122 (big-endian, "network") byte order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The all-zero GUID, which terminates an SNP certificate table.
    pub const NIL: Guid = Guid([0; 16]);

    /// Parses the canonical text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case).
    ///
    /// Usable in `const` context, so well-known GUIDs can be written as text.
    /// Returns `None` if `s` is not exactly that shape.
    pub const fn parse_str(s: &str) -> Option<Guid> {
        let mut rest = s.as_bytes();
        let mut acc: u128 = 0;
        let mut n = 0; // bytes decoded so far
        while n < 16 {
            if n == 4 || n == 6 || n == 8 || n == 10 {
                match rest {
                    [b'-', tail @ ..] => rest = tail,
                    _ => return None,
                }
            }
            let [hi, lo, tail @ ..] = rest else {
                return None;
            };
            let (Some(hi), Some(lo)) = (hex_digit(*hi), hex_digit(*lo)) else {
                return None;
            };
            acc = (acc << 8) | ((hi << 4) | lo) as u128;
            rest = tail;
            n += 1;
        }
        if !rest.is_empty() {
            return None;
        }
        Some(Guid(acc.to_be_bytes()))
    }
}

const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn text_form_round_trips_in_rfc4122_order() {
        let g = Guid::parse_str("c0b406a4-a803-4952-9743-3fb6014cd0ae").unwrap();
        assert_eq!(&g.0[..4], &[0xc0, 0xb4, 0x06, 0xa4]);
        assert_eq!(g.to_string(), "c0b406a4-a803-4952-9743-3fb6014cd0ae");
    }

    #[test]
    fn malformed_text_is_rejected() {
        assert_eq!(Guid::parse_str("c0b406a4a803-4952-9743-3fb6014cd0ae0"), None);
        assert_eq!(Guid::parse_str("g0b406a4-a803-4952-9743-3fb6014cd0ae"), None);
        assert_eq!(Guid::parse_str(""), None);
    }
}
