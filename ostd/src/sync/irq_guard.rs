//! Disabling local interrupts for a scope.
//!
//! Guards nest by counting, per CPU, like Linux's `preempt_count`: the first guard on a CPU
//! records whether interrupts were on, every guard adds one to the CPU's depth, and only the
//! drop that brings the depth back to zero turns interrupts on again (if they were on at the
//! first guard). So guards may be dropped in any order: a guard that outlives an inner lock's
//! guard never finds interrupts re-enabled under it.
//!
//! The depth belongs to the running task, not to the CPU: a task may sleep or yield with
//! guards live. The scheduler saves it with [`save_nesting`] before a switch and puts it back
//! with [`restore_nesting`] when the task runs again; a new task starts at [`IrqNesting::NONE`].
//!
//! The fields live in the per-CPU block ([`crate::cpu::local`]) and are touched only with
//! interrupts off, so nothing else on the CPU runs in between, except an NMI, whose own
//! guards come and go in last-in-first-out order inside its handler and leave both fields as
//! they found them (the order of the writes below keeps that true at every instruction).

use core::marker::PhantomData;
use core::sync::atomic::{Ordering, compiler_fence};

use x86_64::instructions::interrupts;

use crate::cpu::local;

/// Proof that local interrupts are disabled until this guard is dropped.
///
/// Guards nest in any drop order (module doc). It is `!Send`: the count belongs to the CPU
/// that made the guard.
pub struct DisabledIrqGuard {
    _not_send: PhantomData<*const ()>,
}

/// Disables local interrupts until the returned guard (and every other live guard) is dropped.
#[inline]
pub fn disable_local_irqs() -> DisabledIrqGuard {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    compiler_fence(Ordering::SeqCst);
    // Interrupts are off, so we stay on this CPU and only an NMI can run in between, which
    // leaves the fields as it found them (module doc).
    let depth = local::irq_depth();
    // SAFETY: interrupts are off and this module keeps the count (module doc). Depth first:
    // an NMI from here on sees a nested guard and leaves the flag alone. The count cannot
    // wrap: each guard is a value on some stack.
    unsafe {
        local::set_irq_depth(depth.wrapping_add(1));
        if depth == 0 {
            local::set_irq_outer_enabled(were_enabled);
        }
    }
    DisabledIrqGuard { _not_send: PhantomData }
}

impl Drop for DisabledIrqGuard {
    #[inline]
    fn drop(&mut self) {
        // A live guard means interrupts are off (no code re-enables them while the depth is
        // above zero), so we are on the CPU that counted it. The flag first: once the depth
        // reads zero an NMI may overwrite it.
        let outer_enabled = local::irq_outer_enabled();
        let depth = local::irq_depth();
        assert!(depth > 0, "interrupt-guard depth underflow");
        // SAFETY: interrupts are off (above) and this module keeps the count.
        unsafe { local::set_irq_depth(depth - 1) };
        compiler_fence(Ordering::SeqCst);
        if depth == 1 && outer_enabled {
            interrupts::enable();
        }
    }
}

/// One task's interrupt-guard nesting, kept on its stack while another task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IrqNesting {
    depth: u64,
    outer_enabled: bool,
}

impl IrqNesting {
    /// No live guards: what a new task starts with.
    pub(crate) const NONE: Self = Self { depth: 0, outer_enabled: false };
}

/// Returns the running task's nesting, to keep across a switch away from it.
///
/// # Panics
/// If local interrupts are on.
pub(crate) fn save_nesting() -> IrqNesting {
    assert!(!interrupts::are_enabled(), "task switch with interrupts on");
    IrqNesting { depth: local::irq_depth(), outer_enabled: local::irq_outer_enabled() }
}

impl IrqNesting {
    /// Returns how many guards are live.
    pub(crate) fn depth(&self) -> u64 {
        self.depth
    }
}

/// Makes `nesting` this CPU's, for the task about to run on it.
///
/// # Panics
/// If local interrupts are on.
pub(crate) fn restore_nesting(nesting: IrqNesting) {
    assert!(!interrupts::are_enabled(), "task switch with interrupts on");
    // An NMI between the two writes sees a depth of zero and rewrites the flag only if the
    // depth written is zero too, in which case the flag does not matter.
    // SAFETY: interrupts are off (asserted), and the scheduler hands back the nesting the
    // task had when it was switched away.
    unsafe {
        local::set_irq_outer_enabled(nesting.outer_enabled);
        local::set_irq_depth(nesting.depth);
    }
}

crate::ktest! {
    fn irq_guards_dropped_out_of_order_keep_interrupts_off_until_the_last() {
        assert!(interrupts::are_enabled(), "tests run with interrupts on");
        let outer = disable_local_irqs();
        let inner = disable_local_irqs();
        drop(outer);
        assert!(
            !interrupts::are_enabled(),
            "dropping the first guard turned interrupts on under the second"
        );
        drop(inner);
        assert!(interrupts::are_enabled(), "the last guard did not turn interrupts back on");
    }

    fn irq_guards_made_with_interrupts_off_leave_them_off() {
        interrupts::disable();
        let a = disable_local_irqs();
        let b = disable_local_irqs();
        drop(a);
        drop(b);
        let off = !interrupts::are_enabled();
        interrupts::enable();
        assert!(off, "a guard turned on interrupts that were off when it was made");
    }

    fn irq_guard_nesting_belongs_to_the_task_across_a_switch() {
        let outer = disable_local_irqs();
        let inner = disable_local_irqs();
        // Another task runs (and takes and drops guards of its own) while ours are live.
        let other = crate::task::spawn("irq-guard-other", || {
            crate::task::current().is_test.store(true, Ordering::SeqCst);
            assert!(interrupts::are_enabled(), "a new task inherited its parent's guards");
            drop(disable_local_irqs());
            assert!(interrupts::are_enabled());
        });
        crate::task::yield_now();
        assert!(!interrupts::are_enabled(), "a switch turned interrupts on under live guards");
        drop(inner);
        assert!(!interrupts::are_enabled());
        drop(outer);
        assert!(interrupts::are_enabled());
        let task = other.join();
        assert!(!task.test_failed.load(Ordering::SeqCst), "the other task saw the wrong nesting");
    }
}
