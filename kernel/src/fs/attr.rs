//! Changing a node's attributes (mode, owner, timestamps), with the rules for who may.

use super::node::{Node, Timespec};
use super::notify::vfs as notify;
use super::perm::Caller;
use crate::error::{Errno, SysResult};

/// Sets the permission bits of `node` to `mode` (chmod): only its owner or root may.
pub fn chmod(caller: &dyn Caller, node: &Node, mode: u64) -> SysResult<()> {
    super::mount::require_writable(node)?;
    let (euid, _) = caller.fs_ids();
    let meta = node.metadata();
    if node.mode_binds_everyone() || euid != 0 && euid != meta.uid {
        return Err(Errno::EPERM);
    }
    let mut perm = (mode as u32) & 0o7777;
    // Outside the file's group, the set-group-ID bit is silently dropped (setattr_prepare).
    if !caller.in_group(meta.gid) && !caller.privileged() {
        perm &= !0o2000;
    }
    node.try_update_metadata(|m| m.perm = perm)?;
    notify::attributes_changed(node);
    Ok(())
}

/// Changes the owner and group of `node` (chown); `u32::MAX` leaves one as it is. Root may
/// set anything; the owner may only set the group, to its effective group.
pub fn chown(caller: &dyn Caller, node: &Node, uid: u64, gid: u64) -> SysResult<()> {
    super::mount::require_writable(node)?;
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
    let is_dir = node.kind() == crate::fs::NodeKind::Dir;
    let old_perm = node.metadata().perm;
    node.try_update_metadata(|m| {
        if uid as u32 != u32::MAX {
            m.uid = uid as u32;
        }
        if gid as u32 != u32::MAX {
            m.gid = gid as u32;
        }
        // chown of anything but a directory clears set-user-ID, and set-group-ID where
        // group execute marks it as such (not mandatory locking), whoever calls and even
        // when nothing changes (Linux's chown_common and notify_change).
        if !is_dir {
            m.perm &= !0o4000;
            if m.perm & 0o2010 == 0o2010 {
                m.perm &= !0o2000;
            }
        }
    })?;
    // Linux sends nothing when nothing changes (chown(path, -1, -1) of a file with no
    // set-ID bit to clear).
    if uid as u32 != u32::MAX || gid as u32 != u32::MAX || node.metadata().perm != old_perm {
        notify::attributes_changed(node);
    }
    Ok(())
}

/// One of the two times utimensat sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewTime {
    /// The current time (UTIME_NOW).
    Now,
    /// Left as it is (UTIME_OMIT).
    Omit,
    /// This time.
    At(Timespec),
}

/// Sets the access and modification times of `node` (utimensat and its elders), with
/// Linux's rules (vfs_utimes, notify_change): `None`, or both times "now", is a touch,
/// allowed to the owner, root, or anyone who may write the file (else EACCES); explicit
/// times only to the owner or root (else EPERM).
pub fn set_times(caller: &dyn Caller, node: &Node, times: Option<[NewTime; 2]>) -> SysResult<()> {
    let times = times.filter(|t| *t != [NewTime::Now, NewTime::Now]);
    // A read-only mount answers first (Linux's mnt_want_write comes before the checks).
    super::mount::require_writable(node)?;
    let (fsuid, _) = caller.fs_ids();
    let owner = fsuid == node.metadata().uid || caller.privileged();
    if !owner {
        match times {
            Some(_) => return Err(Errno::EPERM),
            None => super::perm::check_access(caller, node, super::perm::MAY_WRITE)?,
        }
    }
    let now = crate::time::realtime();
    let pick = |t: NewTime| match t {
        NewTime::Now => Some(now),
        NewTime::Omit => None,
        NewTime::At(at) => Some(at),
    };
    let [atime, mtime] = times.unwrap_or([NewTime::Now, NewTime::Now]).map(pick);
    node.try_update_metadata(|m| {
        if let Some(t) = atime {
            m.atime = t;
        }
        if let Some(t) = mtime {
            m.mtime = t;
        }
    })?;
    notify::times_set(node, atime.is_some(), mtime.is_some());
    Ok(())
}
