//! System V message queues (msgget, msgsnd, msgrcv, msgctl), as Linux 6.1's ipc/msg.c keeps
//! them.
//!
//! A queue holds typed messages in the order they were sent, up to `msg_qbytes` bytes (and
//! as many messages). A sender that finds no room sleeps until there is; a receiver that
//! finds no message of the type it asks for sleeps in the queue's list of receivers, and a
//! later sender hands its message straight to the first receiver that wants it (Linux's
//! pipelined_send), so the message never enters the queue. A sleeper learns what happened
//! to it from a table of results keyed by a token: a message, E2BIG (too big for it), EIDRM
//! (the queue was removed) or EAGAIN (IPC_SET changed the rules: look again).
//!
//! All queues sit under one lock; each has a wait queue its sleepers use.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::WaitQueue;

use super::ids::{Ids, IpcObject, Perm};
use super::limits;
use crate::error::{Errno, SysResult};
use crate::process::creds::Identity;

/// msgrcv flags.
pub const IPC_NOWAIT: u32 = 0o4000;
pub const MSG_NOERROR: u32 = 0o10000;
pub const MSG_EXCEPT: u32 = 0o20000;
pub const MSG_COPY: u32 = 0o40000;

/// One message.
pub struct Message {
    /// Its type (positive).
    pub mtype: i64,
    /// Its bytes.
    pub text: Vec<u8>,
}

/// Which message msgrcv takes (Linux's SEARCH_* modes, from msgtyp and the flags).
#[derive(Clone, Copy)]
enum Search {
    /// The first message.
    Any,
    /// The first of type `msgtyp`.
    Equal(i64),
    /// The first not of type `msgtyp` (MSG_EXCEPT).
    NotEqual(i64),
    /// The first of the lowest type up to `-msgtyp`.
    LessEqual(i64),
    /// The one at this position, kept in the queue (MSG_COPY).
    Number(i64),
}

impl Search {
    /// Linux's convert_mode.
    fn new(msgtyp: i64, flags: u32) -> Self {
        if flags & MSG_COPY != 0 {
            Search::Number(msgtyp)
        } else if msgtyp == 0 {
            Search::Any
        } else if msgtyp < 0 {
            // -LONG_MIN does not exist: Linux takes LONG_MAX.
            Search::LessEqual(msgtyp.checked_neg().unwrap_or(i64::MAX))
        } else if flags & MSG_EXCEPT != 0 {
            Search::NotEqual(msgtyp)
        } else {
            Search::Equal(msgtyp)
        }
    }

    /// Linux's testmsg.
    fn matches(self, mtype: i64) -> bool {
        match self {
            Search::Any | Search::Number(_) => true,
            Search::Equal(t) => mtype == t,
            Search::NotEqual(t) => mtype != t,
            Search::LessEqual(t) => mtype <= t,
        }
    }
}

/// A receiver asleep on a queue.
struct Receiver {
    token: u64,
    search: Search,
    /// The largest message it takes (its buffer, or any size with MSG_NOERROR).
    max_size: usize,
    pid: i32,
}

/// A queue's identity, figures and times, as IPC_STAT shows them.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueStat {
    pub perm: Perm,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub cbytes: u64,
    pub qnum: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lrpid: i32,
}

struct Queue {
    stat: QueueStat,
    messages: VecDeque<Message>,
    receivers: VecDeque<Receiver>,
    /// Its sleepers, senders and receivers.
    changed: Arc<WaitQueue>,
}

impl IpcObject for Queue {
    fn perm(&self) -> &Perm {
        &self.stat.perm
    }
}

impl Queue {
    /// Linux's msg_fits_inqueue: room for `size` more bytes and one more message.
    fn fits(&self, size: usize) -> bool {
        self.stat.cbytes + size as u64 <= self.stat.qbytes && self.stat.qnum < self.stat.qbytes
    }

    /// Linux's find_msg: the position of the message `search` takes.
    fn find(&self, search: Search) -> Option<usize> {
        let mut found = None;
        let mut lowest = match search {
            Search::LessEqual(t) => t,
            _ => 0,
        };
        for (at, msg) in self.messages.iter().enumerate() {
            match search {
                Search::LessEqual(_) if msg.mtype <= lowest => {
                    // Type 1 cannot be beaten; otherwise look on for a lower type.
                    if msg.mtype == 1 {
                        return Some(at);
                    }
                    lowest = msg.mtype - 1;
                    found = Some(at);
                }
                Search::LessEqual(_) => {}
                Search::Number(n) => {
                    if n == at as i64 {
                        return Some(at);
                    }
                }
                s if s.matches(msg.mtype) => return Some(at),
                _ => {}
            }
        }
        found
    }

    /// Linux's pipelined_send: hands `msg` to the first receiver that wants it (receivers
    /// it is too big for get E2BIG on the way). Gives the message back if none took it.
    fn hand_to_receiver(
        &mut self,
        msg: Message,
        results: &mut BTreeMap<u64, SysResult<Message>>,
    ) -> Option<Message> {
        let mut at = 0;
        while at < self.receivers.len() {
            let r = &self.receivers[at];
            if !r.search.matches(msg.mtype) {
                at += 1;
                continue;
            }
            let Some(r) = self.receivers.remove(at) else { break };
            if r.max_size < msg.text.len() {
                results.insert(r.token, Err(Errno::E2BIG));
                continue;
            }
            self.stat.lrpid = r.pid;
            self.stat.rtime = now();
            results.insert(r.token, Ok(msg));
            return None;
        }
        Some(msg)
    }

    /// Wakes every receiver with `result` (EIDRM when removed, EAGAIN to look again).
    fn expunge_receivers(
        &mut self,
        result: Errno,
        results: &mut BTreeMap<u64, SysResult<Message>>,
    ) {
        for r in self.receivers.drain(..) {
            results.insert(r.token, Err(result));
        }
    }
}

pub(super) struct Table {
    ids: Ids<Queue>,
    /// What each woken receiver gets, by its token.
    results: BTreeMap<u64, SysResult<Message>>,
    next_token: u64,
    /// Messages and bytes in all queues (MSG_INFO).
    messages: u64,
    bytes: u64,
}

impl Table {
    /// An empty table (a new IPC namespace's).
    pub(super) const fn new() -> Self {
        Self { ids: Ids::new(), results: BTreeMap::new(), next_token: 0, messages: 0, bytes: 0 }
    }
}

fn now() -> i64 {
    crate::time::realtime().sec
}

/// msgget: the queue with `key` (a new one for IPC_PRIVATE or with IPC_CREAT).
pub fn get(key: i32, flags: u32, who: &Identity) -> SysResult<i32> {
    let ns = super::namespace::current();
    let mut table = ns.msg.lock();
    if let Some(id) = table.ids.lookup(key, flags, who, |_| Ok(()))? {
        return Ok(id);
    }
    let perm = Perm::new(key, flags, who);
    table.ids.add(limits::msgmni(), |id| Queue {
        stat: QueueStat {
            perm: Perm { id, ..perm },
            ctime: now(),
            qbytes: limits::msgmnb() as u64,
            ..QueueStat::default()
        },
        messages: VecDeque::new(),
        receivers: VecDeque::new(),
        changed: Arc::new(WaitQueue::new()),
    })
}

/// The wait queue of queue `id` (EINVAL if there is none).
fn sleepers_of(id: i32) -> SysResult<Arc<WaitQueue>> {
    Ok(super::namespace::current().msg.lock().ids.get(id)?.changed.clone())
}

/// msgsnd, once the message is read: queues `msg` (or hands it to a waiting receiver), as
/// Linux's do_msgsnd checks: EACCES without write permission, then room, EAGAIN with
/// IPC_NOWAIT or sleep; EIDRM if the queue goes, EINTR for a signal.
pub fn send(id: i32, msg: Message, nowait: bool, who: &Identity, pid: i32) -> SysResult<()> {
    let changed = sleepers_of(id)?;
    let mut msg = Some(msg);
    let mut slept = false;
    let mut woken: Option<Arc<WaitQueue>> = None;
    let result = changed.wait_until(|| {
        let ns = super::namespace::current();
        let mut guard = ns.msg.lock();
        let table = &mut *guard;
        let queue = match table.ids.get_mut(id) {
            Ok(q) if Arc::ptr_eq(&q.changed, &changed) => q,
            _ => return Some(Err(Errno::EIDRM)),
        };
        if slept && crate::wait::signal_pending() {
            return Some(Err(Errno::EINTR));
        }
        if !queue.stat.perm.may(who, 0o222) {
            return Some(Err(Errno::EACCES));
        }
        let size = msg.as_ref().map_or(0, |m| m.text.len());
        if queue.fits(size) {
            let Some(msg) = msg.take() else { return Some(Err(Errno::EINVAL)) };
            queue.stat.lspid = pid;
            queue.stat.stime = now();
            if let Some(msg) = queue.hand_to_receiver(msg, &mut table.results) {
                queue.stat.cbytes += size as u64;
                queue.stat.qnum += 1;
                queue.messages.push_back(msg);
                table.messages += 1;
                table.bytes += size as u64;
            }
            woken = Some(queue.changed.clone());
            return Some(Ok(()));
        }
        if nowait {
            return Some(Err(Errno::EAGAIN));
        }
        slept = true;
        crate::wait::not_ready(false)
    });
    if let Some(q) = woken {
        q.wake_all();
    }
    result
}

/// msgrcv's choice of message, from its arguments.
pub struct Receive {
    /// The buffer's size (bytes of text).
    pub size: usize,
    pub msgtyp: i64,
    pub flags: u32,
}

/// msgrcv, before the message is written out: takes the message `req` asks for (a copy of
/// it, with MSG_COPY), as Linux's do_msgrcv checks: EACCES without read permission, E2BIG
/// for a message larger than the buffer (unless MSG_NOERROR), ENOMSG with IPC_NOWAIT, or
/// sleep; EIDRM if the queue goes, EINTR for a signal.
pub fn receive(id: i32, req: &Receive, who: &Identity, pid: i32) -> SysResult<Message> {
    let copy = req.flags & MSG_COPY != 0;
    // MSG_COPY's buffer: the request, at most msgmax (Linux's prepare_copy).
    let copy_room = req.size.min(limits::msgmax().max(0) as usize);
    let search = Search::new(req.msgtyp, req.flags);
    let changed = sleepers_of(id)?;
    let mut waiting: Option<u64> = None;
    let mut woken: Option<Arc<WaitQueue>> = None;
    let result = changed.wait_until(|| {
        let ns = super::namespace::current();
        let mut guard = ns.msg.lock();
        let table = &mut *guard;
        if let Some(token) = waiting {
            match table.results.remove(&token) {
                // IPC_SET woke it: look again.
                Some(Err(Errno::EAGAIN)) => waiting = None,
                Some(result) => return Some(result),
                None => {}
            }
        }
        let queue = match table.ids.get_mut(id) {
            Ok(q) if Arc::ptr_eq(&q.changed, &changed) => q,
            _ => return Some(Err(Errno::EIDRM)),
        };
        if waiting.is_none() {
            if !queue.stat.perm.may(who, 0o444) {
                return Some(Err(Errno::EACCES));
            }
            if let Some(at) = queue.find(search) {
                let size = queue.messages[at].text.len();
                if req.size < size && req.flags & MSG_NOERROR == 0 {
                    return Some(Err(Errno::E2BIG));
                }
                if copy {
                    let m = &queue.messages[at];
                    if size > copy_room {
                        return Some(Err(Errno::EINVAL));
                    }
                    return Some(Ok(Message { mtype: m.mtype, text: m.text.clone() }));
                }
                let Some(msg) = queue.messages.remove(at) else {
                    return Some(Err(Errno::ENOMSG));
                };
                queue.stat.qnum -= 1;
                queue.stat.cbytes -= size as u64;
                queue.stat.rtime = now();
                queue.stat.lrpid = pid;
                table.messages -= 1;
                table.bytes -= size as u64;
                woken = Some(queue.changed.clone());
                return Some(Ok(msg));
            }
            if req.flags & IPC_NOWAIT != 0 {
                return Some(Err(Errno::ENOMSG));
            }
            let token = table.next_token;
            table.next_token += 1;
            let max_size = if req.flags & MSG_NOERROR != 0 { i32::MAX as usize } else { req.size };
            queue.receivers.push_back(Receiver { token, search, max_size, pid });
            waiting = Some(token);
        }
        if crate::wait::signal_pending() {
            queue.receivers.retain(|r| Some(r.token) != waiting);
            return Some(Err(Errno::EINTR));
        }
        None
    });
    // A message taken makes room for senders.
    if let Some(q) = woken {
        q.wake_all();
    }
    result
}

/// IPC_STAT, MSG_STAT (by index) and MSG_STAT_ANY (by index, without the read check).
pub fn stat(
    id_or_index: i32,
    by_index: bool,
    check_read: bool,
    who: &Identity,
) -> SysResult<QueueStat> {
    let ns = super::namespace::current();
    let table = ns.msg.lock();
    Ok(table.ids.readable(id_or_index, by_index, check_read, who)?.stat)
}

/// IPC_SET: owner, permission bits and byte limit (EPERM unless owner, creator or root;
/// EPERM for a limit above msgmnb unless root). Sleepers look again under the new rules.
pub fn set(id: i32, uid: u32, gid: u32, mode: u32, qbytes: u64, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let mut guard = ns.msg.lock();
    let table = &mut *guard;
    let queue = table.ids.get_mut(id)?;
    if !queue.stat.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    if qbytes > limits::msgmnb() as u64 && who.creds.euid != 0 {
        return Err(Errno::EPERM);
    }
    queue.stat.perm.update(uid, gid, mode)?;
    queue.stat.qbytes = qbytes;
    queue.stat.ctime = now();
    queue.expunge_receivers(Errno::EAGAIN, &mut table.results);
    let changed = queue.changed.clone();
    drop(guard);
    changed.wake_all();
    Ok(())
}

/// IPC_RMID: removes the queue and its messages; its sleepers get EIDRM.
pub fn remove(id: i32, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let mut guard = ns.msg.lock();
    let table = &mut *guard;
    if !table.ids.get(id)?.stat.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    let mut queue = table.ids.remove(id)?;
    queue.expunge_receivers(Errno::EIDRM, &mut table.results);
    table.messages -= queue.stat.qnum;
    table.bytes -= queue.stat.cbytes;
    drop(guard);
    queue.changed.wake_all();
    Ok(())
}

/// MSG_INFO's figures: queues, messages and bytes in use, and the highest index in use.
pub struct Usage {
    pub queues: u32,
    pub messages: u64,
    pub bytes: u64,
    pub max_index: i32,
}

/// The figures MSG_INFO reports.
pub fn usage() -> Usage {
    let ns = super::namespace::current();
    let table = ns.msg.lock();
    Usage {
        queues: table.ids.len() as u32,
        messages: table.messages,
        bytes: table.bytes,
        max_index: table.ids.max_index(),
    }
}

/// /proc/sysvipc/msg, in Linux's format.
pub fn proc_listing() -> String {
    let mut out = String::from(
        "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  \
         cgid      stime      rtime      ctime\n",
    );
    let queues: Vec<QueueStat> =
        super::namespace::current().msg.lock().ids.iter().map(|q| q.stat).collect();
    for s in queues {
        let p = s.perm;
        out.push_str(&format!(
            "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} \
             {:>10} {:>10}\n",
            p.key,
            p.id,
            p.mode,
            s.cbytes,
            s.qnum,
            s.lspid,
            s.lrpid,
            p.uid,
            p.gid,
            p.cuid,
            p.cgid,
            s.stime,
            s.rtime,
            s.ctime
        ));
    }
    out
}
