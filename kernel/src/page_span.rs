//! Byte ranges split at page boundaries: what the page cache and the block cache both walk
//! when a read or write covers several pages.

use ostd::mm::PAGE_SIZE;

/// One page-sized piece of a byte range: the page, where in it, and where in the caller's
/// buffer.
pub struct PagePiece {
    /// The page index (offset / PAGE_SIZE).
    pub index: u64,
    /// The offset of the piece within its page.
    pub within: usize,
    /// The piece's bytes within the caller's buffer.
    pub range: core::ops::Range<usize>,
}

/// Splits `offset..offset + len` at page boundaries, in order.
pub fn page_pieces(offset: u64, len: usize) -> impl Iterator<Item = PagePiece> {
    let mut done = 0;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = offset + done as u64;
        let within = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - within).min(len - done);
        let piece = PagePiece { index: at / PAGE_SIZE as u64, within, range: done..done + n };
        done += n;
        Some(piece)
    })
}
