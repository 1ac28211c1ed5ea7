//! The root filesystem being assembled, in memory: inodes in an arena, directories mapping
//! names to inode ids (so hard links are two names for one id), each entry remembering the
//! layer that made it (so an opaque directory hides exactly the lower layers' entries).
//!
//! Layers are applied as the OCI image spec says (`layer.md`): entries in order, later
//! ones replacing earlier ones; `.wh.NAME` deletes NAME from the layers below; a directory
//! holding `.wh..wh..opq` loses every entry of the layers below. Nothing here touches the
//! host's filesystem, and a path may not leave the root: a `..` component, or a parent that
//! is a symlink (writing through `etc -> /host/etc` would write wherever it points), is
//! refused naming the layer and the path ([`TreeError`]).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;

/// An inode's index in [`Tree`]'s arena.
pub type InodeId = usize;

/// The tree: its inodes, and which one is `/`.
pub struct Tree {
    inodes: Vec<Inode>,
    root: InodeId,
}

/// What one inode is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory: name → entry, in byte order (so every walk is deterministic).
    Dir(BTreeMap<Vec<u8>, DirEntry>),
    /// A regular file's contents.
    File(Vec<u8>),
    /// A symbolic link's target, verbatim.
    Symlink(Vec<u8>),
    /// A character device.
    CharDev {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    BlockDev {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
}

/// A name in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The inode it names.
    pub inode: InodeId,
    /// The layer that made it (0 for the bottom layer, or a plain directory's).
    pub layer: usize,
}

/// One inode: kind, permissions, owner, time, extended attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    /// What it is.
    pub kind: Kind,
    /// Permission bits, with set-uid, set-gid and sticky (`0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Extended attributes (`security.capability`, ...), by name.
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// Why a layer could not be applied.
#[derive(Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "the fields are the file (or layer) and path named, and the reason")]
pub enum TreeError {
    /// The layer's tar is corrupt.
    Tar { layer: String, error: String },
    /// A path has a `..` component.
    Escapes { layer: String, path: String },
    /// A parent on the path is a symlink: writing through it could leave the root.
    ThroughSymlink { layer: String, path: String, symlink: String },
    /// A parent on the path is neither a directory nor a symlink.
    NotADirectory { layer: String, path: String, parent: String },
    /// A hard link names a target that does not exist, or is a directory.
    BadHardLink { layer: String, path: String, target: String },
    /// An entry type this builder does not write (sparse files, ...).
    Unsupported { layer: String, path: String, what: String },
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tar { layer, error } => write!(f, "{layer}: corrupt layer tar: {error}"),
            Self::Escapes { layer, path } => {
                write!(f, "{layer}: {path:?} has a `..` component and would leave the root")
            }
            Self::ThroughSymlink { layer, path, symlink } => write!(
                f,
                "{layer}: {path:?} goes through the symlink {symlink:?}; writing through it \
                 could leave the root"
            ),
            Self::NotADirectory { layer, path, parent } => {
                write!(f, "{layer}: {path:?}: {parent:?} is not a directory")
            }
            Self::BadHardLink { layer, path, target } => write!(
                f,
                "{layer}: hard link {path:?} names {target:?}, which is not a file in the image"
            ),
            Self::Unsupported { layer, path, what } => write!(f, "{layer}: {path:?}: {what}"),
        }
    }
}

impl std::error::Error for TreeError {}

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// An empty root directory (0755, root's, time 0).
    pub fn new() -> Self {
        Self { inodes: vec![directory(0o755, 0, 0, 0)], root: 0 }
    }

    /// The root directory's id.
    pub fn root(&self) -> InodeId {
        self.root
    }

    /// The inode `id`.
    pub fn inode(&self, id: InodeId) -> &Inode {
        &self.inodes[id]
    }

    /// The newest modification time of any inode reachable from the root (0 for an empty
    /// tree): the time the image's own additions and the filesystem take, so that the disk
    /// is a function of its contents.
    pub fn newest_mtime(&self) -> u64 {
        let mut newest = 0;
        let mut stack = vec![self.root];
        while let Some(id) = stack.pop() {
            let inode = &self.inodes[id];
            newest = newest.max(inode.mtime);
            if let Kind::Dir(entries) = &inode.kind {
                stack.extend(entries.values().map(|e| e.inode));
            }
        }
        newest
    }

    /// Looks `path` up without following symlinks; `None` if any part is missing.
    pub fn lookup(&self, path: &str) -> Option<InodeId> {
        let mut at = self.root;
        for name in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let Kind::Dir(entries) = &self.inodes[at].kind else { return None };
            at = entries.get(name.as_bytes())?.inode;
        }
        Some(at)
    }

    /// Looks `path` up as the kernel resolves it inside the image: symlinks followed (an
    /// absolute target from the image's root, a relative one from its directory), at most
    /// 40 of them, as Linux's limit; `None` if any part is missing or a loop.
    pub fn resolve(&self, path: &str) -> Option<InodeId> {
        super::resolve::resolve(
            self.root,
            path.as_bytes(),
            |dir, name| match &self.inodes[dir].kind {
                Kind::Dir(entries) => entries.get(name).map(|e| e.inode),
                _ => None,
            },
            |id| {
                Some(match &self.inodes[id].kind {
                    Kind::Dir(_) => super::resolve::Node::Dir,
                    Kind::Symlink(target) => super::resolve::Node::Symlink(target.clone()),
                    _ => super::resolve::Node::Other,
                })
            },
        )
    }

    /// Adds `inode` at `path` as layer `layer` would (creating missing parents as 0755
    /// root-owned directories, as runtimes do), and returns its id.
    ///
    /// # Errors
    /// As [`Tree::apply_layer`].
    pub fn add(
        &mut self,
        path: &str,
        inode: Inode,
        layer: usize,
        from: &str,
    ) -> Result<InodeId, TreeError> {
        let (parent, name) = self.parent_of(path, layer, from)?;
        let Some(name) = name else {
            // The root itself: take its metadata.
            let root = &mut self.inodes[self.root];
            (root.mode, root.uid, root.gid, root.mtime) =
                (inode.mode, inode.uid, inode.gid, inode.mtime);
            root.xattrs = inode.xattrs;
            return Ok(self.root);
        };
        Ok(self.insert(parent, name, inode, layer))
    }

    /// Applies one layer's tar (uncompressed) as layer number `layer`; `from` names it in
    /// errors.
    ///
    /// # Errors
    /// [`TreeError`] naming the layer and the path.
    pub fn apply_layer(&mut self, tar: &[u8], layer: usize, from: &str) -> Result<(), TreeError> {
        // Whiteouts and opaque markers first, wherever they stand in the tar: they hide what
        // the layers below have, never what this one adds (OCI image spec, layer.md).
        self.apply_whiteouts(tar, layer, from)?;
        let bad = |e: std::io::Error| TreeError::Tar { layer: from.into(), error: e.to_string() };
        let mut archive = tar::Archive::new(tar);
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let path = text(&entry.path_bytes(), from)?;
            let kind = entry.header().entry_type();
            let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            if kind.is_pax_global_extensions() || name.as_bytes().starts_with(WHITEOUT) {
                continue;
            }
            // Hard links carry no metadata of their own.
            if kind == tar::EntryType::Link {
                let target = text(&entry.link_name_bytes().unwrap_or_default(), from)?;
                self.hard_link(&path, &target, layer, from)?;
                continue;
            }
            let header = entry.header();
            let (mode, uid, gid, mtime) = (
                header.mode().map_err(bad)? & 0o7777,
                header.uid().map_err(bad)?,
                header.gid().map_err(bad)?,
                header.mtime().map_err(bad)?,
            );
            let device = |h: &tar::Header| -> Result<(u32, u32), TreeError> {
                let major = h.device_major().map_err(bad)?.unwrap_or(0);
                let minor = h.device_minor().map_err(bad)?.unwrap_or(0);
                // Linux's dev_t: 12 bits of major, 20 of minor.
                if major >= 1 << 12 || minor >= 1 << 20 {
                    return Err(TreeError::Unsupported {
                        layer: from.into(),
                        path: path.clone(),
                        what: format!("device {major}:{minor} does not fit Linux's dev_t"),
                    });
                }
                Ok((major, minor))
            };
            let (uid, gid) = (id32(uid, &path, from)?, id32(gid, &path, from)?);
            let node = |kind: Kind, xattrs| Inode { kind, mode, uid, gid, mtime, xattrs };
            let xattrs = xattrs(&mut entry).map_err(bad)?;
            let inode = match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    // The header's size is the layer's word: no more than the tar holds.
                    let mut data = Vec::with_capacity(entry.size().min(tar.len() as u64) as usize);
                    entry.read_to_end(&mut data).map_err(bad)?;
                    node(Kind::File(data), xattrs)
                }
                tar::EntryType::Directory => node(Kind::Dir(BTreeMap::new()), xattrs),
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                    node(Kind::Symlink(target), xattrs)
                }
                tar::EntryType::Char => {
                    let (major, minor) = device(entry.header())?;
                    node(Kind::CharDev { major, minor }, xattrs)
                }
                tar::EntryType::Block => {
                    let (major, minor) = device(entry.header())?;
                    node(Kind::BlockDev { major, minor }, xattrs)
                }
                tar::EntryType::Fifo => node(Kind::Fifo, xattrs),
                other => {
                    return Err(TreeError::Unsupported {
                        layer: from.into(),
                        path,
                        what: format!("tar entry type {other:?}"),
                    });
                }
            };
            self.add(&path, inode, layer, from)?;
        }
        Ok(())
    }

    /// Makes `path` (whose parent exists) a second name for inode `id`, which is no
    /// directory.
    ///
    /// # Errors
    /// A message if the parent is missing or not a directory, or `id` is a directory.
    pub fn add_link(&mut self, path: &str, id: InodeId) -> Result<(), String> {
        if matches!(self.inodes.get(id).map(|i| &i.kind), None | Some(Kind::Dir(_))) {
            return Err(format!("{path:?}: a hard link to a directory"));
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let dir = self.lookup(parent).ok_or_else(|| format!("{path:?}: no parent"))?;
        match &mut self.inodes[dir].kind {
            Kind::Dir(entries) => {
                entries.insert(name.as_bytes().to_vec(), DirEntry { inode: id, layer: 0 });
                Ok(())
            }
            _ => Err(format!("{path:?}: the parent is not a directory")),
        }
    }

    /// The first pass of [`Tree::apply_layer`]: `.wh.NAME` removes NAME, `.wh..wh..opq`
    /// empties its directory, of what the layers below put there. A directory that does not
    /// exist has nothing to hide (nothing is created for a whiteout).
    fn apply_whiteouts(&mut self, tar: &[u8], layer: usize, from: &str) -> Result<(), TreeError> {
        let bad = |e: std::io::Error| TreeError::Tar { layer: from.into(), error: e.to_string() };
        let mut archive = tar::Archive::new(tar);
        for entry in archive.entries().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let path = text(&entry.path_bytes(), from)?;
            let parts = components(&path, from)?;
            let Some((name, parents)) = parts.split_last() else { continue };
            let hidden = if name.as_bytes() == OPAQUE {
                None
            } else if let Some(hidden) = name.as_bytes().strip_prefix(WHITEOUT) {
                Some(hidden)
            } else {
                continue;
            };
            let Some(dir) = self.lookup(&parents.join("/")) else { continue };
            if let Kind::Dir(entries) = &mut self.inodes[dir].kind {
                match hidden {
                    Some(hidden) => {
                        entries.remove(hidden);
                    }
                    None => entries.retain(|_, e| e.layer >= layer),
                }
            }
        }
        Ok(())
    }

    /// Makes `path` a second name for the file at `target`.
    fn hard_link(
        &mut self,
        path: &str,
        target: &str,
        layer: usize,
        from: &str,
    ) -> Result<(), TreeError> {
        let bad_link = || TreeError::BadHardLink {
            layer: from.into(),
            path: path.into(),
            target: target.into(),
        };
        components(target, from)?;
        let id = self.lookup(target).ok_or_else(bad_link)?;
        if matches!(self.inodes[id].kind, Kind::Dir(_)) {
            return Err(bad_link());
        }
        let (parent, name) = self.parent_of(path, layer, from)?;
        let name = name.ok_or_else(bad_link)?;
        if let Kind::Dir(entries) = &mut self.inodes[parent].kind {
            entries.insert(name, DirEntry { inode: id, layer });
        }
        Ok(())
    }

    /// The directory that holds `path` (created as needed), and the last component (`None`
    /// for the root itself).
    fn parent_of(
        &mut self,
        path: &str,
        layer: usize,
        from: &str,
    ) -> Result<(InodeId, Option<Vec<u8>>), TreeError> {
        let parts = components(path, from)?;
        let Some((last, parents)) = parts.split_last() else { return Ok((self.root, None)) };
        let mut at = self.root;
        for (i, name) in parents.iter().enumerate() {
            let shown = || parents[..=i].join("/");
            // `at` is always a directory: the root is one, and only directories are entered.
            let existing = match &self.inodes[at].kind {
                Kind::Dir(entries) => entries.get(name.as_bytes()).map(|e| e.inode),
                _ => None,
            };
            at = match existing {
                Some(id) => match &self.inodes[id].kind {
                    Kind::Dir(_) => id,
                    Kind::Symlink(_) => {
                        return Err(TreeError::ThroughSymlink {
                            layer: from.into(),
                            path: path.into(),
                            symlink: shown(),
                        });
                    }
                    _ => {
                        return Err(TreeError::NotADirectory {
                            layer: from.into(),
                            path: path.into(),
                            parent: shown(),
                        });
                    }
                },
                None => self.insert(at, name.as_bytes().to_vec(), directory(0o755, 0, 0, 0), layer),
            };
        }
        Ok((at, Some(last.as_bytes().to_vec())))
    }

    /// Puts `inode` at `name` in `dir`: a directory over a directory keeps the children
    /// and takes the new metadata; anything else replaces what was there.
    fn insert(&mut self, dir: InodeId, name: Vec<u8>, inode: Inode, layer: usize) -> InodeId {
        let existing = match &self.inodes[dir].kind {
            Kind::Dir(entries) => entries.get(&name).map(|e| e.inode),
            _ => None,
        };
        if let Some(id) = existing
            && matches!(self.inodes[id].kind, Kind::Dir(_))
            && matches!(inode.kind, Kind::Dir(_))
        {
            let old = &mut self.inodes[id];
            (old.mode, old.uid, old.gid, old.mtime) =
                (inode.mode, inode.uid, inode.gid, inode.mtime);
            old.xattrs = inode.xattrs;
            return id;
        }
        let id = self.inodes.len();
        self.inodes.push(inode);
        if let Kind::Dir(entries) = &mut self.inodes[dir].kind {
            entries.insert(name, DirEntry { inode: id, layer });
        }
        id
    }
}

fn directory(mode: u32, uid: u32, gid: u32, mtime: u64) -> Inode {
    Inode { kind: Kind::Dir(BTreeMap::new()), mode, uid, gid, mtime, xattrs: BTreeMap::new() }
}

/// A path from a layer as text; a name that is not UTF-8 is refused rather than merged with
/// another under a replacement character.
fn text(bytes: &[u8], from: &str) -> Result<String, TreeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| TreeError::Unsupported {
        layer: from.into(),
        path: String::from_utf8_lossy(bytes).into_owned(),
        what: "a path that is not UTF-8".into(),
    })
}

/// The components of a path inside the root (`./`, `/` and `.` dropped); `..` refused.
fn components<'a>(path: &'a str, from: &str) -> Result<Vec<&'a str>, TreeError> {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if parts.contains(&"..") {
        return Err(TreeError::Escapes { layer: from.into(), path: path.into() });
    }
    Ok(parts)
}

fn id32(id: u64, path: &str, from: &str) -> Result<u32, TreeError> {
    u32::try_from(id).map_err(|_| TreeError::Unsupported {
        layer: from.into(),
        path: path.into(),
        what: format!("owner id {id} does not fit in 32 bits"),
    })
}

/// The entry's extended attributes, from PAX `SCHILY.xattr.*` records (as OCI layers and
/// GNU tar carry them).
fn xattrs<R: std::io::Read>(
    entry: &mut tar::Entry<'_, R>,
) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    if let Some(extensions) = entry.pax_extensions()? {
        for ext in extensions {
            let ext = ext?;
            if let Ok(key) = ext.key()
                && let Some(name) = key.strip_prefix("SCHILY.xattr.")
            {
                out.insert(name.to_owned(), ext.value_bytes().to_vec());
            }
        }
    }
    Ok(out)
}
