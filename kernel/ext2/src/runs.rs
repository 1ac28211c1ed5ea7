//! Runs of a file's blocks: where a byte range of a file lies on the disk, as few pieces as
//! the layout allows. A read then costs one device access per run instead of one per block,
//! and a caller that moves data itself (direct I/O) knows which disk ranges to move.
//!
//! The walk reads each leaf block of pointers once for all the logical blocks it maps,
//! rather than following the whole path from the inode for every block; every pointer it
//! uses still goes through `Filesystem::check_block`.

use alloc::vec::Vec;

use crate::bytes::le32;
use crate::dev::BlockDevice;
use crate::error::Error;
use crate::fs::Filesystem;
use crate::inode::{Inode, InodeNo};

/// A piece of a file: `len` bytes at `file_offset`, stored at `disk_offset` on the device,
/// or a hole (reads as zeros) when `disk_offset` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRun {
    /// Where the piece starts in the file.
    pub file_offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Where it starts on the device, or `None` for a hole.
    pub disk_offset: Option<u64>,
}

/// The leaf of pointers last read: which one (the `i_block` slot and the indexes above the
/// leaf) and its raw bytes (`None`: a hole above it, so every pointer in it is 0). A pointer
/// is decoded when it is used: a small read uses one pointer of a leaf of 1024.
struct Leaf {
    key: (usize, [u32; 2]),
    raw: Option<Vec<u8>>,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Returns where bytes `offset..offset + len` of `inode` lie, in file order; the caller
    /// keeps the range inside the file.
    pub(crate) fn runs(
        &self,
        ino: InodeNo,
        inode: &Inode,
        offset: u64,
        len: u64,
    ) -> Result<Vec<DataRun>, Error> {
        let mut runs: Vec<DataRun> = Vec::new();
        if len == 0 {
            return Ok(runs);
        }
        let bs = u64::from(self.geo.block_size);
        let end = offset + len;
        let mut leaf: Option<Leaf> = None;
        for lblk in offset / bs..end.div_ceil(bs) {
            let from = (lblk * bs).max(offset);
            let to = ((lblk + 1) * bs).min(end);
            let disk = self
                .block_of(ino, inode, lblk, &mut leaf)?
                .map(|b| self.geo.block_offset(b) + (from - lblk * bs));
            match runs.last_mut() {
                Some(last)
                    if match (last.disk_offset, disk) {
                        (None, None) => true,
                        (Some(a), Some(b)) => a + last.len == b,
                        _ => false,
                    } =>
                {
                    last.len += to - from;
                }
                _ => runs.push(DataRun { file_offset: from, len: to - from, disk_offset: disk }),
            }
        }
        Ok(runs)
    }

    /// Logical block `lblk`'s disk block (or `None`, a hole), reading its leaf of pointers
    /// only if `leaf` holds another one.
    fn block_of(
        &self,
        ino: InodeNo,
        inode: &Inode,
        lblk: u64,
        leaf: &mut Option<Leaf>,
    ) -> Result<Option<u32>, Error> {
        let path = self.path(lblk, ino)?;
        if path.depth == 0 {
            let b = inode.block[path.slot];
            return if b == 0 { Ok(None) } else { self.check_block(b, ino).map(Some) };
        }
        let above = path.depth - 1;
        let mut key_idx = [0u32; 2];
        key_idx[..above].copy_from_slice(&path.idx[..above]);
        let key = (path.slot, key_idx);
        let leaf = match leaf {
            Some(l) if l.key == key => l,
            _ => {
                // Walk down to the leaf; a hole anywhere above it is a hole here.
                let mut ptr = inode.block[path.slot];
                for &i in &path.idx[..above] {
                    if ptr == 0 {
                        break;
                    }
                    ptr = self.read_ptr(self.check_block(ptr, ino)?, i)?;
                }
                let raw = if ptr == 0 {
                    None
                } else {
                    let mut raw = self.block_buf();
                    self.read_block(self.check_block(ptr, ino)?, &mut raw)?;
                    Some(raw)
                };
                leaf.insert(Leaf { key, raw })
            }
        };
        // `path` keeps the index below the pointers a block holds.
        match leaf.raw.as_deref().map_or(0, |raw| le32(raw, 4 * path.idx[above] as usize)) {
            0 => Ok(None),
            b => self.check_block(b, ino).map(Some),
        }
    }
}
