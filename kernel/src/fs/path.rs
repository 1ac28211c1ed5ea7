//! Path resolution.
//!
//! Absolute paths start at the process root, relative ones at the cwd or a directory fd.
//! `.` stays, `..` goes up (never above the root). A symlink is followed wherever it appears
//! before the last component, and at the last one when the caller asks; more than
//! [`MAX_SYMLINKS`] follows in one resolution is `ELOOP`, as on Linux.
//!
//! openat2(2) may narrow a resolution ([`Scope`]): no mount crossings, no symlinks or no
//! magic links, or nothing outside the starting directory (BENEATH fails a way out with
//! EXDEV; IN_ROOT makes the starting directory the root, so a way out stays inside).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use bitflags::bitflags;

use super::node::{NAME_MAX, Node, NodeKind};
use crate::error::{Errno, SysResult};

bitflags! {
    /// openat2's RESOLVE_* restrictions on a resolution.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Scope: u64 {
        /// No crossing of a mount point, either way (EXDEV).
        const NO_XDEV = 0x01;
        /// No /proc/PID/fd/N-style magic link (ELOOP).
        const NO_MAGICLINKS = 0x02;
        /// No symlink at all (ELOOP).
        const NO_SYMLINKS = 0x04;
        /// Nothing outside the starting directory: an absolute path, an absolute symlink or
        /// `..` out of it is EXDEV.
        const BENEATH = 0x08;
        /// The starting directory is the root (the caller makes it `Start::root`).
        const IN_ROOT = 0x10;
        /// Only what needs no I/O (everything here is cached but a disk's blocks; accepted).
        const CACHED = 0x20;
    }
}

impl Scope {
    /// BENEATH or IN_ROOT: the lookup is confined to a directory.
    pub fn confined(self) -> bool {
        self.intersects(Self::BENEATH | Self::IN_ROOT)
    }

    /// What following a magic link costs under this scope, if it is refused (Linux's
    /// nd_jump_link: ELOOP before EXDEV).
    pub fn refuses_magic_link(self) -> Option<Errno> {
        if self.intersects(Self::NO_MAGICLINKS | Self::NO_SYMLINKS) {
            Some(Errno::ELOOP)
        } else if self.confined() {
            Some(Errno::EXDEV)
        } else {
            None
        }
    }
}

/// The root of the mounted filesystem `node` lies in.
fn mount_root_of(node: &Arc<Node>) -> Arc<Node> {
    let mut n = node.clone();
    loop {
        if super::mount::is_mount_root(&n) {
            return n;
        }
        let p = n.parent();
        if Arc::ptr_eq(&p, &n) {
            return n;
        }
        n = p;
    }
}

/// The most symlinks one resolution follows (Linux: 40).
pub const MAX_SYMLINKS: usize = 40;
/// The longest path accepted (Linux: PATH_MAX = 4096 including the NUL).
pub const PATH_MAX: usize = 4095;

/// Where a resolution starts and where `/` is.
#[derive(Clone)]
pub struct Start {
    /// The process root.
    pub root: Arc<Node>,
    /// The directory relative paths start from.
    pub dir: Arc<Node>,
    /// Who resolves: every directory the path passes through must grant them search
    /// (execute) permission, else EACCES (Linux's may_lookup). `None`: the kernel itself
    /// (mounting the root, starting init), which passes anywhere.
    pub searcher: Option<Arc<dyn super::perm::Caller + Send + Sync>>,
    /// openat2's restrictions (none for every other call).
    pub scope: Scope,
}

impl Start {
    /// A start for the kernel's own lookups, at `root`.
    pub fn kernel(root: &Arc<Node>) -> Self {
        Self { root: root.clone(), dir: root.clone(), searcher: None, scope: Scope::empty() }
    }
}

fn push_components(stack: &mut Vec<String>, path: &str) {
    for c in path.split('/').rev().filter(|c| !c.is_empty()) {
        stack.push(String::from(c));
    }
}

/// Resolves `path`; follows a final symlink when `follow_last` is set.
pub fn resolve(start: &Start, path: &str, follow_last: bool) -> SysResult<Arc<Node>> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let must_be_dir = path.ends_with('/');
    let scope = start.scope;
    if path.starts_with('/') && scope.contains(Scope::BENEATH) {
        return Err(Errno::EXDEV);
    }
    // BENEATH's fence: the starting directory (IN_ROOT's is the root itself).
    let fence = scope.contains(Scope::BENEATH).then(|| start.dir.clone());
    let mut current = if path.starts_with('/') { start.root.clone() } else { start.dir.clone() };
    let mut stack = Vec::new();
    push_components(&mut stack, path);
    let mut follows = 0;
    while let Some(name) = stack.pop() {
        if current.kind() != NodeKind::Dir {
            return Err(Errno::ENOTDIR);
        }
        if let Some(searcher) = &start.searcher
            && !searcher.may(&current, super::perm::MAY_EXEC)
        {
            return Err(Errno::EACCES);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let next = match name.as_str() {
            "." => current.clone(),
            ".." if fence.as_ref().is_some_and(|f| Arc::ptr_eq(&current, f)) => {
                return Err(Errno::EXDEV);
            }
            ".." if Arc::ptr_eq(&current, &start.root) => current.clone(),
            ".." => match super::mount::mountpoint_of(&current) {
                Some(_) if scope.contains(Scope::NO_XDEV) => return Err(Errno::EXDEV),
                Some(point) => point.parent(),
                None => current.parent(),
            },
            _ => {
                let found = current.lookup(&name)?;
                let crossed = super::mount::cross(found.clone());
                if scope.contains(Scope::NO_XDEV) && !Arc::ptr_eq(&crossed, &found) {
                    return Err(Errno::EXDEV);
                }
                crossed
            }
        };
        let is_last = stack.is_empty();
        if next.kind() == NodeKind::Symlink && (!is_last || follow_last || must_be_dir) {
            if scope.contains(Scope::NO_SYMLINKS) {
                return Err(Errno::ELOOP);
            }
            follows += 1;
            if follows > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            // /proc/[pid]/fd/N is a "magic link": it leads to the open file itself, whatever
            // its name (it may have none left).
            if let Some(node) = next.magic_file().and_then(|f| f.node().cloned()) {
                if let Some(refused) = scope.refuses_magic_link() {
                    return Err(refused);
                }
                current = node;
                continue;
            }
            let target = next.readlink()?;
            if target.starts_with('/') {
                // Linux's nd_jump_root: out of a BENEATH scope, or onto another mount.
                if scope.contains(Scope::BENEATH) {
                    return Err(Errno::EXDEV);
                }
                if scope.contains(Scope::NO_XDEV)
                    && !Arc::ptr_eq(&mount_root_of(&current), &mount_root_of(&start.root))
                {
                    return Err(Errno::EXDEV);
                }
                current = start.root.clone();
            }
            push_components(&mut stack, &target);
            continue;
        }
        current = next;
    }
    if must_be_dir && current.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    Ok(current)
}

/// Resolves all but the last component of `path`; returns that directory and the last
/// component's name. `/` alone, or a path ending in `.` or `..`, has no last name: EEXIST
/// for creation-style callers is theirs to decide, so this returns `EINVAL`... except that
/// Linux reports `EEXIST` for `mkdir /`, which callers map themselves.
pub fn resolve_parent(start: &Start, path: &str) -> SysResult<(Arc<Node>, String)> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() > PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let trimmed = path.trim_end_matches('/');
    let (dir_part, name) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    if name.is_empty() {
        return Err(Errno::EEXIST); // the path names the root
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let dir = if dir_part.is_empty() { start.dir.clone() } else { resolve(start, dir_part, true)? };
    if dir.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    Ok((dir, String::from(name)))
}

/// Returns the absolute path of directory `node` as seen from `root`.
pub fn absolute_path(root: &Arc<Node>, node: &Arc<Node>) -> String {
    let mut parts = Vec::new();
    let mut current = node.clone();
    while !Arc::ptr_eq(&current, root) {
        // A mounted root is named by the directory it covers, in that directory's parent.
        let named = super::mount::mountpoint_of(&current).unwrap_or_else(|| current.clone());
        let parent = named.parent();
        if Arc::ptr_eq(&parent, &named) {
            break;
        }
        let name = parent
            .entries()
            .ok()
            .and_then(|es| es.into_iter().find(|(_, n)| Arc::ptr_eq(n, &named)).map(|(k, _)| k));
        parts.push(name.unwrap_or_else(|| String::from("?")));
        current = parent;
    }
    let mut path = String::new();
    for p in parts.iter().rev() {
        path.push('/');
        path.push_str(p);
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

ostd::ktest! {
    fn path_resolution_handles_dots_symlinks_and_loops() {
        let root = Node::new_dir(0o755);
        let start = Start::kernel(&root);
        let a = root.create("a", NodeKind::Dir, 0o755, "").unwrap();
        let f = a.create("f", NodeKind::File, 0o644, "").unwrap();
        root.create("to_a", NodeKind::Symlink, 0, "/a").unwrap();
        root.create("loop", NodeKind::Symlink, 0, "loop").unwrap();
        assert!(Arc::ptr_eq(&resolve(&start, "/a/f", true).unwrap(), &f));
        assert!(Arc::ptr_eq(&resolve(&start, "a/./../a//f", true).unwrap(), &f));
        assert!(
            Arc::ptr_eq(&resolve(&start, "/../../a/f", true).unwrap(), &f),
            ".. stops at the root"
        );
        assert!(Arc::ptr_eq(&resolve(&start, "to_a/f", false).unwrap(), &f));
        assert_eq!(resolve(&start, "to_a", false).unwrap().kind(), NodeKind::Symlink);
        assert_eq!(resolve(&start, "loop", true).map(|_| ()), Err(Errno::ELOOP));
        assert_eq!(resolve(&start, "a/f/x", true).map(|_| ()), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&start, "a/f/", true).map(|_| ()), Err(Errno::ENOTDIR));
        assert_eq!(resolve(&start, "missing", true).map(|_| ()), Err(Errno::ENOENT));
        assert_eq!(resolve(&start, "", true).map(|_| ()), Err(Errno::ENOENT));
        let (dir, name) = resolve_parent(&start, "/a/new/").unwrap();
        assert!(Arc::ptr_eq(&dir, &a));
        assert_eq!(name, "new");
        assert_eq!(absolute_path(&root, &a), "/a");
    }
}

/// Returns the canonical path of an executable (symlinks resolved), as /proc/self/exe shows.
pub fn real_path(start: &Start, path: &str) -> String {
    let Ok(node) = resolve(start, path, true) else { return String::from(path) };
    let Ok((dir, _)) = resolve_parent(start, path) else { return String::from(path) };
    // Follow the chain of links by hand to find the final name in its directory.
    let mut dir = dir;
    let mut name = String::from(path.rsplit('/').next().unwrap_or(path));
    for _ in 0..MAX_SYMLINKS {
        match dir.lookup(&name) {
            Ok(n) if n.kind() == NodeKind::Symlink => {
                let target = n.readlink().unwrap_or_default();
                let sub = Start {
                    root: start.root.clone(),
                    dir: dir.clone(),
                    searcher: start.searcher.clone(),
                    scope: start.scope,
                };
                match resolve_parent(&sub, &target) {
                    Ok((d, n2)) => {
                        dir = d;
                        name = n2;
                    }
                    Err(_) => break,
                }
            }
            _ => break,
        }
    }
    let _ = node;
    let base = absolute_path(&start.root, &dir);
    if base == "/" { alloc::format!("/{name}") } else { alloc::format!("{base}/{name}") }
}
