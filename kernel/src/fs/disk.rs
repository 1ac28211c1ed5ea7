//! Filesystems whose inodes live on a disk: the operations the VFS asks of them
//! ([`DiskFs`]), and the table that gives each on-disk inode one [`Node`] while it is in use
//! ([`DiskMount`]).
//!
//! A disk inode's [`Node`] holds a copy of its metadata, refreshed from the filesystem after
//! every operation that changes it, so `stat` costs no disk access. Directory entries are not
//! cached here: a lookup asks the filesystem, which reads through the block cache.
//!
//! A file that loses its last name while it is open stays on the disk with no names until
//! its node is dropped (the last close); the node then queues the inode, and the next
//! operation on the mount frees it ([`DiskFs::release`]).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::node::{Metadata, Node, NodeKind};
use crate::block::{ReadTarget, WriteData};
use crate::error::{Errno, SysResult};

/// An inode as the filesystem reports it.
#[derive(Clone, Copy, Debug)]
pub struct DiskStat {
    /// File type (and device number).
    pub kind: NodeKind,
    /// Permissions, owners, link count, times (`ino` is the on-disk inode number).
    pub meta: Metadata,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte units allocated.
    pub blocks: u64,
}

/// What `statfs` reports for a disk filesystem.
#[derive(Clone, Copy, Debug)]
pub struct DiskStatFs {
    /// `f_type`.
    pub magic: u64,
    /// Block size in bytes.
    pub block_size: u64,
    /// Blocks that can hold files (without the metadata overhead).
    pub blocks: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Free blocks that unprivileged users may take.
    pub available_blocks: u64,
    /// Inodes.
    pub files: u64,
    /// Free inodes.
    pub free_files: u64,
    /// Whether the mount is read-only.
    pub read_only: bool,
}

/// What setxattr(2)'s flags ask when the attribute exists or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrMode {
    /// Create or replace.
    Any,
    /// XATTR_CREATE: EEXIST if it exists.
    Create,
    /// XATTR_REPLACE: ENODATA if it does not.
    Replace,
    /// Both flags: EEXIST if it exists, ENODATA if it does not.
    Neither,
}

/// The operations of one mounted disk filesystem, by inode number. Each checks what the disk
/// says before using it; a damaged disk gives EUCLEAN (logged), a failed device EIO.
pub trait DiskFs: Send + Sync {
    /// The root directory's inode number.
    fn root(&self) -> u32;
    /// Reads an inode's metadata.
    fn stat(&self, ino: u32) -> SysResult<DiskStat>;
    /// Finds `name` in directory `dir`.
    fn lookup(&self, dir: u32, name: &str) -> SysResult<u32>;
    /// Lists directory `dir` (without `.` and `..`).
    fn read_dir(&self, dir: u32) -> SysResult<Vec<(String, u32)>>;
    /// Creates `name` in `dir`: a file, directory, symlink (to `target`), device node, FIFO
    /// or socket, owned by root with permissions `perm`.
    fn create(
        &self,
        dir: u32,
        name: &str,
        kind: NodeKind,
        perm: u32,
        target: &str,
    ) -> SysResult<u32>;
    /// Adds the name `name` in `dir` for inode `ino`.
    fn link(&self, ino: u32, dir: u32, name: &str) -> SysResult<()>;
    /// Removes `name` from `dir`: a directory (empty) if `is_dir`, else anything else.
    fn unlink(&self, dir: u32, name: &str, is_dir: bool) -> SysResult<()>;
    /// Moves `src_dir/src_name` to `dst_dir/dst_name`, replacing what is there.
    fn rename(&self, src_dir: u32, src_name: &str, dst_dir: u32, dst_name: &str) -> SysResult<()>;
    /// Swaps `a_dir/a_name` and `b_dir/b_name` (RENAME_EXCHANGE).
    fn exchange(&self, a: (u32, &str), b: (u32, &str)) -> SysResult<()>;
    /// Reads file data.
    fn read(&self, ino: u32, offset: u64, buf: &mut [u8]) -> SysResult<usize>;
    /// Reads `target.len()` bytes of file data at `offset` straight from the device into
    /// `target`, leaving no copy in any cache (O_DIRECT); returns the bytes read. No lock of
    /// the filesystem may be held while bytes go into a user target (a fault there may read
    /// this filesystem). A filesystem without a direct path reads as [`DiskFs::read`].
    fn read_direct(&self, ino: u32, offset: u64, target: &mut ReadTarget<'_>) -> SysResult<usize> {
        let len = target.len();
        target.fill_with(0, len, |buf| self.read(ino, offset, buf))
    }
    /// Writes file data, growing the file.
    fn write(&self, ino: u32, offset: u64, buf: &[u8]) -> SysResult<usize>;
    /// Writes file data and puts it on the device before returning (O_DIRECT; the
    /// metadata may stay cached). A filesystem without a direct path writes as
    /// [`DiskFs::write`].
    fn write_direct(&self, ino: u32, offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.write(ino, offset, buf)
    }
    /// A buffer for a direct write of `len` bytes from user memory, to be filled before
    /// [`DiskFs::write_prepared`] takes any lock (the device's bounce buffer where it has
    /// one, so that the bytes are copied once). `None` if the filesystem has no such path.
    fn prepare_write(&self, _len: usize) -> Option<SysResult<WriteData>> {
        None
    }
    /// Writes the bytes of `data` (from [`DiskFs::prepare_write`]) at `offset`, straight to
    /// the device; the file grows to cover what reached it. Returns the bytes written, or
    /// `None` if the filesystem cannot write this range so (a hole inside the file): the
    /// caller then writes it through the cache with [`DiskFs::write_direct`].
    fn write_prepared(&self, ino: u32, offset: u64, data: &WriteData) -> SysResult<Option<usize>> {
        self.write_direct(ino, offset, data.memory(0, data.len())?).map(Some)
    }
    /// Sets a file's length.
    fn truncate(&self, ino: u32, len: u64) -> SysResult<()>;
    /// Reads a symlink's target.
    fn readlink(&self, ino: u32) -> SysResult<String>;
    /// Stores permissions, owners and times from `meta`.
    fn set_attr(&self, ino: u32, meta: &Metadata) -> SysResult<()>;
    /// The generation number of inode `ino` for a file handle: ESTALE for a number that
    /// is out of range, reserved or not in use. A filesystem without handles answers
    /// EOPNOTSUPP.
    fn generation(&self, _ino: u32) -> SysResult<u32> {
        Err(Errno::ENOTSUP)
    }
    /// Frees an inode that has no names and is no longer open.
    fn release(&self, ino: u32) -> SysResult<()>;
    /// Reports the filesystem's counts.
    fn statfs(&self) -> DiskStatFs;
    /// Writes everything back to the disk and flushes it.
    fn sync(&self) -> SysResult<()>;
    /// Whether anything changed since the last write-back.
    fn has_dirty(&self) -> bool;
    /// Switches the mount between read-only and read-write (writing back first when it
    /// becomes read-only).
    fn remount(&self, read_only: bool) -> SysResult<()>;
    /// Called at unmount, after the last sync.
    fn unmount(&self) {}
    /// An inode's extended-attribute names (full, with their namespace prefix). A
    /// filesystem that stores none has none.
    fn list_xattrs(&self, _ino: u32) -> SysResult<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
    /// One attribute's value (ENODATA if it has none of that name).
    fn get_xattr(&self, _ino: u32, _name: &[u8]) -> SysResult<Vec<u8>> {
        Err(Errno::ENOTSUP)
    }
    /// Sets an attribute, as `mode` allows (EEXIST, ENODATA), updating ctime.
    fn set_xattr(&self, _ino: u32, _name: &[u8], _value: &[u8], _mode: XattrMode) -> SysResult<()> {
        Err(Errno::ENOTSUP)
    }
    /// Removes an attribute (ENODATA if there is none of that name), updating ctime.
    fn remove_xattr(&self, _ino: u32, _name: &[u8]) -> SysResult<()> {
        Err(Errno::ENOTSUP)
    }
}

/// One mounted disk filesystem and the nodes of its inodes in use.
pub struct DiskMount {
    fs: Arc<dyn DiskFs>,
    /// `st_dev` of every inode on it (the disk's device number).
    dev: u64,
    nodes: SpinLock<BTreeMap<u32, Weak<Node>>>,
    /// Inodes with no names whose last node was dropped, to be freed.
    released: SpinLock<Vec<u32>>,
}

/// The part of a [`Node`] that ties it to an on-disk inode.
pub struct DiskInode {
    mount: Arc<DiskMount>,
    ino: u32,
    size: AtomicU64,
    blocks: AtomicU64,
    /// Set once a non-directory has no names left: it is freed after its last close.
    unlinked: AtomicBool,
    /// Set when a directory is removed (the filesystem frees it at once).
    removed: AtomicBool,
    is_dir: bool,
    /// A directory's parent, held strongly (as a Linux dentry pins its parent): nothing else
    /// keeps the nodes above a working directory alive, and `..` must still find them. No
    /// cycle: a disk directory does not hold its children (the mount's table is weak).
    parent: SpinLock<Option<Arc<Node>>>,
}

impl DiskMount {
    /// Starts using `fs`, whose inodes report device number `dev`.
    pub fn new(fs: Arc<dyn DiskFs>, dev: u64) -> Arc<Self> {
        Arc::new(Self {
            fs,
            dev,
            nodes: SpinLock::new(BTreeMap::new()),
            released: SpinLock::new(Vec::new()),
        })
    }

    /// Returns the filesystem.
    pub fn fs(&self) -> &dyn DiskFs {
        &*self.fs
    }

    /// Returns the root directory's node.
    pub fn root(self: &Arc<Self>) -> SysResult<Arc<Node>> {
        self.node(self.fs.root())
    }

    /// Returns the node of inode `ino`: the one in use, or a new one read from the disk.
    pub fn node(self: &Arc<Self>, ino: u32) -> SysResult<Arc<Node>> {
        self.free_released();
        if let Some(node) = self.nodes.lock().get(&ino).and_then(Weak::upgrade) {
            return Ok(node);
        }
        let stat = self.fs.stat(ino)?;
        let disk = DiskInode {
            mount: self.clone(),
            ino,
            size: AtomicU64::new(stat.size),
            blocks: AtomicU64::new(stat.blocks),
            unlinked: AtomicBool::new(stat.meta.nlink == 0 && stat.kind != NodeKind::Dir),
            removed: AtomicBool::new(false),
            is_dir: stat.kind == NodeKind::Dir,
            parent: SpinLock::new(None),
        };
        let node = Node::new_disk(stat.kind, stat.meta, disk);
        let mut nodes = self.nodes.lock();
        // Another task may have made the node meanwhile; there must be only one.
        if let Some(existing) = nodes.get(&ino).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        nodes.retain(|_, weak| weak.strong_count() > 0);
        nodes.insert(ino, Arc::downgrade(&node));
        Ok(node)
    }

    /// Returns the generation of inode `ino` for a file handle, once the inodes whose last
    /// node went are freed (a closed, deleted file's handle is stale).
    pub fn handle_generation(&self, ino: u32) -> SysResult<u32> {
        self.free_released();
        self.fs.generation(ino)
    }

    /// Writes everything back (sync, fsync, syncfs, unmount).
    pub fn sync(&self) -> SysResult<()> {
        self.free_released();
        self.fs.sync()
    }

    /// Writes back if anything changed since the last write-back (the periodic flusher).
    pub fn sync_if_dirty(&self) -> SysResult<()> {
        let released = !self.released.lock().is_empty();
        if released || self.fs.has_dirty() { self.sync() } else { Ok(()) }
    }

    /// Returns `st_dev` for the inodes on this mount.
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// Returns whether any inode of this mount other than `root` is in use (EBUSY at
    /// unmount); an inotify watch alone does not count, as on Linux.
    pub fn busy(&self, root: &Arc<Node>) -> bool {
        let nodes: Vec<Arc<Node>> = self.nodes.lock().values().filter_map(Weak::upgrade).collect();
        nodes.iter().any(|n| !Arc::ptr_eq(n, root) && !super::notify::vfs::only_watched(n))
    }

    fn free_released(&self) {
        let released = core::mem::take(&mut *self.released.lock());
        for ino in released {
            if let Err(e) = self.fs.release(ino) {
                log::warn!("disk inode {ino}: not freed after its last close: {e:?}");
            }
        }
    }
}

impl DiskInode {
    /// Returns the mount the inode is on.
    pub fn mount(&self) -> &Arc<DiskMount> {
        &self.mount
    }

    /// Returns the on-disk inode number.
    pub fn ino(&self) -> u32 {
        self.ino
    }

    /// Returns the size in bytes as last read.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// Returns the 512-byte units allocated, as last read.
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::Relaxed)
    }

    /// Returns whether the inode has lost its last name.
    pub fn is_unlinked(&self) -> bool {
        self.unlinked.load(Ordering::Relaxed)
    }

    /// Re-reads the inode; returns its metadata for the node to keep.
    pub fn refresh(&self) -> SysResult<Metadata> {
        let stat = self.mount.fs.stat(self.ino)?;
        self.size.store(stat.size, Ordering::Relaxed);
        self.blocks.store(stat.blocks, Ordering::Relaxed);
        if stat.meta.nlink == 0 && !self.is_dir {
            self.unlinked.store(true, Ordering::Relaxed);
        }
        Ok(stat.meta)
    }

    /// Marks a directory as removed. The filesystem has freed its inode, so the number may
    /// soon name another file: the mount forgets this node, and nothing is created in it.
    /// `node` is the node this inode belongs to.
    pub fn mark_removed(&self, node: &Arc<Node>) {
        self.removed.store(true, Ordering::Relaxed);
        let mut nodes = self.mount.nodes.lock();
        if nodes.get(&self.ino).is_some_and(|w| w.as_ptr() == Arc::as_ptr(node)) {
            nodes.remove(&self.ino);
        }
    }

    /// Records a directory's parent (lookup, create, rename, mount).
    pub fn set_parent(&self, parent: Arc<Node>) {
        if self.is_dir {
            *self.parent.lock() = Some(parent);
        }
    }

    /// Returns a directory's parent, if one was recorded.
    pub fn parent(&self) -> Option<Arc<Node>> {
        self.parent.lock().clone()
    }

    /// Returns whether this is a removed directory.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Relaxed)
    }
}

impl Drop for DiskInode {
    fn drop(&mut self) {
        // Freeing needs the disk, and a node can be dropped with spin locks held: queue it.
        if self.is_unlinked() {
            self.mount.released.lock().push(self.ino);
        }
    }
}

/// Moves `old_dir/old_name` to `new_dir/new_name` on a disk filesystem (the checks of
/// [`super::entries::rename`] done); both directories must be on the same one (EXDEV).
/// Swaps two entries of one disk filesystem (RENAME_EXCHANGE) and refreshes the nodes:
/// EXDEV across filesystems.
pub fn exchange_on_disk(
    (a_dir, a_name, a): (&Arc<Node>, &str, &Arc<Node>),
    (b_dir, b_name, b): (&Arc<Node>, &str, &Arc<Node>),
) -> SysResult<()> {
    let (Some(first), Some(second)) = (a_dir.disk(), b_dir.disk()) else {
        return Err(Errno::EXDEV);
    };
    if !Arc::ptr_eq(first.mount(), second.mount()) {
        return Err(Errno::EXDEV);
    }
    first.mount().fs().exchange((first.ino(), a_name), (second.ino(), b_name))?;
    a.set_parent(b_dir);
    b.set_parent(a_dir);
    for node in [a, b, a_dir, b_dir] {
        node.refresh()?;
    }
    Ok(())
}

pub fn rename_on_disk(
    old_dir: &Arc<Node>,
    old_name: &str,
    new_dir: &Arc<Node>,
    new_name: &str,
) -> SysResult<()> {
    super::node::check_name(new_name)?;
    let (Some(from), Some(to)) = (old_dir.disk(), new_dir.disk()) else {
        return Err(Errno::EXDEV);
    };
    if !Arc::ptr_eq(from.mount(), to.mount()) {
        return Err(Errno::EXDEV);
    }
    if to.is_removed() {
        return Err(Errno::ENOENT);
    }
    let node = old_dir.lookup(old_name)?;
    let replaced = new_dir.lookup(new_name).ok();
    from.mount().fs().rename(from.ino(), old_name, to.ino(), new_name)?;
    node.set_parent(new_dir);
    if let Some(r) = replaced {
        match r.disk() {
            Some(rd) if r.kind() == NodeKind::Dir => rd.mark_removed(&r),
            _ => r.refresh()?,
        }
    }
    node.refresh()?;
    old_dir.refresh()?;
    new_dir.refresh()
}
