//! Locks and waiting.
//!
//! - [`SpinLock`]: busy-waits, and disables local interrupts while held, so it is safe to
//!   take from interrupt handlers and can never be preempted. Never sleep while holding one.
//! - [`Mutex`]: sleeps on a [`WaitQueue`] while contended. Only from task context.
//! - [`WaitQueue`]: tasks sleep until a condition holds; see its docs for the wake-up rule.
//!
//! The kernel runs on one CPU today. The lock types are written for SMP (they really spin
//! and really exclude), so adding CPUs does not change their contracts.

mod irq_guard;
mod mutex;
mod spin;
mod wait;

pub use irq_guard::{DisabledIrqGuard, disable_local_irqs};
pub(crate) use irq_guard::{IrqNesting, restore_nesting, save_nesting};
pub use mutex::{Mutex, MutexGuard};
pub use spin::{SpinLock, SpinLockGuard};
pub use wait::{TimedOut, WaitQueue};
