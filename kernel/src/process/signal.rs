//! Signals: numbers, dispositions, and sending: the pending sets and queues of processes
//! and threads, with RLIMIT_SIGPENDING counted per real user as Linux counts it. Delivery
//! (default actions and handler frames) is `run.rs` and `sigframe.rs`.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::sigframe::{SI_TIMER, SigInfo};
use super::{Process, Thread, registry};
use crate::error::{Errno, SysResult};

/// Interrupt (^C).
pub const SIGINT: u32 = 2;
/// Quit (^\).
pub const SIGQUIT: u32 = 3;
/// Illegal instruction.
pub const SIGILL: u32 = 4;
/// Trace trap.
pub const SIGTRAP: u32 = 5;
/// Abort.
pub const SIGABRT: u32 = 6;
/// Bus error.
pub const SIGBUS: u32 = 7;
/// Arithmetic exception.
pub const SIGFPE: u32 = 8;
/// Kill (uncatchable).
pub const SIGKILL: u32 = 9;
/// Segmentation fault.
pub const SIGSEGV: u32 = 11;
/// Broken pipe.
pub const SIGPIPE: u32 = 13;
/// Alarm clock.
pub const SIGALRM: u32 = 14;
/// Child stopped or exited.
pub const SIGCHLD: u32 = 17;
/// Continue.
pub const SIGCONT: u32 = 18;
/// Stop (uncatchable).
pub const SIGSTOP: u32 = 19;
/// Terminal stop (^Z).
pub const SIGTSTP: u32 = 20;
/// Window size change.
pub const SIGWINCH: u32 = 28;
/// CPU time limit exceeded (RLIMIT_CPU).
pub const SIGXCPU: u32 = 24;
/// File size limit exceeded (RLIMIT_FSIZE).
pub const SIGXFSZ: u32 = 25;
/// Bad system call (seccomp).
pub const SIGSYS: u32 = 31;
/// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
pub const STOP_SIGNALS: u64 = (1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << 20) | (1 << 21);
/// SA_NOCLDSTOP: no SIGCHLD when a child stops.
pub const SA_NOCLDSTOP: u64 = 1;
/// SA_ONSTACK: run the handler on the alternate stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;

/// The number of signals (1..=64).
pub const NSIG: u32 = 64;

/// What a signal does when not caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// End the process.
    Terminate,
    /// End the process, with a core dump flag in the wait status.
    CoreDump,
    /// Nothing.
    Ignore,
    /// Stop the process (treated as Ignore until job control lands).
    Stop,
    /// Resume a stopped process.
    Continue,
}

/// Returns the default action of `sig` (signal(7)).
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGWINCH | 23 /* SIGURG */ => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | 21 | 22 => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | 24 | 25 | 31 => {
            DefaultAction::CoreDump
        }
        _ => DefaultAction::Terminate,
    }
}

/// `struct sigaction` as the kernel stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    /// SIG_DFL (0), SIG_IGN (1), or a handler address.
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// The restorer (SA_RESTORER).
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// SIG_DFL.
pub const SIG_DFL: u64 = 0;
/// SIG_IGN.
pub const SIG_IGN: u64 = 1;
/// The process that no signal without a handler reaches.
const INIT_PID: i32 = 1;
/// si_code of SIGCHLD for a child that continued.
const CLD_CONTINUED: i32 = 6;

/// The first real-time signal (the kernel's SIGRTMIN; libc keeps 32 and 33 for itself).
pub const SIGRTMIN: u32 = 32;
/// The most signals one queue holds with their details, whatever RLIMIT_SIGPENDING allows
/// (kill's signals are not bounded by it on Linux either; this bounds their memory).
pub const MAX_QUEUED: usize = 1 << 16;
/// Faults the thread raised itself: taken before any other pending signal, as Linux's
/// `next_signal` takes them (SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS).
const SYNCHRONOUS: u64 = (1 << (SIGILL - 1))
    | (1 << (SIGTRAP - 1))
    | (1 << (SIGBUS - 1))
    | (1 << (SIGFPE - 1))
    | (1 << (SIGSEGV - 1))
    | (1 << (SIGSYS - 1));

/// What [`SigQueue::add`] did with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
    /// Pending, with its details (or it already was: a standard signal does not queue twice).
    Yes,
    /// The queue is full: pending, but whoever takes it learns only its number (SI_USER).
    WithoutDetails,
    /// The queue is full and a real-time signal from a user is refused (EAGAIN).
    Refused,
}

/// Queued signal instances per real user of the processes they wait in: what
/// RLIMIT_SIGPENDING bounds (Linux's per-user sigpending count).
static QUEUED_BY_USER: SpinLock<BTreeMap<u32, usize>> = SpinLock::new(BTreeMap::new());

fn queued_by(user: u32) -> usize {
    QUEUED_BY_USER.lock().get(&user).copied().unwrap_or(0)
}

/// One queued instance with its details, counted against the user it is charged to (none
/// for the kernel's own, which no limit holds back) for as long as it exists: cloned with
/// a forked queue, dropped when taken or discarded.
#[derive(Debug)]
struct Entry {
    info: SigInfo,
    user: Option<u32>,
}

impl Entry {
    fn new(info: SigInfo, user: Option<u32>) -> Self {
        if let Some(user) = user {
            *QUEUED_BY_USER.lock().entry(user).or_insert(0) += 1;
        }
        Self { info, user }
    }
}

impl Clone for Entry {
    fn clone(&self) -> Self {
        Self::new(self.info, self.user)
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let Some(user) = self.user else { return };
        let mut counts = QUEUED_BY_USER.lock();
        if let Some(n) = counts.get_mut(&user) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&user);
            }
        }
    }
}

/// Who a signal is charged to when it queues: the receiving process's real user and its
/// RLIMIT_SIGPENDING.
#[derive(Clone, Copy, Debug)]
pub struct Charge {
    pub user: u32,
    pub limit: u64,
}

/// Signals sent and not yet taken, as Linux's `struct sigpending`: a bit per pending signal
/// and, in arrival order, the details of each instance. A standard signal is pending at
/// most once (a second send while pending is dropped); real-time signals queue, and are
/// taken in the order they came.
#[derive(Clone, Debug, Default)]
pub struct SigQueue {
    /// Bit n-1 for signal n.
    pending: u64,
    /// The instances with their details, oldest first (at most [`MAX_QUEUED`]).
    queued: VecDeque<Entry>,
}

impl SigQueue {
    /// Returns the pending signals (bit n-1 for signal n).
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Returns the queued instances with their details, oldest first (PTRACE_PEEKSIGINFO).
    pub fn queued(&self) -> impl Iterator<Item = &SigInfo> {
        self.queued.iter().map(|e| &e.info)
    }

    /// Makes `info.signo` pending, a signal the kernel raises itself (charged to no one).
    pub fn add(&mut self, info: SigInfo) -> Queued {
        self.add_charged(info, None)
    }

    /// Makes `info.signo` pending, as Linux's `__send_signal_locked` does: its details
    /// queue unless `charge`'s user has RLIMIT_SIGPENDING instances queued already and the
    /// signal is one the limit holds (Linux's override_rlimit: every real-time signal, and a
    /// standard one from sigqueue, tkill or the like, whose si_code is negative; a POSIX
    /// timer's signal is its own, never held back).
    pub fn add_charged(&mut self, info: SigInfo, charge: Option<Charge>) -> Queued {
        let bit = 1u64 << (info.signo - 1);
        if info.signo < SIGRTMIN && self.pending & bit != 0 {
            return Queued::Yes;
        }
        let held_back = info.code != SI_TIMER && (info.signo >= SIGRTMIN || info.code < 0);
        let within_limit =
            charge.is_none_or(|c| !held_back || (queued_by(c.user) as u64) < c.limit);
        if self.queued.len() < MAX_QUEUED && within_limit {
            self.queued.push_back(Entry::new(info, charge.map(|c| c.user)));
        } else if info.signo >= SIGRTMIN && info.code != SI_USER && info.code != SI_KERNEL {
            return Queued::Refused;
        } else {
            self.pending |= bit;
            return Queued::WithoutDetails;
        }
        self.pending |= bit;
        Queued::Yes
    }

    /// Forgets the signals in `set`.
    pub fn discard(&mut self, set: u64) {
        self.pending &= !set;
        self.queued.retain(|e| (1u64 << (e.info.signo - 1)) & set == 0);
    }

    /// Takes a pending signal in `set` (a fault first, then the lowest number) with its
    /// oldest details; the signal stays pending while more instances are queued.
    pub fn take_in(&mut self, set: u64) -> Option<SigInfo> {
        let mut ready = self.pending & set;
        if ready == 0 {
            return None;
        }
        if ready & SYNCHRONOUS != 0 {
            ready &= SYNCHRONOUS;
        }
        let sig = ready.trailing_zeros() + 1;
        let mut same =
            self.queued.iter().enumerate().filter(|(_, e)| e.info.signo == sig).map(|(n, _)| n);
        let (first, more) = (same.next(), same.next().is_some());
        if !more {
            self.pending &= !(1u64 << (sig - 1));
        }
        // Without details (the queue was full), the signal reads as sent by kill from no one.
        let info = first.and_then(|n| self.queued.remove(n)).map(|e| e.info);
        Some(info.unwrap_or(SigInfo { signo: sig, code: SI_USER, ..SigInfo::default() }))
    }

    /// Takes a pending signal not in `blocked` (SIGKILL/SIGSTOP ignore the mask).
    pub fn take_deliverable(&mut self, blocked: u64) -> Option<SigInfo> {
        self.take_in(!blocked | UNBLOCKABLE)
    }
}

/// si_code of kill(2).
pub const SI_USER: i32 = 0;
/// si_code of a signal the kernel sends.
pub const SI_KERNEL: i32 = 0x80;
/// si_code of tkill(2)/tgkill(2).
pub const SI_TKILL: i32 = -6;

/// SIGKILL and SIGSTOP: no mask blocks them.
pub const UNBLOCKABLE: u64 = (1u64 << (SIGKILL - 1)) | (1u64 << (SIGSTOP - 1));

/// A process's signal state.
#[derive(Clone, Debug, Default)]
pub struct SignalState {
    /// Dispositions (shared with other processes after clone's CLONE_SIGHAND).
    pub actions: SigActions,
    /// Process-directed signals (kill): any thread that does not block one takes it.
    pub shared: SigQueue,
}

/// A process's signal dispositions, which other processes may share (clone's
/// CLONE_SIGHAND, Linux's sighand_struct). Cloning copies them; [`SigActions::share`]
/// shares them.
///
/// Locking: the table's lock is taken last, inside the process's signal state
/// (`Process::signals`, the only way to reach it), and nothing is locked while it is held.
/// So interrupts are always off when it is taken (that outer lock is an interrupt-disabling
/// [`SpinLock`]), and a plain spin lock does: sigaction and delivery pay no second
/// interrupt guard.
pub struct SigActions(Arc<spin::Mutex<[SigAction; NSIG as usize]>>);

impl Default for SigActions {
    fn default() -> Self {
        Self(Arc::new(spin::Mutex::new([SigAction::default(); NSIG as usize])))
    }
}

impl core::fmt::Debug for SigActions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.all().iter()).finish()
    }
}

impl Clone for SigActions {
    fn clone(&self) -> Self {
        Self(Arc::new(spin::Mutex::new(self.all())))
    }
}

impl SigActions {
    /// Returns the disposition of `sig` (1..=64).
    pub fn get(&self, sig: u32) -> SigAction {
        self.0.lock()[(sig - 1) as usize]
    }

    /// Sets the disposition of `sig` (1..=64) and returns the old one.
    pub fn replace(&self, sig: u32, new: SigAction) -> SigAction {
        core::mem::replace(&mut self.0.lock()[(sig - 1) as usize], new)
    }

    /// Returns every disposition, indexed by signal number - 1.
    pub fn all(&self) -> [SigAction; NSIG as usize] {
        *self.0.lock()
    }

    /// Resets every disposition as Linux's flush_signal_handlers(t, 0) does: a handled or
    /// default signal gets the default action, an ignored one stays ignored, and every
    /// entry loses its flags, mask and restorer (an SA_NOCLDSTOP on a default SIGCHLD does
    /// not survive execve).
    fn reset_caught(&self) {
        for a in self.0.lock().iter_mut() {
            let ignored = a.handler == SIG_IGN;
            *a = SigAction {
                handler: if ignored { SIG_IGN } else { SIG_DFL },
                ..SigAction::default()
            };
        }
    }

    /// The same dispositions, shared (CLONE_SIGHAND).
    pub fn share(&self) -> Self {
        Self(self.0.clone())
    }

    /// Takes a copy of its own if another process shares them (execve's unshare_sighand).
    pub fn unshare(&mut self) {
        if Arc::strong_count(&self.0) > 1 {
            *self = self.clone();
        }
    }

    /// Returns their identity (the same for every process that shares them).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const u8 as usize
    }

    /// Returns whether another process shares them.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.0) > 1
    }
}

/// One thread's signal state: what it blocks, its alternate stack, and the signals sent to
/// it alone (tgkill, faults), which only it can take.
#[derive(Clone, Debug)]
pub struct ThreadSignals {
    /// Blocked signals (bit n-1 for signal n).
    pub blocked: u64,
    /// The mask to restore after `rt_sigsuspend`'s temporary one.
    pub saved_mask: Option<u64>,
    /// The alternate signal stack (sigaltstack): base, size, and SS_DISABLE. Base and size
    /// are whatever the program set; nothing checks that they stay below 2^64 together.
    pub altstack: (u64, u64, bool),
    /// Thread-directed signals.
    pub private: SigQueue,
}

impl ThreadSignals {
    /// Returns whether `rsp` is on the alternate stack (`base < rsp <= base + size`), as
    /// Linux's `on_sig_stack` computes it: without forming `base + size`, which may wrap.
    pub fn on_altstack(&self, rsp: u64) -> bool {
        let (base, size, disabled) = self.altstack;
        !disabled && rsp > base && rsp - base <= size
    }
}

impl Default for ThreadSignals {
    fn default() -> Self {
        Self { blocked: 0, saved_mask: None, altstack: (0, 0, true), private: SigQueue::default() }
    }
}

/// SA_NODEFER: do not block the signal while its handler runs.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// SA_RESETHAND: one-shot handler.
pub const SA_RESETHAND: u64 = 0x8000_0000;
/// SA_RESTART: restart interrupted syscalls.
pub const SA_RESTART: u64 = 0x1000_0000;

impl SignalState {
    /// Resets caught signals to default, as `execve` does (ignored stay ignored).
    pub fn reset_for_exec(&mut self) {
        self.actions.reset_caught();
    }

    /// Resets caught signals to default, as clone's CLONE_CLEAR_SIGHAND does (Linux's
    /// flush_signal_handlers; ignored stay ignored).
    pub fn reset_caught(&mut self) {
        self.actions.reset_caught();
    }
}

/// Returns whether `sender` may send `sig` to `target` from user space (kill(2) and friends),
/// by Linux's rule: root may signal anyone; otherwise the sender's real or effective UID must
/// equal the target's real or saved UID. SIGCONT may also go to any process of the sender's
/// session (so that a shell resumes the jobs it started under another UID).
pub fn may_send(sender: &Process, target: &Process, sig: u32) -> bool {
    if core::ptr::eq(sender, target) {
        return true;
    }
    let from = sender.creds();
    let to = target.creds();
    let by_uid = from.euid == 0
        || [from.euid, from.ruid].iter().any(|&uid| uid == to.ruid || uid == to.suid);
    by_uid || (sig == SIGCONT && sender.sid() == target.sid())
}

/// Marks `sig` pending on `process` (as sent by a user, SI_USER) and wakes it.
pub fn send(process: &Process, sig: u32) {
    send_info(process, SigInfo { signo: sig, ..SigInfo::default() });
}

/// Marks a process-directed signal pending with its details, and wakes the process if it
/// sleeps.
pub fn send_info(process: &Process, info: SigInfo) {
    send_to(process, None, info);
}

/// Marks a signal pending for `thread` alone (tgkill), or for the whole process if `None`.
pub fn send_to(process: &Process, thread: Option<&Thread>, info: SigInfo) {
    // Only a user's real-time signal is ever refused, and only rt_sigqueueinfo reports it.
    let _ = queue_to(process, thread, info);
}

/// Marks a signal pending for `thread` alone, or for the whole process if `None`, and wakes
/// it. A signal that would be ignored is dropped (Ok).
///
/// # Errors
/// EAGAIN if the queue is full and the signal is a user's real-time one (sigqueue(3)).
pub fn queue_to(process: &Process, thread: Option<&Thread>, info: SigInfo) -> SysResult<()> {
    let sig = info.signo;
    if sig == 0 || sig > NSIG || process.is_zombie() {
        return Ok(());
    }
    if sig == SIGCONT {
        resume(process);
    } else if STOP_SIGNALS & (1 << (sig - 1)) != 0 {
        discard_everywhere(process, 1 << (SIGCONT - 1));
    }
    // Linux never drops a signal the receiving thread blocks: its disposition may change
    // before it is unblocked. A process-directed one is judged by the main thread's mask.
    let receiver = match thread {
        Some(t) => Some(t.blocked()),
        None => registry::thread_of(process.pid(), process.pid()).map(|t| t.blocked()),
    };
    let bit = 1u64 << (sig - 1);
    let charge =
        Charge { user: process.creds().ruid, limit: process.limit(super::limits::SIGPENDING).soft };
    {
        let mut s = process.lock_signals();
        let action = s.actions.get(sig);
        let ignored = action.handler == SIG_IGN
            || (action.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore);
        // A tracer sees even ignored signals (Linux's sig_ignored).
        let traced = super::ptrace::stop::is_traced(process);
        if ignored
            && !traced
            && sig != SIGKILL
            && sig != SIGSTOP
            && receiver.unwrap_or(0) & bit == 0
        {
            return Ok(());
        }
        // Init is unkillable from inside: a signal it has no handler for never reaches it,
        // SIGKILL and SIGSTOP included (Linux's SIGNAL_UNKILLABLE). Faults it raises itself
        // are forced and do not come through here. A PID namespace's init is the same to
        // its namespace, but SIGKILL and SIGSTOP from a sender outside (which it sees as
        // PID 0) reach it.
        let from_outside = info.code == SI_USER && info.pid == 0 && process.pid() != INIT_PID;
        if super::pid_ns::is_init(process.pid())
            && action.handler == SIG_DFL
            && !(from_outside && (sig == SIGKILL || sig == SIGSTOP))
        {
            return Ok(());
        }
        let queued = match thread {
            Some(t) => t.lock_signals().private.add_charged(info, Some(charge)),
            None => s.shared.add_charged(info, Some(charge)),
        };
        if queued == Queued::Refused {
            return Err(Errno::EAGAIN);
        }
    }
    process.interrupt_sleep();
    Ok(())
}

/// What SIGCONT does on arrival, whatever its disposition: resumes a stopped process (telling
/// its parent) and cancels pending stop signals.
fn resume(process: &Process) {
    let was_stopped = process.mark_continued();
    discard_everywhere(process, STOP_SIGNALS);
    if !was_stopped {
        return;
    }
    // Its threads sleep until they see it continued; an ignored SIGCONT wakes nobody else.
    process.interrupt_sleep();
    if let Some(parent) = process.parent() {
        parent.wake_child_waiters();
        let nocldstop = parent.sig_action(SIGCHLD).flags & SA_NOCLDSTOP != 0;
        if !nocldstop {
            send_info(
                &parent,
                SigInfo {
                    signo: SIGCHLD,
                    code: CLD_CONTINUED,
                    pid: process.pid(),
                    status: SIGCONT as i32,
                    ..SigInfo::default()
                },
            );
        }
    }
}

/// Forgets the signals in `set` wherever they are pending in `process` (shared and every
/// thread's own), as Linux does when SIGCONT cancels stops or a disposition becomes SIG_IGN.
pub fn discard_everywhere(process: &Process, set: u64) {
    process.with_signals(|s| s.shared.discard(set));
    for thread in registry::threads_of(process.pid()) {
        thread.with_signals(|t| t.private.discard(set));
    }
}

/// Sends `sig` to every process in group `pgrp`.
pub fn kill_pgrp(pgrp: i32, sig: u32) {
    for p in registry::all() {
        if p.pgid() == pgrp && !p.is_zombie() {
            send(&p, sig);
        }
    }
}
