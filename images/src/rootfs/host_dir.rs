//! A plain directory on the host as the root filesystem: every file, directory, symlink,
//! device and pipe under it, with its mode, owner and modification time, hard links kept
//! (by device and inode number). Symlinks are copied, never followed.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use super::tree::{Inode, InodeId, Kind, Tree};

/// Reads the tree under `dir`.
///
/// # Errors
/// A message naming the file that could not be read.
pub fn read_dir_tree(dir: &Path) -> Result<Tree, String> {
    let mut tree = Tree::new();
    let mut seen: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    tree.add("/", inode(Kind::Dir(BTreeMap::new()), &meta), 0, &dir.display().to_string())
        .map_err(|e| e.to_string())?;
    walk(&mut tree, dir, "", &mut seen).map_err(|e| e.to_string())?;
    Ok(tree)
}

fn walk(
    tree: &mut Tree,
    dir: &Path,
    prefix: &str,
    seen: &mut BTreeMap<(u64, u64), String>,
) -> Result<(), String> {
    let from = dir.display().to_string();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{from}: {e}"))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{from}: {e}"))?;
    names.sort();
    for name in names {
        let host = dir.join(&name);
        let shown = host.display().to_string();
        let path = format!("{prefix}/{}", String::from_utf8_lossy(name.as_bytes()));
        let meta = std::fs::symlink_metadata(&host).map_err(|e| format!("{shown}: {e}"))?;
        let ft = meta.file_type();
        if !ft.is_dir() && meta.nlink() > 1 {
            if let Some(first) = seen.get(&(meta.dev(), meta.ino())) {
                let id = tree.lookup(first).ok_or_else(|| format!("{shown}: lost hard link"))?;
                link(tree, &path, id, &shown)?;
                continue;
            }
            seen.insert((meta.dev(), meta.ino()), path.clone());
        }
        let (major, minor) = (dev_major(meta.rdev()), dev_minor(meta.rdev()));
        let kind = if ft.is_dir() {
            Kind::Dir(BTreeMap::new())
        } else if ft.is_file() {
            Kind::File(std::fs::read(&host).map_err(|e| format!("{shown}: {e}"))?)
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&host).map_err(|e| format!("{shown}: {e}"))?;
            Kind::Symlink(target.as_os_str().as_bytes().to_vec())
        } else if ft.is_char_device() {
            Kind::CharDev { major, minor }
        } else if ft.is_block_device() {
            Kind::BlockDev { major, minor }
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            return Err(format!("{shown}: a socket cannot be put in an image"));
        };
        let is_dir = ft.is_dir();
        tree.add(&path, inode(kind, &meta), 0, &from).map_err(|e| e.to_string())?;
        if is_dir {
            walk(tree, &host, &path, seen)?;
        }
    }
    Ok(())
}

fn link(tree: &mut Tree, path: &str, id: InodeId, shown: &str) -> Result<(), String> {
    tree.add_link(path, id).map_err(|e| format!("{shown}: {e}"))
}

fn inode(kind: Kind, meta: &std::fs::Metadata) -> Inode {
    Inode {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: u64::try_from(meta.mtime()).unwrap_or(0),
        xattrs: BTreeMap::new(),
    }
}

/// glibc's `major()`.
fn dev_major(rdev: u64) -> u32 {
    (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as u32
}

/// glibc's `minor()`.
fn dev_minor(rdev: u64) -> u32 {
    (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as u32
}
