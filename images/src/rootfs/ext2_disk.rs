//! Writing a [`Tree`] to an ext2 disk image with the project's own ext2 crate (the one the
//! kernel mounts it with), reproducibly: the filesystem is formatted with a UUID derived
//! from the tree's contents and a time derived from its newest file, every directory is
//! written in byte order of its names (so inode numbers follow), and every inode takes its
//! times from the layer's `mtime`. Extended attributes go into each inode's attribute
//! block in name order, so the block's bytes follow from the attributes too. The same
//! tree gives the same bytes.
//!
//! The disk is built in memory ([`make_disk`]) and written out once (to a temporary name,
//! then renamed), so a failure leaves no half-written image behind.

use std::collections::BTreeMap;
use std::path::Path;

use ext2::{FileType, Filesystem, FormatParams, InodeNo, Owner, SetAttr};
use sha2::{Digest as _, Sha256};

use super::tree::{InodeId, Kind, Tree};

/// What [`write_disk`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSummary {
    /// The image's size in bytes.
    pub size: u64,
    /// Inodes written (hard links count once).
    pub inodes: usize,
    /// The filesystem UUID (from the tree's digest).
    pub uuid: [u8; 16],
    /// Extended attributes ext2 cannot hold, not written, as `path: name: reason`: an
    /// unknown namespace (only `user.`, `trusted.`, `security.` and `system.` are stored),
    /// a malformed POSIX ACL, or an attribute that no longer fits in the inode's one block
    /// (tried in name order, so a smaller one after it may still fit).
    pub dropped_xattrs: Vec<String>,
}

/// How big and what to call the disk.
#[derive(Debug, Clone, Default)]
pub struct DiskParams {
    /// The image size in bytes (`None`: the contents plus a margin, see [`estimate_size`]).
    pub size: Option<u64>,
    /// The volume label (at most 16 bytes).
    pub label: String,
}

const BLOCK: u64 = 4096;
const MIB: u64 = 1 << 20;

/// Writes `tree` as an ext2 filesystem image at `path`.
///
/// # Errors
/// As [`make_disk`], and the file that could not be written.
pub fn write_disk(tree: &Tree, path: &Path, params: &DiskParams) -> Result<DiskSummary, String> {
    let (bytes, summary) = make_disk(tree, params)?;
    write_atomically(path, &bytes)?;
    Ok(summary)
}

/// Writes `bytes` to `path` through a temporary name, so that no half-written file is left.
///
/// # Errors
/// The file that could not be written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Makes `tree` into an ext2 filesystem image, in memory.
///
/// # Errors
/// A message naming the path in the tree that could not be written: a symlink target
/// longer than a block, a disk too small for the contents.
pub fn make_disk(tree: &Tree, params: &DiskParams) -> Result<(Vec<u8>, DiskSummary), String> {
    let (inodes, data_blocks) = count(tree);
    let size = params.size.unwrap_or_else(|| estimate_size(inodes, data_blocks));
    if params.label.len() > 16 {
        return Err(format!("label {:?} is longer than 16 bytes", params.label));
    }
    let mut label = [0u8; 16];
    label[..params.label.len()].copy_from_slice(params.label.as_bytes());
    let uuid = tree_uuid(tree);
    // The filesystem's own times: the newest in the tree, at most what ext2 holds.
    let time = u32::try_from(tree.newest_mtime()).unwrap_or(u32::MAX);
    let format = FormatParams {
        block_size: BLOCK as u32,
        // Room for every inode, and a quarter more for what the guest creates.
        inodes: Some(u32::try_from(inodes + inodes / 4 + 64).map_err(|_| "too many files")?),
        reserved_percent: 0,
        label,
        uuid,
        time,
    };
    let device = vec![0u8; usize::try_from(size).map_err(|_| "disk too large")?];
    let mut fs = Filesystem::format(device, &format)
        .map_err(|e| format!("formatting a {} MiB disk: {e:?}", size / MIB))?;
    fs.set_time(time);
    let mut writer = Writer { tree, fs: &mut fs, written: BTreeMap::new(), dropped: Vec::new() };
    let root = writer.fs.root();
    writer.attrs(root, tree.root(), "/")?;
    writer.dir(tree.root(), root, "")?;
    let dropped_xattrs = std::mem::take(&mut writer.dropped);
    let written = writer.written.len() + 1;
    fs.sync().map_err(|e| format!("writing the filesystem's metadata: {e:?}"))?;
    let bytes = fs.into_device();
    Ok((bytes, DiskSummary { size, inodes: written, uuid, dropped_xattrs }))
}

/// A disk big enough for `inodes` and `data_blocks` of 4 KiB: the contents, an eighth more
/// for metadata and what the guest writes, at least 16 MiB spare, rounded up to a MiB.
pub fn estimate_size(inodes: usize, data_blocks: u64) -> u64 {
    let inode_tables = (inodes as u64 + inodes as u64 / 4 + 64) * 128;
    let bytes = data_blocks * BLOCK + inode_tables;
    (bytes + bytes / 8 + 16 * MIB).div_ceil(MIB) * MIB
}

struct Writer<'a> {
    tree: &'a Tree,
    fs: &'a mut Filesystem<Vec<u8>>,
    /// Tree inodes already written, and their ext2 numbers (for hard links).
    written: BTreeMap<InodeId, InodeNo>,
    dropped: Vec<String>,
}

impl Writer<'_> {
    /// Writes the entries of tree directory `id` into ext2 directory `dir`.
    fn dir(&mut self, id: InodeId, dir: InodeNo, prefix: &str) -> Result<(), String> {
        let Kind::Dir(entries) = &self.tree.inode(id).kind else { return Ok(()) };
        for (name, entry) in entries {
            let path = format!("{prefix}/{}", String::from_utf8_lossy(name));
            let fail = |e: ext2::Error| format!("{path}: {e:?}");
            if let Some(&ino) = self.written.get(&entry.inode) {
                self.fs.link(ino, dir, name).map_err(fail)?;
                continue;
            }
            let inode = self.tree.inode(entry.inode);
            let owner = Owner { perm: inode.mode as u16, uid: inode.uid, gid: inode.gid };
            let ino = match &inode.kind {
                Kind::Dir(_) => match self.fs.mkdir(dir, name, owner) {
                    // mkfs made lost+found already: the image's takes its place.
                    Err(ext2::Error::Exists) if dir == self.fs.root() => {
                        self.fs.lookup(dir, name).map_err(fail)?
                    }
                    other => other.map_err(fail)?,
                },
                Kind::File(data) => {
                    let ino = self.fs.create(dir, name, owner).map_err(fail)?;
                    let mut at = 0;
                    while at < data.len() {
                        let n = self.fs.write(ino, at as u64, &data[at..]).map_err(fail)?;
                        if n == 0 {
                            return Err(format!("{path}: the disk is full"));
                        }
                        at += n;
                    }
                    ino
                }
                Kind::Symlink(target) => self.fs.symlink(dir, name, target, owner).map_err(fail)?,
                Kind::CharDev { major, minor } => {
                    let rdev = encode_dev(*major, *minor);
                    self.fs.mknod(dir, name, FileType::CharDevice, owner, rdev).map_err(fail)?
                }
                Kind::BlockDev { major, minor } => {
                    let rdev = encode_dev(*major, *minor);
                    self.fs.mknod(dir, name, FileType::BlockDevice, owner, rdev).map_err(fail)?
                }
                Kind::Fifo => self.fs.mknod(dir, name, FileType::Fifo, owner, 0).map_err(fail)?,
            };
            self.written.insert(entry.inode, ino);
            if matches!(inode.kind, Kind::Dir(_)) {
                self.dir(entry.inode, ino, &path)?;
            }
            // After the children: adding them would move the directory's times again.
            self.attrs(ino, entry.inode, &path)?;
        }
        Ok(())
    }

    /// Sets extended attributes, owner, permissions and times (all three from the tree's
    /// `mtime`; last, because setting an attribute moves the change time).
    fn attrs(&mut self, ino: InodeNo, id: InodeId, path: &str) -> Result<(), String> {
        let inode = self.tree.inode(id);
        for (name, value) in &inode.xattrs {
            match self.fs.set_xattr(ino, name.as_bytes(), value) {
                Ok(()) => {}
                // An attribute ext2 cannot hold should not stop the image: it is left
                // out and reported (`images build` warns about each one).
                Err(
                    e @ (ext2::Error::UnknownAttributeNamespace
                    | ext2::Error::AttributesTooLarge { .. }
                    | ext2::Error::NameTooLong
                    | ext2::Error::InvalidArgument(_)),
                ) => self.dropped.push(format!("{path}: {name}: {e}")),
                Err(e) => return Err(format!("{path}: extended attribute {name}: {e}")),
            }
        }
        let time = u32::try_from(inode.mtime).unwrap_or(u32::MAX);
        let attr = SetAttr {
            perm: Some(inode.mode as u16),
            uid: Some(inode.uid),
            gid: Some(inode.gid),
            atime: Some(time),
            mtime: Some(time),
            ctime: Some(time),
        };
        self.fs.set_attr(ino, &attr).map_err(|e| format!("{path}: {e:?}"))?;
        Ok(())
    }
}

/// Linux's `new_encode_dev`.
fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

/// Inodes and data blocks (with indirect blocks) the tree needs.
fn count(tree: &Tree) -> (usize, u64) {
    let mut seen = std::collections::BTreeSet::new();
    let mut blocks = 0u64;
    let mut stack = vec![tree.root()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        blocks += match &tree.inode(id).kind {
            Kind::File(data) => {
                let n = (data.len() as u64).div_ceil(BLOCK);
                n + n.div_ceil(1024)
            }
            Kind::Dir(entries) => {
                stack.extend(entries.values().map(|e| e.inode));
                let bytes: u64 = entries.keys().map(|k| 8 + (k.len() as u64).div_ceil(4) * 4).sum();
                (bytes + 24).div_ceil(BLOCK).max(1)
            }
            Kind::Symlink(target) if target.len() >= 60 => 1,
            _ => 0,
        };
        // An inode with extended attributes has a block of them.
        blocks += u64::from(!tree.inode(id).xattrs.is_empty());
    }
    (seen.len(), blocks)
}

/// A UUID (RFC 9562 version 8: custom) from a SHA-256 of every path, its metadata,
/// contents and extended attributes, in walk order.
fn tree_uuid(tree: &Tree) -> [u8; 16] {
    let mut h = Sha256::new();
    walk(tree, &mut |path, id| {
        let inode = tree.inode(id);
        h.update(path.as_bytes());
        h.update([0]);
        h.update(format!("{:o} {} {} {}", inode.mode, inode.uid, inode.gid, inode.mtime));
        match &inode.kind {
            Kind::File(data) => h.update(Sha256::digest(data)),
            Kind::Symlink(target) => h.update(target),
            Kind::CharDev { major, minor } | Kind::BlockDev { major, minor } => {
                h.update(format!("{major}:{minor}"));
            }
            Kind::Dir(_) | Kind::Fifo => {}
        }
        // Hashed only when present, so trees without attributes keep their UUIDs.
        for (name, value) in &inode.xattrs {
            h.update(b"\0xattr ");
            h.update(name);
            h.update([0]);
            h.update(Sha256::digest(value));
        }
    });
    let digest = h.finalize();
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&digest[..16]);
    uuid[6] = (uuid[6] & 0x0f) | 0x80;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

/// Calls `f(path, id)` for every name in the tree, directories before their entries, names
/// in byte order.
fn walk(tree: &Tree, f: &mut dyn FnMut(&str, InodeId)) {
    fn go(tree: &Tree, id: InodeId, path: &str, f: &mut dyn FnMut(&str, InodeId)) {
        f(path, id);
        if let Kind::Dir(entries) = &tree.inode(id).kind {
            for (name, entry) in entries {
                let child =
                    format!("{}/{}", path.trim_end_matches('/'), String::from_utf8_lossy(name));
                go(tree, entry.inode, &child, f);
            }
        }
    }
    go(tree, tree.root(), "/", f);
}
