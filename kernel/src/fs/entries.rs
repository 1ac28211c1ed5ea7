//! Adding, removing and renaming directory entries: mknod/mkdir/symlink, unlink/rmdir, link
//! and rename, with their permission rules and link counts.

use alloc::string::String;
use alloc::sync::Arc;

use super::node::{Node, NodeKind};
use super::notify::vfs as notify;
use super::path::{self, Start};
use super::perm::{Caller, check_dir_write, check_sticky, set_owner};
use crate::error::{Errno, SysResult};

/// Creates a node at `path` owned by the caller, with `mode` less the umask (mknod, mkdir,
/// symlink, and bind of a Unix socket).
pub fn make_node(
    caller: &dyn Caller,
    start: &Start,
    path: &str,
    kind: NodeKind,
    mode: u64,
    target: &str,
) -> SysResult<Arc<Node>> {
    let (dir, name) = path::resolve_parent(start, path)?;
    if dir.contains(&name) {
        return Err(Errno::EEXIST);
    }
    super::mount::require_writable(&dir)?;
    check_dir_write(caller, &dir)?;
    if matches!(kind, NodeKind::CharDev(_) | NodeKind::BlockDev(_)) && caller.fs_ids().0 != 0 {
        return Err(Errno::EPERM);
    }
    let umask = if kind == NodeKind::Symlink { 0 } else { caller.umask() };
    let node = dir.create(&name, kind, (mode as u32) & 0o7777 & !umask, target)?;
    set_owner(caller, &dir, &node);
    notify::created(&dir, &name, &node);
    Ok(node)
}

/// Resolves the directory holding the entry `path` names, for removing or renaming that
/// entry: a path that names no entry of its own (`/`) is busy.
pub fn parent_of_entry(start: &Start, path: &str) -> SysResult<(Arc<Node>, String)> {
    path::resolve_parent(start, path).map_err(|e| if e == Errno::EEXIST { Errno::EBUSY } else { e })
}

/// Removes the entry `path` names: a directory (rmdir) if `dir`, else anything but one.
pub fn unlink(caller: &dyn Caller, start: &Start, path: &str, dir: bool) -> SysResult<()> {
    let (parent, name) = parent_of_entry(start, path)?;
    if dir && path.trim_end_matches('/').ends_with("/.") || name == "." {
        return Err(Errno::EINVAL);
    }
    super::mount::require_writable(&parent)?;
    let victim = parent.lookup(&name)?;
    if path.ends_with('/') && !dir && victim.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    check_dir_write(caller, &parent)?;
    check_sticky(caller, &parent, &victim)?;
    let removed = parent.unlink(&name, dir)?;
    notify::removed(&parent, &name, &removed);
    Ok(())
}

/// Resolves what a hard link is to point at: anything but a directory (EPERM).
pub fn link_source(start: &Start, path: &str, follow: bool) -> SysResult<Arc<Node>> {
    let node = path::resolve(start, path, follow)?;
    if node.kind() == NodeKind::Dir {
        return Err(Errno::EPERM);
    }
    Ok(node)
}

/// Adds a new entry `path` for `node` (link).
pub fn link(caller: &dyn Caller, node: Arc<Node>, start: &Start, path: &str) -> SysResult<()> {
    let (dir, name) = path::resolve_parent(start, path)?;
    if dir.contains(&name) {
        return Err(Errno::EEXIST);
    }
    super::mount::require_writable(&dir)?;
    if !node.same_filesystem(&dir) {
        return Err(Errno::EXDEV);
    }
    check_dir_write(caller, &dir)?;
    dir.link(&name, node.clone())?;
    notify::linked(&dir, &name, &node);
    Ok(())
}

/// Moves the entry `old_name` of `old_dir` to `new_name` in `new_dir`, replacing what is
/// there unless `noreplace` (rename, renameat2 with RENAME_NOREPLACE).
pub fn rename(
    caller: &dyn Caller,
    old_dir: &Arc<Node>,
    old_name: &str,
    new_dir: &Arc<Node>,
    new_name: &str,
    noreplace: bool,
) -> SysResult<()> {
    if !old_dir.same_filesystem(new_dir) {
        return Err(Errno::EXDEV);
    }
    super::mount::require_writable(old_dir)?;
    let node = old_dir.lookup(old_name)?;
    check_dir_write(caller, old_dir)?;
    check_dir_write(caller, new_dir)?;
    check_sticky(caller, old_dir, &node)?;
    let existing = new_dir.lookup(new_name).ok();
    if let Some(existing) = &existing {
        if noreplace {
            return Err(Errno::EEXIST);
        }
        if Arc::ptr_eq(existing, &node) {
            return Ok(());
        }
        match (node.kind() == NodeKind::Dir, existing.kind() == NodeKind::Dir) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            (true, true) if !existing.entries()?.is_empty() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
    }
    // A directory may not move below itself.
    if is_within(new_dir, &node) {
        return Err(Errno::EINVAL);
    }
    if old_dir.disk().is_some() || new_dir.disk().is_some() {
        super::disk::rename_on_disk(old_dir, old_name, new_dir, new_name)?;
    } else {
        rename_in_memory(old_dir, old_name, new_dir, new_name, &node)?;
    }
    notify::renamed((old_dir, old_name), (new_dir, new_name), &node, existing.as_ref());
    Ok(())
}

/// Whether `dir` is `node` or lies below it (only a directory has anything below it).
fn is_within(dir: &Arc<Node>, node: &Arc<Node>) -> bool {
    if node.kind() != NodeKind::Dir {
        return false;
    }
    let mut d = dir.clone();
    loop {
        if Arc::ptr_eq(&d, node) {
            return true;
        }
        let p = d.parent();
        if Arc::ptr_eq(&p, &d) {
            return false;
        }
        d = p;
    }
}

/// Swaps two existing entries, each keeping its name (renameat2's RENAME_EXCHANGE), in
/// Linux's order: both must exist (ENOENT); the same node twice is done at once; write
/// permission on both directories and the sticky rule for both nodes; neither may end up
/// below itself (EINVAL).
pub fn exchange(
    caller: &dyn Caller,
    (old_dir, old_name): (&Arc<Node>, &str),
    (new_dir, new_name): (&Arc<Node>, &str),
) -> SysResult<()> {
    let first = old_dir.lookup(old_name)?;
    let second = new_dir.lookup(new_name)?;
    if Arc::ptr_eq(&first, &second) {
        return Ok(());
    }
    check_dir_write(caller, old_dir)?;
    check_dir_write(caller, new_dir)?;
    check_sticky(caller, old_dir, &first)?;
    check_sticky(caller, new_dir, &second)?;
    if is_within(new_dir, &first) || is_within(old_dir, &second) {
        return Err(Errno::EINVAL);
    }
    if old_dir.disk().is_some() || new_dir.disk().is_some() {
        super::disk::exchange_on_disk((old_dir, old_name, &first), (new_dir, new_name, &second))?;
    } else {
        exchange_in_memory((old_dir, old_name, &first), (new_dir, new_name, &second))?;
    }
    // Linux reports an exchange as two moves, each with its own cookie.
    notify::renamed((old_dir, old_name), (new_dir, new_name), &first, None);
    notify::renamed((new_dir, new_name), (old_dir, old_name), &second, None);
    Ok(())
}

/// The in-memory half of [`exchange`]: swaps the entries and fixes the parents' link counts.
fn exchange_in_memory(
    (old_dir, old_name, first): (&Arc<Node>, &str, &Arc<Node>),
    (new_dir, new_name, second): (&Arc<Node>, &str, &Arc<Node>),
) -> SysResult<()> {
    old_dir.detach_entry(old_name)?;
    new_dir.detach_entry(new_name)?;
    old_dir.replace_entry(old_name, second.clone())?;
    new_dir.replace_entry(new_name, first.clone())?;
    // A directory's ".." moves with it: each parent counts the subdirectories it now holds.
    if !Arc::ptr_eq(old_dir, new_dir) {
        let links = |n: &Node| i64::from(n.kind() == NodeKind::Dir);
        let moved = links(first) - links(second);
        old_dir.update_metadata(|m| m.nlink = (i64::from(m.nlink) - moved) as _);
        new_dir.update_metadata(|m| m.nlink = (i64::from(m.nlink) + moved) as _);
    }
    first.update_metadata(|_| {});
    second.update_metadata(|_| {});
    Ok(())
}

/// The in-memory half of [`rename`]: moves the entry and fixes the link counts (a replaced
/// directory has none left).
fn rename_in_memory(
    old_dir: &Arc<Node>,
    old_name: &str,
    new_dir: &Arc<Node>,
    new_name: &str,
    node: &Arc<Node>,
) -> SysResult<()> {
    old_dir.detach_entry(old_name)?;
    let replaced = new_dir.replace_entry(new_name, node.clone())?;
    if node.kind() == NodeKind::Dir && !Arc::ptr_eq(old_dir, new_dir) {
        old_dir.update_metadata(|m| m.nlink -= 1);
        if replaced.is_none() {
            new_dir.update_metadata(|m| m.nlink += 1);
        }
    }
    if let Some(r) = replaced {
        if r.kind() != NodeKind::Dir {
            r.update_metadata(|m| m.nlink = m.nlink.saturating_sub(1));
        } else {
            r.update_metadata(|m| m.nlink = 0);
            if Arc::ptr_eq(old_dir, new_dir) {
                new_dir.update_metadata(|m| m.nlink -= 1);
            }
        }
    }
    Ok(())
}
