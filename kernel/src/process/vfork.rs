//! What clone's process-level options leave on the child: the signal its parent gets when
//! it ends, and vfork's promise that the parent sleeps until the child has executed a
//! program or ended (Linux's vfork_done).
//!
//! The vfork child runs in its parent's memory, on its stack (unless the parent is traced:
//! see `crate::syscall::clone`), so the parent must not run until the child let it go.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::sync::WaitQueue;

use super::Process;

/// The parent's side of a vfork: set once the child let it go.
pub struct VforkDone {
    done: AtomicBool,
    wq: WaitQueue,
}

impl VforkDone {
    /// Sleeps until the child executes a program or ends. Only a fatal signal for `parent`
    /// ends the sleep early (Linux's killable wait): other signals wait for the child, whose
    /// stack they would share.
    pub fn wait(&self, parent: &Process) {
        let sigkill = 1u64 << (super::signal::SIGKILL - 1);
        self.wq.wait_until(|| {
            let fatal =
                parent.group_exit_status().is_some() || parent.shared_pending() & sigkill != 0;
            (self.done.load(Ordering::Acquire) || fatal).then_some(())
        });
    }
}

impl Process {
    /// The signal the parent gets when this process ends (0: none).
    pub fn exit_signal(&self) -> u32 {
        self.exit_signal.load(Ordering::Relaxed)
    }

    /// Sets the signal the parent gets when this process ends.
    pub fn set_exit_signal(&self, sig: u32) {
        self.exit_signal.store(sig, Ordering::Relaxed);
    }

    /// Gives this (new, not yet running) child another parent (CLONE_PARENT).
    pub fn set_parent(&self, parent: &Arc<Process>) {
        *self.parent.lock() = Arc::downgrade(parent);
    }

    /// CLONE_CLEAR_SIGHAND: caught signals go back to their default action; ignored ones
    /// stay ignored (Linux's flush_signal_handlers).
    pub fn reset_caught_signals(&self) {
        self.signals.lock().reset_caught();
    }

    /// Makes this (new) child a vfork child: returns what its parent waits on.
    pub fn start_vfork(&self) -> Arc<VforkDone> {
        let done = Arc::new(VforkDone { done: AtomicBool::new(false), wq: WaitQueue::new() });
        *self.vfork_parent.lock() = Some(done.clone());
        done
    }

    /// The child executed a program or is ending: its vfork parent, if any, goes on.
    pub fn release_vfork_parent(&self) {
        if let Some(done) = self.vfork_parent.lock().take() {
            done.done.store(true, Ordering::Release);
            done.wq.wake_all();
        }
    }
}
