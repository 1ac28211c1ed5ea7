//! Changing a node's attributes (mode, owner, timestamps), with the rules for who may.

use super::node::{Node, Timespec};
use super::perm::Caller;
use crate::error::{Errno, SysResult};

/// Sets the permission bits of `node` to `mode` (chmod): only its owner or root may.
pub fn chmod(caller: &dyn Caller, node: &Node, mode: u64) -> SysResult<()> {
    let (euid, _) = caller.fs_ids();
    if node.mode_binds_everyone() || euid != 0 && euid != node.metadata().uid {
        return Err(Errno::EPERM);
    }
    node.try_update_metadata(|m| m.perm = (mode as u32) & 0o7777)
}

/// Changes the owner and group of `node` (chown); `u32::MAX` leaves one as it is. Root may
/// set anything; the owner may only set the group, to its effective group.
pub fn chown(caller: &dyn Caller, node: &Node, uid: u64, gid: u64) -> SysResult<()> {
    if node.mode_binds_everyone() {
        return Err(Errno::EPERM);
    }
    let (euid, egid) = caller.fs_ids();
    let m = node.metadata();
    let uid_change = uid as u32 != u32::MAX && uid as u32 != m.uid;
    let gid_ok =
        gid as u32 == u32::MAX || gid as u32 == m.gid || (euid == m.uid && gid as u32 == egid);
    if euid != 0 && (uid_change || !gid_ok || euid != m.uid) {
        return Err(Errno::EPERM);
    }
    node.try_update_metadata(|m| {
        if uid as u32 != u32::MAX {
            m.uid = uid as u32;
        }
        if gid as u32 != u32::MAX {
            m.gid = gid as u32;
        }
    })
}

/// Sets the access and modification times of `node` (utimensat); `None` leaves one as it is.
pub fn set_times(node: &Node, atime: Option<Timespec>, mtime: Option<Timespec>) -> SysResult<()> {
    node.try_update_metadata(|m| {
        if let Some(t) = atime {
            m.atime = t;
        }
        if let Some(t) = mtime {
            m.mtime = t;
        }
    })
}
