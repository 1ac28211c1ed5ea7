//! Little-endian field access for buffers whose length the caller has already checked.
//!
//! Every caller passes a buffer of a fixed, known size (a superblock, an inode slot, a block)
//! and an offset that is a constant or was checked against that size; an out-of-range offset
//! here is a bug in this crate, not in the disk.

pub(crate) fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub(crate) fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub(crate) fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
