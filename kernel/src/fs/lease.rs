//! File leases (`fcntl` F_SETLEASE/F_GETLEASE): an open file description's claim to be
//! told, by a signal, before another open of the file goes ahead, as Linux 6.1's
//! `fs/locks.c` has them.
//!
//! A read lease lets other readers open the file; a write lease lets no one. Taking one
//! needs that no other open already conflicts with it: a read lease, that nothing has the
//! file open for writing (the holder's own descriptor included, so it must be read-only); a
//! write lease, that the holder's is the only open description of the file.
//!
//! An open(2) (or truncate(2)) that conflicts with a lease *breaks* it: the lease is marked
//! to be downgraded (a reader breaking a write lease) or removed (a writer), its holder gets
//! the lease-break signal (SIGIO, or F_SETSIG's with the descriptor in `si_fd`), and the
//! opener sleeps until the holder gives way (F_SETLEASE F_RDLCK or F_UNLCK) or the
//! `fs.lease-break-time` seconds pass, when the lease is downgraded or removed by force. An
//! O_NONBLOCK opener gets EWOULDBLOCK instead of sleeping, the break having started all the
//! same. As in Linux, the break is not owner-aware: the holder's own conflicting open
//! breaks its lease too. Deadlines are checked lazily, as Linux's `time_out_leases`: when a
//! lease is taken, asked about or broken.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt::Write as _;

use ostd::sync::{SpinLock, WaitQueue};

use super::record_lock::{FileKey, node_id};
use super::{FileLike, NodeKind, OpenFlags, async_owner};
use crate::error::{Errno, SysResult};
use crate::sysctl::IntTunable;

/// `fs.leases-enable`: whether new leases may be taken (0: F_SETLEASE is EINVAL).
pub static LEASES_ENABLE: IntTunable = IntTunable::new(1, i32::MIN as i64, i32::MAX as i64);
/// `fs.lease-break-time`: seconds a holder has to give way (0 or less: no limit).
pub static LEASE_BREAK_TIME: IntTunable = IntTunable::new(45, i32::MIN as i64, i32::MAX as i64);

/// fcntl's lease types (F_RDLCK, F_WRLCK, F_UNLCK).
pub const F_RDLCK: u64 = 0;
/// A write lease.
pub const F_WRLCK: u64 = 1;
/// No lease.
pub const F_UNLCK: u64 = 2;

/// A deadline that never comes: the break waits for the holder however long.
const NEVER: u64 = u64::MAX;

/// A lease's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// One open file description's lease.
struct Lease {
    /// The description (its address, the identity the lock tables use).
    description: usize,
    /// The description, to signal its owner and to reset it when the lease goes.
    file: Weak<dyn FileLike>,
    /// The descriptor F_SETLEASE was given last (the signal's `si_fd`).
    fd: i32,
    /// The process that took it (`/proc/locks`).
    pid: i32,
    /// When it was taken, in the order of all leases (`/proc/locks` lists the newest first).
    taken: u64,
    kind: Kind,
    /// A writer broke the lease: it goes at this monotonic time, if not given up before
    /// (Linux's FL_UNLOCK_PENDING and fl_break_time).
    unlock_at: Option<u64>,
    /// A reader broke the write lease: it becomes a read lease at this time (Linux's
    /// FL_DOWNGRADE_PENDING and fl_downgrade_time).
    downgrade_at: Option<u64>,
}

impl Lease {
    fn breaking(&self) -> bool {
        self.unlock_at.is_some() || self.downgrade_at.is_some()
    }

    /// The type the lease is on its way to (Linux's `target_leasetype`), as F_GETLEASE
    /// and `/proc/locks` report it.
    fn target(&self) -> u64 {
        if self.unlock_at.is_some() {
            F_UNLCK
        } else if self.downgrade_at.is_some() || self.kind == Kind::Read {
            F_RDLCK
        } else {
            F_WRLCK
        }
    }

    /// Whether an open for writing (`want_write`) or reading conflicts with the lease.
    fn conflicts(&self, want_write: bool) -> bool {
        want_write || self.kind == Kind::Write
    }
}

/// The leases on one file, in the order they were taken, and the opens waiting for them.
struct FileLeases {
    key: FileKey,
    leases: Vec<Lease>,
    breakers: Vec<Breaker>,
}

/// An open (or truncate) asleep until the leases it broke give way: `/proc/locks` lists it
/// under the file's first lease, as Linux lists the blocked request.
struct Breaker {
    /// Tells this sleeper's entry from another's.
    token: u64,
    /// The opener's process.
    pid: i32,
    want_write: bool,
}

/// The next [`Breaker::token`].
static NEXT_BREAKER: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// The next [`Lease::taken`].
static NEXT_LEASE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Leases by file (its node's address).
static LEASES: SpinLock<BTreeMap<usize, FileLeases>> = SpinLock::new(BTreeMap::new());
/// Woken whenever a lease is downgraded or removed.
static CHANGED: WaitQueue = WaitQueue::new();

/// What a change to a lease leaves to do once the table's lock is dropped: the
/// descriptions whose lease went (their owner and signal are reset, as Linux's
/// `lease_modify` does), and whether sleepers must look again.
#[derive(Default)]
struct AfterChange {
    ended: Vec<Weak<dyn FileLike>>,
    changed: bool,
}

impl AfterChange {
    fn finish(self) {
        for file in self.ended.iter().filter_map(Weak::upgrade) {
            async_owner::update(&file, |o| *o = async_owner::AsyncOwner::default());
        }
        if self.changed {
            CHANGED.wake_all();
        }
    }
}

/// Makes lease `i` of `leases` the type `arg` (Linux's `lease_modify`): F_RDLCK ends a
/// pending downgrade, F_UNLCK removes the lease.
fn modify(leases: &mut Vec<Lease>, i: usize, arg: u64, after: &mut AfterChange) {
    after.changed = true;
    match arg {
        F_UNLCK => after.ended.push(leases.remove(i).file),
        F_RDLCK => {
            leases[i].kind = Kind::Read;
            leases[i].downgrade_at = None;
        }
        _ => leases[i].kind = Kind::Write,
    }
}

/// Downgrades or removes the leases whose break time has passed (Linux's
/// `time_out_leases`).
fn time_out(leases: &mut Vec<Lease>, now: u64, after: &mut AfterChange) {
    let mut i = 0;
    while i < leases.len() {
        if leases[i].downgrade_at.is_some_and(|t| t <= now) {
            modify(leases, i, F_RDLCK, after);
        }
        if leases[i].unlock_at.is_some_and(|t| t <= now) {
            modify(leases, i, F_UNLCK, after);
            continue;
        }
        i += 1;
    }
}

/// Drops the file's entry once it holds no lease.
fn prune(table: &mut BTreeMap<usize, FileLeases>, id: usize) {
    if table.get(&id).is_some_and(|f| f.leases.is_empty()) {
        table.remove(&id);
    }
}

fn now() -> u64 {
    crate::time::clock::monotonic_ns()
}

/// Who asks for a lease: the process, and whether it owns the file or holds CAP_LEASE.
pub struct Requester {
    /// Its thread-group id.
    pub pid: i32,
    /// Its filesystem uid.
    pub fsuid: u32,
    /// Whether it holds CAP_LEASE.
    pub privileged: bool,
}

/// F_SETLEASE: takes, changes or gives up (`arg` F_RDLCK, F_WRLCK, F_UNLCK) the lease of
/// `file`, reached through descriptor `fd`. The holder becomes the description's owner
/// for the lease-break signal unless it has one.
///
/// # Errors
/// EINVAL for another `arg`, a file that is not regular, or leases disabled; EACCES for a
/// file the requester neither owns nor may lease by privilege; EAGAIN for a conflicting
/// open or lease, or F_UNLCK with no lease.
pub fn set(file: &Arc<dyn FileLike>, fd: i32, who: &Requester, arg: u64) -> SysResult<()> {
    if !matches!(arg, F_RDLCK | F_WRLCK | F_UNLCK) {
        return Err(Errno::EINVAL);
    }
    let node = file.node().ok_or(Errno::EINVAL)?;
    if node.metadata().uid != who.fsuid && !who.privileged {
        return Err(Errno::EACCES);
    }
    if node.kind() != NodeKind::File {
        return Err(Errno::EINVAL);
    }
    let key = FileKey::of(file).ok_or(Errno::EINVAL)?;
    let description = Arc::as_ptr(file) as *const u8 as usize;
    let mut after = AfterChange::default();
    let result = {
        let mut table = LEASES.lock();
        let result = set_locked(&mut table, &key, file, fd, who.pid, arg, &mut after);
        prune(&mut table, key.id());
        result.map(|()| description)
    };
    after.finish();
    result?;
    if arg != F_UNLCK {
        // Linux's lease_setup: the lease's signal goes to the process that took it,
        // unless F_SETOWN named another owner first.
        async_owner::update(file, |o| {
            if o.id == 0 {
                (o.kind, o.id) = (async_owner::OwnerKind::Process, who.pid);
            }
        });
    }
    Ok(())
}

/// F_SETLEASE under the table's lock (Linux's `generic_add_lease` and
/// `generic_delete_lease`).
fn set_locked(
    table: &mut BTreeMap<usize, FileLeases>,
    key: &FileKey,
    file: &Arc<dyn FileLike>,
    fd: i32,
    pid: i32,
    arg: u64,
    after: &mut AfterChange,
) -> SysResult<()> {
    let description = Arc::as_ptr(file) as *const u8 as usize;
    let entry = table.entry(key.id()).or_insert_with(|| FileLeases {
        key: key.clone(),
        leases: Vec::new(),
        breakers: Vec::new(),
    });
    let leases = &mut entry.leases;
    time_out(leases, now(), after);
    let mine = leases.iter().position(|l| l.description == description);
    if arg == F_UNLCK {
        let i = mine.ok_or(Errno::EAGAIN)?;
        modify(leases, i, F_UNLCK, after);
        return Ok(());
    }
    // No other open may conflict (Linux's check_conflicting_open): a read lease wants no
    // writer at all, a write lease no open but the holder's own.
    let (read_only, writers) = key.node.open_counts();
    let flags = file.flags();
    let conflicting_open = if arg == F_RDLCK {
        writers != 0
    } else {
        writers != usize::from(flags.writable())
            || read_only != usize::from(flags.readable() && !flags.writable())
    };
    if conflicting_open {
        return Err(Errno::EAGAIN);
    }
    for (i, other) in leases.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        // No write lease beside another's lease; no new lease while a writer waits.
        if arg == F_WRLCK || other.unlock_at.is_some() {
            return Err(Errno::EAGAIN);
        }
    }
    if let Some(i) = mine {
        leases[i].fd = fd;
        modify(leases, i, arg, after);
        return Ok(());
    }
    if LEASES_ENABLE.get() == 0 {
        return Err(Errno::EINVAL);
    }
    let kind = if arg == F_WRLCK { Kind::Write } else { Kind::Read };
    leases.push(Lease {
        description,
        file: Arc::downgrade(file),
        fd,
        pid,
        taken: NEXT_LEASE.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
        kind,
        unlock_at: None,
        downgrade_at: None,
    });
    Ok(())
}

/// F_GETLEASE: the type of `file`'s lease (F_UNLCK for none), or the type it is being
/// broken to.
pub fn get(file: &Arc<dyn FileLike>) -> u64 {
    let Some(node) = file.node() else { return F_UNLCK };
    let description = Arc::as_ptr(file) as *const u8 as usize;
    let id = node_id(node);
    let mut after = AfterChange::default();
    let kind = {
        let mut table = LEASES.lock();
        let kind = table.get_mut(&id).and_then(|f| {
            time_out(&mut f.leases, now(), &mut after);
            f.leases.iter().find(|l| l.description == description).map(Lease::target)
        });
        prune(&mut table, id);
        kind
    };
    after.finish();
    kind.unwrap_or(F_UNLCK)
}

/// Breaks the leases that an open of `node` with `flags` conflicts with (Linux's
/// `__break_lease`), and waits until they are given up or time out; truncate(2) breaks
/// as an open for writing. Returns at once if the file has no lease.
///
/// # Errors
/// EWOULDBLOCK if a lease is in the way and `flags` has O_NONBLOCK; EINTR if a signal
/// comes while waiting.
pub fn break_for_open(node: &Arc<super::Node>, flags: OpenFlags) -> SysResult<()> {
    if !LEASES.lock().contains_key(&node_id(node)) {
        return Ok(());
    }
    // The opener is one of the file's readers or writers while it breaks and waits, as in
    // Linux (the holder cannot take a write lease back meanwhile).
    node.count_access(flags, true);
    let result = break_leases(node, flags);
    node.count_access(flags, false);
    result
}

/// [`break_for_open`] once the file has leases.
fn break_leases(node: &Arc<super::Node>, flags: OpenFlags) -> SysResult<()> {
    let id = node_id(node);
    let want_write = flags.contains(OpenFlags::WRONLY) || flags.contains(OpenFlags::RDWR);
    let mut after = AfterChange::default();
    let mut signals = Vec::new();
    {
        let mut table = LEASES.lock();
        let Some(file) = table.get_mut(&id) else { return Ok(()) };
        let now = now();
        time_out(&mut file.leases, now, &mut after);
        if file.leases.iter().any(|l| l.conflicts(want_write)) {
            let seconds = LEASE_BREAK_TIME.get();
            let deadline = if seconds > 0 {
                now.saturating_add((seconds as u64).saturating_mul(1_000_000_000))
            } else {
                NEVER
            };
            for lease in file.leases.iter_mut().filter(|l| l.conflicts(want_write)) {
                if want_write {
                    if lease.unlock_at.is_some() {
                        continue;
                    }
                    lease.unlock_at = Some(deadline);
                } else {
                    if lease.breaking() {
                        continue;
                    }
                    lease.downgrade_at = Some(deadline);
                }
                signals.push((lease.file.clone(), lease.fd));
            }
        }
        prune(&mut table, id);
    }
    after.finish();
    for (file, fd) in signals {
        if let Some(file) = file.upgrade() {
            async_owner::send_message_signal(&file, fd);
        }
    }
    loop {
        // The earliest deadline of a conflicting lease, or `None` once none is left.
        let next_deadline = |table: &mut BTreeMap<usize, FileLeases>, after: &mut AfterChange| {
            let file = table.get_mut(&id)?;
            time_out(&mut file.leases, now(), after);
            let conflicting = file.leases.iter().filter(|l| l.conflicts(want_write));
            let deadline =
                conflicting.map(|l| l.unlock_at.or(l.downgrade_at).unwrap_or(NEVER)).min();
            prune(table, id);
            deadline
        };
        let mut after = AfterChange::default();
        let deadline = next_deadline(&mut LEASES.lock(), &mut after);
        after.finish();
        let Some(deadline) = deadline else { return Ok(()) };
        if flags.contains(OpenFlags::NONBLOCK) {
            return Err(Errno::EAGAIN);
        }
        let token = NEXT_BREAKER.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if let Some(file) = LEASES.lock().get_mut(&id) {
            let pid = crate::process::registry::current().map_or(0, |p| p.pid());
            file.breakers.push(Breaker { token, pid, want_write });
        }
        let waited = CHANGED.wait_until_or_deadline(
            || {
                let mut after = AfterChange::default();
                let left = next_deadline(&mut LEASES.lock(), &mut after);
                after.finish();
                match left {
                    None => Some(Ok(())),
                    Some(_) if crate::wait::signal_pending() => Some(Err(Errno::EINTR)),
                    Some(_) => None,
                }
            },
            (deadline != NEVER).then_some(deadline),
        );
        if let Some(file) = LEASES.lock().get_mut(&id) {
            file.breakers.retain(|b| b.token != token);
        }
        if let Ok(result) = waited {
            return result;
        }
    }
}

/// Drops the lease of a description whose last descriptor closed.
pub fn release(node: usize, description: usize) {
    let mut table = LEASES.lock();
    let Some(file) = table.get_mut(&node) else { return };
    let before = file.leases.len();
    file.leases.retain(|l| l.description != description);
    let changed = file.leases.len() != before;
    prune(&mut table, node);
    drop(table);
    if changed {
        CHANGED.wake_all();
    }
}

/// The lease lines of `/proc/locks`, numbered from `first`, the newest first, as Linux
/// prints them:
/// `N: LEASE  ACTIVE    WRITE PID MAJ:MIN:INO 0 EOF` (`BREAKING  ` and the target type
/// while broken), each waiting opener under the file's first lease as
/// `N: -> LEASE  BREAKER   READ PID <none>:0 0 EOF`, nested as [`waiting_tree`] says.
/// Returns the next number.
pub fn proc_lines(out: &mut String, first: usize) -> usize {
    let table = LEASES.lock();
    let mut all: Vec<(&FileLeases, &Lease)> =
        table.values().flat_map(|f| f.leases.iter().map(move |l| (f, l))).collect();
    all.sort_by_key(|b| core::cmp::Reverse(b.1.taken));
    let mut n = first;
    for (file, l) in all {
        let state = if l.breaking() { "BREAKING  " } else { "ACTIVE    " };
        let kind = match l.target() {
            F_WRLCK => "WRITE",
            F_RDLCK => "READ",
            _ => "UNLCK",
        };
        let name = file.key.proc_name();
        let _ = writeln!(out, "{n}: LEASE  {state}{kind} {} {name} 0 EOF", l.pid);
        // Linux queues a waiting opener on the file's first (oldest) lease.
        if core::ptr::eq(l, &file.leases[0]) {
            for (depth, b) in waiting_tree(&file.breakers) {
                let kind = if b.want_write { "WRITE" } else { "READ" };
                let indent = depth - 1;
                let _ = writeln!(
                    out,
                    "{n}: {:indent$}-> LEASE  BREAKER   {kind} {} <none>:0 0 EOF",
                    "", b.pid
                );
            }
        }
        n += 1;
    }
    n
}

/// The waiting openers in the order and at the depth `/proc/locks` shows them: Linux's
/// `__locks_insert_block` queues a waiter under the first one already waiting that it
/// conflicts with (one of them opens for writing), repeatedly, else under the lease, and
/// the listing walks that tree depth first. Depth 1 is directly under the lease. (Linux's
/// readers waiting for a downgrade wake and queue again at every tick, so the order among
/// them varies there; here they keep the order they came in.)
fn waiting_tree(breakers: &[Breaker]) -> Vec<(usize, &Breaker)> {
    // Each waiter's children, by index; `None` is the lease.
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (i, waiter) in breakers.iter().enumerate() {
        let mut blocker = None;
        while let Some(&c) = children
            .get(&blocker)
            .and_then(|kids| kids.iter().find(|&&c| breakers[c].want_write || waiter.want_write))
        {
            blocker = Some(c);
        }
        children.entry(blocker).or_default().push(i);
    }
    let mut order = Vec::new();
    let mut stack: Vec<(usize, usize)> =
        children.get(&None).map_or(Vec::new(), |k| k.iter().rev().map(|&c| (1, c)).collect());
    while let Some((depth, i)) = stack.pop() {
        order.push((depth, &breakers[i]));
        if let Some(kids) = children.get(&Some(i)) {
            stack.extend(kids.iter().rev().map(|&c| (depth + 1, c)));
        }
    }
    order
}

ostd::ktest! {
    fn a_waiting_writer_queues_under_the_reader_before_it() {
        let b = |token, want_write| Breaker { token, pid: token as i32, want_write };
        let waiting = [b(1, false), b(2, false), b(3, true), b(4, false)];
        let order: Vec<(usize, u64)> =
            waiting_tree(&waiting).into_iter().map(|(d, w)| (d, w.token)).collect();
        // 3 conflicts with 1 (goes under it); 4 conflicts with none of 1 and 2 but 1's
        // child is not looked at: under the lease.
        assert_eq!(order, [(1, 1), (2, 3), (1, 2), (1, 4)]);
    }

    fn a_write_lease_is_broken_to_read_then_gone_and_ends_with_its_file() {
        use super::file::NodeFile;
        let node = super::Node::new_of(NodeKind::File, 0o644, "");
        let holder: Arc<dyn FileLike> = Arc::new(NodeFile::new(node.clone(), OpenFlags::empty()));
        let who = Requester { pid: 0, fsuid: 0, privileged: true };
        assert_eq!(set(&holder, 3, &who, 7), Err(Errno::EINVAL));
        assert_eq!(set(&holder, 3, &who, F_UNLCK), Err(Errno::EAGAIN));
        set(&holder, 3, &who, F_WRLCK).unwrap();
        assert_eq!(get(&holder), F_WRLCK);
        // Another reader open at the same time: no write lease for it.
        let other: Arc<dyn FileLike> = Arc::new(NodeFile::new(node.clone(), OpenFlags::empty()));
        assert_eq!(set(&other, 4, &who, F_WRLCK), Err(Errno::EAGAIN));
        drop(other);
        let nonblocking_read = OpenFlags::NONBLOCK;
        assert_eq!(break_for_open(&node, nonblocking_read), Err(Errno::EAGAIN));
        assert_eq!(get(&holder), F_RDLCK, "a downgrade is pending");
        set(&holder, 3, &who, F_RDLCK).unwrap();
        assert_eq!(break_for_open(&node, nonblocking_read), Ok(()));
        let nonblocking_write = OpenFlags::NONBLOCK | OpenFlags::WRONLY;
        assert_eq!(break_for_open(&node, nonblocking_write), Err(Errno::EAGAIN));
        assert_eq!(get(&holder), F_UNLCK, "an unlock is pending");
        let mut lines = String::new();
        proc_lines(&mut lines, 1);
        assert!(lines.contains("LEASE  BREAKING  UNLCK 0 "), "{lines}");
        drop(holder);
        assert!(LEASES.lock().get(&node_id(&node)).is_none());
        assert_eq!(break_for_open(&node, nonblocking_write), Ok(()));
    }
}
