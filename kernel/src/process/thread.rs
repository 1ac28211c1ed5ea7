//! A thread: its ID, its signal state, what it asked to be told at exit, and its seccomp
//! filters.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::{SpinLock, SpinLockGuard};

use super::{Pid, signal};
use crate::error::SysResult;

/// One thread of a process: its ID, its signal state and what it asked to be told at exit.
pub struct Thread {
    /// The thread ID (the PID for the first thread).
    pub(super) tid: Pid,
    /// Its signal mask, alternate stack and thread-directed pending signals. Taken after
    /// its process's `signals` when both are held.
    pub(super) signals: SpinLock<signal::ThreadSignals>,
    /// The address `set_tid_address`/CLONE_CHILD_CLEARTID registered: zeroed and
    /// futex-woken when the thread exits (how pthread_join learns of it).
    clear_child_tid: SpinLock<u64>,
    /// The head of its robust futex list (set_robust_list; 0: none), walked at its exit.
    robust_list: SpinLock<u64>,
    /// Its seccomp mode and filters, copied to the threads and children it creates.
    seccomp: SpinLock<crate::seccomp::State>,
    /// Whether `seccomp` is anything but disabled: every call's check starts here.
    seccomp_on: AtomicBool,
}

impl Thread {
    /// Creates a thread record: nothing blocked, no alternate stack, nothing pending.
    pub fn new(tid: Pid) -> Arc<Self> {
        Self::with_state(tid, signal::ThreadSignals::default())
    }

    /// Creates the first thread of a forked child: `parent`'s mask and alternate stack,
    /// nothing pending, no rt_sigsuspend mask to restore.
    pub fn forked(tid: Pid, parent: &Thread) -> Arc<Self> {
        let (blocked, altstack) = parent.with_signals(|s| (s.blocked, s.altstack));
        let signals = signal::ThreadSignals {
            blocked,
            saved_mask: None,
            altstack,
            private: Default::default(),
        };
        let thread = Self::with_state(tid, signals);
        thread.set_seccomp(parent.seccomp());
        thread
    }

    fn with_state(tid: Pid, signals: signal::ThreadSignals) -> Arc<Self> {
        Arc::new(Self {
            tid,
            signals: SpinLock::new(signals),
            clear_child_tid: SpinLock::new(0),
            robust_list: SpinLock::new(0),
            seccomp: SpinLock::new(crate::seccomp::State::default()),
            seccomp_on: AtomicBool::new(false),
        })
    }

    /// Returns the seccomp state (the filters shared, not copied).
    pub fn seccomp(&self) -> crate::seccomp::State {
        self.seccomp.lock().clone()
    }

    /// Whether seccomp checks this thread's calls.
    pub fn seccomp_on(&self) -> bool {
        self.seccomp_on.load(Ordering::Acquire)
    }

    /// Replaces the seccomp state.
    pub fn set_seccomp(&self, state: crate::seccomp::State) {
        let on = state.mode != crate::seccomp::Mode::Disabled;
        *self.seccomp.lock() = state;
        self.seccomp_on.store(on, Ordering::Release);
    }

    /// Changes the seccomp state through `f`, which may refuse.
    pub fn update_seccomp<R>(
        &self,
        f: impl FnOnce(&mut crate::seccomp::State) -> SysResult<R>,
    ) -> SysResult<R> {
        let mut state = self.seccomp.lock();
        let result = f(&mut state)?;
        self.seccomp_on.store(state.mode != crate::seccomp::Mode::Disabled, Ordering::Release);
        Ok(result)
    }

    /// Returns the thread ID.
    pub fn tid(&self) -> Pid {
        self.tid
    }

    /// Runs `f` on the thread's signal state (mask, alternate stack, its own pending
    /// signals), locked.
    pub fn with_signals<R>(&self, f: impl FnOnce(&mut signal::ThreadSignals) -> R) -> R {
        f(&mut self.signals.lock())
    }

    /// Returns the blocked signals.
    pub fn blocked(&self) -> u64 {
        self.signals.lock().blocked
    }

    /// Replaces the blocked signals (the caller has removed SIGKILL and SIGSTOP).
    pub fn set_blocked(&self, mask: u64) {
        self.signals.lock().blocked = mask;
    }

    /// Locks the signal state, for the delivery code in `run` and `signal`, which holds it
    /// across several steps.
    pub(super) fn lock_signals(&self) -> SpinLockGuard<'_, signal::ThreadSignals> {
        self.signals.lock()
    }

    /// Returns the address to clear at exit (0: none).
    pub fn clear_child_tid(&self) -> u64 {
        *self.clear_child_tid.lock()
    }

    /// Sets the address to clear at exit (set_tid_address, CLONE_CHILD_CLEARTID).
    pub fn set_clear_child_tid(&self, addr: u64) {
        *self.clear_child_tid.lock() = addr;
    }

    /// Returns the head of the robust futex list (0: none).
    pub fn robust_list(&self) -> u64 {
        *self.robust_list.lock()
    }

    /// Registers the head of the robust futex list (set_robust_list; execve clears it).
    pub fn set_robust_list(&self, head: u64) {
        *self.robust_list.lock() = head;
    }
}
