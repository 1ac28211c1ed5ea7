//! The process table and PID allocation, and which process each task runs.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::{Pid, Process, Thread};
use crate::error::{Errno, SysResult};

/// A running thread: its process, its record and its task.
type Running = (Arc<Process>, Arc<Thread>, Arc<ostd::task::Task>);

struct Table {
    processes: BTreeMap<Pid, Arc<Process>>,
    by_task: BTreeMap<u64, Running>,
    /// Thread IDs in use by threads other than a process's first.
    tids: alloc::collections::BTreeSet<Pid>,
    /// Threads made by clone whose task has not started yet, by thread ID: they exist for
    /// signals and seccomp's TSYNC from the moment clone returns.
    starting: BTreeMap<Pid, (Arc<Process>, Arc<Thread>)>,
    next_pid: Pid,
}

static TABLE: SpinLock<Table> = SpinLock::new(Table {
    processes: BTreeMap::new(),
    by_task: BTreeMap::new(),
    tids: alloc::collections::BTreeSet::new(),
    starting: BTreeMap::new(),
    next_pid: 1,
});

/// PIDs stay below this (Linux's kernel.pid_max: 32768 unless set, from RESERVED_PIDS + 1
/// to PID_MAX_LIMIT).
pub static PID_MAX: crate::sysctl::IntTunable =
    crate::sysctl::IntTunable::new(32768, 301, 4 * 1024 * 1024);

/// kernel.threads-max when set through /proc/sys (0: computed from memory).
static THREADS_MAX_SET: AtomicUsize = AtomicUsize::new(0);

/// The most tasks (processes and threads) that may exist at once: Linux's threads-max rule,
/// kernel stacks taking at most an eighth of memory, and at least 20.
pub fn threads_max() -> usize {
    let set = THREADS_MAX_SET.load(Ordering::Relaxed);
    if set != 0 {
        return set;
    }
    let memory = ostd::mm::frame_stats().total * ostd::mm::PAGE_SIZE;
    (memory / (8 * ostd::task::KERNEL_STACK_BYTES)).clamp(MIN_THREADS, MAX_THREADS)
}

/// Linux's MIN_THREADS and MAX_THREADS (FUTEX_TID_MASK): the computed default's range.
const MIN_THREADS: usize = 20;
const MAX_THREADS: usize = 0x3fff_ffff;

/// Sets kernel.threads-max.
///
/// # Errors
/// EINVAL outside `1..=MAX_THREADS` (Linux's `sysctl_max_threads`: a write may go below
/// the default's floor).
pub fn set_threads_max(value: i64) -> SysResult<()> {
    let value = usize::try_from(value).map_err(|_| Errno::EINVAL)?;
    if !(1..=MAX_THREADS).contains(&value) {
        return Err(Errno::EINVAL);
    }
    THREADS_MAX_SET.store(value, Ordering::Relaxed);
    Ok(())
}

/// Allocates an unused PID, or `None` when PIDs or threads-max (fork and clone answer
/// EAGAIN) are exhausted.
pub fn alloc_pid() -> Option<Pid> {
    let max_tasks = threads_max();
    let mut t = TABLE.lock();
    if t.processes.len() + t.tids.len() >= max_tasks {
        return None;
    }
    let pid_max = PID_MAX.get() as Pid;
    for _ in 0..pid_max {
        // Past pid_max (perhaps just lowered), numbering starts again low.
        let pid = if t.next_pid >= pid_max { 2 } else { t.next_pid };
        t.next_pid = pid + 1;
        if !t.processes.contains_key(&pid) && !t.tids.contains(&pid) {
            return Some(pid);
        }
    }
    None
}

/// pid_max: PIDs are below it.
pub fn pid_max() -> Pid {
    PID_MAX.get() as Pid
}

/// Takes `pid` for a new process (clone3's set_tid): EEXIST if a process or thread has it,
/// EAGAIN past threads-max.
pub fn claim_pid(pid: Pid) -> SysResult<Pid> {
    let t = TABLE.lock();
    if t.processes.len() + t.tids.len() >= threads_max() {
        return Err(Errno::EAGAIN);
    }
    if t.processes.contains_key(&pid) || t.tids.contains(&pid) {
        return Err(Errno::EEXIST);
    }
    Ok(pid)
}

/// Adds a process.
pub fn insert(p: Arc<Process>) {
    TABLE.lock().processes.insert(p.pid(), p);
}

/// Removes a reaped process.
pub fn remove(pid: Pid) {
    // Dropped after the table's lock is released: the last reference to a process drops
    // its address space, which may write files back (sleeping locks).
    let removed = TABLE.lock().processes.remove(&pid);
    super::pid_ns::detach(pid);
    if let Some(process) = &removed {
        // Reaped: dispositions it shared are the others' alone now, whoever still holds
        // this process (a pidfd), as Linux's release_task drops its sighand.
        process.release_sighand();
    }
    drop(removed);
}

/// Finds a process.
pub fn get(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().processes.get(&pid).cloned()
}

/// Returns every process.
pub fn all() -> Vec<Arc<Process>> {
    TABLE.lock().processes.values().cloned().collect()
}

/// Whether any process holds a node that `pick` picks: an open file, its working or root
/// directory, or a file it maps, its program among them (umount's busy check asks).
pub fn any_holds(pick: &dyn Fn(&crate::fs::Node) -> bool) -> bool {
    all().iter().any(|p| {
        let fs = p.fs_context();
        let open: Vec<Arc<crate::fs::Node>> = p.with_files(|files| {
            files.fds().filter_map(|(_, entry)| entry.file.node().cloned()).collect()
        });
        let vm = p.vm();
        let mapped =
            [true, false].into_iter().flat_map(|private| vm.files_in(0, u64::MAX, private));
        pick(&fs.cwd)
            || pick(&fs.root)
            || open.iter().any(|node| pick(node))
            || mapped.into_iter().any(|(_, _, node, _)| pick(&node))
    })
}

/// Allocates a thread ID (from the PID space, which it shares).
pub fn alloc_tid() -> Option<Pid> {
    let tid = alloc_pid()?;
    TABLE.lock().tids.insert(tid);
    Some(tid)
}

/// Releases a thread ID.
pub fn free_tid(tid: Pid) {
    TABLE.lock().tids.remove(&tid);
    super::pid_ns::detach(tid);
}

/// Records that the current task runs `thread` of `p`.
pub fn bind_current_task(p: Arc<Process>, thread: Arc<Thread>) {
    let task = ostd::task::current();
    let binding = Binding { process: p.clone(), thread: thread.clone(), bound: true.into() };
    if task.attach(alloc::boxed::Box::new(binding)).is_err() {
        panic!("task {} already runs a thread", task.id());
    }
    let mut table = TABLE.lock();
    table.starting.remove(&thread.tid);
    table.by_task.insert(task.id(), (p, thread, task));
}

/// The tasks (threads, and zombies not yet reaped) whose process's real user is `uid`:
/// what RLIMIT_NPROC counts.
pub fn tasks_of_user(uid: u32) -> usize {
    let table = TABLE.lock();
    table
        .processes
        .values()
        .filter(|p| p.creds().ruid == uid)
        .map(|p| p.thread_count().max(1))
        .sum()
}

/// Records a thread clone just made, until its task starts ([`bind_current_task`]).
pub fn add_starting_thread(p: &Arc<Process>, thread: &Arc<Thread>) {
    TABLE.lock().starting.insert(thread.tid, (p.clone(), thread.clone()));
}

/// Forgets the current task's process.
pub fn unbind_current_task() {
    let task = ostd::task::current();
    if let Some(binding) = task.attached().and_then(|b| b.downcast_ref::<Binding>()) {
        binding.bound.store(false, Ordering::Release);
    }
    TABLE.lock().by_task.remove(&task.id());
}

/// Returns the process the current task runs, if any.
pub fn current() -> Option<Arc<Process>> {
    current_thread().map(|(p, _)| p)
}

/// Returns the process and thread the current task runs.
pub fn current_thread() -> Option<(Arc<Process>, Arc<Thread>)> {
    let task = ostd::task::current_if_any()?;
    let binding = task.attached()?.downcast_ref::<Binding>()?;
    // After `unbind_current_task` the task is on its way out and runs no thread.
    binding.bound.load(Ordering::Acquire).then(|| (binding.process.clone(), binding.thread.clone()))
}

/// What a user task carries (`ostd::task::Task::attach`): the thread it runs, so that
/// finding the caller of a system call takes no look-up in the table.
struct Binding {
    process: Arc<Process>,
    thread: Arc<Thread>,
    bound: AtomicBool,
}

impl Table {
    /// Every thread: running, then starting.
    fn threads(&self) -> impl Iterator<Item = (&Arc<Process>, &Arc<Thread>)> {
        let running = self.by_task.values().map(|(p, t, _)| (p, t));
        running.chain(self.starting.values().map(|(p, t)| (p, t)))
    }
}

/// Returns thread `tid` of process `pid`, if it runs or is starting.
pub fn thread_of(pid: Pid, tid: Pid) -> Option<Arc<Thread>> {
    TABLE.lock().threads().find(|(p, t)| p.pid() == pid && t.tid == tid).map(|(_, t)| t.clone())
}

/// Returns the process and record of thread `tid`, if it runs or is starting.
pub fn find_thread(tid: Pid) -> Option<(Arc<Process>, Arc<Thread>)> {
    TABLE.lock().threads().find(|(_, t)| t.tid == tid).map(|(p, t)| (p.clone(), t.clone()))
}

/// Returns the task running thread `tid`, if it runs.
pub fn task_of_thread(tid: Pid) -> Option<Arc<ostd::task::Task>> {
    TABLE.lock().by_task.values().find(|(_, t, _)| t.tid == tid).map(|(_, _, task)| task.clone())
}

/// Returns the threads of process `pid`, running or starting.
pub fn threads_of(pid: Pid) -> Vec<Arc<Thread>> {
    TABLE.lock().threads().filter(|(p, _)| p.pid() == pid).map(|(_, t)| t.clone()).collect()
}

/// Returns the task running thread `tid` of process `pid`.
pub fn task_of(pid: Pid, tid: Pid) -> Option<Arc<ostd::task::Task>> {
    TABLE
        .lock()
        .by_task
        .values()
        .find(|(p, t, _)| p.pid() == pid && t.tid == tid)
        .map(|(_, _, task)| task.clone())
}

/// Returns the tasks running threads of process `pid`.
pub fn tasks_of(pid: Pid) -> Vec<Arc<ostd::task::Task>> {
    TABLE
        .lock()
        .by_task
        .values()
        .filter(|(p, _, _)| p.pid() == pid)
        .map(|(_, _, t)| t.clone())
        .collect()
}

/// Returns whether the calling process has a signal that should interrupt a blocking wait
/// (registered with `crate::wait` at boot, for the subsystems that must not know processes).
pub fn current_interrupted() -> bool {
    current_thread().is_some_and(|(p, t)| p.has_signal_for(Some(&t)))
}
