//! System V shared memory (shmget, shmat, shmdt, shmctl), as Linux 6.1 keeps it.
//!
//! A segment is an unnamed in-memory file (its pages come as they are touched, like
//! tmpfs's) with an IPC identity: a key, owner and creator, permission bits and times.
//! Attaching maps the file shared; each mapping of it holds an [`Attachment`], so that the
//! attach count follows the mappings as Linux's does (fork and splitting a mapping count
//! once more, munmap and exit once less). A segment removed while attached (IPC_RMID) stays
//! until its last attachment goes, with key IPC_PRIVATE and SHM_DEST in its mode.
//!
//! IDs are Linux's: `seq * 32768 + index`, indices handed out cyclically and the sequence
//! number bumped each time they wrap, so a stale ID does not name a new segment.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::ids::Perm;
use super::namespace::IpcNamespace;
use crate::error::{Errno, SysResult};
use crate::fs::{Node, NodeKind};
use crate::process::creds::Identity;

use super::limits;

pub const IPC_CREAT: u32 = 0o1000;
pub const IPC_EXCL: u32 = 0o2000;
/// SHM_NORESERVE (shmget): no commit check.
pub const SHM_NORESERVE: u32 = 0o10000;
/// Mode flag: removed while still attached.
pub const SHM_DEST: u32 = 0o1000;
/// Mode flag: SHM_LOCK was asked.
pub const SHM_LOCKED: u32 = 0o2000;

const SEQ_MULTIPLIER: i32 = limits::IPCMNI;
const PAGE: u64 = ostd::mm::PAGE_SIZE as u64;

/// A segment's identity and times, as IPC_STAT shows them.
#[derive(Clone, Copy, Debug, Default)]
pub struct SegmentStat {
    /// Key, ID, owner, creator and mode (permission bits, with SHM_DEST and SHM_LOCKED),
    /// under the rules every System V object follows.
    pub perm: Perm,
    pub size: u64,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
}

/// One segment.
pub struct Segment {
    index: u32,
    node: Arc<Node>,
    state: SpinLock<SegmentStat>,
}

impl Segment {
    /// Resident bytes (for SHM_INFO and /proc/sysvipc/shm).
    fn resident(&self) -> u64 {
        self.node.blocks() * 512
    }
}

pub(super) struct Table {
    by_index: BTreeMap<u32, Arc<Segment>>,
    /// The index handed out last (indices go up cyclically from it).
    last_index: Option<u32>,
    seq: i32,
    /// Pages of all segments (kernel.shmall bounds it).
    pages: u64,
}

impl Table {
    fn by_id(&self, id: i32) -> SysResult<&Arc<Segment>> {
        if id < 0 {
            return Err(Errno::EINVAL);
        }
        let seg = self.by_index.get(&((id % SEQ_MULTIPLIER) as u32)).ok_or(Errno::EINVAL)?;
        if seg.state.lock().perm.id != id {
            return Err(Errno::EINVAL);
        }
        Ok(seg)
    }

    /// The next free index after the last one handed out, and the sequence number to use.
    fn next_index(&mut self) -> SysResult<u32> {
        // Linux's ipc_addid: at most kernel.shmmni segments, indices below IPCMNI.
        if self.by_index.len() >= limits::shmmni().clamp(0, limits::IPCMNI) as usize {
            return Err(Errno::ENOSPC);
        }
        let after = self.last_index.map_or(0, |i| i + 1);
        let index = (after..SEQ_MULTIPLIER as u32)
            .chain(0..after)
            .find(|i| !self.by_index.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        if self.last_index.is_some_and(|last| index <= last) {
            self.seq = (self.seq + 1) % (i32::MAX / SEQ_MULTIPLIER);
        }
        self.last_index = Some(index);
        Ok(index)
    }

    fn remove(&mut self, seg: &Segment) {
        if self.by_index.get(&seg.index).is_some_and(|s| core::ptr::eq(&**s, seg)) {
            self.by_index.remove(&seg.index);
            self.pages -= seg.state.lock().size.div_ceil(PAGE);
        }
    }

    fn max_index(&self) -> u64 {
        self.by_index.keys().next_back().map_or(0, |&i| u64::from(i))
    }
}

impl Table {
    /// An empty table (a new IPC namespace's).
    pub(super) const fn new() -> Self {
        Self { by_index: BTreeMap::new(), last_index: None, seq: 0, pages: 0 }
    }
}

fn now() -> i64 {
    crate::time::realtime().sec
}

fn current_pid() -> i32 {
    crate::process::registry::current().map_or(0, |p| p.pid())
}

/// shmget: the segment with `key` (a new one for IPC_PRIVATE or with IPC_CREAT), checked
/// in Linux's order: EEXIST, then EINVAL for a segment smaller than `size`, then EACCES.
pub fn get(key: i32, size: u64, flags: u32, who: &Identity) -> SysResult<i32> {
    let ns = super::namespace::current();
    let mut table = ns.shm.lock();
    if key != 0 {
        let found = table.by_index.values().find(|s| s.state.lock().perm.key == key);
        if let Some(seg) = found {
            if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            let s = seg.state.lock();
            if s.size < size {
                return Err(Errno::EINVAL);
            }
            if !s.perm.may(who, flags) {
                return Err(Errno::EACCES);
            }
            return Ok(s.perm.id);
        }
        if flags & IPC_CREAT == 0 {
            return Err(Errno::ENOENT);
        }
    }
    if size < 1 || size > limits::shmmax() {
        return Err(Errno::EINVAL);
    }
    let pages = size.div_ceil(PAGE);
    if table.pages.checked_add(pages).is_none_or(|p| p > limits::shmall()) {
        return Err(Errno::ENOSPC);
    }
    // Linux's heuristic overcommit: a segment larger than all of memory is refused.
    if flags & SHM_NORESERVE == 0 && !crate::memory::could_ever_fit(size) {
        return Err(Errno::ENOMEM);
    }
    let index = table.next_index()?;
    let node = Node::new_of(NodeKind::File, 0o600, "");
    node.truncate(size)?;
    let perm = Perm { id: table.seq * SEQ_MULTIPLIER + index as i32, ..Perm::new(key, flags, who) };
    let stat =
        SegmentStat { perm, size, ctime: now(), cpid: current_pid(), ..SegmentStat::default() };
    table.by_index.insert(index, Arc::new(Segment { index, node, state: SpinLock::new(stat) }));
    table.pages += pages;
    Ok(stat.perm.id)
}

/// One mapping of a segment. Creating one (attach, fork, a split mapping) counts an
/// attachment and stamps the attach time; dropping one (detach, munmap, exit) uncounts it,
/// stamps the detach time, and frees a removed segment with its last attachment.
pub struct Attachment(Arc<Segment>, Arc<IpcNamespace>);

impl Attachment {
    /// An attachment of `seg`, a segment of `ns` (which the attachment keeps, so that the
    /// last detach removes a removed segment from its own table whoever detaches it).
    fn new(seg: Arc<Segment>, ns: Arc<IpcNamespace>) -> Self {
        {
            let mut s = seg.state.lock();
            s.nattch += 1;
            s.atime = now();
            s.lpid = current_pid();
        }
        Self(seg, ns)
    }

    /// Whether `self` and `other` attach the same segment.
    pub fn same_segment(&self, other: &Attachment) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The segment's key and id (/proc/PID/maps names an attachment by them).
    pub fn key_and_id(&self) -> (i32, i32) {
        let s = self.0.state.lock();
        (s.perm.key, s.perm.id)
    }

    /// The length an attachment maps: the segment's size in whole pages.
    pub fn mapped_len(&self) -> u64 {
        self.0.state.lock().size.div_ceil(PAGE) * PAGE
    }
}

impl Clone for Attachment {
    fn clone(&self) -> Self {
        Self::new(self.0.clone(), self.1.clone())
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        let mut table = self.1.shm.lock();
        let gone = {
            let mut s = self.0.state.lock();
            s.nattch -= 1;
            s.dtime = now();
            s.lpid = current_pid();
            s.nattch == 0 && s.perm.mode & SHM_DEST != 0
        };
        if gone {
            table.remove(&self.0);
        }
    }
}

/// What shmat maps: the segment's file, its mapped length and a counted attachment.
pub struct AttachTarget {
    pub node: Arc<Node>,
    pub len: u64,
    pub attachment: Attachment,
}

/// shmat's checks: EINVAL for an unknown ID, EACCES without read (and `write`, and `exec`)
/// permission. A segment removed while attached can still be attached, as on Linux.
pub fn attach(id: i32, write: bool, exec: bool, who: &Identity) -> SysResult<AttachTarget> {
    let ns = super::namespace::current();
    let seg = {
        let table = ns.shm.lock();
        let seg = table.by_id(id)?;
        let requested = 0o444 | if write { 0o222 } else { 0 } | if exec { 0o111 } else { 0 };
        if !seg.state.lock().perm.may(who, requested) {
            return Err(Errno::EACCES);
        }
        seg.clone()
    };
    let node = seg.node.clone();
    let attachment = Attachment::new(seg, ns);
    Ok(AttachTarget { node, len: attachment.mapped_len(), attachment })
}

/// IPC_STAT (and SHM_STAT by index, SHM_STAT_ANY without the read check): the segment's
/// identity and times.
pub fn stat(
    id_or_index: i32,
    by_index: bool,
    check_read: bool,
    who: &Identity,
) -> SysResult<SegmentStat> {
    let ns = super::namespace::current();
    let table = ns.shm.lock();
    let seg = if by_index {
        u32::try_from(id_or_index).ok().and_then(|i| table.by_index.get(&i)).ok_or(Errno::EINVAL)?
    } else {
        table.by_id(id_or_index)?
    };
    let s = *seg.state.lock();
    if check_read && !s.perm.may(who, 0o444) {
        return Err(Errno::EACCES);
    }
    Ok(s)
}

/// IPC_SET: new owner and permission bits (EPERM unless the owner, creator or root).
pub fn set(id: i32, uid: u32, gid: u32, mode: u32, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let table = ns.shm.lock();
    let mut s = table.by_id(id)?.state.lock();
    if !s.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    s.perm.update(uid, gid, mode)?;
    s.ctime = now();
    Ok(())
}

/// IPC_RMID: frees the segment now, or, while attached, marks it SHM_DEST and gives it key
/// IPC_PRIVATE (so shmget no longer finds it) until its last attachment goes.
pub fn remove(id: i32, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let mut table = ns.shm.lock();
    let seg = table.by_id(id)?.clone();
    let free_now = {
        let mut s = seg.state.lock();
        if !s.perm.owned_by(who) {
            return Err(Errno::EPERM);
        }
        s.perm.mode |= SHM_DEST;
        s.perm.key = 0;
        s.ctime = now();
        s.nattch == 0
    };
    if free_now {
        table.remove(&seg);
    }
    Ok(())
}

/// SHM_LOCK / SHM_UNLOCK: only a flag here (nothing is ever swapped).
pub fn set_locked(id: i32, locked: bool, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let table = ns.shm.lock();
    let mut s = table.by_id(id)?.state.lock();
    if !s.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    let mode = s.perm.mode;
    s.perm.mode = if locked { mode | SHM_LOCKED } else { mode & !SHM_LOCKED };
    Ok(())
}

/// SHM_INFO's figures: segments in use, pages of all segments, resident pages; and the
/// highest index in use (what IPC_INFO and SHM_INFO return).
pub struct Usage {
    pub used_ids: u32,
    pub total_pages: u64,
    pub resident_pages: u64,
    pub max_index: u64,
}

/// The figures SHM_INFO reports.
pub fn usage() -> Usage {
    let ns = super::namespace::current();
    let table = ns.shm.lock();
    Usage {
        used_ids: table.by_index.len() as u32,
        total_pages: table.pages,
        resident_pages: table.by_index.values().map(|s| s.resident() / PAGE).sum(),
        max_index: table.max_index(),
    }
}

/// /proc/sysvipc/shm, in Linux's format.
pub fn proc_listing() -> String {
    let mut out = String::from(
        "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  \
         cuid  cgid      atime      dtime      ctime                   rss                  \
         swap\n",
    );
    let ns = super::namespace::current();
    let table = ns.shm.lock();
    for seg in table.by_index.values() {
        let s = *seg.state.lock();
        out.push_str(&format!(
            "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} \
             {:>10} {:>10} {:>21} {:>21}\n",
            s.perm.key,
            s.perm.id,
            s.perm.mode,
            s.size,
            s.cpid,
            s.lpid,
            s.nattch,
            s.perm.uid,
            s.perm.gid,
            s.perm.cuid,
            s.perm.cgid,
            s.atime,
            s.dtime,
            s.ctime,
            seg.resident(),
            0
        ));
    }
    out
}
