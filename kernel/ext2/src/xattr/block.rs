//! The attribute block: its bytes, parsed and checked, or built anew.
//!
//! ```text
//! 0   header: h_magic 0xEA020000, h_refcount, h_blocks (1), h_hash, 16 reserved bytes
//! 32  entries, each: e_name_len u8, e_name_index u8, e_value_offs u16, e_value_inum u32,
//!     e_value_size u32, e_hash u32, then the name, padded to 4 bytes
//!     four zero bytes end the entries
//! ..  free space
//! ..  values, padded to 4 bytes, packed against the end of the block
//! ```
//!
//! Entries are sorted as Linux's `ext2_xattr_cmp_entry` compares them: by index, then name
//! length, then name bytes. `e_hash` and `h_hash` are Linux's (`ext2_xattr_hash_entry`,
//! `ext2_xattr_rehash`); e2fsck checks the entry hashes.
//!
//! [`AttrBlock::parse`] checks every offset and length against the block before using it,
//! as Linux's `ext2_xattr_header_valid` and `ext2_xattr_entry_valid` do, and also refuses a
//! value that overlaps the entries (e2fsck does). Hashes are not checked on reading (Linux
//! does not either): they only let Linux share identical blocks.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{le16, le32, put16, put32};
use crate::error::{Error, corrupt};

/// `h_magic` of an attribute block.
pub(super) const MAGIC: u32 = 0xEA02_0000;
/// Bytes of the block header.
const HEADER: usize = 32;
/// Bytes of an entry before its name.
const ENTRY_HEADER: usize = 16;
/// The four zero bytes after the last entry.
const TERMINATOR: usize = 4;

/// Field offsets: in the header, and in an entry from the entry's start.
mod field {
    pub const MAGIC: usize = 0;
    pub const REFCOUNT: usize = 4;
    pub const BLOCKS: usize = 8;
    pub const HASH: usize = 12;

    pub const NAME_LEN: usize = 0;
    pub const NAME_INDEX: usize = 1;
    pub const VALUE_OFFS: usize = 2;
    pub const VALUE_INUM: usize = 4;
    pub const VALUE_SIZE: usize = 8;
    pub const ENTRY_HASH: usize = 12;
}

/// Returns `n` rounded up to the 4-byte padding of names and values.
fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Returns the bytes an entry with a name of `name_len` bytes takes (`EXT2_XATTR_LEN`).
fn entry_len(name_len: usize) -> usize {
    ENTRY_HEADER + pad4(name_len)
}

/// One attribute as the block holds it: the namespace index, the name after the prefix,
/// and the value as stored (a POSIX ACL in ext2's form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attr {
    pub index: u8,
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl Attr {
    /// Returns whether this is the attribute stored as `index` and `name`.
    pub fn is(&self, index: u8, name: &[u8]) -> bool {
        self.index == index && self.name == name
    }
}

/// A checked attribute block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AttrBlock {
    /// How many inodes point at this block (`h_refcount`).
    pub refcount: u32,
    /// The attributes, in on-disk order.
    pub attrs: Vec<Attr>,
}

/// An entry's fields, read before its value is checked against the end of the entries.
struct RawEntry {
    at: usize,
    name_len: usize,
    index: u8,
    value_offs: usize,
    value_size: usize,
}

impl AttrBlock {
    /// Parses `block`, attribute block `blk` of inode `ino` (for error reports).
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the first thing wrong: the magic, `h_blocks`, an entry or
    /// value that crosses the block's end, entries without their terminator, a value kept
    /// in another inode (`e_value_inum`, an ext4 feature), or a value inside the entries.
    pub fn parse(block: &[u8], ino: u32, blk: u32) -> Result<Self, Error> {
        let bad = |what| Err(corrupt(what, ino, blk.into()));
        let size = block.len();
        if size < HEADER + TERMINATOR || le32(block, field::MAGIC) != MAGIC {
            return bad("attribute block has a bad magic");
        }
        if le32(block, field::BLOCKS) != 1 {
            return bad("attribute block's h_blocks is not 1");
        }
        let mut raw = Vec::new();
        let mut at = HEADER;
        loop {
            if at + TERMINATOR > size {
                return bad("attribute entries run past the block end");
            }
            if le32(block, at) == 0 {
                break;
            }
            if at + ENTRY_HEADER > size {
                return bad("attribute entry crosses the block end");
            }
            let name_len = usize::from(block[at + field::NAME_LEN]);
            // The next entry, or the terminator, must start inside the block too.
            if at + entry_len(name_len) + TERMINATOR > size {
                return bad("attribute entry crosses the block end");
            }
            if le32(block, at + field::VALUE_INUM) != 0 {
                return bad("attribute value is kept in another inode (ea_inode)");
            }
            let value_offs = usize::from(le16(block, at + field::VALUE_OFFS));
            let value_size = le32(block, at + field::VALUE_SIZE) as usize;
            if value_size > size || value_offs + value_size > size {
                return bad("attribute value runs past the block end");
            }
            let index = block[at + field::NAME_INDEX];
            raw.push(RawEntry { at, name_len, index, value_offs, value_size });
            at += entry_len(name_len);
        }
        let entries_end = at + TERMINATOR;
        let mut attrs = Vec::with_capacity(raw.len());
        for e in raw {
            if e.value_size > 0 && e.value_offs < entries_end {
                return bad("attribute value overlaps the entries");
            }
            let name_at = e.at + ENTRY_HEADER;
            attrs.push(Attr {
                index: e.index,
                name: block[name_at..name_at + e.name_len].to_vec(),
                value: block[e.value_offs..e.value_offs + e.value_size].to_vec(),
            });
        }
        Ok(AttrBlock { refcount: le32(block, field::REFCOUNT), attrs })
    }
}

/// Sorts `attrs` into Linux's entry order.
pub(super) fn sort(attrs: &mut [Attr]) {
    attrs.sort_by(|a, b| (a.index, a.name.len(), &a.name).cmp(&(b.index, b.name.len(), &b.name)));
}

/// Returns the bytes a block holding `attrs` needs.
pub(super) fn needed(attrs: &[Attr]) -> usize {
    let each: usize = attrs.iter().map(|a| entry_len(a.name.len()) + pad4(a.value.len())).sum();
    HEADER + each + TERMINATOR
}

/// Builds an attribute block of `block_size` bytes holding `attrs` (already sorted, names
/// at most 255 bytes), used by one inode. Values are packed from the end of the block in
/// entry order, so the same attributes always give the same bytes.
///
/// # Errors
/// [`Error::AttributesTooLarge`] if they do not fit.
pub(super) fn build(attrs: &[Attr], block_size: usize) -> Result<Vec<u8>, Error> {
    let needed = needed(attrs);
    if needed > block_size {
        return Err(Error::AttributesTooLarge { needed, block_size });
    }
    let mut block = vec![0u8; block_size];
    put32(&mut block, field::MAGIC, MAGIC);
    put32(&mut block, field::REFCOUNT, 1);
    put32(&mut block, field::BLOCKS, 1);
    let (mut at, mut values_start) = (HEADER, block_size);
    let mut block_hash = Some(0u32);
    for a in attrs {
        let value_offs = if a.value.is_empty() {
            0
        } else {
            values_start -= pad4(a.value.len());
            block[values_start..values_start + a.value.len()].copy_from_slice(&a.value);
            values_start
        };
        let padded_value = &block[value_offs..value_offs + pad4(a.value.len())];
        let hash = entry_hash(&a.name, padded_value);
        block[at + field::NAME_LEN] = a.name.len() as u8;
        block[at + field::NAME_INDEX] = a.index;
        // Block sizes are at most 4096 (the superblock's checks), so offsets fit 16 bits.
        put16(&mut block, at + field::VALUE_OFFS, value_offs as u16);
        put32(&mut block, at + field::VALUE_SIZE, a.value.len() as u32);
        put32(&mut block, at + field::ENTRY_HASH, hash);
        block[at + ENTRY_HEADER..at + ENTRY_HEADER + a.name.len()].copy_from_slice(&a.name);
        // Linux: an entry hash of 0 means "never share", and makes the block hash 0.
        block_hash = block_hash.filter(|_| hash != 0).map(|h| h.rotate_left(16) ^ hash);
        at += entry_len(a.name.len());
    }
    put32(&mut block, field::HASH, block_hash.unwrap_or(0));
    Ok(block)
}

/// Linux's `ext2_xattr_hash_entry`: the name's bytes, then the padded value's
/// little-endian words.
///
/// Linux's ext2 reads the name through a `char *`, which is signed on x86, so bytes of
/// 0x80 and above enter sign-extended. e2fsck accepts that hash and the unsigned one.
fn entry_hash(name: &[u8], padded_value: &[u8]) -> u32 {
    let mut hash = 0u32;
    for &c in name {
        hash = hash.rotate_left(5) ^ (c as i8 as u32);
    }
    for word in padded_value.chunks_exact(4) {
        hash = hash.rotate_left(16) ^ le32(word, 0);
    }
    hash
}
