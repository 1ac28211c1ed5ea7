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
//! Verified hash blocks are kept (at most the tree's size, 1/128 of the data); data blocks
//! are verified on each read, and the page cache above keeps what was read.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use guest_image::verity::{BLOCK_SIZE, FANOUT, Geometry, VerityParams, check_block, digest};
use ostd::sync::SpinLock;

use super::{BlockDevice, SECTOR_SIZE};
use crate::error::{Errno, SysResult};

const SECTORS_PER_BLOCK: u64 = (BLOCK_SIZE / SECTOR_SIZE) as u64;

/// A disk whose reads are checked against a hash tree.
pub struct VerityDisk {
    inner: Arc<dyn BlockDevice>,
    params: VerityParams,
    geometry: Geometry,
    /// Hash blocks already checked, by (level, index).
    verified: SpinLock<BTreeMap<(usize, u64), Arc<Vec<u8>>>>,
    /// Blocks reported bad (each is logged once).
    reported: SpinLock<BTreeMap<u64, ()>>,
}

impl VerityDisk {
    /// Checks `inner` under `params`: the device must hold the data and the whole tree.
    ///
    /// # Errors
    /// EINVAL if the parameters do not describe a tree, or the device is too small for it.
    pub fn new(inner: Arc<dyn BlockDevice>, params: VerityParams) -> SysResult<Self> {
        let geometry = Geometry::new(params.data_blocks).map_err(|_| Errno::EINVAL)?;
        let needed = (geometry.data_blocks + geometry.hash_blocks()) * SECTORS_PER_BLOCK;
        if inner.sectors() < needed || inner.logical_block_size() > BLOCK_SIZE {
            log::error!(
                "verity: the disk has {} sectors, the data and its tree need {needed}",
                inner.sectors()
            );
            return Err(Errno::EINVAL);
        }
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
        self.verified.lock().insert((level, index), block.clone());
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
        if self.reported.lock().insert(block, ()).is_none() {
            log::error!("verity: {what} block {block} does not match the hash tree: EIO");
        }
    }
}

impl BlockDevice for VerityDisk {
    fn sectors(&self) -> u64 {
        self.params.data_blocks * SECTORS_PER_BLOCK
    }

    fn logical_block_size(&self) -> usize {
        self.inner.logical_block_size()
    }

    fn read_only(&self) -> bool {
        true
    }

    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()> {
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

/// Reads `verity.root=` (64 hex digits), `verity.salt=` (hex, may be empty) and
/// `verity.data_blocks=` from the command line; `None` without `verity.root=`.
///
/// # Errors
/// The name of the parameter that is missing or malformed.
pub fn params_from_cmdline(
    cmdline: &ostd::boot::Cmdline,
) -> Option<Result<VerityParams, &'static str>> {
    let root = cmdline.value("verity.root")?;
    Some((|| {
        let root: [u8; 32] =
            unhex(root).and_then(|r| r.try_into().ok()).ok_or("verity.root (64 hex digits)")?;
        let salt = unhex(cmdline.value("verity.salt").unwrap_or("")).ok_or("verity.salt (hex)")?;
        if salt.len() > guest_image::verity::MAX_SALT {
            return Err("verity.salt (at most 256 bytes)");
        }
        let data_blocks = cmdline
            .value("verity.data_blocks")
            .and_then(|n| n.parse().ok())
            .ok_or("verity.data_blocks (a block count)")?;
        Ok(VerityParams { root, salt, data_blocks })
    })())
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
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
    }
}
