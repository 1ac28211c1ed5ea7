//! Kernel tasks: threads of kernel execution, each with its own stack, and the scheduler.
//!
//! - [`spawn`] starts a task; [`JoinHandle::join`] waits for it.
//! - [`yield_now`] gives up the CPU; the timer preempts tasks whose time slice is used up.
//! - [`Scheduler`] is the policy interface; [`RoundRobin`] is the one in use.
//!
//! Scheduling state changes only with local interrupts off, on one CPU, so a wake-up from
//! an interrupt handler can never race with a task deciding to sleep.

mod context;
mod processor;
mod scheduler;
#[allow(clippy::module_inception)]
mod task;

pub use processor::{
    CpuUsage, JoinHandle, KERNEL_STACK_BYTES, PreemptGuard, cpu_usage, current, current_if_any,
    interrupt, preempt_disabled, sleep_ms, sleep_until, spawn, wait_ticks_until, yield_now,
};
pub use scheduler::{RoundRobin, Scheduler};
pub use task::{CpuTime, Task, TaskState};

pub(crate) use processor::{
    block_current, exit_current, preempt_after_irq, preempt_point, run_first_task, timer_tick, wake,
};

mod tests;
