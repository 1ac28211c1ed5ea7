//! Who may do what to a node: the access check, the rules for adding and removing
//! directory entries (write and search on the directory, the sticky bit), and ownership of
//! new nodes.
//!
//! The filesystem does not know processes: the syscall layer describes the caller through
//! [`Caller`], and the rules here ask it only for what they need.

use super::node::Node;
use crate::error::{Errno, SysResult};

/// Read permission.
pub const MAY_READ: u32 = 4;
/// Write permission.
pub const MAY_WRITE: u32 = 2;
/// Execute (or search, for directories) permission.
pub const MAY_EXEC: u32 = 1;

/// The process asking for a filesystem operation, as the permission rules see it.
pub trait Caller {
    /// Returns whether the caller's filesystem IDs (and supplementary groups) grant `mask`
    /// (MAY_READ | MAY_WRITE | MAY_EXEC) on `node`.
    fn may(&self, node: &Node, mask: u32) -> bool;
    /// Returns the filesystem UID and GID (the effective ones unless setfsuid moved them):
    /// what owns new nodes and decides ownership and the filesystem capabilities.
    fn fs_ids(&self) -> (u32, u32);
    /// Whether the caller holds the capabilities that are not about files (CAP_SYS_ADMIN
    /// and the like): its effective UID is 0.
    fn privileged(&self) -> bool;
    /// Returns the file-mode creation mask.
    fn umask(&self) -> u32;
    /// Whether `gid` is the caller's filesystem group or one of its supplementary groups
    /// (Linux's in_group_p).
    fn in_group(&self, gid: u32) -> bool;
}

/// Checks the caller's access to `node` (EACCES if denied).
pub fn check_access(caller: &dyn Caller, node: &Node, mask: u32) -> SysResult<()> {
    if caller.may(node, mask) { Ok(()) } else { Err(Errno::EACCES) }
}

/// Checks that the caller may add or remove entries in `dir`.
pub fn check_dir_write(caller: &dyn Caller, dir: &Node) -> SysResult<()> {
    check_access(caller, dir, MAY_WRITE | MAY_EXEC)
}

/// The sticky-bit rule: in a sticky directory only the owner of an entry (or of the
/// directory, or root) may remove or rename it.
pub fn check_sticky(caller: &dyn Caller, dir: &Node, victim: &Node) -> SysResult<()> {
    let (fsuid, _) = caller.fs_ids();
    let (d, v) = (dir.metadata(), victim.metadata());
    if d.perm & 0o1000 != 0 && fsuid != 0 && fsuid != v.uid && fsuid != d.uid {
        Err(Errno::EPERM)
    } else {
        Ok(())
    }
}

const S_ISGID: u32 = 0o2000;
const S_IXGRP: u32 = 0o010;

/// Makes the caller the owner of a node it just created in `dir`. In a set-group-ID
/// directory the node takes the directory's group, a new directory its set-group-ID bit
/// too, and a group-executable set-group-ID file made by an outsider loses that bit
/// (Linux's inode_init_owner and mode_strip_sgid).
pub fn set_owner(caller: &dyn Caller, dir: &Node, node: &Node) {
    let (fsuid, fsgid) = caller.fs_ids();
    let d = dir.metadata();
    let inherits = d.perm & S_ISGID != 0;
    let is_dir = node.kind() == super::node::NodeKind::Dir;
    let outsider = !caller.in_group(d.gid) && !caller.privileged();
    node.update_metadata(|m| {
        m.uid = fsuid;
        m.gid = if inherits { d.gid } else { fsgid };
        if inherits && is_dir {
            m.perm |= S_ISGID;
        } else if inherits && m.perm & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP && outsider {
            m.perm &= !S_ISGID;
        }
    });
}
