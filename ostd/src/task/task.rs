//! A kernel task: a stack, a saved context, and a lifecycle.

use alloc::boxed::Box;
use alloc::string::String;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use super::context::TaskContext;
use crate::mm::KernelStack;
use crate::sync::{SpinLock, WaitQueue};

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// Running or waiting for the CPU.
    Runnable = 0,
    /// Waiting on a [`WaitQueue`].
    Sleeping = 1,
    /// Finished; only its handle remains.
    Exited = 2,
}

/// A kernel thread.
///
/// # Invariants
/// `context` is read and written only by the scheduler (`processor.rs`), with local
/// interrupts disabled, on the CPU that runs or last ran the task; so at most one access is
/// in flight at any time.
pub struct Task {
    id: u64,
    name: String,
    pub(super) context: UnsafeCell<TaskContext>,
    pub(super) stack: Option<KernelStack>,
    pub(super) entry: SpinLock<Option<Box<dyn FnOnce() + Send>>>,
    state: AtomicU8,
    pub(super) exit_wq: WaitQueue,
    pub(super) is_idle: bool,
    /// Set by the panic handler when an in-kernel test running on this task fails.
    pub(crate) test_failed: AtomicBool,
    /// Whether a panic on this task should fail a test rather than the kernel.
    pub(crate) is_test: AtomicBool,
    /// The user address space this task runs in, activated whenever it is switched in.
    pub(crate) vm_space: SpinLock<Option<alloc::sync::Arc<crate::mm::VmSpace>>>,
    /// Time on the CPU before its current stint (ns), and how much of it in user mode.
    cpu_ns: AtomicU64,
    user_ns: AtomicU64,
    /// When its current stint on the CPU began (monotonic ns).
    pub(super) on_cpu_since: AtomicU64,
    /// How long its last stint on the CPU lasted (ns): short for a task that mostly waits.
    pub(super) last_stint_ns: AtomicU64,
    /// Times it left the CPU to wait, and times it was switched out while still runnable.
    pub(super) voluntary_switches: AtomicU64,
    pub(super) forced_switches: AtomicU64,
    /// Set by `interrupt`: user mode should hand the task back to the kernel.
    interrupt_requested: AtomicBool,
    /// What the kernel attached to the task (which thread of which process it runs).
    attached: spin::Once<Box<dyn core::any::Any + Send + Sync>>,
}

/// How long a task has run, by the TSC: in all, and in user mode (the rest is the kernel
/// working on its behalf).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Nanoseconds on the CPU.
    pub total_ns: u64,
    /// Nanoseconds of that in user mode.
    pub user_ns: u64,
}

impl CpuTime {
    /// Nanoseconds in the kernel.
    pub fn system_ns(&self) -> u64 {
        self.total_ns.saturating_sub(self.user_ns)
    }
}

impl core::ops::Add for CpuTime {
    type Output = CpuTime;
    fn add(self, other: CpuTime) -> CpuTime {
        CpuTime { total_ns: self.total_ns + other.total_ns, user_ns: self.user_ns + other.user_ns }
    }
}

// SAFETY: every field is Sync except `context`, whose accesses are serialised by the
// scheduler with interrupts off (see the invariant above).
unsafe impl Sync for Task {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The user-mode time of every task there has been (ns): /proc/stat's `user`.
static ALL_USER_NS: AtomicU64 = AtomicU64::new(0);

/// Returns the user-mode time of every task so far, the exited ones included (ns).
pub(super) fn all_user_ns() -> u64 {
    ALL_USER_NS.load(Ordering::Relaxed)
}

impl Task {
    pub(super) fn new(
        name: String,
        stack: Option<KernelStack>,
        entry: Option<Box<dyn FnOnce() + Send>>,
        is_idle: bool,
    ) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            context: UnsafeCell::new(TaskContext::default()),
            stack,
            entry: SpinLock::new(entry),
            state: AtomicU8::new(TaskState::Runnable as u8),
            exit_wq: WaitQueue::new(),
            is_idle,
            test_failed: AtomicBool::new(false),
            is_test: AtomicBool::new(false),
            vm_space: SpinLock::new(None),
            cpu_ns: AtomicU64::new(0),
            user_ns: AtomicU64::new(0),
            on_cpu_since: AtomicU64::new(0),
            last_stint_ns: AtomicU64::new(0),
            voluntary_switches: AtomicU64::new(0),
            forced_switches: AtomicU64::new(0),
            interrupt_requested: AtomicBool::new(false),
            attached: spin::Once::new(),
        }
    }

    /// Attaches `data` to the task for good, so that code running on it finds it again
    /// through [`Task::attached`] without a look-up. Only the first attachment counts; a
    /// later one is handed back.
    pub fn attach(
        &self,
        data: Box<dyn core::any::Any + Send + Sync>,
    ) -> Result<(), Box<dyn core::any::Any + Send + Sync>> {
        let mut data = Some(data);
        self.attached.call_once(|| data.take().expect("taken only here"));
        data.map_or(Ok(()), Err)
    }

    /// Returns what was attached to the task, if anything.
    pub fn attached(&self) -> Option<&(dyn core::any::Any + Send + Sync)> {
        self.attached.get().map(|data| &**data)
    }

    pub(super) fn request_interrupt(&self) {
        self.interrupt_requested.store(true, Ordering::Release);
    }

    /// Consumes an interrupt request, if one is pending.
    pub(crate) fn take_interrupt(&self) -> bool {
        self.interrupt_requested.swap(false, Ordering::AcqRel)
    }

    /// Returns the CPU time it has used so far, including the stint it may be in now.
    pub fn cpu_time(self: &alloc::sync::Arc<Self>) -> CpuTime {
        let mut total = self.cpu_ns.load(Ordering::Relaxed);
        if super::current_if_any().is_some_and(|c| alloc::sync::Arc::ptr_eq(&c, self)) {
            total += crate::time::monotonic_ns()
                .saturating_sub(self.on_cpu_since.load(Ordering::Relaxed));
        }
        CpuTime { total_ns: total, user_ns: self.user_ns.load(Ordering::Relaxed).min(total) }
    }

    /// Ends a stint on the CPU at `now` (the scheduler switches the task out).
    pub(super) fn leave_cpu(&self, now: u64) {
        let stint = now.saturating_sub(self.on_cpu_since.load(Ordering::Relaxed));
        self.cpu_ns.fetch_add(stint, Ordering::Relaxed);
        self.last_stint_ns.store(stint, Ordering::Relaxed);
    }

    /// Returns how many times it left the CPU to wait (voluntary) and how many times it was
    /// switched out while it could have gone on (forced), as /proc/PID/status counts them.
    pub fn context_switches(&self) -> (u64, u64) {
        (
            self.voluntary_switches.load(Ordering::Relaxed),
            self.forced_switches.load(Ordering::Relaxed),
        )
    }

    /// Adds time spent in user mode (measured around each entry to it).
    pub(crate) fn add_user_ns(&self, ns: u64) {
        self.user_ns.fetch_add(ns, Ordering::Relaxed);
        ALL_USER_NS.fetch_add(ns, Ordering::Relaxed);
    }

    /// Returns the task's unique ID.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Returns the name it was spawned with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns its current state.
    pub fn state(&self) -> TaskState {
        match self.state.load(Ordering::Acquire) {
            0 => TaskState::Runnable,
            1 => TaskState::Sleeping,
            _ => TaskState::Exited,
        }
    }

    pub(crate) fn set_state_sleeping(&self) {
        self.set_state(TaskState::Sleeping);
    }

    pub(super) fn set_state(&self, state: TaskState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves Sleeping -> Runnable; returns whether this call did it.
    pub(super) fn try_wake(&self) -> bool {
        self.state
            .compare_exchange(
                TaskState::Sleeping as u8,
                TaskState::Runnable as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Returns the stack's address range, if the task has its own stack.
    pub fn stack_range(&self) -> Option<(u64, u64)> {
        self.stack.as_ref().map(|s| (s.bottom(), s.top()))
    }

    /// Returns the unmapped guard range below the stack, if the task has its own stack.
    pub fn stack_guard_range(&self) -> Option<(u64, u64)> {
        self.stack.as_ref().map(KernelStack::guard)
    }
}
