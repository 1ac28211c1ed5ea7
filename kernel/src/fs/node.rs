//! Inodes of the in-memory filesystem (ramfs/tmpfs).
//!
//! Every node keeps its metadata under a spin lock and its contents under a sleeping
//! mutex (file data, directory entries). Directories hold strong references to children
//! and a weak one to their parent, so `..` works and unlinked subtrees are freed.

pub use super::generated::Generated;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use ostd::sync::{Mutex, SpinLock};

use super::disk::DiskInode;
use super::page_cache::PageCache;
use super::tmpfs::Tmpfs;
use crate::error::{Errno, SysResult};

mod data;

/// What kind of file a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device, with its device number.
    CharDev(u32),
    /// A block device (a disk), with its device number.
    BlockDev(u32),
    /// A named pipe.
    Fifo,
    /// A Unix socket's name in the filesystem (bind); connecting finds the socket by it.
    Socket,
}

impl NodeKind {
    /// Returns the `S_IFMT` bits of `st_mode`.
    pub fn mode_bits(&self) -> u32 {
        match self {
            Self::File => 0o100000,
            Self::Dir => 0o040000,
            Self::Symlink => 0o120000,
            Self::CharDev(_) => 0o020000,
            Self::BlockDev(_) => 0o060000,
            Self::Fifo => 0o010000,
            Self::Socket => 0o140000,
        }
    }

    /// Returns the `d_type` value for `getdents64`.
    pub fn dirent_type(&self) -> u8 {
        match self {
            Self::File => 8,
            Self::Dir => 4,
            Self::Symlink => 10,
            Self::CharDev(_) => 2,
            Self::BlockDev(_) => 6,
            Self::Fifo => 1,
            Self::Socket => 12,
        }
    }
}

/// A timestamp: seconds and nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: i64,
}

/// A node's metadata.
#[derive(Clone, Copy, Debug)]
pub struct Metadata {
    /// Inode number.
    pub ino: u64,
    /// Permission bits (and setuid/setgid/sticky).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Hard links.
    pub nlink: u32,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

enum Content {
    /// A regular file in memory (the bytes are in the node's page cache).
    File(InMemoryFile),
    Dir(Mutex<BTreeMap<String, Arc<Node>>>),
    Symlink(String),
    Special,
    Generated(alloc::boxed::Box<dyn Generated>),
    /// An inode of a disk filesystem: every operation goes to it ([`super::disk`]).
    Disk(DiskInode),
}

/// The size of a regular file in memory. Writers and truncation hold `order`; readers (and
/// the page-fault handler, which must not sleep) read `len` without it.
struct InMemoryFile {
    order: Mutex<()>,
    len: AtomicU64,
}

/// An inode.
pub struct Node {
    kind: NodeKind,
    meta: SpinLock<Metadata>,
    content: Content,
    /// A directory's parent; for any other node, the directory it was last linked into or
    /// looked up in (where inotify reports events on it to, as Linux reports them to the
    /// parent of the dentry used).
    parent: SpinLock<Weak<Node>>,
    /// How many open file descriptions ([`super::file::NodeFile`]) refer to the node: a
    /// removed node is gone for inotify (IN_DELETE_SELF) only once the last one closes.
    opens: AtomicUsize,
    /// Of those, the ones open read-only and the ones open for writing (Linux's
    /// i_readcount and i_writecount): a lease may be taken only when no other open
    /// conflicts with it ([`super::lease`]).
    read_only_opens: AtomicUsize,
    write_opens: AtomicUsize,
    /// A regular file's pages: all its data for an in-memory file, the mapped pages for a
    /// disk file ([`PageCache`]).
    pages: PageCache,
    /// The tmpfs whose limits the node counts against, if it was made in one.
    tmpfs: spin::Once<Arc<Tmpfs>>,
    /// For a generated node (procfs, sysfs...), the instance of its filesystem: its mounted
    /// root's number, passed down at each lookup; 0 until then. Generated nodes are made
    /// afresh and keep no parent alive, so this, not a walk up, finds their mount
    /// (Linux's inode->i_sb).
    generated_fs: AtomicU32,
}

/// The next number for a mounted generated filesystem ([`Node::generated_fs`]).
static NEXT_GENERATED_FS: AtomicU32 = AtomicU32::new(1);

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// The largest in-memory file (Linux's MAX_LFS_FILESIZE): only written pages take memory.
const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The maximum length of one path component.
pub const NAME_MAX: usize = 255;

fn now() -> Timespec {
    crate::time::realtime()
}

impl Node {
    fn new(kind: NodeKind, perm: u32, content: Content) -> Arc<Self> {
        let t = now();
        Arc::new(Self {
            kind,
            meta: SpinLock::new(Metadata {
                ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
                perm: perm & 0o7777,
                uid: 0,
                gid: 0,
                nlink: if kind == NodeKind::Dir { 2 } else { 1 },
                atime: t,
                mtime: t,
                ctime: t,
            }),
            content,
            parent: SpinLock::new(Weak::new()),
            opens: AtomicUsize::new(0),
            read_only_opens: AtomicUsize::new(0),
            write_opens: AtomicUsize::new(0),
            pages: PageCache::new(),
            tmpfs: spin::Once::new(),
            generated_fs: AtomicU32::new(0),
        })
    }

    /// Creates a detached directory.
    pub fn new_dir(perm: u32) -> Arc<Self> {
        Self::new(NodeKind::Dir, perm, Content::Dir(Mutex::new(BTreeMap::new())))
    }

    /// Creates a detached node of `kind`.
    pub fn new_of(kind: NodeKind, perm: u32, symlink_target: &str) -> Arc<Self> {
        match kind {
            NodeKind::File => {
                let file = InMemoryFile { order: Mutex::new(()), len: AtomicU64::new(0) };
                Self::new(kind, perm, Content::File(file))
            }
            NodeKind::Dir => Self::new_dir(perm),
            NodeKind::Symlink => {
                Self::new(kind, 0o777, Content::Symlink(String::from(symlink_target)))
            }
            NodeKind::CharDev(_) | NodeKind::BlockDev(_) | NodeKind::Fifo | NodeKind::Socket => {
                Self::new(kind, perm, Content::Special)
            }
        }
    }

    /// Creates a node whose contents `generator` computes; `ino` keeps it stable across
    /// lookups (procfs nodes are made afresh each time).
    pub fn new_generated(
        kind: NodeKind,
        perm: u32,
        ino: u64,
        generator: impl Generated + 'static,
    ) -> Arc<Self> {
        let node = Self::new(kind, perm, Content::Generated(alloc::boxed::Box::new(generator)));
        node.meta.lock().ino = ino;
        node
    }

    /// Makes the node of an on-disk inode (only [`super::disk::DiskMount`] does).
    pub(super) fn new_disk(kind: NodeKind, meta: Metadata, disk: DiskInode) -> Arc<Self> {
        Arc::new(Self {
            kind,
            meta: SpinLock::new(meta),
            content: Content::Disk(disk),
            parent: SpinLock::new(Weak::new()),
            opens: AtomicUsize::new(0),
            read_only_opens: AtomicUsize::new(0),
            write_opens: AtomicUsize::new(0),
            pages: PageCache::new(),
            tmpfs: spin::Once::new(),
            generated_fs: AtomicU32::new(0),
        })
    }

    /// Returns the on-disk inode behind this node, if it has one.
    pub fn disk(&self) -> Option<&DiskInode> {
        match &self.content {
            Content::Disk(d) => Some(d),
            _ => None,
        }
    }

    /// Returns `st_dev`: the disk's device number, a tmpfs's own anonymous one, or 1 for the
    /// other in-memory filesystems.
    pub fn dev(&self) -> u64 {
        if let Some(fs) = self.tmpfs.get() {
            return u64::from(fs.dev());
        }
        self.disk().map_or(1, |d| d.mount().dev())
    }

    /// Returns `st_blocks`: 512-byte units allocated.
    pub fn blocks(&self) -> u64 {
        match &self.content {
            Content::Disk(d) => d.blocks(),
            _ => self.size().div_ceil(4096) * 8,
        }
    }

    /// Re-reads a disk inode's metadata after an operation changed it.
    pub(super) fn refresh(&self) -> SysResult<()> {
        if let Content::Disk(d) = &self.content {
            *self.meta.lock() = d.refresh()?;
        }
        Ok(())
    }

    /// Returns the open file a /proc fd link stands for.
    pub fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        match &self.content {
            Content::Generated(g) => g.magic_file(),
            _ => None,
        }
    }

    /// Sets the node's parent: the directory a directory reports for `..`, and the one any
    /// node was last linked into or looked up in (see [`Node::linked_parent`]).
    pub fn set_parent(&self, parent: &Arc<Node>) {
        *self.parent.lock() = Arc::downgrade(parent);
        self.inherit_generated_fs(parent);
        if let Content::Disk(d) = &self.content {
            d.set_parent(parent.clone());
        }
    }

    /// Returns the kind.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// Returns a copy of the metadata.
    pub fn metadata(&self) -> Metadata {
        *self.meta.lock()
    }

    /// Changes the metadata through `f`, stamping ctime. A disk inode that cannot store it
    /// (read-only mount, failed disk) keeps it only in memory; callers that must report that
    /// use [`Node::try_update_metadata`].
    pub fn update_metadata(&self, f: impl FnOnce(&mut Metadata)) {
        if let Err(e) = self.try_update_metadata(f) {
            log::debug!("inode {}: metadata not stored: {e:?}", self.metadata().ino);
        }
    }

    /// Changes the metadata through `f`, stamping ctime; on a disk inode, stores it there
    /// first (EROFS on a read-only mount, and then nothing changes).
    pub fn try_update_metadata(&self, f: impl FnOnce(&mut Metadata)) -> SysResult<()> {
        let mut m = self.metadata();
        f(&mut m);
        m.ctime = now();
        if let Content::Disk(d) = &self.content {
            d.mount().fs().set_attr(d.ino(), &m)?;
            return self.refresh();
        }
        *self.meta.lock() = m;
        Ok(())
    }

    /// Returns the size in bytes (file length, symlink target length, 0 otherwise).
    pub fn size(&self) -> u64 {
        match &self.content {
            Content::File(f) => f.len.load(Ordering::Acquire),
            Content::Symlink(t) => t.len() as u64,
            Content::Dir(entries) => 4096 * (1 + entries.lock().len() as u64 / 64),
            Content::Special => 0,
            Content::Generated(g) if self.kind == NodeKind::Symlink => g.read().len() as u64,
            Content::Generated(_) => 0,
            Content::Disk(d) => d.size(),
        }
    }

    /// Returns the parent directory (itself for the root).
    pub fn parent(self: &Arc<Self>) -> Arc<Node> {
        if let Some(parent) = self.disk().and_then(DiskInode::parent) {
            return parent;
        }
        self.parent.lock().upgrade().unwrap_or_else(|| self.clone())
    }

    /// Returns the directory the node was last linked into or looked up in (a directory's
    /// parent), if it still exists; it may no longer hold the node.
    pub fn linked_parent(&self) -> Option<Arc<Node>> {
        self.parent.lock().upgrade()
    }

    /// Returns a name `child` has in this directory (the first in name order if it has
    /// several), by looking through the entries: only inotify asks, and only when this
    /// directory is watched.
    pub fn name_of(&self, child: &Node) -> Option<String> {
        match &self.content {
            Content::Dir(entries) => {
                let named = entries.lock();
                named.iter().find(|(_, n)| core::ptr::eq(&***n, child)).map(|(k, _)| k.clone())
            }
            Content::Disk(d) if self.kind == NodeKind::Dir => {
                let target = same_disk(d, child).ok()?;
                let listing = d.mount().fs().read_dir(d.ino()).ok()?;
                listing.into_iter().find(|(_, ino)| *ino == target).map(|(name, _)| name)
            }
            _ => None,
        }
    }

    /// Returns the tmpfs the node was made in, if any.
    pub fn tmpfs(&self) -> Option<&Arc<Tmpfs>> {
        self.tmpfs.get()
    }

    /// Counts an open file description of the node, opened with `flags`.
    pub fn note_opened(&self, flags: super::OpenFlags) {
        self.opens.fetch_add(1, Ordering::Relaxed);
        self.count_access(flags, true);
    }

    /// Counts the end of an open file description of the node, opened with `flags`.
    pub fn note_closed(&self, flags: super::OpenFlags) {
        self.opens.fetch_sub(1, Ordering::Relaxed);
        self.count_access(flags, false);
    }

    /// Counts one more (`opened`) or one less reader or writer, as `flags` has the node
    /// open (nothing for O_PATH). An open that waits for a lease to break counts already,
    /// as Linux's do_dentry_open counts it before break_lease.
    pub(super) fn count_access(&self, flags: super::OpenFlags, opened: bool) {
        let count = if flags.writable() {
            &self.write_opens
        } else if flags.readable() {
            &self.read_only_opens
        } else {
            return;
        };
        if opened {
            count.fetch_add(1, Ordering::Relaxed);
        } else {
            count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Returns how many open file descriptions have the node open read-only, and how
    /// many for writing.
    pub fn open_counts(&self) -> (usize, usize) {
        (self.read_only_opens.load(Ordering::Relaxed), self.write_opens.load(Ordering::Relaxed))
    }

    /// Returns whether any open file description refers to the node.
    pub fn is_open(&self) -> bool {
        self.opens.load(Ordering::Relaxed) != 0
    }

    fn dir(&self) -> SysResult<&Mutex<BTreeMap<String, Arc<Node>>>> {
        match &self.content {
            Content::Dir(entries) => Ok(entries),
            Content::Generated(_) if self.kind == NodeKind::Dir => Err(Errno::EACCES),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Looks up a child by name (not `.` or `..`: path resolution handles those).
    pub fn lookup(self: &Arc<Self>, name: &str) -> SysResult<Arc<Node>> {
        if let Content::Disk(d) = &self.content {
            if self.kind != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            let child = d.mount().node(d.mount().fs().lookup(d.ino(), name)?)?;
            child.set_parent(self);
            return Ok(child);
        }
        if let Content::Generated(g) = &self.content {
            if self.kind != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            let child = g.lookup(name).ok_or(Errno::ENOENT)?;
            child.set_parent(self);
            return Ok(child);
        }
        self.dir()?.lock().get(name).cloned().ok_or(Errno::ENOENT)
    }

    /// Whether the node's contents are computed (procfs, sysfs, configfs).
    pub fn is_generated(&self) -> bool {
        matches!(self.content, Content::Generated(_))
    }

    /// The instance of the generated filesystem the node belongs to (0 for other nodes, and
    /// for generated ones not reached from a mounted root).
    pub fn generated_fs(&self) -> u32 {
        self.generated_fs.load(Ordering::Relaxed)
    }

    /// Numbers a generated root as a filesystem instance of its own, when it is mounted (a
    /// root mounted again keeps its number: the mounts show one instance).
    pub fn number_generated_fs(&self) {
        if self.is_generated() {
            let fresh = NEXT_GENERATED_FS.fetch_add(1, Ordering::Relaxed);
            let _ =
                self.generated_fs.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// Takes `dir`'s instance, if this node is generated and has none yet: a magic link's
    /// target (a /proc/PID/cwd) is no generated node and stays on its own filesystem.
    fn inherit_generated_fs(&self, dir: &Node) {
        let instance = dir.generated_fs();
        if instance != 0 && self.is_generated() {
            let _ = self.generated_fs.compare_exchange(
                0,
                instance,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Whether the mode binds root too and is fixed ([`Generated::mode_binds_everyone`]).
    pub fn mode_binds_everyone(&self) -> bool {
        matches!(&self.content, Content::Generated(g) if g.mode_binds_everyone())
    }

    /// Links `child` into this directory as `name`.
    pub fn link(self: &Arc<Self>, name: &str, child: Arc<Node>) -> SysResult<()> {
        check_name(name)?;
        if let Content::Disk(d) = &self.content {
            let target = same_disk(d, &child)?;
            if d.is_removed() {
                return Err(Errno::ENOENT);
            }
            d.mount().fs().link(target, d.ino(), name)?;
            child.set_parent(self);
            child.refresh()?;
            return self.refresh();
        }
        if child.disk().is_some() {
            return Err(Errno::EXDEV);
        }
        let mut entries = self.dir()?.lock();
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        // Each further name of a tmpfs file costs an inode, as on Linux (shmem_link).
        let extra_name = child.kind != NodeKind::Dir && child.metadata().nlink > 0;
        if let Some(fs) = child.tmpfs.get().filter(|_| extra_name) {
            fs.charge_inode()?;
        }
        *child.parent.lock() = Arc::downgrade(self);
        if child.kind == NodeKind::Dir {
            self.update_metadata(|m| m.nlink += 1);
        } else {
            child.update_metadata(|m| m.nlink += 1);
        }
        entries.insert(String::from(name), child);
        drop(entries);
        self.touch_mtime();
        Ok(())
    }

    /// Creates a new node of `kind` named `name`.
    pub fn create(
        self: &Arc<Self>,
        name: &str,
        kind: NodeKind,
        perm: u32,
        symlink_target: &str,
    ) -> SysResult<Arc<Node>> {
        if let Content::Disk(d) = &self.content {
            check_name(name)?;
            if d.is_removed() {
                return Err(Errno::ENOENT);
            }
            let ino = d.mount().fs().create(d.ino(), name, kind, perm, symlink_target)?;
            let node = d.mount().node(ino)?;
            node.set_parent(self);
            self.refresh()?;
            return Ok(node);
        }
        if let Content::Generated(g) = &self.content {
            check_name(name)?;
            if self.kind != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            if self.lookup(name).is_ok() {
                return Err(Errno::EEXIST);
            }
            let node = if kind == NodeKind::Dir { g.mkdir(name)? } else { Err(Errno::EACCES)? };
            node.set_parent(self);
            return Ok(node);
        }
        if self.dir()?.lock().contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let node = Node::new_of(kind, perm, symlink_target);
        if let Some(fs) = self.tmpfs.get() {
            fs.charge_inode()?;
            node.tmpfs.call_once(|| fs.clone());
        }
        // A fresh non-directory starts with nlink 1 from `new`; `link` counts the entry.
        if kind != NodeKind::Dir {
            node.update_metadata(|m| m.nlink = 0);
        }
        self.link(name, node.clone())?;
        Ok(node)
    }

    /// Removes the entry `name`; directories only when `dir` is set and they are empty.
    pub fn unlink(self: &Arc<Self>, name: &str, dir: bool) -> SysResult<Arc<Node>> {
        if let Content::Disk(d) = &self.content {
            let child = self.lookup(name)?;
            match (child.kind == NodeKind::Dir, dir) {
                (true, false) => return Err(Errno::EISDIR),
                (false, true) => return Err(Errno::ENOTDIR),
                _ => {}
            }
            d.mount().fs().unlink(d.ino(), name, dir)?;
            match child.disk() {
                Some(cd) if dir => cd.mark_removed(&child),
                _ => child.refresh()?,
            }
            self.refresh()?;
            return Ok(child);
        }
        if let Content::Generated(g) = &self.content {
            let child = self.lookup(name)?;
            return match (child.kind == NodeKind::Dir, dir) {
                (true, false) => Err(Errno::EISDIR),
                (false, true) => Err(Errno::ENOTDIR),
                (true, true) => g.rmdir(name),
                (false, false) => Err(Errno::EACCES),
            };
        }
        let mut entries = self.dir()?.lock();
        let child = entries.get(name).cloned().ok_or(Errno::ENOENT)?;
        match (child.kind == NodeKind::Dir, dir) {
            (true, false) => return Err(Errno::EISDIR),
            (false, true) => return Err(Errno::ENOTDIR),
            (true, true) if !child.dir()?.lock().is_empty() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        entries.remove(name);
        drop(entries);
        if child.kind == NodeKind::Dir {
            self.update_metadata(|m| m.nlink -= 1);
            // A removed directory has no links left (fstat on an open one shows 0).
            child.update_metadata(|m| m.nlink = 0);
        } else {
            if let Some(fs) = child.tmpfs.get().filter(|_| child.metadata().nlink > 1) {
                fs.release_inode(0);
            }
            child.update_metadata(|m| m.nlink = m.nlink.saturating_sub(1));
        }
        self.touch_mtime();
        Ok(child)
    }

    /// Returns the entries, sorted by name, without `.` and `..`.
    pub fn entries(self: &Arc<Self>) -> SysResult<Vec<(String, Arc<Node>)>> {
        if let Content::Disk(d) = &self.content {
            if self.kind != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            let mut out = Vec::new();
            for (name, ino) in d.mount().fs().read_dir(d.ino())? {
                let child = d.mount().node(ino)?;
                if child.kind == NodeKind::Dir {
                    child.set_parent(self);
                }
                out.push((name, child));
            }
            return Ok(out);
        }
        if let Content::Generated(g) = &self.content {
            if self.kind != NodeKind::Dir {
                return Err(Errno::ENOTDIR);
            }
            let entries = g.entries();
            for (_, child) in &entries {
                child.inherit_generated_fs(self);
            }
            return Ok(entries);
        }
        Ok(self.dir()?.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Returns whether `name` exists here.
    pub fn contains(self: &Arc<Self>, name: &str) -> bool {
        if self.disk().is_some() {
            return self.lookup(name).is_ok();
        }
        self.dir().is_ok_and(|d| d.lock().contains_key(name))
    }

    /// Replaces entry `name` with `node` (for rename), returning what was there.
    pub fn replace_entry(
        self: &Arc<Self>,
        name: &str,
        node: Arc<Node>,
    ) -> SysResult<Option<Arc<Node>>> {
        check_name(name)?;
        if self.disk().is_some() || node.disk().is_some() {
            return Err(Errno::EXDEV);
        }
        *node.parent.lock() = Arc::downgrade(self);
        let old = self.dir()?.lock().insert(String::from(name), node);
        self.touch_mtime();
        Ok(old)
    }

    /// Removes entry `name` without touching link counts (the other half of a rename).
    pub fn detach_entry(&self, name: &str) -> SysResult<Arc<Node>> {
        if self.disk().is_some() {
            return Err(Errno::EXDEV);
        }
        self.dir()?.lock().remove(name).ok_or(Errno::ENOENT)
    }

    /// Returns the symlink target.
    pub fn readlink(&self) -> SysResult<String> {
        match &self.content {
            Content::Symlink(t) => Ok(t.clone()),
            Content::Disk(d) if self.kind == NodeKind::Symlink => d.mount().fs().readlink(d.ino()),
            Content::Generated(g) if self.kind == NodeKind::Symlink => {
                Ok(String::from_utf8_lossy(&g.read()).into_owned())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Whether `other` lives on the same filesystem: the same disk, the same tmpfs, or both
    /// on the other in-memory ones (links and renames across filesystems are EXDEV).
    pub fn same_filesystem(&self, other: &Node) -> bool {
        match (self.disk(), other.disk()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a.mount(), b.mount()),
            (None, None) => match (self.tmpfs.get(), other.tmpfs.get()) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            },
            _ => false,
        }
    }

    /// Makes the node the root of tmpfs `fs`, counted against its inode limit.
    pub fn make_tmpfs_root(&self, fs: &Arc<Tmpfs>) -> SysResult<()> {
        fs.charge_inode()?;
        self.tmpfs.call_once(|| fs.clone());
        Ok(())
    }

    fn touch_mtime(&self) {
        let t = now();
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // A tmpfs node gives back its inode and its pages.
        if let Some(fs) = self.tmpfs.get() {
            fs.release_inode(self.pages.len());
        }
    }
}

/// Returns the inode number of `child` for a link in directory `dir`: it must live on the
/// same disk filesystem (EXDEV otherwise).
fn same_disk(dir: &DiskInode, child: &Node) -> SysResult<u32> {
    match child.disk() {
        Some(c) if Arc::ptr_eq(c.mount(), dir.mount()) => Ok(c.ino()),
        _ => Err(Errno::EXDEV),
    }
}

pub(super) fn check_name(name: &str) -> SysResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Errno::EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}
