//! The root disk's hash tree: dm-verity's format (version 1, SHA-256, 4096-byte data and
//! hash blocks, no superblock), so that `veritysetup format --no-superblock` computes the
//! same root hash and `veritysetup verify` accepts a disk `images build` wrote.
//!
//! The tree sits on the same disk, right after the data: hash blocks of 128 SHA-256 digests,
//! zero-padded. The leaves (level 0) hash the data blocks, each level above hashes the one
//! below, and the single top block's hash is the root hash, which goes on the kernel command
//! line (`verity.root=`), where the firmware's and the kernel's measurements of the command
//! line cover it. On disk the levels are stored top first, as dm-verity stores them. Each
//! digest is `SHA-256(salt ‖ block)`.
//!
//! [`Geometry`] says where each hash block is; [`build_tree`] computes the tree (the image
//! builder); [`check_block`] is the comparison the kernel makes for every block it reads.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest as _, Sha256};

/// Bytes per data block and per hash block.
pub const BLOCK_SIZE: usize = 4096;
/// Bytes per digest.
pub const DIGEST_SIZE: usize = 32;
/// Digests per hash block.
pub const FANOUT: u64 = (BLOCK_SIZE / DIGEST_SIZE) as u64;
/// The longest salt dm-verity takes.
pub const MAX_SALT: usize = 256;
/// Levels at most (a tree over 2^64 blocks has fewer than 10).
pub const MAX_LEVELS: usize = 10;

/// The root hash, the salt and how many data blocks the tree covers: what the command line
/// carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerityParams {
    /// SHA-256 of the salt and the top hash block.
    pub root: [u8; DIGEST_SIZE],
    /// Hashed before every block (at most [`MAX_SALT`] bytes).
    pub salt: Vec<u8>,
    /// Data blocks covered; the tree starts at block `data_blocks` of the same disk.
    pub data_blocks: u64,
}

impl VerityParams {
    /// Parses the command line's values: `verity.root=` (64 hex digits), `verity.salt=` (hex,
    /// may be empty or absent) and `verity.data_blocks=` (at least 2, and few enough that
    /// no byte or 512-byte sector offset computed from it wraps).
    ///
    /// # Errors
    /// The parameter that is missing or malformed, with what it must be.
    pub fn parse(
        root: &str,
        salt: Option<&str>,
        data_blocks: Option<&str>,
    ) -> Result<Self, &'static str> {
        let root: [u8; DIGEST_SIZE] =
            unhex(root).and_then(|r| r.try_into().ok()).ok_or("verity.root (64 hex digits)")?;
        let salt = unhex(salt.unwrap_or("")).ok_or("verity.salt (hex)")?;
        if salt.len() > MAX_SALT {
            return Err("verity.salt (at most 256 bytes)");
        }
        let data_blocks = data_blocks
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|&n| n >= 2 && n <= u64::MAX / (BLOCK_SIZE as u64) / 2)
            .ok_or("verity.data_blocks (a block count, at least 2)")?;
        Ok(Self { root, salt, data_blocks })
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Why parameters or a block were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerityError {
    /// A parameter is malformed (named).
    BadParam(&'static str),
    /// A data block's digest is not the one its hash block holds.
    DataMismatch {
        /// The data block.
        block: u64,
    },
    /// A hash block's digest is not the one the level above (or the root hash) holds.
    HashMismatch {
        /// The level (0 = the leaves).
        level: usize,
        /// The block's index within its level.
        index: u64,
    },
}

impl fmt::Display for VerityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadParam(what) => write!(f, "bad verity parameter: {what}"),
            Self::DataMismatch { block } => write!(f, "data block {block} does not match its hash"),
            Self::HashMismatch { level, index } => {
                write!(f, "hash block {index} of level {level} does not match the level above")
            }
        }
    }
}

/// Where the hash blocks are: level sizes and their places on the disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Data blocks covered.
    pub data_blocks: u64,
    /// Hash blocks per level, leaves first; the last level has one block.
    pub level_blocks: Vec<u64>,
}

impl Geometry {
    /// The tree over `data_blocks` blocks, at least two. (Over a single block dm-verity
    /// has no hash blocks at all, the root hash being the block's own digest; no root disk is
    /// that small, so that case is refused rather than carried everywhere.)
    ///
    /// # Errors
    /// [`VerityError::BadParam`] for fewer than two blocks or a tree deeper than
    /// [`MAX_LEVELS`].
    pub fn new(data_blocks: u64) -> Result<Self, VerityError> {
        if data_blocks < 2 {
            return Err(VerityError::BadParam("fewer than 2 data blocks"));
        }
        let mut level_blocks = Vec::new();
        let mut below = data_blocks;
        loop {
            let here = below.div_ceil(FANOUT);
            level_blocks.push(here);
            if level_blocks.len() > MAX_LEVELS {
                return Err(VerityError::BadParam("data_blocks needs too deep a tree"));
            }
            if here == 1 {
                break;
            }
            below = here;
        }
        Ok(Self { data_blocks, level_blocks })
    }

    /// Hash blocks in all.
    pub fn hash_blocks(&self) -> u64 {
        self.level_blocks.iter().sum()
    }

    /// The disk block holding hash block `index` of `level` (levels stored top first, right
    /// after the data); `None` past the level's end.
    pub fn hash_block_at(&self, level: usize, index: u64) -> Option<u64> {
        if index >= *self.level_blocks.get(level)? {
            return None;
        }
        let above: u64 = self.level_blocks[level + 1..].iter().sum();
        Some(self.data_blocks + above + index)
    }

    /// The top level's number.
    pub fn top(&self) -> usize {
        self.level_blocks.len() - 1
    }
}

/// `SHA-256(salt ‖ block)`.
pub fn digest(salt: &[u8], block: &[u8]) -> [u8; DIGEST_SIZE] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(block);
    h.finalize().into()
}

/// Checks `block` against the digest in slot `slot` of the (already verified) hash block
/// `parent`.
pub fn check_block(salt: &[u8], block: &[u8], parent: &[u8], slot: u64) -> bool {
    let at = slot as usize * DIGEST_SIZE;
    parent.get(at..at + DIGEST_SIZE).is_some_and(|expected| expected == digest(salt, block))
}

/// Builds the tree over `data` (whole blocks): returns the hash area, top level first, ready
/// to be written right after the data, and the parameters for the command line.
///
/// # Errors
/// [`VerityError::BadParam`] if `data` is not whole blocks, is empty, or the salt is too long.
pub fn build_tree(data: &[u8], salt: &[u8]) -> Result<(Vec<u8>, VerityParams), VerityError> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK_SIZE) {
        return Err(VerityError::BadParam("data is not a whole number of blocks"));
    }
    if salt.len() > MAX_SALT {
        return Err(VerityError::BadParam("salt longer than 256 bytes"));
    }
    let geometry = Geometry::new((data.len() / BLOCK_SIZE) as u64)?;
    let mut levels: Vec<Vec<u8>> = Vec::new();
    let mut below: &[u8] = data;
    for &blocks in &geometry.level_blocks {
        let mut level = vec![0u8; blocks as usize * BLOCK_SIZE];
        for (i, chunk) in below.chunks(BLOCK_SIZE).enumerate() {
            level[i * DIGEST_SIZE..(i + 1) * DIGEST_SIZE].copy_from_slice(&digest(salt, chunk));
        }
        levels.push(level);
        below = levels.last().map_or(&[], |l| &l[..]);
    }
    let root = digest(salt, below);
    let tree: Vec<u8> = levels.iter().rev().flatten().copied().collect();
    Ok((tree, VerityParams { root, salt: salt.to_vec(), data_blocks: geometry.data_blocks }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_values_parse_and_bad_ones_are_named() {
        let root = "ab".repeat(32);
        let p = VerityParams::parse(&root, Some("00ff"), Some("9")).unwrap();
        assert_eq!((p.root[0], p.salt.as_slice(), p.data_blocks), (0xab, &[0, 0xff][..], 9));
        assert_eq!(VerityParams::parse(&root, None, Some("2")).unwrap().salt, b"");
        let err = |r: &str, s, n| VerityParams::parse(r, s, n).unwrap_err();
        assert_eq!(err(&root[2..], None, Some("9")), "verity.root (64 hex digits)");
        assert_eq!(err(&"zz".repeat(32), None, Some("9")), "verity.root (64 hex digits)");
        assert_eq!(err(&root, Some("abc"), Some("9")), "verity.salt (hex)");
        let long_salt = "00".repeat(257);
        assert_eq!(err(&root, Some(&long_salt), Some("9")), "verity.salt (at most 256 bytes)");
        for n in [None, Some("1"), Some("-3"), Some("x"), Some("18446744073709551615")] {
            assert_eq!(err(&root, None, n), "verity.data_blocks (a block count, at least 2)");
        }
    }

    #[test]
    fn levels_shrink_by_128_and_are_stored_top_first() {
        let g = Geometry::new(128 * 128 + 1).unwrap();
        assert_eq!(g.level_blocks, vec![129, 2, 1]);
        assert_eq!(g.hash_blocks(), 132);
        assert_eq!(g.hash_block_at(2, 0), Some(128 * 128 + 1));
        assert_eq!(g.hash_block_at(1, 1), Some(128 * 128 + 1 + 2));
        assert_eq!(g.hash_block_at(0, 0), Some(128 * 128 + 1 + 3));
        assert_eq!(g.hash_block_at(0, 129), None);
        assert_eq!(Geometry::new(2).unwrap().level_blocks, vec![1]);
        assert!(Geometry::new(1).is_err() && Geometry::new(0).is_err());
    }

    #[test]
    fn every_block_checks_against_its_parent_and_a_changed_byte_does_not() {
        let data: Vec<u8> = (0..300 * BLOCK_SIZE).map(|i| (i * 7 % 251) as u8).collect();
        let (tree, params) = build_tree(&data, b"salt").unwrap();
        let g = Geometry::new(params.data_blocks).unwrap();
        assert_eq!(tree.len() as u64, g.hash_blocks() * BLOCK_SIZE as u64);
        let hash_block = |level: usize, index: u64| {
            let at = (g.hash_block_at(level, index).unwrap() - g.data_blocks) as usize * BLOCK_SIZE;
            &tree[at..at + BLOCK_SIZE]
        };
        assert_eq!(digest(b"salt", hash_block(g.top(), 0)), params.root);
        for b in [0u64, 127, 128, 299] {
            let block = &data[b as usize * BLOCK_SIZE..(b as usize + 1) * BLOCK_SIZE];
            let parent = hash_block(0, b / FANOUT);
            assert!(check_block(b"salt", block, parent, b % FANOUT));
            let mut changed = block.to_vec();
            changed[100] ^= 1;
            assert!(!check_block(b"salt", &changed, parent, b % FANOUT));
            assert!(!check_block(b"other", block, parent, b % FANOUT));
        }
        assert!(build_tree(&data[..100], b"").is_err());
        assert!(build_tree(&data, &[0; 257]).is_err());
    }
}
