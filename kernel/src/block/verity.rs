//! A disk checked against its hash tree (dm-verity's format, `guest_image::verity`): every
//! 4096-byte block read from the device under it is hashed and compared with the digest the
//! tree holds for it, and every hash block with the level above, up to the root hash from
//! the command line (`verity.root=`, `verity.salt=`, `verity.data_blocks=`). A block that
//! does not match is EIO, logged once with its number; nothing unverified ever reaches the
//! filesystem. The device is read-only, and as large as the data the tree covers.
//!
//! The root hash is on the command line, which the firmware measures (and the kernel's own
//! `cocoon.cmdline` event), so a verifier that checks the command line has checked every
//! byte the guest will ever read from its root disk, without the guest hashing it at boot.
//!
//! Verified hash blocks are kept, at most [`CACHED_HASH_BLOCKS`] (leaves are dropped first
//! when it is full, and checked again from their parent when needed); data blocks are
//! verified on each read, and the page cache above keeps what was read.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use guest_image::verity::{BLOCK_SIZE, FANOUT, Geometry, VerityParams, check_block, digest};
use ostd::sync::SpinLock;

use super::{BlockDevice, SECTOR_SIZE};
use crate::error::{Errno, SysResult};

const SECTORS_PER_BLOCK: u64 = (BLOCK_SIZE / SECTOR_SIZE) as u64;

/// Hash blocks kept verified (4 MiB): the upper levels of any tree, and the leaves of about
/// 2 GiB of data.
pub const CACHED_HASH_BLOCKS: usize = 1024;

/// Bad blocks logged one by one; after that, only a count (a host that corrupts the whole
/// disk does not fill the log or memory).
const REPORTED_MAX: usize = 64;

/// A checked hash block's bytes, shared with the readers that use it.
type HashBlock = Arc<Vec<u8>>;

/// A disk whose reads are checked against a hash tree.
pub struct VerityDisk {
    inner: Arc<dyn BlockDevice>,
    params: VerityParams,
    geometry: Geometry,
    /// Hash blocks already checked, by (level, index).
    verified: SpinLock<BTreeMap<(usize, u64), HashBlock>>,
    /// Blocks reported bad (each is logged once, up to [`REPORTED_MAX`]).
    reported: SpinLock<BTreeMap<u64, ()>>,
}

impl VerityDisk {
    /// Checks `inner` under `params`: the device must hold the data and the whole tree.
    ///
    /// # Errors
    /// EINVAL if the parameters do not describe a tree, or the device is too small for it.
    pub fn new(inner: Arc<dyn BlockDevice>, params: VerityParams) -> SysResult<Self> {
        let geometry = Geometry::new(params.data_blocks).map_err(|_| Errno::EINVAL)?;
        // data_blocks comes from the command line: no arithmetic on it may wrap.
        let needed = geometry
            .data_blocks
            .checked_add(geometry.hash_blocks())
            .and_then(|blocks| blocks.checked_mul(SECTORS_PER_BLOCK));
        let Some(needed) = needed.filter(|&n| n <= inner.sectors()) else {
            log::error!(
                "verity: the disk has {} sectors, fewer than {} data blocks and their tree need",
                inner.sectors(),
                geometry.data_blocks
            );
            return Err(Errno::EINVAL);
        };
        if inner.logical_block_size() > BLOCK_SIZE {
            return Err(Errno::EINVAL);
        }
        log::info!(
            "verity: {} data blocks, tree of {} blocks, {needed} sectors",
            geometry.data_blocks,
            geometry.hash_blocks()
        );
        let verified = SpinLock::new(BTreeMap::new());
        Ok(Self { inner, params, geometry, verified, reported: SpinLock::new(BTreeMap::new()) })
    }

    /// Reads block `block` of the device under this one (data or hash area).
    fn read_raw(&self, block: u64) -> SysResult<Vec<u8>> {
        let mut buf = vec![0u8; BLOCK_SIZE];
        self.inner.read(block * SECTORS_PER_BLOCK, &mut buf)?;
        Ok(buf)
    }

    /// Returns hash block `index` of `level`, checked against the level above (or the root
    /// hash). Recursion is bounded by the tree's depth.
    fn hash_block(&self, level: usize, index: u64) -> SysResult<Arc<Vec<u8>>> {
        if let Some(block) = self.verified.lock().get(&(level, index)) {
            return Ok(block.clone());
        }
        let at = self.geometry.hash_block_at(level, index).ok_or(Errno::EIO)?;
        let block = self.read_raw(at)?;
        let salt = &self.params.salt;
        let good = if level == self.geometry.top() {
            digest(salt, &block) == self.params.root
        } else {
            let parent = self.hash_block(level + 1, index / FANOUT)?;
            check_block(salt, &block, &parent, index % FANOUT)
        };
        if !good {
            self.report(at, "hash");
            return Err(Errno::EIO);
        }
        let block = Arc::new(block);
        let mut verified = self.verified.lock();
        if verified.len() >= CACHED_HASH_BLOCKS {
            // Drop a leaf (the lowest level there is), keeping the levels above.
            if let Some(&key) = verified.keys().next() {
                verified.remove(&key);
            }
        }
        verified.insert((level, index), block.clone());
        Ok(block)
    }

    /// Reads data block `block`, checked.
    fn data_block(&self, block: u64) -> SysResult<Vec<u8>> {
        let data = self.read_raw(block)?;
        let leaf = self.hash_block(0, block / FANOUT)?;
        if !check_block(&self.params.salt, &data, &leaf, block % FANOUT) {
            self.report(block, "data");
            return Err(Errno::EIO);
        }
        Ok(data)
    }

    fn report(&self, block: u64, what: &str) {
        let mut reported = self.reported.lock();
        if reported.len() >= REPORTED_MAX || reported.contains_key(&block) {
            return;
        }
        reported.insert(block, ());
        log::error!("verity: {what} block {block} does not match the hash tree: EIO");
        if reported.len() == REPORTED_MAX {
            log::error!("verity: {REPORTED_MAX} bad blocks; no more are logged");
        }
    }
}

impl BlockDevice for VerityDisk {
    fn sectors(&self) -> u64 {
        self.params.data_blocks * SECTORS_PER_BLOCK
    }

    fn logical_block_size(&self) -> usize {
        // The unit checked: a smaller read would hash a whole block all the same.
        BLOCK_SIZE
    }

    fn read_only(&self) -> bool {
        true
    }

    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()> {
        if !buf.len().is_multiple_of(SECTOR_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = sector
            .checked_add((buf.len() / SECTOR_SIZE) as u64)
            .filter(|&end| end <= self.sectors())
            .ok_or(Errno::EIO)?;
        let mut at = sector;
        let mut done = 0;
        while at < end {
            let block = at / SECTORS_PER_BLOCK;
            let data = self.data_block(block)?;
            let from = ((at % SECTORS_PER_BLOCK) as usize) * SECTOR_SIZE;
            let n = (BLOCK_SIZE - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&data[from..from + n]);
            done += n;
            at += (n / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    fn write(&self, _sector: u64, _buf: &[u8]) -> SysResult<()> {
        Err(Errno::EROFS)
    }

    fn flush(&self) -> SysResult<()> {
        Ok(())
    }
}

/// Reads `verity.root=`, `verity.salt=` and `verity.data_blocks=` from the command line
/// ([`VerityParams::parse`]); `None` without `verity.root=`.
///
/// # Errors
/// The name of the parameter that is missing or malformed.
pub fn params_from_cmdline(
    cmdline: &ostd::boot::Cmdline,
) -> Option<Result<VerityParams, &'static str>> {
    let root = cmdline.value("verity.root")?;
    Some(VerityParams::parse(
        root,
        cmdline.value("verity.salt"),
        cmdline.value("verity.data_blocks"),
    ))
}

ostd::ktest! {
    fn a_verity_disk_returns_checked_blocks_and_eio_for_a_changed_one() {
        // 20 data blocks and their tree on a memory disk.
        let mut data: Vec<u8> = (0..20 * BLOCK_SIZE).map(|i| (i % 251) as u8).collect();
        let (tree, params) = guest_image::verity::build_tree(&data, b"ktest").unwrap();
        data.extend_from_slice(&tree);
        data[7 * BLOCK_SIZE + 3] ^= 0x40;
        let disk: Arc<dyn BlockDevice> = Arc::new(super::mem::MemDisk::new(data, true));
        let verity = VerityDisk::new(disk, params).unwrap();
        assert_eq!(verity.sectors(), 20 * SECTORS_PER_BLOCK);
        let mut buf = vec![0u8; 2 * BLOCK_SIZE];
        verity.read(0, &mut buf).unwrap();
        assert_eq!(buf[BLOCK_SIZE + 5], ((BLOCK_SIZE + 5) % 251) as u8);
        // A read that ends in block 7 fails; one that stops before it does not.
        let mut part = vec![0u8; 3 * SECTOR_SIZE];
        verity.read(6 * SECTORS_PER_BLOCK + 5, &mut part).unwrap();
        assert_eq!(verity.read(6 * SECTORS_PER_BLOCK + 6, &mut part), Err(Errno::EIO));
        assert_eq!(verity.read(20 * SECTORS_PER_BLOCK, &mut part), Err(Errno::EIO), "past the data");
        assert_eq!(verity.write(0, &part), Err(Errno::EROFS));
        assert_eq!(verity.read(0, &mut part[..100]), Err(Errno::EINVAL), "not whole sectors");
    }

    fn a_verity_disk_refuses_a_changed_hash_block_a_wrong_root_and_a_short_device() {
        let data: Vec<u8> = (0..300 * BLOCK_SIZE).map(|i| (i % 241) as u8).collect();
        let (tree, params) = guest_image::verity::build_tree(&data, b"s").unwrap();
        let disk = |tree_change: Option<usize>, cut: usize| -> Arc<dyn BlockDevice> {
            let mut bytes = data.clone();
            bytes.extend_from_slice(&tree);
            if let Some(at) = tree_change {
                bytes[data.len() + at] ^= 1;
            }
            bytes.truncate(bytes.len() - cut);
            Arc::new(super::mem::MemDisk::new(bytes, true))
        };
        let mut buf = vec![0u8; BLOCK_SIZE];
        // The top block is first in the tree area; a leaf after it (300 blocks: 3 leaves).
        let top_changed = VerityDisk::new(disk(Some(10), 0), params.clone()).unwrap();
        assert_eq!(top_changed.read(0, &mut buf), Err(Errno::EIO));
        let leaf_changed = VerityDisk::new(disk(Some(BLOCK_SIZE + 40), 0), params.clone()).unwrap();
        assert_eq!(leaf_changed.read(0, &mut buf), Err(Errno::EIO), "block 0's leaf changed");
        leaf_changed.read(200 * SECTORS_PER_BLOCK, &mut buf).unwrap();
        let mut wrong_root = params.clone();
        wrong_root.root[0] ^= 1;
        assert_eq!(VerityDisk::new(disk(None, 0), wrong_root).unwrap().read(0, &mut buf), Err(Errno::EIO));
        let mut wrong_salt = params.clone();
        wrong_salt.salt = alloc::vec![b't'];
        assert_eq!(VerityDisk::new(disk(None, 0), wrong_salt).unwrap().read(0, &mut buf), Err(Errno::EIO));
        assert!(VerityDisk::new(disk(None, SECTOR_SIZE), params.clone()).is_err(), "short device");
        let mut huge = params;
        huge.data_blocks = u64::MAX / 2;
        assert!(VerityDisk::new(disk(None, 0), huge).is_err(), "no wrapping size");
    }
}
