//! Inodes of the in-memory filesystem (ramfs/tmpfs).
//!
//! Every node keeps its metadata under a spin lock and its contents under a sleeping
//! mutex (file data, directory entries). Directories hold strong references to children
//! and a weak one to their parent, so `..` works and unlinked subtrees are freed.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::{Mutex, SpinLock};

use crate::error::{Errno, SysResult};

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
    File(Mutex<Vec<u8>>),
    Dir(Mutex<BTreeMap<String, Arc<Node>>>),
    Symlink(String),
    Special,
    Generated(alloc::boxed::Box<dyn Generated>),
}

/// A node whose contents are computed when read (procfs): file text, a symlink target, or a
/// directory's entries.
pub trait Generated: Send + Sync {
    /// Returns the file's contents or the symlink's target.
    fn read(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Returns the directory's entries.
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        Vec::new()
    }
    /// Looks up one entry (the default searches `entries`).
    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        self.entries().into_iter().find(|(n, _)| n == name).map(|(_, node)| node)
    }
    /// For /proc/[pid]/fd/N: the open file the link stands for ("magic link": opening it
    /// opens that file, whatever its textual target says).
    fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        None
    }
}

/// An inode.
pub struct Node {
    kind: NodeKind,
    meta: SpinLock<Metadata>,
    content: Content,
    parent: SpinLock<Weak<Node>>,
    /// The file's contents as frames, for mapping into processes (exec, mmap) without
    /// copying. Dropped on every write, so a mapping made later sees the new contents.
    page_cache: SpinLock<Option<Arc<Vec<ostd::mm::Frame>>>>,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

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
            page_cache: SpinLock::new(None),
        })
    }

    /// Creates a detached directory.
    pub fn new_dir(perm: u32) -> Arc<Self> {
        Self::new(NodeKind::Dir, perm, Content::Dir(Mutex::new(BTreeMap::new())))
    }

    /// Creates a detached node of `kind`.
    pub fn new_of(kind: NodeKind, perm: u32, symlink_target: &str) -> Arc<Self> {
        match kind {
            NodeKind::File => Self::new(kind, perm, Content::File(Mutex::new(Vec::new()))),
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

    /// Returns the open file a /proc fd link stands for.
    pub fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        match &self.content {
            Content::Generated(g) => g.magic_file(),
            _ => None,
        }
    }

    /// Sets the parent a generated directory reports for `..`.
    pub fn set_parent(&self, parent: &Arc<Node>) {
        *self.parent.lock() = Arc::downgrade(parent);
    }

    /// Returns the kind.
    pub fn kind(&self) -> NodeKind {
        self.kind
    }

    /// Returns a copy of the metadata.
    pub fn metadata(&self) -> Metadata {
        *self.meta.lock()
    }

    /// Changes the metadata through `f`, stamping ctime.
    pub fn update_metadata(&self, f: impl FnOnce(&mut Metadata)) {
        let mut m = self.meta.lock();
        f(&mut m);
        m.ctime = now();
    }

    /// Returns the size in bytes (file length, symlink target length, 0 otherwise).
    pub fn size(&self) -> u64 {
        match &self.content {
            Content::File(data) => data.lock().len() as u64,
            Content::Symlink(t) => t.len() as u64,
            Content::Dir(entries) => 4096 * (1 + entries.lock().len() as u64 / 64),
            Content::Special => 0,
            Content::Generated(g) if self.kind == NodeKind::Symlink => g.read().len() as u64,
            Content::Generated(_) => 0,
        }
    }

    /// Returns the parent directory (itself for the root).
    pub fn parent(self: &Arc<Self>) -> Arc<Node> {
        self.parent.lock().upgrade().unwrap_or_else(|| self.clone())
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

    /// Links `child` into this directory as `name`.
    pub fn link(self: &Arc<Self>, name: &str, child: Arc<Node>) -> SysResult<()> {
        check_name(name)?;
        let mut entries = self.dir()?.lock();
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        if child.kind == NodeKind::Dir {
            *child.parent.lock() = Arc::downgrade(self);
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
        let node = Node::new_of(kind, perm, symlink_target);
        // A fresh non-directory starts with nlink 1 from `new`; `link` counts the entry.
        if kind != NodeKind::Dir {
            node.update_metadata(|m| m.nlink = 0);
        }
        self.link(name, node.clone())?;
        Ok(node)
    }

    /// Removes the entry `name`; directories only when `dir` is set and they are empty.
    pub fn unlink(&self, name: &str, dir: bool) -> SysResult<Arc<Node>> {
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
        } else {
            child.update_metadata(|m| m.nlink = m.nlink.saturating_sub(1));
        }
        self.touch_mtime();
        Ok(child)
    }

    /// Returns the entries, sorted by name, without `.` and `..`.
    pub fn entries(&self) -> SysResult<Vec<(String, Arc<Node>)>> {
        if let Content::Generated(g) = &self.content {
            return if self.kind == NodeKind::Dir { Ok(g.entries()) } else { Err(Errno::ENOTDIR) };
        }
        Ok(self.dir()?.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Returns whether `name` exists here.
    pub fn contains(&self, name: &str) -> bool {
        self.dir().is_ok_and(|d| d.lock().contains_key(name))
    }

    /// Replaces entry `name` with `node` (for rename), returning what was there.
    pub fn replace_entry(
        self: &Arc<Self>,
        name: &str,
        node: Arc<Node>,
    ) -> SysResult<Option<Arc<Node>>> {
        check_name(name)?;
        if node.kind == NodeKind::Dir {
            *node.parent.lock() = Arc::downgrade(self);
        }
        let old = self.dir()?.lock().insert(String::from(name), node);
        self.touch_mtime();
        Ok(old)
    }

    /// Removes entry `name` without touching link counts (the other half of a rename).
    pub fn detach_entry(&self, name: &str) -> SysResult<Arc<Node>> {
        self.dir()?.lock().remove(name).ok_or(Errno::ENOENT)
    }

    /// Returns the symlink target.
    pub fn readlink(&self) -> SysResult<String> {
        match &self.content {
            Content::Symlink(t) => Ok(t.clone()),
            Content::Generated(g) if self.kind == NodeKind::Symlink => {
                Ok(String::from_utf8_lossy(&g.read()).into_owned())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// Reads file data at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        match &self.content {
            Content::File(data) => {
                let data = data.lock();
                let start = (offset.min(data.len() as u64)) as usize;
                let n = buf.len().min(data.len() - start);
                buf[..n].copy_from_slice(&data[start..start + n]);
                Ok(n)
            }
            Content::Generated(g) if self.kind == NodeKind::File => {
                let data = g.read();
                let start = (offset.min(data.len() as u64)) as usize;
                let n = buf.len().min(data.len() - start);
                buf[..n].copy_from_slice(&data[start..start + n]);
                Ok(n)
            }
            Content::Dir(_) => Err(Errno::EISDIR),
            Content::Generated(_) if self.kind == NodeKind::Dir => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Writes file data at `offset`, growing the file (with zeros) as needed.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        const MAX_FILE: u64 = 1 << 32;
        match &self.content {
            Content::File(data) => {
                let end = offset
                    .checked_add(buf.len() as u64)
                    .filter(|&e| e <= MAX_FILE)
                    .ok_or(Errno::EFBIG)?;
                let mut data = data.lock();
                if (data.len() as u64) < end {
                    let grow = end as usize - data.len();
                    if !crate::memory::user_may_take(grow) {
                        return Err(Errno::ENOSPC);
                    }
                    data.try_reserve(grow).map_err(|_| Errno::ENOSPC)?;
                    data.resize(end as usize, 0);
                }
                data[offset as usize..end as usize].copy_from_slice(buf);
                drop(data);
                self.touch_mtime();
                Ok(buf.len())
            }
            Content::Dir(_) => Err(Errno::EISDIR),
            Content::Generated(_) => Err(Errno::EACCES),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Sets the file length.
    pub fn truncate(&self, len: u64) -> SysResult<()> {
        match &self.content {
            Content::File(data) => {
                if len > 1 << 32 {
                    return Err(Errno::EFBIG);
                }
                // ramfs has no sparse files: every byte is real memory, so a length the
                // heap cannot hold is ENOSPC (tmpfs would say the same when full).
                let mut data = data.lock();
                let grow = (len as usize).saturating_sub(data.len());
                if !crate::memory::user_may_take(grow) {
                    return Err(Errno::ENOSPC);
                }
                data.try_reserve(grow).map_err(|_| Errno::ENOSPC)?;
                data.resize(len as usize, 0);
                drop(data);
                self.touch_mtime();
                Ok(())
            }
            Content::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Returns the file's contents as frames, one per page (the last zero-padded).
    ///
    /// The frames are shared: map them read-only (copy-on-write for private writable
    /// mappings). They stop tracking the file at its next write.
    pub fn page_frames(&self) -> SysResult<Arc<Vec<ostd::mm::Frame>>> {
        if let Some(cached) = self.page_cache.lock().clone() {
            return Ok(cached);
        }
        let Content::File(data) = &self.content else { return Err(Errno::EINVAL) };
        let data = data.lock();
        let mut frames = Vec::with_capacity(data.len().div_ceil(ostd::mm::PAGE_SIZE));
        for chunk in data.chunks(ostd::mm::PAGE_SIZE) {
            let frame = ostd::mm::Frame::alloc_zeroed().ok_or(Errno::ENOMEM)?;
            frame.write_bytes(0, chunk);
            frames.push(frame);
        }
        let frames = Arc::new(frames);
        *self.page_cache.lock() = Some(frames.clone());
        Ok(frames)
    }

    fn touch_mtime(&self) {
        *self.page_cache.lock() = None;
        let t = now();
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }
}

fn check_name(name: &str) -> SysResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Errno::EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}
