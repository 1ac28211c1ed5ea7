//! The cursor every parser reads through, and the little-endian writers every serializer uses.
//!
//! [`Reader`] is the only place in the crate that slices untrusted input. Each read names the
//! field it is for, so a short input turns into [`ParseError::Truncated`] with that name and
//! the absolute offset. [`Reader::sub`] carves a length-prefixed section out as its own reader
//! that still reports offsets from the start of the outermost buffer, and [`Reader::finish`]
//! rejects leftover bytes (rustls `Reader::sub`/`Reader::all`).

use alloc::vec::Vec;

use crate::error::{EmitError, ParseError};

/// A forward-only cursor over untrusted bytes.
///
/// # Invariants
/// `pos <= buf.len()`; `base + pos` is the absolute offset of the next unread byte.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading `buf` at absolute offset 0.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0, base: 0 }
    }

    /// Returns the absolute offset of the next unread byte.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Returns how many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Returns the unread bytes without consuming them.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Consumes `n` bytes for `field`.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ParseError> {
        let got = self.remaining();
        let truncated = ParseError::Truncated { field, offset: self.offset(), need: n, got };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let bytes = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// Consumes a fixed-size byte array for `field`.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], ParseError> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Consumes a `u8`.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, ParseError> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    /// Consumes a little-endian `u16`.
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Consumes a little-endian `u32`.
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Consumes a little-endian `u64`.
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Consumes `n` bytes as a nested reader whose errors keep absolute offsets.
    pub(crate) fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, ParseError> {
        let base = self.offset();
        let buf = self.take(n, field)?;
        Ok(Reader { buf, pos: 0, base })
    }

    /// Fails with [`ParseError::TrailingData`] if any byte of `field` is left unread.
    pub(crate) fn finish(&self, field: &'static str) -> Result<(), ParseError> {
        match self.remaining() {
            0 => Ok(()),
            len => Err(ParseError::TrailingData { field, offset: self.offset(), len }),
        }
    }
}

/// Converts a declared `u32` length to `usize` (lossless on every target this crate supports;
/// saturates elsewhere, which then fails as a truncation).
pub(crate) fn len_u32(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Appends a little-endian `u16`.
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian `u32`.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian `u64`.
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Returns `len` as a `u16` length prefix for `field`.
pub(crate) fn prefix_u16(field: &'static str, len: usize) -> Result<u16, EmitError> {
    u16::try_from(len).map_err(|_| EmitError::TooLong { field, len, max: u16::MAX as usize })
}

/// Returns `len` as a `u32` length prefix for `field`.
pub(crate) fn prefix_u32(field: &'static str, len: usize) -> Result<u32, EmitError> {
    u32::try_from(len).map_err(|_| EmitError::TooLong { field, len, max: u32::MAX as usize })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn short_read_names_field_offset_need_and_got() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a"), Ok(0x0201));
        assert_eq!(
            r.u32("b"),
            Err(ParseError::Truncated { field: "b", offset: 2, need: 4, got: 1 })
        );
    }

    #[test]
    fn sub_reader_reports_absolute_offsets() {
        let mut r = Reader::new(&[0, 0, 9, 9, 9]);
        r.u16("skip").unwrap();
        let mut s = r.sub(2, "inner").unwrap();
        s.u8("x").unwrap();
        assert_eq!(
            s.finish("inner"),
            Err(ParseError::TrailingData { field: "inner", offset: 3, len: 1 })
        );
        assert_eq!(r.offset(), 4);
    }

    #[test]
    fn huge_declared_length_is_a_truncation_not_an_overflow() {
        let mut r = Reader::new(&[0]);
        r.u8("x").unwrap();
        assert!(matches!(
            r.take(usize::MAX, "big"),
            Err(ParseError::Truncated { need: usize::MAX, got: 0, .. })
        ));
    }
}
