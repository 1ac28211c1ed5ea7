//! Extended attributes: the rules Linux's VFS applies (`xattr_permission` in fs/xattr.c,
//! and the capability module's, there being no other security module) over what a
//! filesystem stores. Only ext2 disks store attributes; the in-memory filesystems answer
//! EOPNOTSUPP (as Linux 6.1's tmpfs does for `user.`; it keeps `trusted.` and `security.`,
//! which these do not yet).
//!
//! - `user.`: on regular files and directories only (otherwise ENODATA to read, EPERM to
//!   write), by read or write permission on the file; in a sticky directory, written only by
//!   its owner or root.
//! - `trusted.`: root only (ENODATA to read, EPERM to write for others; not listed to them).
//! - `security.`: read by anyone, written by root (CAP_SYS_ADMIN, CAP_SETFCAP).
//! - `system.posix_acl_access` and `_default`: read by anyone; neither written nor removed,
//!   since nothing here enforces an ACL (EOPNOTSUPP).
//! - Anything else: EOPNOTSUPP, after the permission check.

use alloc::vec::Vec;

use super::disk::XattrMode;
use super::node::{Node, NodeKind};
use super::perm::{Caller, MAY_READ, MAY_WRITE, check_access};
use crate::error::{Errno, SysResult};

/// Reads attribute `name` of `node`.
pub fn get(caller: &dyn Caller, node: &Node, name: &[u8]) -> SysResult<Vec<u8>> {
    permission(caller, node, name, MAY_READ)?;
    let disk = node.disk().ok_or(Errno::ENOTSUP)?;
    disk.mount().fs().get_xattr(disk.ino(), name)
}

/// Sets attribute `name` of `node` to `value`, as `mode` allows.
pub fn set(
    caller: &dyn Caller,
    node: &Node,
    name: &[u8],
    value: &[u8],
    mode: XattrMode,
) -> SysResult<()> {
    super::mount::require_writable(node)?;
    permission(caller, node, name, MAY_WRITE)?;
    if name.starts_with(b"system.") {
        return Err(Errno::ENOTSUP);
    }
    let disk = node.disk().ok_or(Errno::ENOTSUP)?;
    disk.mount().fs().set_xattr(disk.ino(), name, value, mode)?;
    node.refresh()?;
    super::notify::vfs::attributes_changed(node);
    Ok(())
}

/// Removes attribute `name` of `node`.
pub fn remove(caller: &dyn Caller, node: &Node, name: &[u8]) -> SysResult<()> {
    super::mount::require_writable(node)?;
    permission(caller, node, name, MAY_WRITE)?;
    if name.starts_with(b"system.") {
        return Err(Errno::ENOTSUP);
    }
    let disk = node.disk().ok_or(Errno::ENOTSUP)?;
    disk.mount().fs().remove_xattr(disk.ino(), name)?;
    node.refresh()?;
    super::notify::vfs::attributes_changed(node);
    Ok(())
}

/// The names of `node`'s attributes the caller may see, each ending in a NUL, as
/// listxattr(2) returns them.
pub fn list(caller: &dyn Caller, node: &Node) -> SysResult<Vec<u8>> {
    let Some(disk) = node.disk() else { return Ok(Vec::new()) };
    let root = caller.privileged();
    let mut out = Vec::new();
    for name in disk.mount().fs().list_xattrs(disk.ino())? {
        if name.starts_with(b"trusted.") && !root {
            continue;
        }
        out.extend_from_slice(&name);
        out.push(0);
    }
    Ok(out)
}

/// Linux's `xattr_permission` and `cap_inode_setxattr`, in their order.
fn permission(caller: &dyn Caller, node: &Node, name: &[u8], mask: u32) -> SysResult<()> {
    let write = mask & MAY_WRITE != 0;
    let root = caller.privileged();
    // Of system.*, ext2 knows only the ACLs (Linux has no handler for the others there).
    if name.starts_with(b"system.")
        && name != b"system.posix_acl_access"
        && name != b"system.posix_acl_default"
    {
        return Err(Errno::ENOTSUP);
    }
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        // No check from the VFS; the capability rules want privilege to write security.*.
        return if write && name.starts_with(b"security.") && !root {
            Err(Errno::EPERM)
        } else {
            Ok(())
        };
    }
    if name.starts_with(b"trusted.") {
        return match (root, write) {
            (true, _) => Ok(()),
            (false, true) => Err(Errno::EPERM),
            (false, false) => Err(Errno::ENODATA),
        };
    }
    if name.starts_with(b"user.") {
        let kind = node.kind();
        if !matches!(kind, NodeKind::File | NodeKind::Dir) {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        let meta = node.metadata();
        let owner = caller.fs_ids().0 == meta.uid;
        if kind == NodeKind::Dir && meta.perm & 0o1000 != 0 && write && !owner && !root {
            return Err(Errno::EPERM);
        }
        return check_access(caller, node, mask);
    }
    check_access(caller, node, mask)?;
    Err(Errno::ENOTSUP)
}
