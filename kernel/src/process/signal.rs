//! Signals: numbers, dispositions, and sending.
//!
//! Today a signal is delivered by its default action (terminate, ignore, stop is treated as
//! ignore); handlers are recorded by `rt_sigaction` and reported back, and running them
//! (the rt_sigframe) comes next. SIGKILL and SIGSTOP cannot be caught or ignored.

use super::sigframe::SigInfo;
use super::{Process, table};

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
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | 24 | 25 | 31 => DefaultAction::CoreDump,
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

/// SIG_IGN.
pub const SIG_IGN: u64 = 1;

/// A process's signal state.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// Dispositions, indexed by signal number - 1.
    pub actions: [SigAction; NSIG as usize],
    /// Pending signals (process-wide; any thread that does not block one takes it).
    pub pending: u64,
    /// What each pending signal's sender said about it.
    pub info: [SigInfo; NSIG as usize],
}

impl Default for SignalState {
    fn default() -> Self {
        Self { actions: [SigAction::default(); NSIG as usize], pending: 0, info: [SigInfo::default(); NSIG as usize] }
    }
}

/// One thread's signal state: what it blocks, and its alternate stack.
#[derive(Clone, Copy, Debug)]
pub struct ThreadSignals {
    /// Blocked signals (bit n-1 for signal n).
    pub blocked: u64,
    /// The mask to restore after `rt_sigsuspend`'s temporary one.
    pub saved_mask: Option<u64>,
    /// The alternate signal stack (sigaltstack): base, size, and SS_DISABLE.
    pub altstack: (u64, u64, bool),
}

impl Default for ThreadSignals {
    fn default() -> Self {
        Self { blocked: 0, saved_mask: None, altstack: (0, 0, true) }
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
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }

    /// Takes the lowest pending signal not in `blocked` (SIGKILL/SIGSTOP ignore the mask).
    pub fn take_deliverable(&mut self, blocked: u64) -> Option<u32> {
        let unmaskable = (1u64 << (SIGKILL - 1)) | (1u64 << (SIGSTOP - 1));
        let ready = self.pending & (!blocked | unmaskable);
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() + 1;
        self.pending &= !(1u64 << (sig - 1));
        Some(sig)
    }
}

/// Marks `sig` pending on `process` (as sent by a user, SI_USER) and wakes it.
pub fn send(process: &Process, sig: u32) {
    send_info(process, SigInfo { signo: sig, ..SigInfo::default() });
}

/// Marks a signal pending with its details, and wakes the process if it sleeps.
pub fn send_info(process: &Process, info: SigInfo) {
    let sig = info.signo;
    if sig == 0 || sig > NSIG {
        return;
    }
    if sig == SIGCONT {
        // SIGCONT resumes a stopped process whatever its disposition, and cancels pending stops.
        let mut st = process.stop.lock();
        if st.stopped_by.take().is_some() {
            st.continue_unreported = true;
            st.stop_unreported = false;
            drop(st);
            if let Some(parent) = process.parent() {
                parent.child_wq.wake_all();
            }
        }
        let mut s = process.signals.lock();
        s.pending &= !STOP_SIGNALS;
        drop(s);
        if let Some(parent) = process.parent().filter(|_| process.stop.lock().continue_unreported) {
            if parent.signals.lock().actions[(SIGCHLD - 1) as usize].flags & SA_NOCLDSTOP == 0 {
                send_info(&parent, SigInfo { signo: SIGCHLD, code: 6, pid: process.pid(), status: SIGCONT as i32, addr: 0 });
            }
        }
    } else if STOP_SIGNALS & (1 << (sig - 1)) != 0 {
        process.signals.lock().pending &= !(1 << (SIGCONT - 1));
    }
    {
        let mut s = process.signals.lock();
        let action = s.actions[(sig - 1) as usize];
        let ignored = action.handler == SIG_IGN || (action.handler == 0 && default_action(sig) == DefaultAction::Ignore);
        if ignored && sig != SIGKILL && sig != SIGSTOP {
            return;
        }
        s.pending |= 1u64 << (sig - 1);
        s.info[(sig - 1) as usize] = info;
    }
    process.interrupt_sleep();
}

/// Sends `sig` to every process in group `pgrp`.
pub fn kill_pgrp(pgrp: i32, sig: u32) {
    for p in table::all() {
        if p.pgid() == pgrp && !p.is_zombie() {
            send(&p, sig);
        }
    }
}
