//! Processes: identity, memory, files, signals, and the lifecycle (fork, exec, exit, wait).
//!
//! Each process runs on one ostd task (threads come with `clone(CLONE_THREAD)` later), in
//! the loop of [`run`]: enter user mode, handle what comes back, repeat.

pub mod attrs;
pub mod creds;
pub mod elf;
mod elf_map;
pub mod exec;
pub mod itimer;
pub mod oom;
pub mod pidfd;
pub mod posix_timer;
pub mod procfs;
pub mod registry;
pub mod run;
pub mod sigframe;
pub mod signal;
pub mod vm;

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, Ordering};

use ostd::sync::{SpinLock, WaitQueue};

use crate::fs::path::Start;
use crate::fs::{FdTable, Node};
use creds::{FsCaller, Identity};
use signal::SignalState;
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
pub struct Process {
    pid: Pid,
    parent: SpinLock<Weak<Process>>,
    children: SpinLock<Vec<Arc<Process>>>,
    pgid: AtomicI32,
    sid: AtomicI32,
    vm: SpinLock<Arc<Vm>>,
    /// Open files.
    pub files: SpinLock<FdTable>,
    /// Root, cwd, umask.
    pub fs: SpinLock<FsContext>,
    /// Dispositions, mask, pending.
    pub signals: SpinLock<SignalState>,
    exit_status: SpinLock<Option<ExitStatus>>,
    /// Woken when a child exits (wait4 sleeps here), or a signal arrives.
    pub child_wq: WaitQueue,
    /// The program name (comm), at most 15 bytes.
    pub comm: SpinLock<String>,
    /// The full argv of the last execve, for /proc/[pid]/cmdline.
    pub cmdline: SpinLock<Vec<String>>,
    /// The path of the executable.
    pub exe: SpinLock<String>,
    /// User and group IDs.
    pub creds: SpinLock<creds::Credentials>,
    /// Supplementary group IDs (setgroups), shared so that checks copy a pointer.
    pub groups: SpinLock<Arc<Vec<u32>>>,
    /// Threads still running user code; the process exits when the last one does.
    pub live_threads: core::sync::atomic::AtomicUsize,
    /// The status `exit_group` (or a fatal signal) chose for the whole process.
    pub group_exit: SpinLock<Option<ExitStatus>>,
    /// Job control: stopped by this signal, and whether the parent has been told yet.
    pub stop: SpinLock<StopState>,
    /// ITIMER_REAL: next expiry (monotonic ns) and reload interval (0 = one-shot).
    pub real_timer: SpinLock<Option<(u64, u64)>>,
    /// POSIX timers (timer_create).
    pub posix_timers: SpinLock<posix_timer::Timers>,
    /// CPU time of threads that have exited.
    exited_threads_cpu: SpinLock<ostd::task::CpuTime>,
    /// CPU time of reaped children (and theirs): RUSAGE_CHILDREN, times()'s cutime/cstime.
    pub children_cpu: SpinLock<ostd::task::CpuTime>,
    /// ITIMER_VIRTUAL and ITIMER_PROF: (deadline in the process's user or total CPU ns,
    /// reload interval).
    pub cpu_timers: SpinLock<[Option<(u64, u64)>; 2]>,
    /// The nice value (-20..=19), as getpriority/setpriority see it; the round-robin
    /// scheduler does not weigh it yet.
    pub nice: AtomicI32,
    /// What prctl(2) sets: keep-caps, dumpable, no-new-privs, the parent-death signal...
    pub attrs: SpinLock<attrs::Attrs>,
}

/// One thread of a process: its ID and what it asked to be told at exit.
pub struct Thread {
    /// The thread ID (the PID for the first thread).
    pub tid: Pid,
    /// Its signal mask and alternate stack.
    pub signals: SpinLock<signal::ThreadSignals>,
    /// The address `set_tid_address`/CLONE_CHILD_CLEARTID registered: zeroed and
    /// futex-woken when the thread exits (how pthread_join learns of it).
    pub clear_child_tid: SpinLock<u64>,
}

impl Thread {
    /// Creates a thread record.
    pub fn new(tid: Pid) -> Arc<Self> {
        Arc::new(Self {
            tid,
            signals: SpinLock::new(signal::ThreadSignals::default()),
            clear_child_tid: SpinLock::new(0),
        })
    }
}

/// Where a process is in the stop/continue cycle, and what its parent still has to hear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopState {
    /// Stopped by this signal, if stopped.
    pub stopped_by: Option<u32>,
    /// A stop not yet reported by wait (WUNTRACED).
    pub stop_unreported: bool,
    /// A continue not yet reported by wait (WCONTINUED).
    pub continue_unreported: bool,
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
        Arc::new(Self {
            pid,
            parent: SpinLock::new(parent),
            children: SpinLock::new(Vec::new()),
            pgid: AtomicI32::new(pid),
            sid: AtomicI32::new(pid),
            vm: SpinLock::new(vm),
            files: SpinLock::new(files),
            fs: SpinLock::new(fs),
            signals: SpinLock::new(SignalState::default()),
            exit_status: SpinLock::new(None),
            child_wq: WaitQueue::new(),
            comm: SpinLock::new(String::new()),
            cmdline: SpinLock::new(Vec::new()),
            exe: SpinLock::new(String::new()),
            creds: SpinLock::new(creds::Credentials::default()),
            groups: SpinLock::new(Arc::new(Vec::new())),
            live_threads: core::sync::atomic::AtomicUsize::new(1),
            group_exit: SpinLock::new(None),
            stop: SpinLock::new(StopState::default()),
            real_timer: SpinLock::new(None),
            nice: AtomicI32::new(0),
            attrs: SpinLock::new(attrs::Attrs::default()),
            posix_timers: SpinLock::new(posix_timer::Timers::default()),
            exited_threads_cpu: SpinLock::new(ostd::task::CpuTime::default()),
            children_cpu: SpinLock::new(ostd::task::CpuTime::default()),
            cpu_timers: SpinLock::new([None, None]),
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

    /// Returns the memory.
    pub fn vm(&self) -> Arc<Vm> {
        self.vm.lock().clone()
    }

    /// Replaces the memory (execve).
    pub fn set_vm(&self, vm: Arc<Vm>) {
        // The old space is dropped after the lock is released: dropping it writes shared
        // file mappings back, which takes sleeping locks.
        let old = core::mem::replace(&mut *self.vm.lock(), vm);
        drop(old);
    }

    /// Returns a path-resolution start at the cwd.
    pub fn start(&self) -> Start {
        let fs = self.fs.lock();
        Start { root: fs.root.clone(), dir: fs.cwd.clone() }
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
        if self.group_exit.lock().is_some() {
            return true;
        }
        let (blocked, private) = registry::current_thread()
            .filter(|(p, _)| p.pid == self.pid)
            .map_or((0, 0), |(_, t)| {
                let t = t.signals.lock();
                (t.blocked, t.private.pending)
            });
        let pending = self.signals.lock().shared.pending | private;
        pending & !blocked != 0 || pending & (1 << (signal::SIGKILL - 1)) != 0
    }

    /// Wakes this process's threads wherever they sleep, so interruptible waits notice a
    /// signal (or exit_group) and return EINTR.
    pub fn interrupt_sleep(&self) {
        self.child_wq.wake_all();
        crate::ipc::futex::wake_all_waiters();
        for task in registry::tasks_of(self.pid) {
            ostd::task::interrupt(&task);
        }
    }

    /// Ends the process: releases its files and memory, hands its children to init, and
    /// leaves a zombie for the parent to reap.
    pub fn exit(self: &Arc<Self>, status: ExitStatus) {
        {
            let mut s = self.exit_status.lock();
            if s.is_some() {
                return;
            }
            *s = Some(status);
        }
        let files = core::mem::take(&mut *self.files.lock());
        drop(files);
        let orphans = core::mem::take(&mut *self.children.lock());
        if let Some(init) = registry::get(1).filter(|init| init.pid != self.pid) {
            for child in orphans {
                *child.parent.lock() = Arc::downgrade(&init);
                let death_signal = child.attrs.lock().parent_death_signal;
                if death_signal != 0 {
                    signal::send_info(
                        &child,
                        sigframe::SigInfo {
                            signo: death_signal,
                            pid: self.pid,
                            ..Default::default()
                        },
                    );
                }
                let zombie = child.is_zombie();
                init.add_child(child);
                if zombie {
                    init.child_wq.wake_all();
                }
            }
        }
        if let Some(parent) = self.parent() {
            let (code, status) = match status {
                ExitStatus::Exited(c) => (1, i32::from(c)),
                ExitStatus::Signaled(s, false) => (2, s as i32),
                ExitStatus::Signaled(s, true) => (3, s as i32),
            };
            signal::send_info(
                &parent,
                sigframe::SigInfo {
                    signo: signal::SIGCHLD,
                    code,
                    pid: self.pid,
                    uid: self.creds.lock().ruid,
                    status,
                    ..Default::default()
                },
            );
            parent.child_wq.wake_all();
        }
    }
}

/// Who the process is: user and group IDs, supplementary groups.
impl Process {
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
        let fs = self.fs.lock().clone();
        FsCaller { identity: Identity { creds: *creds, groups }, fs }
    }
}
