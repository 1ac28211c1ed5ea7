//! The names of POSIX message queues: Linux keeps them as files in the root directory of
//! its internal mqueue mount (mode 1777, owned by root), so a name follows that
//! directory's rules. mq_open and mq_unlink hand the name without its leading '/'.

use alloc::string::String;
use alloc::sync::Arc;

use super::queue::{Capacity, MessageQueue, Owner};
use crate::error::{Errno, SysResult};
use crate::process::creds::Identity;

/// The longest name (NAME_MAX).
const NAME_MAX: usize = 255;
/// mq_open's access modes and creation flags.
const O_ACCMODE: u32 = 0o3;
const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;

/// Linux's lookup_one_len, then simple_lookup: EACCES for an empty name, "." and "..",
/// or a name with a '/' in it (the directory is flat); ENAMETOOLONG past NAME_MAX. (An
/// empty name never gets here: the path reader answers ENOENT for it.)
fn check_name(name: &str) -> SysResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Errno::EACCES);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// What mq_open asks for, beyond the name.
pub struct OpenRequest {
    /// The open flags as given (access mode, O_CREAT, O_EXCL, O_NONBLOCK...).
    pub oflag: u32,
    /// Permission bits for a new queue, before the umask.
    pub mode: u32,
    /// The caller's umask.
    pub umask: u32,
    /// The capacity asked for a new queue (the defaults if `None`).
    pub capacity: Option<Capacity>,
    /// The caller's RLIMIT_MSGQUEUE (soft): the most bytes its real user's queues may cost.
    pub budget: u64,
}

/// mq_open's lookup and creation, in Linux's order (do_mq_open, prepare_open): the name's
/// checks; for a missing queue ENOENT without O_CREAT, else a new queue owned by the
/// caller's filesystem IDs; for an existing one EEXIST with O_CREAT|O_EXCL, EINVAL for
/// access mode 3, EACCES without the permission the access mode needs.
pub fn open(name: &str, req: &OpenRequest, who: &Identity) -> SysResult<Arc<MessageQueue>> {
    check_name(name)?;
    let ns = crate::ipc::namespace::current();
    let mut names = ns.mq_names.lock();
    let Some(queue) = names.get(name) else {
        if req.oflag & O_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
        let c = &who.creds;
        let owner = Owner { uid: c.fsuid, gid: c.fsgid, mode: req.mode & !req.umask & 0o7777 };
        let capacity = req.capacity.unwrap_or_else(Capacity::default_now);
        let queue =
            Arc::new(MessageQueue::create(capacity, owner, (c.ruid, req.budget), c.euid == 0)?);
        names.insert(String::from(name), queue.clone());
        return Ok(queue);
    };
    if req.oflag & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
        return Err(Errno::EEXIST);
    }
    let wanted = match req.oflag & O_ACCMODE {
        0 => 0o4,
        1 => 0o2,
        2 => 0o6,
        _ => return Err(Errno::EINVAL),
    };
    if !permits(queue.owner(), who, wanted) {
        return Err(Errno::EACCES);
    }
    Ok(queue.clone())
}

/// mq_unlink: the name's checks, ENOENT, then the sticky directory's rule (EPERM unless
/// the caller owns the queue or is root); the queue lives on while open.
pub fn unlink(name: &str, who: &Identity) -> SysResult<()> {
    check_name(name)?;
    let removed = {
        let ns = crate::ipc::namespace::current();
        let mut names = ns.mq_names.lock();
        let queue = names.get(name).ok_or(Errno::ENOENT)?;
        let fsuid = who.creds.fsuid;
        if fsuid != 0 && fsuid != queue.owner().uid {
            return Err(Errno::EPERM);
        }
        names.remove(name)
    };
    if let Some(queue) = &removed {
        queue.mark_unlinked();
    }
    // Dropped here, outside the table's lock: the last reference frees its budget.
    drop(removed);
    Ok(())
}

/// Linux's generic_permission on the queue's file: the owner's, group's or others' bits
/// by the filesystem IDs; root (CAP_DAC_OVERRIDE) may read and write any queue.
fn permits(owner: Owner, who: &Identity, wanted: u32) -> bool {
    let c = &who.creds;
    let granted = if c.fsuid == owner.uid {
        owner.mode >> 6
    } else if c.fsgid == owner.gid || who.groups.contains(&owner.gid) {
        owner.mode >> 3
    } else {
        owner.mode
    };
    c.fsuid == 0 || wanted & !granted & 7 == 0
}
