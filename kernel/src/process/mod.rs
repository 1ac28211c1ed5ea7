//! Processes: identity, memory, files, signals, the lifecycle (fork, exec, exit, wait), and
//! tracing ([`ptrace`]).
//!
//! Each process runs on one ostd task (threads come with `clone(CLONE_THREAD)` later), in
//! the loop of [`run`]: enter user mode, handle what comes back, repeat.

pub mod acct;
pub mod attrs;
pub mod container;
pub mod creds;
pub mod elf;
mod elf_map;
pub mod exec;
mod exit;
pub mod itimer;
pub mod limits;
pub mod namespaces;
pub mod oom;
pub mod pid_ns;
pub mod pidfd;
pub mod posix_timer;
mod proc_mem;
pub mod procfs;
pub mod ptrace;
pub mod registry;
pub mod run;
pub mod sigframe;
pub mod signal;
pub mod signalfd;
mod tables;
mod thread;
pub mod uts;
pub mod vfork;
pub mod vm;

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use ostd::sync::{SpinLock, SpinLockGuard};
use ostd::task::CpuTime;

use crate::fs::path::Start;
use crate::fs::poll::FileWaitQueue;
use crate::fs::{FdTable, Node};
use creds::{Credentials, FsCaller, Identity};
use signal::{SigAction, SignalState, ThreadSignals};
pub use tables::Sharing;
pub use thread::Thread;
use vm::Vm;

/// A process ID.
pub type Pid = i32;

/// How a process ended, as `wait4` encodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(u8),
    /// Killed by a signal (with a core dump flag).
    Signaled(u32, bool),
}

impl ExitStatus {
    /// Returns the `wstatus` word.
    pub fn wait_status(&self) -> u32 {
        match *self {
            Self::Exited(code) => u32::from(code) << 8,
            Self::Signaled(sig, core) => sig | if core { 0x80 } else { 0 },
        }
    }
}

/// Where a process resolves paths, and its umask.
#[derive(Clone)]
pub struct FsContext {
    /// The root directory.
    pub root: Arc<Node>,
    /// The working directory.
    pub cwd: Arc<Node>,
    /// The file-creation mask.
    pub umask: u32,
}

/// A process.
///
/// Every field is private; other code goes through the operations below, each of which
/// takes one lock, or a fixed set of them. Locks are never nested except in this order:
///
/// 1. `signals` before any of its threads' [`Thread`] signal state (delivery, sending to a
///    thread, [`Process::with_signal_states`]);
/// 2. `creds` before `groups` before `fs` (the snapshots [`Process::identity`] and
///    [`Process::fs_caller`]);
/// 3. `files` before `creds` (fcntl's F_SETPIPE_SZ asks for privilege with the table held,
///    inside [`Process::with_files`]).
///
/// `files` and `fs` are each two locks, the process's slot (read-write) then the table in
/// it, which other processes may share ([`tables::SharedTable`], clone's CLONE_FILES and
/// CLONE_FS); `signals` holds the dispositions, which other processes may share
/// (CLONE_SIGHAND), behind a lock of their own taken inside it ([`signal::SigActions`]).
/// The `limits` lock is taken alone before `files` ([`Process::with_files`] reads
/// RLIMIT_NOFILE first).
///
/// Every other lock is taken alone (fork also holds one of the parent's while it fills the
/// same field of a child no one else can reach yet).
pub struct Process {
    pid: Pid,
    parent: SpinLock<Weak<Process>>,
    children: SpinLock<Vec<Arc<Process>>>,
    pgid: AtomicI32,
    sid: AtomicI32,
    /// The address space, which other processes may share (CLONE_VM).
    vm: SpinLock<tables::VmUse>,
    /// Open files (shared with other processes after CLONE_FILES).
    files: tables::SharedTable<FdTable>,
    /// Root, cwd, umask (shared with other processes after CLONE_FS).
    fs: tables::SharedTable<FsContext>,
    /// Dispositions and process-directed pending signals.
    signals: SpinLock<SignalState>,
    exit_status: SpinLock<Option<ExitStatus>>,
    /// Woken when a child exits, stops or continues (wait4 sleeps here), or a signal arrives.
    child_wq: FileWaitQueue,
    /// The program name (comm), at most 15 bytes.
    comm: SpinLock<String>,
    /// The full argv of the last execve, for /proc/[pid]/cmdline.
    cmdline: SpinLock<Vec<String>>,
    /// The path of the executable.
    exe: SpinLock<String>,
    /// User and group IDs.
    creds: SpinLock<creds::Credentials>,
    /// Supplementary group IDs (setgroups), shared so that checks copy a pointer.
    groups: SpinLock<Arc<Vec<u32>>>,
    /// Threads still running user code; the process exits when the last one does.
    live_threads: AtomicUsize,
    /// The status `exit_group` (or a fatal signal) chose for the whole process.
    group_exit: spin::Once<ExitStatus>,
    /// Job control: stopped by this signal, and whether the parent has been told yet.
    stop: SpinLock<StopState>,
    /// ITIMER_REAL: next expiry (monotonic ns) and reload interval (0 = one-shot).
    real_timer: SpinLock<Option<(u64, u64)>>,
    /// POSIX timers (timer_create).
    posix_timers: SpinLock<posix_timer::Timers>,
    /// How many times it ran execve (Linux's self_exec_id): what was asked of the kernel
    /// before an execve (a message queue's notification) is not delivered after it.
    execs: core::sync::atomic::AtomicU64,
    /// CPU time of threads that have exited.
    exited_threads_cpu: SpinLock<CpuTime>,
    /// CPU time of reaped children (and theirs): RUSAGE_CHILDREN, times()'s cutime/cstime.
    children_cpu: SpinLock<CpuTime>,
    /// ITIMER_VIRTUAL and ITIMER_PROF: (deadline in the process's user or total CPU ns,
    /// reload interval).
    cpu_timers: SpinLock<[Option<(u64, u64)>; 2]>,
    /// The nice value (-20..=19), as getpriority/setpriority see it; the round-robin
    /// scheduler does not weigh it yet.
    nice: AtomicI32,
    /// What prctl(2) sets: keep-caps, dumpable, no-new-privs, the parent-death signal...
    attrs: SpinLock<attrs::Attrs>,
    /// Resource limits (RLIMIT_NOFILE's are the descriptor table's).
    limits: SpinLock<limits::Limits>,
    /// ptrace: its tracer and stop as a tracee, its tracees as a tracer.
    trace: ptrace::TraceCell,
    /// The signal its parent gets when it ends (clone's exit signal; SIGCHLD for fork, 0
    /// for none). A child with another is a "clone child" for wait's __WCLONE.
    exit_signal: core::sync::atomic::AtomicU32,
    /// A vfork parent sleeping until this child executes a program or ends.
    vfork_parent: SpinLock<Option<Arc<vfork::VforkDone>>>,
    /// Its namespaces.
    namespaces: SpinLock<namespaces::Namespaces>,
    /// Its own number in its PID namespace (getpid's answer, kept for speed: it never
    /// changes).
    own_nr: AtomicI32,
}

/// Where a process is in the stop/continue cycle, and what its parent still has to hear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct StopState {
    /// Stopped by this signal, if stopped.
    stopped_by: Option<u32>,
    /// A stop not yet reported by wait (WUNTRACED).
    stop_unreported: bool,
    /// A continue not yet reported by wait (WCONTINUED).
    continue_unreported: bool,
}

/// A job-control change that wait4/waitid have not reported yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobChange {
    /// Stopped, by this signal.
    Stopped(u32),
    /// Continued (SIGCONT).
    Continued,
}

impl Process {
    /// Creates a process; it is not in the table and not running yet.
    pub fn new(
        pid: Pid,
        parent: Weak<Process>,
        vm: Arc<Vm>,
        files: FdTable,
        fs: FsContext,
    ) -> Arc<Self> {
        let (vm, files, fs) =
            (tables::VmUse::new(vm), tables::SharedTable::new(files), tables::SharedTable::new(fs));
        Self::with_tables(pid, parent, vm, files, fs)
    }

    /// Creates a process with these tables (maybe shared with other processes).
    fn with_tables(
        pid: Pid,
        parent: Weak<Process>,
        vm: tables::VmUse,
        files: tables::SharedTable<FdTable>,
        fs: tables::SharedTable<FsContext>,
    ) -> Arc<Self> {
        Arc::new(Self {
            pid,
            parent: SpinLock::new(parent),
            children: SpinLock::new(Vec::new()),
            pgid: AtomicI32::new(pid),
            sid: AtomicI32::new(pid),
            vm: SpinLock::new(vm),
            files,
            fs,
            signals: SpinLock::new(SignalState::default()),
            exit_status: SpinLock::new(None),
            child_wq: FileWaitQueue::new(),
            comm: SpinLock::new(String::new()),
            cmdline: SpinLock::new(Vec::new()),
            exe: SpinLock::new(String::new()),
            creds: SpinLock::new(creds::Credentials::default()),
            groups: SpinLock::new(Arc::new(Vec::new())),
            live_threads: core::sync::atomic::AtomicUsize::new(1),
            group_exit: spin::Once::new(),
            stop: SpinLock::new(StopState::default()),
            real_timer: SpinLock::new(None),
            nice: AtomicI32::new(0),
            attrs: SpinLock::new(attrs::Attrs::default()),
            limits: SpinLock::new(limits::Limits::initial()),
            posix_timers: SpinLock::new(posix_timer::Timers::default()),
            execs: core::sync::atomic::AtomicU64::new(0),
            exited_threads_cpu: SpinLock::new(ostd::task::CpuTime::default()),
            children_cpu: SpinLock::new(ostd::task::CpuTime::default()),
            cpu_timers: SpinLock::new([None, None]),
            trace: ptrace::TraceCell::default(),
            exit_signal: core::sync::atomic::AtomicU32::new(signal::SIGCHLD),
            vfork_parent: SpinLock::new(None),
            namespaces: SpinLock::new(namespaces::Namespaces::initial()),
            own_nr: AtomicI32::new(pid),
        })
    }

    /// Returns the PID.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Returns the parent's PID (0 for init).
    pub fn ppid(&self) -> Pid {
        self.parent.lock().upgrade().map_or(0, |p| p.pid)
    }

    /// Returns the parent.
    pub fn parent(&self) -> Option<Arc<Process>> {
        self.parent.lock().upgrade()
    }

    /// Returns the process group.
    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::Relaxed)
    }

    /// Sets the process group.
    pub fn set_pgid(&self, pgid: Pid) {
        self.pgid.store(pgid, Ordering::Relaxed);
    }

    /// Returns the session.
    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::Relaxed)
    }

    /// Joins session `sid` (a forked child stays in its parent's session).
    pub fn set_session(&self, sid: Pid) {
        self.sid.store(sid, Ordering::Relaxed);
    }

    /// Makes this process a session and group leader.
    pub fn set_sid(&self) {
        self.sid.store(self.pid, Ordering::Relaxed);
        self.pgid.store(self.pid, Ordering::Relaxed);
    }

    /// Returns a path-resolution start at the cwd, searching with the process's IDs.
    pub fn start(&self) -> Start {
        self.fs_caller().start()
    }

    /// Returns the children.
    pub fn children(&self) -> Vec<Arc<Process>> {
        self.children.lock().clone()
    }

    /// Adds a child.
    pub fn add_child(&self, child: Arc<Process>) {
        self.children.lock().push(child);
    }

    /// Removes a (reaped) child.
    pub fn remove_child(&self, pid: Pid) {
        self.children.lock().retain(|c| c.pid != pid);
    }

    /// Returns how it ended, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit_status.lock()
    }

    /// The CPU time of all its threads, the running and the exited.
    pub fn cpu_time(&self) -> ostd::task::CpuTime {
        let running = registry::tasks_of(self.pid)
            .iter()
            .fold(ostd::task::CpuTime::default(), |sum, t| sum + t.cpu_time());
        running + *self.exited_threads_cpu.lock()
    }

    /// Records a thread's CPU time as it exits.
    pub fn add_exited_thread_cpu(&self, t: ostd::task::CpuTime) {
        let mut e = self.exited_threads_cpu.lock();
        *e = *e + t;
    }

    /// Takes a reaped child's CPU time (its own and its children's) into the children total.
    pub fn absorb_child_cpu(&self, child: &Process) {
        let theirs = child.cpu_time() + *child.children_cpu.lock();
        let mut c = self.children_cpu.lock();
        *c = *c + theirs;
    }

    /// Returns whether it has exited and awaits reaping.
    pub fn is_zombie(&self) -> bool {
        self.exit_status.lock().is_some()
    }

    /// Returns whether a signal is waiting that would interrupt a blocking call (or the
    /// process is being torn down by exit_group).
    pub fn has_pending_signal(&self) -> bool {
        let caller = registry::current_thread().filter(|(p, _)| p.pid == self.pid);
        self.has_signal_for(caller.as_ref().map(|(_, t)| &**t))
    }

    /// Returns whether a signal is waiting that would interrupt `thread`'s blocking call
    /// (any thread's, judged by an empty mask, if `None`), or the process is being torn
    /// down by exit_group.
    pub fn has_signal_for(&self, thread: Option<&Thread>) -> bool {
        // A tracer's stop request interrupts the main thread alone (the tracee).
        let tracee = thread.is_none_or(|t| t.tid == self.pid);
        self.has_real_signal_for(thread) || (tracee && ptrace::stop::trap_requested(self))
    }

    /// As [`Process::has_signal_for`], leaving out a stop a tracer asked for.
    pub fn has_real_signal_for(&self, thread: Option<&Thread>) -> bool {
        if self.group_exit.is_completed() {
            return true;
        }
        let (blocked, private) = thread.map_or((0, 0), |t| {
            let t = t.signals.lock();
            (t.blocked, t.private.pending())
        });
        let pending = self.signals.lock().shared.pending() | private;
        pending & !blocked != 0 || pending & (1 << (signal::SIGKILL - 1)) != 0
    }

    /// Wakes this process's threads wherever they sleep, so interruptible waits notice a
    /// signal (or exit_group) and return EINTR.
    pub fn interrupt_sleep(&self) {
        self.child_wq.wake_all();
        for task in registry::tasks_of(self.pid) {
            ostd::task::interrupt(&task);
        }
    }
}

/// Who the process is: user and group IDs, supplementary groups.
impl Process {
    /// Returns the user and group IDs.
    pub fn creds(&self) -> Credentials {
        *self.creds.lock()
    }

    /// Runs `f` on the IDs, locked, so that a set*id call checks and changes them in one
    /// step.
    pub fn update_creds<R>(&self, f: impl FnOnce(&mut Credentials) -> R) -> R {
        f(&mut self.creds.lock())
    }

    /// Returns the supplementary groups.
    pub fn groups(&self) -> Arc<Vec<u32>> {
        self.groups.lock().clone()
    }

    /// Replaces the supplementary groups (setgroups; already sorted).
    pub fn set_groups(&self, groups: Vec<u32>) {
        *self.groups.lock() = Arc::new(groups);
    }

    /// Returns the IDs and supplementary groups, read together (for access checks).
    pub fn identity(&self) -> Identity {
        let creds = self.creds.lock();
        let groups = self.groups.lock().clone();
        Identity { creds: *creds, groups }
    }

    /// Returns the process as the filesystem's rules see a caller: IDs, supplementary
    /// groups, root, working directory and umask, read together (open, mkdir, ...).
    pub fn fs_caller(&self) -> FsCaller {
        let creds = self.creds.lock();
        let groups = self.groups.lock().clone();
        let fs = self.fs.with(|fs| fs.clone());
        FsCaller { identity: Identity { creds: *creds, groups }, fs }
    }
}

/// Names: comm, argv, the executable; and the prctl attributes.
impl Process {
    /// Returns the program name (comm).
    pub fn comm(&self) -> String {
        self.comm.lock().clone()
    }

    /// Sets the program name (PR_SET_NAME; the caller truncated it).
    pub fn set_comm(&self, comm: String) {
        *self.comm.lock() = comm;
    }

    /// Returns the argv of the last execve.
    pub fn cmdline(&self) -> Vec<String> {
        self.cmdline.lock().clone()
    }

    /// Returns the path of the executable.
    pub fn exe(&self) -> String {
        self.exe.lock().clone()
    }

    /// Records the program a new image runs: its comm, argv and executable path.
    pub fn set_program(&self, comm: String, cmdline: Vec<String>, exe: String) {
        *self.comm.lock() = comm;
        *self.cmdline.lock() = cmdline;
        *self.exe.lock() = exe;
    }

    /// Returns the prctl attributes.
    pub fn attrs(&self) -> attrs::Attrs {
        *self.attrs.lock()
    }

    /// Runs `f` on the prctl attributes, locked.
    pub fn update_attrs<R>(&self, f: impl FnOnce(&mut attrs::Attrs) -> R) -> R {
        f(&mut self.attrs.lock())
    }

    /// Returns the nice value.
    pub fn nice(&self) -> i32 {
        self.nice.load(Ordering::Relaxed)
    }

    /// Sets the nice value (the caller clamped it to -20..=19).
    pub fn set_nice(&self, nice: i32) {
        self.nice.store(nice, Ordering::Relaxed);
    }
}

/// Signal state and job control.
impl Process {
    /// Runs `f` on the dispositions and process-directed pending signals, locked.
    pub fn with_signals<R>(&self, f: impl FnOnce(&mut SignalState) -> R) -> R {
        f(&mut self.signals.lock())
    }

    /// Runs `f` on the process's signal state and `thread`'s together, locked in the one
    /// order every path takes both (the process's first).
    pub fn with_signal_states<R>(
        &self,
        thread: &Thread,
        f: impl FnOnce(&mut SignalState, &mut ThreadSignals) -> R,
    ) -> R {
        let (mut s, mut t) = self.lock_signal_states(thread);
        f(&mut s, &mut t)
    }

    /// Locks the process's signal state, for the delivery code in `run` and `signal`.
    fn lock_signals(&self) -> SpinLockGuard<'_, SignalState> {
        self.signals.lock()
    }

    /// Locks the process's signal state and then `thread`'s, for the delivery code in
    /// `run`.
    fn lock_signal_states<'a>(
        &'a self,
        thread: &'a Thread,
    ) -> (SpinLockGuard<'a, SignalState>, SpinLockGuard<'a, ThreadSignals>) {
        let s = self.signals.lock();
        (s, thread.signals.lock())
    }

    /// Returns the disposition of `sig` (1..=64).
    pub fn sig_action(&self, sig: u32) -> SigAction {
        self.signals.lock().actions.get(sig)
    }

    /// Returns the disposition of `sig` (1..=64), replacing it with `new` if given.
    pub fn swap_sig_action(&self, sig: u32, new: Option<SigAction>) -> SigAction {
        let s = self.signals.lock();
        match new {
            Some(new) => s.actions.replace(sig, new),
            None => s.actions.get(sig),
        }
    }

    /// Returns whether another process shares the dispositions (CLONE_SIGHAND).
    pub fn shares_sighand(&self) -> bool {
        self.signals.lock().actions.is_shared()
    }

    /// Returns the identity of the dispositions (kcmp's KCMP_SIGHAND).
    pub fn sighand_id(&self) -> usize {
        self.signals.lock().actions.id()
    }

    /// Stops sharing the dispositions as the process is reaped (Linux's __cleanup_sighand
    /// in release_task): it keeps a copy of its own.
    fn release_sighand(&self) {
        self.signals.lock().actions.unshare();
    }

    /// Returns the process-directed pending signals.
    pub fn shared_pending(&self) -> u64 {
        self.signals.lock().shared.pending()
    }

    /// Returns whether the process is stopped (job control).
    pub fn is_stopped(&self) -> bool {
        self.stop.lock().stopped_by.is_some()
    }

    /// Stops the process by `sig`, a stop its parent has yet to hear of.
    pub fn mark_stopped(&self, sig: u32) {
        *self.stop.lock() =
            StopState { stopped_by: Some(sig), stop_unreported: true, continue_unreported: false };
    }

    /// Returns the signal that job-stopped the process, if it is stopped.
    pub fn stopped_by(&self) -> Option<u32> {
        self.stop.lock().stopped_by
    }

    /// Stops the process by `sig` for its tracer, which hears of it by its own road (the
    /// parent's wait does not report it).
    pub fn mark_stopped_quietly(&self, sig: u32) {
        self.stop.lock().stopped_by = Some(sig);
    }

    /// Ends a stop its tracer ended (PTRACE_CONT from a group stop), reporting nothing.
    pub fn mark_continued_quietly(&self) {
        self.stop.lock().stopped_by = None;
    }

    /// Ends a stop (SIGCONT arrived): returns whether the process was stopped, in which
    /// case the continue awaits its report and an unreported stop is forgotten.
    pub fn mark_continued(&self) -> bool {
        let mut st = self.stop.lock();
        let was_stopped = st.stopped_by.take().is_some();
        if was_stopped {
            st.continue_unreported = true;
            st.stop_unreported = false;
        }
        was_stopped
    }

    /// Returns the unreported stop (if `stops`), or else the unreported continue (if
    /// `continues`), and marks it reported unless `keep` (WNOWAIT).
    pub fn take_job_change(&self, stops: bool, continues: bool, keep: bool) -> Option<JobChange> {
        let mut st = self.stop.lock();
        if stops && st.stop_unreported {
            if !keep {
                st.stop_unreported = false;
            }
            return Some(JobChange::Stopped(st.stopped_by.unwrap_or(signal::SIGSTOP)));
        }
        if continues && st.continue_unreported {
            if !keep {
                st.continue_unreported = false;
            }
            return Some(JobChange::Continued);
        }
        None
    }

    /// Sleeps until `cond` returns a value, checking it again whenever a child changes
    /// state or a signal arrives (wait4, waitid).
    pub fn wait_for_children<R>(&self, cond: impl FnMut() -> Option<R>) -> R {
        self.child_wq.wait_until(cond)
    }

    /// Wakes whoever sleeps in [`Process::wait_for_children`]: a child changed state.
    pub fn wake_child_waiters(&self) {
        self.child_wq.wake_all();
    }
}

/// Threads, the group exit, and CPU-time accounting.
impl Process {
    /// Counts a new thread in (clone with CLONE_THREAD).
    pub fn add_thread(&self) {
        self.live_threads.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a thread out; returns whether it was the last.
    pub fn thread_exited(&self) -> bool {
        self.live_threads.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Returns how many threads still run user code.
    pub fn thread_count(&self) -> usize {
        self.live_threads.load(Ordering::Relaxed)
    }

    /// Returns the status exit_group (or a fatal signal) chose, once one has.
    pub fn group_exit_status(&self) -> Option<ExitStatus> {
        self.group_exit.get().copied()
    }

    /// Chooses `status` for the whole process, unless a status is chosen already.
    pub fn set_group_exit(&self, status: ExitStatus) {
        self.group_exit.call_once(|| status);
    }

    /// Returns the CPU time of reaped children (RUSAGE_CHILDREN).
    pub fn children_cpu_time(&self) -> CpuTime {
        *self.children_cpu.lock()
    }

    /// Runs `f` on ITIMER_REAL, locked.
    fn with_real_timer<R>(&self, f: impl FnOnce(&mut Option<(u64, u64)>) -> R) -> R {
        f(&mut self.real_timer.lock())
    }

    /// Runs `f` on ITIMER_VIRTUAL and ITIMER_PROF, locked.
    fn with_cpu_timers<R>(&self, f: impl FnOnce(&mut [Option<(u64, u64)>; 2]) -> R) -> R {
        f(&mut self.cpu_timers.lock())
    }

    /// Runs `f` on the POSIX timers, locked.
    fn with_posix_timers<R>(&self, f: impl FnOnce(&mut posix_timer::Timers) -> R) -> R {
        f(&mut self.posix_timers.lock())
    }
}

/// Fork and exec.
impl Process {
    /// Creates the child fork(2) makes, as process `pid` with memory `vm` (this process's,
    /// shared, if `None`): in this process's group and session, with its descriptors,
    /// filesystem context and dispositions (nothing pending), copied or shared as `share`
    /// says, copies of its IDs, groups, nice value and names, and the attributes a child
    /// inherits. It is not in the table and not running yet.
    pub fn fork_child(
        self: &Arc<Self>,
        pid: Pid,
        vm: Option<Arc<Vm>>,
        share: Sharing,
    ) -> Arc<Process> {
        let vm = match vm {
            Some(vm) => tables::VmUse::new(vm),
            None => self.vm.lock().share(),
        };
        let files = self.files.for_child(share.files);
        let fs = self.fs.for_child(share.fs);
        let child = Process::with_tables(pid, Arc::downgrade(self), vm, files, fs);
        child.set_pgid(self.pgid());
        child.set_session(self.sid());
        {
            let s = self.signals.lock();
            let actions = if share.sighand { s.actions.share() } else { s.actions.clone() };
            *child.signals.lock() = SignalState { actions, shared: Default::default() };
        }
        *child.creds.lock() = *self.creds.lock();
        *child.groups.lock() = self.groups.lock().clone();
        child.set_nice(self.nice());
        *child.attrs.lock() = self.attrs.lock().for_child();
        *child.limits.lock() = self.limits.lock().clone();
        *child.comm.lock() = self.comm.lock().clone();
        *child.cmdline.lock() = self.cmdline.lock().clone();
        *child.exe.lock() = self.exe.lock().clone();
        *child.namespaces.lock() = self.namespaces();
        child
    }

    /// Forgets what execve does not keep: close-on-exec descriptors, caught
    /// dispositions, keep-caps (and non-dumpability), and the POSIX timers. A descriptor
    /// table or dispositions shared with other processes are copied first, and the copy
    /// changed (Linux's unshare_files and unshare_sighand).
    pub fn reset_for_exec(&self) {
        self.files.unshare();
        let closed = self.files.with(|files| files.close_on_exec());
        self.after_close(closed);
        {
            let mut s = self.signals.lock();
            s.actions.unshare();
            s.reset_for_exec();
        }
        self.attrs.lock().reset_for_exec();
        *self.posix_timers.lock() = Default::default();
        self.execs.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    /// How many times it ran execve.
    pub fn exec_generation(&self) -> u64 {
        self.execs.load(core::sync::atomic::Ordering::Relaxed)
    }
}
