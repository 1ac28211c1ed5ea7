//! File handles (name_to_handle_at/open_by_handle_at): a file named by what its filesystem
//! can find it by again, with no path, as Linux's exportfs encodes them.
//!
//! Two filesystems have handles, in Linux's formats:
//! - ext2: FILEID_INO32_GEN (type 1), 8 bytes: the inode number and its on-disk generation
//!   (the generic `export_encode_fh`). A handle of an inode no longer in use, or of another
//!   incarnation of the number, is stale.
//! - tmpfs: type 1 too, 12 bytes: the generation, then the 64-bit inode number in two halves
//!   (`shmem_encode_fh`). As shmem hashes an inode when a handle of it is first made, a node
//!   is entered in a table here then, with a random generation; a node that has lost its
//!   last name, or is gone, is stale. The in-memory root filesystem and devtmpfs are shmem
//!   in Linux too (the initramfs rootfs is a tmpfs), and have the same handles.
//!
//! Other filesystems (proc, sysfs, devpts, ramfs) have none: EOPNOTSUPP.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::{Node, NodeKind};
use crate::error::{Errno, SysResult};

/// The largest handle (Linux's MAX_HANDLE_SZ).
pub const MAX_HANDLE_SZ: usize = 128;
/// FILEID_INO32_GEN: ext2's handle type, and the one shmem reports.
const FILEID_INO32_GEN: i32 = 1;

/// Tmpfs nodes a handle was made of, by inode number (unique across the in-memory nodes),
/// with the generation their handles carry and their filesystem ([`shmem_fs`]).
static TMPFS_HANDLES: SpinLock<BTreeMap<u64, HandledNode>> = SpinLock::new(BTreeMap::new());

/// A node a handle was made of (weakly), its handles' generation, its filesystem.
type HandledNode = (Weak<Node>, u32, usize);

/// Which shmem-like filesystem an in-memory node is on, as an identity to compare: its
/// tmpfs instance, the devtmpfs mount, or the in-memory root (0); `None` for a node of
/// another filesystem.
fn shmem_fs(node: &Node) -> Option<usize> {
    if let Some(fs) = node.tmpfs() {
        return Some(Arc::as_ptr(fs) as usize);
    }
    if node.disk().is_some() || node.is_generated() {
        return None;
    }
    match super::mount::mount_of(node) {
        None => Some(0),
        Some(m) if m.fstype == "devtmpfs" => Some(Arc::as_ptr(&m.root) as usize),
        Some(_) => None,
    }
}

/// A file handle: its type and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    /// `handle_type`.
    pub kind: i32,
    /// `f_handle`.
    pub bytes: Vec<u8>,
}

/// Makes the handle of `node`.
///
/// # Errors
/// EOPNOTSUPP (ENOTSUP) on a filesystem without handles; what reading an ext2 inode fails
/// with.
pub fn encode(node: &Arc<Node>) -> SysResult<Handle> {
    if let Some(disk) = node.disk() {
        let generation = disk.mount().fs().generation(disk.ino())?;
        let mut bytes = Vec::with_capacity(8);
        bytes.extend_from_slice(&disk.ino().to_le_bytes());
        bytes.extend_from_slice(&generation.to_le_bytes());
        return Ok(Handle { kind: FILEID_INO32_GEN, bytes });
    }
    let fs = shmem_fs(node).ok_or(Errno::ENOTSUP)?;
    let ino = node.metadata().ino;
    let generation = {
        let mut table = TMPFS_HANDLES.lock();
        match table.get(&ino) {
            Some((weak, generation, _)) if weak.strong_count() > 0 => *generation,
            _ => {
                table.retain(|_, (weak, _, _)| weak.strong_count() > 0);
                let mut random = [0u8; 4];
                crate::random::fill(&mut random);
                let generation = u32::from_le_bytes(random);
                table.insert(ino, (Arc::downgrade(node), generation, fs));
                generation
            }
        }
    };
    let mut bytes = Vec::with_capacity(12);
    bytes.extend_from_slice(&generation.to_le_bytes());
    bytes.extend_from_slice(&(ino as u32).to_le_bytes());
    bytes.extend_from_slice(&((ino >> 32) as u32).to_le_bytes());
    Ok(Handle { kind: FILEID_INO32_GEN, bytes })
}

/// Finds the node `handle` names on the filesystem that `on` (a node of the mount the
/// caller named) is part of.
///
/// # Errors
/// ESTALE for a handle that names nothing there (now), as Linux's `exportfs_decode_fh`
/// answers whatever the reason.
pub fn decode(on: &Node, kind: i32, bytes: &[u8]) -> SysResult<Arc<Node>> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?))
    };
    if let Some(disk) = on.disk() {
        // generic_fh_to_dentry: FILEID_INO32_GEN or FILEID_INO32_GEN_PARENT.
        if !matches!(kind, 1 | 2) {
            return Err(Errno::ESTALE);
        }
        let (ino, generation) = word(0).zip(word(1)).ok_or(Errno::ESTALE)?;
        let mount = disk.mount();
        match mount.handle_generation(ino) {
            Ok(g) if g == generation => {}
            _ => return Err(Errno::ESTALE),
        }
        let node = mount.node(ino).map_err(|_| Errno::ESTALE)?;
        // A deleted file that nothing has open is gone for Linux (evicted), even while a
        // node of it lingers here until freed.
        if node.disk().is_some_and(|d| d.is_unlinked()) && !node.is_open() {
            return Err(Errno::ESTALE);
        }
        return Ok(node);
    }
    // shmem_fh_to_dentry looks at three words, whatever the type says.
    let (Some(fs), Some(generation), Some(low), Some(high)) =
        (shmem_fs(on), word(0), word(1), word(2))
    else {
        return Err(Errno::ESTALE);
    };
    let ino = u64::from(high) << 32 | u64::from(low);
    let (node, node_fs) = {
        let table = TMPFS_HANDLES.lock();
        let (weak, g, node_fs) = table.get(&ino).ok_or(Errno::ESTALE)?;
        if *g != generation {
            return Err(Errno::ESTALE);
        }
        (weak.upgrade().ok_or(Errno::ESTALE)?, *node_fs)
    };
    let same_fs = node_fs == fs;
    // A node with no name left has no dentry for shmem_find_alias to find. (A removed
    // directory keeps one link, its ".", until it goes.)
    let named = node.metadata().nlink > u32::from(node.kind() == NodeKind::Dir)
        || super::mount::is_mount_root(&node);
    if !same_fs || !named {
        return Err(Errno::ESTALE);
    }
    Ok(node)
}
