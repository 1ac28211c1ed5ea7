//! System V semaphores (semget, semop/semtimedop, semctl), as Linux 6.1's ipc/sem.c keeps
//! them.
//!
//! A set holds `nsems` values in 0..=SEMVMX. A semop call applies all its operations or
//! none: add (positive), take (negative, waiting while the value would go below zero) or
//! wait for zero. An operation that cannot go through now sleeps in a pending list, and
//! every change that could let sleepers through runs them again, in Linux's order (its
//! update_queue, wake_const_ops and do_smart_update, with their per-semaphore lists for
//! single operations and the set's lists for the others). A sleeper learns its result from a
//! table keyed by its token: done, an error met on a retry, or EIDRM.
//!
//! SEM_UNDO: each process (thread group: threads share their undo adjustments, as with
//! glibc's CLONE_SYSVSEM) keeps per set the sum it must give back; [`exit_process`] applies
//! it. SETVAL and SETALL clear the adjustments of what they set, as Linux does.
//!
//! All sets sit under one lock; each has a wait queue its sleepers use.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use ostd::sync::{TimedOut, WaitQueue};

use super::ids::{Ids, IpcObject, Perm};
use super::limits::{self, SEMVMX};
use crate::error::{Errno, SysResult};
use crate::process::creds::Identity;

/// An operation's flags.
pub const IPC_NOWAIT: i16 = 0o4000;
pub const SEM_UNDO: i16 = 0x1000;

/// One operation of a semop call (`struct sembuf`).
#[derive(Clone, Copy, Debug)]
pub struct SemOp {
    pub num: u16,
    pub op: i16,
    pub flags: i16,
}

/// A sleeping semop call.
struct Waiter {
    token: u64,
    ops: Vec<SemOp>,
    /// Its thread group (the semaphores' new sempid, and whose undo adjustments it keeps).
    pid: i32,
    /// Whether its call changes values (not only waits for zero).
    alter: bool,
    /// The operation it waits on (GETNCNT and GETZCNT count it there).
    blocking: usize,
}

struct Sem {
    value: i32,
    /// The thread group that changed it last.
    pid: i32,
    /// Sleeping single-operation calls that change it, and that wait for it to be zero.
    pending_alter: VecDeque<Waiter>,
    pending_const: VecDeque<Waiter>,
}

/// A set's identity and times, as IPC_STAT shows them.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetStat {
    pub perm: Perm,
    pub otime: i64,
    pub ctime: i64,
    pub nsems: u64,
}

struct SemSet {
    stat: SetStat,
    sems: Vec<Sem>,
    /// Sleeping calls of several operations (and, while any exist, every changing call).
    pending_alter: VecDeque<Waiter>,
    pending_const: VecDeque<Waiter>,
    /// Sleeping calls of several operations (Linux's complex_count).
    complex_count: usize,
    /// Undo adjustments, by thread group.
    undos: BTreeMap<i32, Vec<i16>>,
    changed: Arc<WaitQueue>,
}

impl IpcObject for SemSet {
    fn perm(&self) -> &Perm {
        &self.stat.perm
    }
}

/// What trying a call's operations came to.
enum Outcome {
    Done,
    /// Operation N cannot go through now.
    Blocked(usize),
    Failed(Errno),
}

/// Results for woken sleepers, by token.
type Finished = Vec<(u64, SysResult<()>)>;

impl SemSet {
    /// Linux's perform_atomic_semop: applies `ops` in order, or, if one would block or
    /// fail, none of them (EAGAIN if the blocking one has IPC_NOWAIT; ERANGE past SEMVMX or
    /// past the undo range).
    fn perform(&mut self, ops: &[SemOp], pid: i32) -> Outcome {
        let Self { sems, undos, .. } = self;
        let mut adj = undos.get_mut(&pid);
        for (i, sop) in ops.iter().enumerate() {
            let n = usize::from(sop.num);
            let op = i32::from(sop.op);
            let value = sems[n].value;
            let undo = sop.flags & SEM_UNDO != 0;
            let outcome = if (op == 0 && value != 0) || value + op < 0 {
                Some(if sop.flags & IPC_NOWAIT != 0 {
                    Outcome::Failed(Errno::EAGAIN)
                } else {
                    Outcome::Blocked(i)
                })
            } else if value + op > SEMVMX
                || undo
                    && adj.as_ref().is_some_and(|a| i16::try_from(i32::from(a[n]) - op).is_err())
            {
                Some(Outcome::Failed(Errno::ERANGE))
            } else {
                None
            };
            if let Some(outcome) = outcome {
                for back in ops[..i].iter().rev() {
                    let n = usize::from(back.num);
                    sems[n].value -= i32::from(back.op);
                    if let Some(a) = adj.as_mut().filter(|_| back.flags & SEM_UNDO != 0) {
                        a[n] += back.op;
                    }
                }
                return outcome;
            }
            if let Some(a) = adj.as_mut().filter(|_| undo) {
                a[n] -= sop.op;
            }
            sems[n].value = value + op;
        }
        for sop in ops {
            sems[usize::from(sop.num)].pid = pid;
        }
        Outcome::Done
    }

    fn list(&mut self, semnum: Option<usize>, alter: bool) -> &mut VecDeque<Waiter> {
        match (semnum, alter) {
            (None, true) => &mut self.pending_alter,
            (None, false) => &mut self.pending_const,
            (Some(n), true) => &mut self.sems[n].pending_alter,
            (Some(n), false) => &mut self.sems[n].pending_const,
        }
    }

    /// Retries the sleepers of one list in order; `alter` lists are Linux's update_queue
    /// (which starts over after a success that may let earlier ones through), the others
    /// its wake_const_ops. Returns whether one completed.
    fn retry(&mut self, semnum: Option<usize>, alter: bool, done: &mut Finished) -> bool {
        let mut completed = false;
        let mut at = 0;
        loop {
            // A zero semaphore lets no decrement through (and increments never sleep).
            if alter && semnum.is_some_and(|n| self.sems[n].value == 0) {
                break;
            }
            let Some(mut w) = self.list(semnum, alter).remove(at) else { break };
            match self.perform(&w.ops, w.pid) {
                Outcome::Blocked(i) => {
                    w.blocking = i;
                    self.list(semnum, alter).insert(at, w);
                    at += 1;
                }
                Outcome::Failed(e) => {
                    self.unlinked(&w);
                    done.push((w.token, Err(e)));
                }
                Outcome::Done => {
                    self.unlinked(&w);
                    completed = true;
                    let mut restart = false;
                    if alter {
                        self.wake_zero_waiters(Some(&w.ops), done);
                        // Linux's check_restart.
                        restart = !self.pending_alter.is_empty() || w.ops.len() > 1;
                    }
                    done.push((w.token, Ok(())));
                    if restart {
                        at = 0;
                    }
                }
            }
        }
        completed
    }

    fn unlinked(&mut self, w: &Waiter) {
        if w.ops.len() > 1 {
            self.complex_count -= 1;
        }
    }

    /// Linux's do_smart_wakeup_zero: wait-for-zero sleepers on the semaphores that `ops`
    /// (all, for `None`) left at zero, then the set's.
    fn wake_zero_waiters(&mut self, ops: Option<&[SemOp]>, done: &mut Finished) -> bool {
        let nums: Vec<usize> = match ops {
            Some(ops) => ops.iter().map(|o| usize::from(o.num)).collect(),
            None => (0..self.sems.len()).collect(),
        };
        let mut completed = false;
        let mut got_zero = false;
        for n in nums {
            if self.sems[n].value == 0 {
                got_zero = true;
                completed |= self.retry(Some(n), false, done);
            }
        }
        if got_zero {
            completed |= self.retry(None, false, done);
        }
        completed
    }

    /// Linux's do_smart_update, after values changed (by `ops`, or by anything for `None`).
    fn update(&mut self, ops: Option<&[SemOp]>, otime: bool, done: &mut Finished) {
        let mut otime = otime | self.wake_zero_waiters(ops, done);
        if !self.pending_alter.is_empty() {
            otime |= self.retry(None, true, done);
        } else if let Some(ops) = ops {
            for op in ops.iter().filter(|o| o.op > 0) {
                otime |= self.retry(Some(usize::from(op.num)), true, done);
            }
        } else {
            for n in 0..self.sems.len() {
                otime |= self.retry(Some(n), true, done);
            }
        }
        if otime {
            self.stat.otime = now();
        }
    }

    /// Queues a sleeper where Linux does: a single operation on its semaphore's list
    /// (changing ones on the set's list while calls of several operations sleep), others on
    /// the set's lists, moving the semaphores' changing sleepers there first (merge_queues).
    fn enqueue(&mut self, w: Waiter) {
        if w.ops.len() == 1 {
            let n = usize::from(w.ops[0].num);
            let global = w.alter && self.complex_count > 0;
            self.list(if global { None } else { Some(n) }, w.alter).push_back(w);
            return;
        }
        if self.complex_count == 0 {
            for n in 0..self.sems.len() {
                let mut moved = core::mem::take(&mut self.sems[n].pending_alter);
                self.pending_alter.append(&mut moved);
            }
        }
        self.complex_count += 1;
        self.list(None, w.alter).push_back(w);
    }

    /// Linux's unmerge_queues: with no call of several operations asleep, the set's
    /// changing sleepers go back to their semaphores' lists.
    fn unmerge(&mut self) {
        if self.complex_count > 0 {
            return;
        }
        for w in core::mem::take(&mut self.pending_alter) {
            let n = usize::from(w.ops[0].num);
            self.sems[n].pending_alter.push_back(w);
        }
    }

    /// Takes sleeper `token` out of whatever list holds it.
    fn unlink(&mut self, token: u64) {
        let lists = (0..self.sems.len())
            .flat_map(|n| [(Some(n), true), (Some(n), false)])
            .chain([(None, true), (None, false)]);
        for (semnum, alter) in lists {
            let list = self.list(semnum, alter);
            if let Some(at) = list.iter().position(|w| w.token == token) {
                if let Some(w) = list.remove(at) {
                    self.unlinked(&w);
                }
                break;
            }
        }
        self.unmerge();
    }

    /// Linux's count_semcnt: sleepers waiting for semaphore `n` to grow (or, with `zero`,
    /// to be zero).
    fn count_waiters(&self, n: usize, zero: bool) -> usize {
        let sem = &self.sems[n];
        let own = if zero { sem.pending_const.len() } else { sem.pending_alter.len() };
        let waits_here = |w: &&Waiter| {
            let op = w.ops[w.blocking];
            usize::from(op.num) == n && if zero { op.op == 0 } else { op.op < 0 }
        };
        let mut count = own + self.pending_alter.iter().filter(waits_here).count();
        if zero {
            count += self.pending_const.iter().filter(waits_here).count();
        }
        count
    }

    /// All sleepers' tokens (the set is going away).
    fn tokens(&self) -> Vec<u64> {
        let per_sem = self.sems.iter().flat_map(|s| s.pending_alter.iter().chain(&s.pending_const));
        per_sem.chain(&self.pending_alter).chain(&self.pending_const).map(|w| w.token).collect()
    }
}

pub(super) struct Table {
    ids: Ids<SemSet>,
    /// Semaphores in all sets (SEMMNS bounds it).
    used_sems: i64,
    /// What each woken sleeper gets, by its token.
    finished: BTreeMap<u64, SysResult<()>>,
    next_token: u64,
}

impl Table {
    fn finish(&mut self, done: Finished) {
        self.finished.extend(done);
    }
}

impl Table {
    /// An empty table (a new IPC namespace's).
    pub(super) const fn new() -> Self {
        Self { ids: Ids::new(), used_sems: 0, finished: BTreeMap::new(), next_token: 0 }
    }
}

fn now() -> i64 {
    crate::time::realtime().sec
}

/// semget: the set with `key` (a new one of `nsems` semaphores for IPC_PRIVATE or with
/// IPC_CREAT). EINVAL for `nsems` out of 0..=SEMMSL, or larger than an existing set;
/// creating needs `nsems` > 0 and room within SEMMNS (ENOSPC).
pub fn get(key: i32, nsems: i32, flags: u32, who: &Identity) -> SysResult<i32> {
    if nsems < 0 || nsems > limits::semmsl() {
        return Err(Errno::EINVAL);
    }
    let ns = super::namespace::current();
    let mut table = ns.sem.lock();
    let bigger = |s: &SemSet| if nsems as u64 > s.stat.nsems { Err(Errno::EINVAL) } else { Ok(()) };
    if let Some(id) = table.ids.lookup(key, flags, who, bigger)? {
        return Ok(id);
    }
    if nsems == 0 {
        return Err(Errno::EINVAL);
    }
    if table.used_sems + i64::from(nsems) > i64::from(limits::semmns()) {
        return Err(Errno::ENOSPC);
    }
    let perm = Perm::new(key, flags, who);
    let id = table.ids.add(limits::semmni(), |id| SemSet {
        stat: SetStat { perm: Perm { id, ..perm }, ctime: now(), nsems: nsems as u64, otime: 0 },
        sems: (0..nsems)
            .map(|_| Sem {
                value: 0,
                pid: 0,
                pending_alter: VecDeque::new(),
                pending_const: VecDeque::new(),
            })
            .collect(),
        pending_alter: VecDeque::new(),
        pending_const: VecDeque::new(),
        complex_count: 0,
        undos: BTreeMap::new(),
        changed: Arc::new(WaitQueue::new()),
    })?;
    table.used_sems += i64::from(nsems);
    Ok(id)
}

/// semop and semtimedop, once the operations are read and counted: EFBIG for a semaphore
/// number past the set, EACCES without write (read, to only wait for zero) permission,
/// then all or none of `ops`, sleeping while they cannot go through (EAGAIN past
/// `timeout_ns`, EINTR for a signal, EIDRM if the set goes).
pub fn semop(
    id: i32,
    ops: Vec<SemOp>,
    timeout_ns: Option<u64>,
    who: &Identity,
    pid: i32,
) -> SysResult<()> {
    let deadline = timeout_ns.map(|t| crate::time::monotonic_ns().saturating_add(t));
    let max = ops.iter().map(|o| o.num).max().unwrap_or(0);
    let undo = ops.iter().any(|o| o.flags & SEM_UNDO != 0);
    let alter = ops.iter().any(|o| o.op != 0);
    let (changed, token) = {
        let ns = super::namespace::current();
        let mut guard = ns.sem.lock();
        let table = &mut *guard;
        let set = table.ids.get_mut(id)?;
        if u64::from(max) >= set.stat.nsems {
            return Err(Errno::EFBIG);
        }
        if !set.stat.perm.may(who, if alter { 0o222 } else { 0o444 }) {
            return Err(Errno::EACCES);
        }
        if undo {
            let nsems = set.sems.len();
            set.undos.entry(pid).or_insert_with(|| vec![0; nsems]);
        }
        match set.perform(&ops, pid) {
            Outcome::Done => {
                let mut done = Finished::new();
                if alter {
                    set.update(Some(&ops), true, &mut done);
                } else {
                    set.stat.otime = now();
                }
                set.unmerge();
                let changed = set.changed.clone();
                table.finish(done);
                drop(guard);
                changed.wake_all();
                return Ok(());
            }
            Outcome::Failed(e) => return Err(e),
            Outcome::Blocked(blocking) => {
                let token = table.next_token;
                table.next_token += 1;
                let changed = set.changed.clone();
                set.enqueue(Waiter { token, ops, pid, alter, blocking });
                (changed, token)
            }
        }
    };
    let give_up = |error: Errno| {
        let ns = super::namespace::current();
        let mut table = ns.sem.lock();
        if let Some(result) = table.finished.remove(&token) {
            return result;
        }
        if let Ok(set) = table.ids.get_mut(id) {
            set.unlink(token);
        }
        Err(error)
    };
    let outcome = changed.wait_until_or_deadline(
        || {
            if let Some(result) = super::namespace::current().sem.lock().finished.remove(&token) {
                return Some(result);
            }
            crate::wait::signal_pending().then_some(Err(Errno::EINTR))
        },
        deadline,
    );
    match outcome {
        Ok(Err(Errno::EINTR)) => give_up(Errno::EINTR),
        Ok(result) => result,
        Err(TimedOut) => give_up(Errno::EAGAIN),
    }
}

/// The set `id` names once `who` passed the read (or, with `write`, write) check, for the
/// semctl commands: EINVAL if none, EACCES.
fn checked<'a>(
    ids: &'a mut Ids<SemSet>,
    id: i32,
    write: bool,
    who: &Identity,
) -> SysResult<&'a mut SemSet> {
    let set = ids.get_mut(id)?;
    if !set.stat.perm.may(who, if write { 0o222 } else { 0o444 }) {
        return Err(Errno::EACCES);
    }
    Ok(set)
}

/// The number of semaphores of set `id`, once `who` may read (or, with `write`, set)
/// them: what GETALL and SETALL copy.
pub fn size_for(id: i32, write: bool, who: &Identity) -> SysResult<usize> {
    Ok(checked(&mut super::namespace::current().sem.lock().ids, id, write, who)?.sems.len())
}

/// GETALL: every value.
pub fn values(id: i32, who: &Identity) -> SysResult<Vec<u16>> {
    let ns = super::namespace::current();
    let mut table = ns.sem.lock();
    let set = checked(&mut table.ids, id, false, who)?;
    Ok(set.sems.iter().map(|s| s.value as u16).collect())
}

/// GETVAL, GETPID, GETNCNT and GETZCNT of semaphore `semnum` (EINVAL past the set).
pub fn query(id: i32, semnum: i32, what: Query, who: &Identity) -> SysResult<i32> {
    let ns = super::namespace::current();
    let mut table = ns.sem.lock();
    let set = checked(&mut table.ids, id, false, who)?;
    let n = usize::try_from(semnum).ok().filter(|&n| n < set.sems.len()).ok_or(Errno::EINVAL)?;
    Ok(match what {
        Query::Value => set.sems[n].value,
        Query::Pid => set.sems[n].pid,
        Query::WaitingToTake => set.count_waiters(n, false) as i32,
        Query::WaitingForZero => set.count_waiters(n, true) as i32,
    })
}

/// What [`query`] reads.
#[derive(Clone, Copy)]
pub enum Query {
    Value,
    Pid,
    WaitingToTake,
    WaitingForZero,
}

/// SETALL: every value (ERANGE past SEMVMX), clearing every undo adjustment; sleepers
/// that can now go through do.
pub fn set_all(id: i32, values: &[u16], who: &Identity, pid: i32) -> SysResult<()> {
    if values.iter().any(|&v| i32::from(v) > SEMVMX) {
        return Err(Errno::ERANGE);
    }
    let ns = super::namespace::current();
    let mut guard = ns.sem.lock();
    let table = &mut *guard;
    let set = checked(&mut table.ids, id, true, who).map_err(|e| match e {
        Errno::EINVAL => Errno::EIDRM,
        e => e,
    })?;
    for (sem, &v) in set.sems.iter_mut().zip(values) {
        sem.value = i32::from(v);
        sem.pid = pid;
    }
    for adj in set.undos.values_mut() {
        adj.fill(0);
    }
    set.stat.ctime = now();
    let changed = changed_after_update(set, &mut table.finished);
    drop(guard);
    changed.wake_all();
    Ok(())
}

/// SETVAL: one value (ERANGE outside 0..=SEMVMX, checked first as Linux does; EINVAL past
/// the set, then EACCES), clearing the undo adjustments of that semaphore.
pub fn set_value(id: i32, semnum: i32, value: i32, who: &Identity, pid: i32) -> SysResult<()> {
    if !(0..=SEMVMX).contains(&value) {
        return Err(Errno::ERANGE);
    }
    let ns = super::namespace::current();
    let mut guard = ns.sem.lock();
    let table = &mut *guard;
    let set = table.ids.get_mut(id)?;
    let n = usize::try_from(semnum).ok().filter(|&n| n < set.sems.len()).ok_or(Errno::EINVAL)?;
    if !set.stat.perm.may(who, 0o222) {
        return Err(Errno::EACCES);
    }
    for adj in set.undos.values_mut() {
        adj[n] = 0;
    }
    set.sems[n].value = value;
    set.sems[n].pid = pid;
    set.stat.ctime = now();
    let changed = changed_after_update(set, &mut table.finished);
    drop(guard);
    changed.wake_all();
    Ok(())
}

/// Runs the sleepers after values were set (not by operations), records their results, and
/// returns the wait queue to wake.
fn changed_after_update(
    set: &mut SemSet,
    finished: &mut BTreeMap<u64, SysResult<()>>,
) -> Arc<WaitQueue> {
    let mut done = Finished::new();
    set.update(None, false, &mut done);
    set.unmerge();
    finished.extend(done);
    set.changed.clone()
}

/// IPC_STAT, SEM_STAT (by index) and SEM_STAT_ANY (by index, without the read check).
pub fn stat(
    id_or_index: i32,
    by_index: bool,
    check_read: bool,
    who: &Identity,
) -> SysResult<SetStat> {
    let ns = super::namespace::current();
    let table = ns.sem.lock();
    Ok(table.ids.readable(id_or_index, by_index, check_read, who)?.stat)
}

/// IPC_SET: owner and permission bits (EPERM unless owner, creator or root).
pub fn set(id: i32, uid: u32, gid: u32, mode: u32, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let mut table = ns.sem.lock();
    let set = table.ids.get_mut(id)?;
    if !set.stat.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    set.stat.perm.update(uid, gid, mode)?;
    set.stat.ctime = now();
    Ok(())
}

/// IPC_RMID: removes the set (EPERM unless owner, creator or root); its sleepers get EIDRM
/// and its undo adjustments go with it.
pub fn remove(id: i32, who: &Identity) -> SysResult<()> {
    let ns = super::namespace::current();
    let mut guard = ns.sem.lock();
    let table = &mut *guard;
    if !table.ids.get(id)?.stat.perm.owned_by(who) {
        return Err(Errno::EPERM);
    }
    let set = table.ids.remove(id)?;
    table.used_sems -= set.sems.len() as i64;
    for token in set.tokens() {
        table.finished.insert(token, Err(Errno::EIDRM));
    }
    drop(guard);
    set.changed.wake_all();
    Ok(())
}

/// Applies the undo adjustments of thread group `pid`, which exited, to every set (values
/// clamped to 0..=SEMVMX, as Linux's exit_sem), letting sleepers through.
pub fn exit_process(pid: i32) {
    let ns = super::namespace::current();
    let mut guard = ns.sem.lock();
    let table = &mut *guard;
    let mut woken = Vec::new();
    let mut done = Finished::new();
    for set in table.ids.iter_mut() {
        let Some(adj) = set.undos.remove(&pid) else { continue };
        for (sem, &a) in set.sems.iter_mut().zip(&adj) {
            if a != 0 {
                sem.value = (sem.value + i32::from(a)).clamp(0, SEMVMX);
                sem.pid = pid;
            }
        }
        set.update(None, true, &mut done);
        set.unmerge();
        woken.push(set.changed.clone());
    }
    table.finish(done);
    drop(guard);
    for changed in woken {
        changed.wake_all();
    }
}

/// SEM_INFO's figures: sets and semaphores in use, and the highest index in use.
pub struct Usage {
    pub sets: i32,
    pub sems: i32,
    pub max_index: i32,
}

/// The figures SEM_INFO reports.
pub fn usage() -> Usage {
    let ns = super::namespace::current();
    let table = ns.sem.lock();
    Usage {
        sets: table.ids.len() as i32,
        sems: table.used_sems as i32,
        max_index: table.ids.max_index(),
    }
}

/// /proc/sysvipc/sem, in Linux's format.
pub fn proc_listing() -> String {
    let mut out = String::from(
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
    );
    let sets: Vec<SetStat> =
        super::namespace::current().sem.lock().ids.iter().map(|s| s.stat).collect();
    for s in sets {
        let p = s.perm;
        out.push_str(&format!(
            "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}\n",
            p.key, p.id, p.mode, s.nsems, p.uid, p.gid, p.cuid, p.cgid, s.otime, s.ctime
        ));
    }
    out
}
