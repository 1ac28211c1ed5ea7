//! The file behind a mapping, as /proc/PID/maps names it (Linux's `vma->vm_file` and
//! `vm_pgoff`): an area remembers its file and the file offset of its first byte, through
//! splits (mprotect, munmap), merges and mremap.

use alloc::string::String;
use alloc::sync::Arc;

use crate::fs::Node;

/// How /proc/PID/maps names a mapping's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapName {
    /// A file opened by name: the name it had in its directory when it was mapped. Linux's
    /// dentry keeps the name of an unlinked file, shown with " (deleted)"; here the name
    /// is looked up again in its directory on every read and this one is the fallback.
    Path(Arc<str>),
    /// MAP_SHARED anonymous memory (or a shared mapping of /dev/zero): Linux backs it with
    /// an unlinked shmem file named "/dev/zero" on its internal mount (device 00:01).
    SharedAnonymous,
    /// A System V shared memory segment with this key: Linux's shmem file "SYSV%08x",
    /// unlinked, whose inode number is the segment's id.
    SysV {
        /// The segment's key.
        key: i32,
        /// The segment's id.
        id: i32,
    },
}

/// The file an area maps, and where in it the area starts.
#[derive(Clone)]
pub struct MappedFile {
    /// The file.
    pub node: Arc<Node>,
    /// File offset of the area's first byte.
    pub offset: u64,
    /// How /proc/PID/maps names it.
    pub name: MapName,
}

impl PartialEq for MappedFile {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.node, &other.node)
            && self.offset == other.offset
            && self.name == other.name
    }
}

impl Eq for MappedFile {}

impl core::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MappedFile")
            .field("ino", &self.node.metadata().ino)
            .field("offset", &self.offset)
            .field("name", &self.name)
            .finish()
    }
}

impl MappedFile {
    /// `node` mapped from `offset`, named by the name it has now in the directory it was
    /// last linked into or looked up in.
    pub fn named(node: &Arc<Node>, offset: u64) -> Self {
        let name = node
            .linked_parent()
            .and_then(|dir| dir.name_of(node))
            .unwrap_or_else(|| String::from("?"));
        Self { node: node.clone(), offset, name: MapName::Path(Arc::from(name)) }
    }

    /// The same file, `distance` bytes further into it (a piece split off further up, or
    /// the growth of an area in place).
    pub fn advanced(&self, distance: u64) -> Self {
        Self { offset: self.offset.wrapping_add(distance), ..self.clone() }
    }

    /// Whether an area mapping `self` that is `len` bytes long is followed seamlessly by one
    /// mapping `next`: the same file, at the next offset (Linux merges such VMAs).
    pub fn continued_by(&self, len: u64, next: &Self) -> bool {
        Arc::ptr_eq(&self.node, &next.node)
            && self.name == next.name
            && self.offset.wrapping_add(len) == next.offset
    }

    /// `(major, minor, inode)` as /proc/PID/maps prints them: what stat(2) reports for the
    /// file (st_dev split as Linux's MAJOR and MINOR), or Linux's figures for its internal
    /// shmem files.
    pub fn device_and_inode(&self) -> (u32, u32, u64) {
        match self.name {
            MapName::SharedAnonymous => (0, 1, self.node.metadata().ino),
            MapName::SysV { id, .. } => (0, 1, id as u32 as u64),
            MapName::Path(_) => {
                let dev = self.node.dev() as u32;
                let (major, minor) = (crate::fs::devfs::major(dev), crate::fs::devfs::minor(dev));
                (major, minor, self.node.metadata().ino)
            }
        }
    }

    /// The path /proc/PID/maps shows, as Linux's d_path gives it relative to `root` (the
    /// reader's root), with " (deleted)" once the file has no name left.
    pub fn path(&self, root: &Arc<Node>) -> String {
        let stored = match &self.name {
            MapName::SharedAnonymous => return String::from("/dev/zero (deleted)"),
            MapName::SysV { key, .. } => return alloc::format!("/SYSV{:08x} (deleted)", key),
            MapName::Path(name) => name,
        };
        let dir = self.node.linked_parent();
        let current = dir.as_ref().and_then(|d| d.name_of(&self.node));
        let mut path = dir.map_or_else(String::new, |d| crate::fs::path::absolute_path(root, &d));
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(current.as_deref().unwrap_or(stored));
        if self.node.metadata().nlink == 0 {
            path.push_str(" (deleted)");
        }
        // seq_file_path escapes the newline, the one byte that would break the line.
        path.replace('\n', "\\012")
    }
}
