//! What every System V message queue and semaphore set has, as Linux's ipc/util.c keeps it:
//! an identity ([`Perm`]: key, owner, creator, permission bits) and a place in a table of
//! IDs ([`Ids`]), with Linux's ID scheme, key lookup (ipcget) and permission rules
//! (ipcperms, the owner check of IPC_SET and IPC_RMID).
//!
//! IDs are `seq * 32768 + index`: indices are handed out cyclically (the next free one after
//! the last one handed out) and the sequence number goes up each time they wrap, so a stale
//! ID does not name a new object.

use alloc::collections::BTreeMap;

use super::limits::IPCMNI;
use crate::error::{Errno, SysResult};
use crate::process::creds::Identity;

/// The key that always makes a new object.
pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: u32 = 0o1000;
pub const IPC_EXCL: u32 = 0o2000;
/// The largest sequence number (Linux's ipcid_seq_max: INT_MAX >> 15).
const SEQ_MAX: i32 = i32::MAX / IPCMNI;

/// An object's IPC identity (Linux's `struct kern_ipc_perm`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Perm {
    pub key: i32,
    pub id: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// The permission bits (and, for shared memory, flags above them).
    pub mode: u32,
}

impl Perm {
    /// The identity of a new object with `key`, created by `who` with `flags`' mode bits.
    pub fn new(key: i32, flags: u32, who: &Identity) -> Self {
        let (uid, gid) = (who.creds.euid, who.creds.egid);
        Self { key, id: -1, uid, gid, cuid: uid, cgid: gid, mode: flags & 0o777 }
    }

    /// The sequence number, as `struct ipc64_perm` shows it.
    pub fn seq(&self) -> u16 {
        (self.id / IPCMNI) as u16
    }

    /// Linux's ipcperms: whether `who` has the `requested` bits (any of the owner's,
    /// group's or others' triplets of it), judged by the owner's bits if `who` is the owner
    /// or creator, the group's if in the owner's or creator's group, else the others'; root
    /// (CAP_IPC_OWNER) always has them.
    pub fn may(&self, who: &Identity, requested: u32) -> bool {
        let requested = (requested >> 6 | requested >> 3 | requested) & 7;
        let uid = who.creds.euid;
        // in_group_p: the filesystem GID or a supplementary group.
        let in_group = |g: u32| who.creds.fsgid == g || who.groups.contains(&g);
        let granted = if uid == self.uid || uid == self.cuid {
            self.mode >> 6
        } else if in_group(self.cgid) || in_group(self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        uid == 0 || requested & !granted & 7 == 0
    }

    /// Whether `who` may change or remove the object: its owner, its creator, or root
    /// (CAP_SYS_ADMIN). Linux's ipcctl_obtain_check answers EPERM otherwise.
    pub fn owned_by(&self, who: &Identity) -> bool {
        let uid = who.creds.euid;
        uid == 0 || uid == self.uid || uid == self.cuid
    }

    /// Linux's ipc_update_perm (IPC_SET): new owner and permission bits; EINVAL for an ID
    /// that names no one (-1).
    pub fn update(&mut self, uid: u32, gid: u32, mode: u32) -> SysResult<()> {
        if uid == u32::MAX || gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        (self.uid, self.gid) = (uid, gid);
        self.mode = (self.mode & !0o777) | (mode & 0o777);
        Ok(())
    }
}

/// An object kept in an [`Ids`] table.
pub trait IpcObject {
    /// Its identity.
    fn perm(&self) -> &Perm;
}

/// The objects of one kind, by index.
pub struct Ids<T> {
    by_index: BTreeMap<u32, T>,
    /// The index handed out last (the next one is looked for after it).
    last_index: Option<u32>,
    seq: i32,
}

impl<T: IpcObject> Ids<T> {
    /// An empty table.
    pub const fn new() -> Self {
        Self { by_index: BTreeMap::new(), last_index: None, seq: 0 }
    }

    /// The object `id` names: EINVAL if none (or the ID is stale: its sequence differs).
    pub fn get(&self, id: i32) -> SysResult<&T> {
        let obj = self.at_index(id)?;
        if obj.perm().id != id {
            return Err(Errno::EINVAL);
        }
        Ok(obj)
    }

    /// [`Ids::get`], for changing the object.
    pub fn get_mut(&mut self, id: i32) -> SysResult<&mut T> {
        self.get(id)?;
        self.by_index.get_mut(&index_of(id)).ok_or(Errno::EINVAL)
    }

    /// The object at the index part of `id`, whatever its sequence (the *_STAT commands,
    /// which take an index). EINVAL if none.
    pub fn at_index(&self, id: i32) -> SysResult<&T> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        self.by_index.get(&index_of(id)).ok_or(Errno::EINVAL)
    }

    /// What IPC_STAT (by ID) or a *_STAT command (by index) reads: EINVAL if nothing is
    /// there, EACCES without read permission unless `check_read` is off (*_STAT_ANY).
    pub fn readable(
        &self,
        id_or_index: i32,
        by_index: bool,
        check_read: bool,
        who: &Identity,
    ) -> SysResult<&T> {
        let obj = if by_index { self.at_index(id_or_index)? } else { self.get(id_or_index)? };
        if check_read && !obj.perm().may(who, 0o444) {
            return Err(Errno::EACCES);
        }
        Ok(obj)
    }

    /// Linux's ipcget for a key: `Some(id)` of the existing object with `key` once it passed
    /// the checks, in Linux's order (EEXIST for IPC_CREAT | IPC_EXCL, then the kind's own
    /// `more_checks`, then EACCES for the mode bits of `flags`); `None` if a new object
    /// should be made (IPC_PRIVATE, or no object has the key and IPC_CREAT is set); ENOENT
    /// if no object has the key and IPC_CREAT is clear.
    pub fn lookup(
        &self,
        key: i32,
        flags: u32,
        who: &Identity,
        more_checks: impl FnOnce(&T) -> SysResult<()>,
    ) -> SysResult<Option<i32>> {
        if key == IPC_PRIVATE {
            return Ok(None);
        }
        let Some(obj) = self.by_index.values().find(|o| o.perm().key == key) else {
            return if flags & IPC_CREAT != 0 { Ok(None) } else { Err(Errno::ENOENT) };
        };
        if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        more_checks(obj)?;
        if !obj.perm().may(who, flags) {
            return Err(Errno::EACCES);
        }
        Ok(Some(obj.perm().id))
    }

    /// Linux's ipc_addid: places the object `make` builds for its new ID (ENOSPC when
    /// `limit` objects, at most IPCMNI, already exist). Returns the ID.
    pub fn add(&mut self, limit: i32, make: impl FnOnce(i32) -> T) -> SysResult<i32> {
        let limit = limit.clamp(0, IPCMNI) as usize;
        if self.by_index.len() >= limit {
            return Err(Errno::ENOSPC);
        }
        let after = self.last_index.map_or(0, |i| i + 1);
        let index = (after..IPCMNI as u32)
            .chain(0..after)
            .find(|i| !self.by_index.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        if self.last_index.is_some_and(|last| index <= last) {
            self.seq += 1;
            if self.seq >= SEQ_MAX {
                self.seq = 0;
            }
        }
        self.last_index = Some(index);
        let id = self.seq * IPCMNI + index as i32;
        self.by_index.insert(index, make(id));
        Ok(id)
    }

    /// Takes the object `id` names out of the table.
    pub fn remove(&mut self, id: i32) -> SysResult<T> {
        self.get(id)?;
        self.by_index.remove(&index_of(id)).ok_or(Errno::EINVAL)
    }

    /// How many objects exist.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// The highest index in use, 0 if none (what IPC_INFO and the *_INFO commands return).
    pub fn max_index(&self) -> i32 {
        self.by_index.keys().next_back().map_or(0, |&i| i as i32)
    }

    /// The objects, by index.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.by_index.values()
    }

    /// The objects, by index, for changing.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.by_index.values_mut()
    }
}

fn index_of(id: i32) -> u32 {
    (id % IPCMNI) as u32
}
