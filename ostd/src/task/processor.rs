//! The CPU's view of tasks: which one runs, switching between them, and their lifecycle.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use spin::Once;

use super::context::{self, TaskContext};
use super::scheduler::{RoundRobin, Scheduler};
use super::task::{Task, TaskState};
use crate::mm::{KernelStack, PAGE_SIZE};
use crate::sync::{IrqNesting, WaitQueue, disable_local_irqs, restore_nesting, save_nesting};

/// Kernel stacks are 64 KiB: deep enough for formatting and the trap frames nested on it.
/// Each has unmapped guard pages below it (`mm::kstack`), so an overflow faults.
const STACK_PAGES: usize = 16;

static SCHEDULER: RoundRobin = RoundRobin::new(5);
/// The running task. Whenever a task runs, this names it (`switch_away` changes it, with
/// interrupts off, only just before switching stacks), which is what lets [`current`] read
/// it without a lock. There is one CPU, as for the run queue; a second one would make this
/// a per-CPU field.
static CURRENT: TaskSlot = TaskSlot::EMPTY;
/// The task switched away from, kept alive until the next task is off its stack.
static PREVIOUS: TaskSlot = TaskSlot::EMPTY;

/// A place that holds one task, owning one strong count of it, swapped without a lock.
///
/// # Invariant
/// `ptr` is null or comes from `Arc::into_raw`, and the slot owns that strong count until
/// `replace` hands it back.
struct TaskSlot {
    ptr: AtomicPtr<Task>,
}

impl TaskSlot {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "only the initializer of the per-CPU slot array: each slot is its own copy"
    )]
    const EMPTY: Self = Self { ptr: AtomicPtr::new(ptr::null_mut()) };

    /// Puts `task` in the slot and returns what it held.
    fn replace(&self, task: Option<Arc<Task>>) -> Option<Arc<Task>> {
        let new = task.map_or(ptr::null_mut(), |t| Arc::into_raw(t).cast_mut());
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // SAFETY: `old` came from `Arc::into_raw` with its count owned by the slot (the
        // invariant), and the swap took it out, so this is its one reconstruction.
        (!old.is_null()).then(|| unsafe { Arc::from_raw(old) })
    }

    /// Returns a new reference to the running task, which the slot names (CURRENT only).
    fn running(&self) -> Option<Arc<Task>> {
        let task = self.ptr.load(Ordering::Acquire);
        if task.is_null() {
            return None;
        }
        // The count is taken while the task that reads the slot runs, and so is the one the
        // slot names and keeps alive: an interrupt in between may run other tasks, but
        // ours resumes only after `switch_away` has made the slot name it again.
        // SAFETY: `task` is live and from `Arc::into_raw` (the invariant and the above).
        unsafe {
            Arc::increment_strong_count(task);
            Some(Arc::from_raw(task))
        }
    }
}
static IDLE: Once<Arc<Task>> = Once::new();
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// When the running task is to give way to a task woken meanwhile (monotonic ns; `u64::MAX`
/// while nobody waits for that): checked at each preemption point.
static RESCHED_AT: AtomicU64 = AtomicU64::new(u64::MAX);
static PREEMPT_DISABLED: AtomicU32 = AtomicU32::new(0);
/// Switches from one task to another since boot (/proc/stat's `ctxt`).
static CONTEXT_SWITCHES: AtomicU64 = AtomicU64::new(0);
static TICK_WQ: WaitQueue = WaitQueue::new();

fn scheduler() -> &'static dyn Scheduler {
    &SCHEDULER
}

/// Returns the running task.
pub fn current() -> Arc<Task> {
    CURRENT.running().expect("no current task before the scheduler starts")
}

/// A handle to wait for a spawned task.
pub struct JoinHandle {
    task: Arc<Task>,
}

impl JoinHandle {
    /// Sleeps until the task has exited.
    pub fn join(self) -> Arc<Task> {
        let task = self.task;
        task.exit_wq.wait_until(|| (task.state() == TaskState::Exited).then_some(()));
        task
    }

    /// Returns the task.
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }
}

fn new_task(name: String, entry: Option<Box<dyn FnOnce() + Send>>, is_idle: bool) -> Arc<Task> {
    let stack = KernelStack::new(STACK_PAGES).expect("out of memory for a kernel stack");
    let (bottom, top) = (stack.bottom(), stack.top());
    let rsp = context::initial_frame(top, task_entry, |addr, value| {
        // SAFETY: the stack is brand new; nothing runs on it until the scheduler switches
        // to the frame being written here.
        unsafe { stack.write_word((addr - bottom) as usize, value) };
    });
    let task = Arc::new(Task::new(name, Some(stack), entry, is_idle));
    // SAFETY: the task is not yet visible to the scheduler, so nothing else touches its
    // context (Task's invariant).
    unsafe { (*task.context.get()).rsp = rsp };
    task
}

/// Starts `f` on a new kernel task.
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle {
    let task = new_task(String::from(name), Some(Box::new(f)), false);
    scheduler().enqueue(task.clone());
    JoinHandle { task }
}

/// The first code every task runs.
extern "C" fn task_entry() -> ! {
    finish_switch();
    restore_nesting(IrqNesting::NONE);
    x86_64::instructions::interrupts::enable();
    let entry = current().entry.lock().take();
    if let Some(f) = entry {
        f();
    }
    exit_current()
}

/// Ends the running task.
pub(crate) fn exit_current() -> ! {
    let _irq = disable_local_irqs();
    let task = current();
    task.set_state(TaskState::Exited);
    *task.vm_space.lock() = None;
    task.exit_wq.wake_all();
    drop(task);
    switch_away(false);
    unreachable!("an exited task was resumed");
}

/// Runs after every switch, on the new task: releases the previous task, whose stack is no
/// longer in use.
fn finish_switch() {
    drop(PREVIOUS.replace(None));
}

/// Picks the next task and switches to it. Interrupts must be off.
fn switch_away(requeue_current: bool) {
    // Whatever happens below answers any request to switch.
    NEED_RESCHED.store(false, Ordering::Relaxed);
    RESCHED_AT.store(u64::MAX, Ordering::Relaxed);
    let current = current();
    if requeue_current && current.state() == TaskState::Runnable && !current.is_idle {
        scheduler().enqueue(current.clone());
    }
    let next = match scheduler().pick_next() {
        Some(next) => next,
        None if current.state() == TaskState::Runnable && !current.is_idle => return,
        None => IDLE.get().expect("idle task missing").clone(),
    };
    if Arc::ptr_eq(&next, &current) {
        return;
    }
    CONTEXT_SWITCHES.fetch_add(1, Ordering::Relaxed);
    if current.state() == TaskState::Runnable {
        current.forced_switches.fetch_add(1, Ordering::Relaxed);
    } else {
        current.voluntary_switches.fetch_add(1, Ordering::Relaxed);
    }
    let now = crate::time::monotonic_ns();
    current.leave_cpu(now);
    next.on_cpu_since.store(now, Ordering::Relaxed);
    let save: *mut TaskContext = current.context.get();
    // SAFETY: `next` is not running (it was queued or is idle), and interrupts are off, so
    // we are the only accessor of its context (Task's invariant).
    let next_rsp = unsafe { (*next.context.get()).rsp };
    // A task with a user address space gets it back; kernel-only tasks run in whatever
    // space is loaded (the kernel half is the same in all of them).
    if let Some(space) = next.vm_space.lock().as_ref()
        && !space.is_active()
    {
        space.activate();
    }
    // From here until the switch, nothing may ask for the current task.
    let previous = CURRENT.replace(Some(next));
    drop(PREVIOUS.replace(previous));
    drop(current);
    // Interrupts are off. `next_rsp` was saved by a switch (or built by `initial_frame`) for
    // a stack owned by `next`, which CURRENT keeps alive and nothing else is running on.
    // The interrupt-guard depth is the task's: it waits on this stack while others run.
    let nesting = save_nesting();
    // SAFETY: `save` points into the previous task, which PREVIOUS keeps alive until the
    // next task has switched stacks; `next_rsp` names a live, idle stack (above).
    unsafe { context::switch(save, next_rsp) };
    restore_nesting(nesting);
    finish_switch();
}

/// Gives the CPU to another runnable task, if there is one.
pub fn yield_now() {
    let _irq = disable_local_irqs();
    switch_away(true);
}

/// Puts the current task to sleep on a wait queue's behalf (the queue already holds it).
pub(crate) fn block_current() {
    switch_away(false);
}

/// The longest the running task keeps the CPU after another task is woken (Linux's
/// sched_wakeup_granularity on one CPU).
const WAKEUP_GRANULARITY_NS: u64 = 1_000_000;

/// Makes a sleeping task runnable. The running task gives way to it once it has had the
/// CPU for as long as the woken one last ran, or for [`WAKEUP_GRANULARITY_NS`] if less: a
/// task that mostly waits (one end of a request/response pair, a timer-driven poller) runs
/// soon after its wake-up instead of at the end of the waker's slice, as under Linux's
/// CFS, while two busy tasks that wake each other still run for a while in turn.
pub(crate) fn wake(task: Arc<Task>) {
    if task.try_wake() {
        let wakee_stint = task.last_stint_ns.load(Ordering::Relaxed);
        scheduler().enqueue(task);
        if let Some(current) = CURRENT.running() {
            if current.is_idle {
                NEED_RESCHED.store(true, Ordering::Relaxed);
            } else {
                let since = current.on_cpu_since.load(Ordering::Relaxed);
                let at = since.saturating_add(wakee_stint.min(WAKEUP_GRANULARITY_NS));
                RESCHED_AT.fetch_min(at, Ordering::Relaxed);
            }
        }
    }
}

/// Returns whether the running task should switch: the timer or a wake-up asked for it.
fn resched_due() -> bool {
    NEED_RESCHED.load(Ordering::Relaxed)
        || RESCHED_AT.load(Ordering::Relaxed) <= crate::time::monotonic_ns()
}

/// Switches to another task if a wake-up or the timer asked for it (called before going
/// back to user mode, where the kernel holds nothing).
pub(crate) fn preempt_point() {
    if resched_due() && PREEMPT_DISABLED.load(Ordering::Relaxed) == 0 {
        yield_now();
    }
}

/// Wakes `task` wherever it sleeps, so it re-checks its wait condition (a spurious wake-up
/// by the wait-queue contract: callers use it to deliver "a signal arrived" to sleepers),
/// and makes its next return toward user mode come back to the kernel instead
/// ([`crate::user::ReturnReason::Interrupted`]), so a task running user code notices too.
pub fn interrupt(task: &Arc<Task>) {
    task.request_interrupt();
    wake(task.clone());
}

/// Called on every timer tick, in interrupt context.
pub(crate) fn timer_tick() {
    if let Some(current) = CURRENT.running()
        && scheduler().tick(&current)
    {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    }
    TICK_WQ.wake_all();
}

/// Preempts the interrupted task if its slice is over (called at the end of an interrupt).
pub(crate) fn preempt_after_irq() {
    if resched_due()
        && PREEMPT_DISABLED.load(Ordering::Relaxed) == 0
        && !CURRENT.ptr.load(Ordering::Relaxed).is_null()
    {
        switch_away(true);
    }
}

/// Returns a guard that keeps the current task from being preempted (it may still sleep).
pub fn preempt_disabled() -> PreemptGuard {
    PREEMPT_DISABLED.fetch_add(1, Ordering::Relaxed);
    PreemptGuard(core::marker::PhantomData)
}

/// Keeps preemption off while alive.
pub struct PreemptGuard(core::marker::PhantomData<*const ()>);

impl Drop for PreemptGuard {
    fn drop(&mut self) {
        PREEMPT_DISABLED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sleeps until `cond` returns `Some`, re-checking it at every timer tick (and whenever
/// the tick queue is woken). For waits on time, or on conditions nobody signals.
pub fn wait_ticks_until<R>(cond: impl FnMut() -> Option<R>) -> R {
    TICK_WQ.wait_until(cond)
}

/// Sleeps until the monotonic clock reaches `deadline_ns`. Signals do not end the sleep;
/// waits that must end on one use [`WaitQueue::wait_until_or_deadline`] with a condition.
pub fn sleep_until(deadline_ns: u64) {
    // Nobody can wake a private queue: only the deadline (or a spurious wake-up, after
    // which the wait goes on) ends the sleep.
    let alone = WaitQueue::new();
    let _ = alone.wait_until_or_deadline(|| None::<()>, Some(deadline_ns));
}

/// Sleeps for at least `ms` milliseconds.
pub fn sleep_ms(ms: u64) {
    sleep_until(crate::time::monotonic_ns().saturating_add(ms.saturating_mul(1_000_000)));
}

/// How the CPU's time since boot divides, as /proc/stat's first line counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuUsage {
    /// Nanoseconds in user mode, all tasks together.
    pub user_ns: u64,
    /// Nanoseconds in the kernel on behalf of tasks (interrupts taken while they ran
    /// included).
    pub system_ns: u64,
    /// Nanoseconds with nothing to run (the idle task, halted or about to be; interrupts
    /// taken meanwhile included).
    pub idle_ns: u64,
    /// Switches from one task to another (the idle task counts as one).
    pub context_switches: u64,
}

/// Returns how the CPU's time since boot divides into user, kernel and idle time.
pub fn cpu_usage() -> CpuUsage {
    let now = crate::time::monotonic_ns();
    let idle_ns = IDLE.get().map_or(0, |idle| idle.cpu_time().total_ns).min(now);
    let user_ns = super::task::all_user_ns().min(now - idle_ns);
    let context_switches = CONTEXT_SWITCHES.load(Ordering::Relaxed);
    CpuUsage { user_ns, system_ns: now - idle_ns - user_ns, idle_ns, context_switches }
}

fn idle_loop() {
    loop {
        if scheduler().has_runnable() {
            yield_now();
        }
        x86_64::instructions::interrupts::enable_and_hlt();
    }
}

/// Starts scheduling with `main` as the first task; the boot stack is abandoned.
pub(crate) fn run_first_task(main: fn() -> !) -> ! {
    IDLE.call_once(|| new_task(String::from("idle"), Some(Box::new(idle_loop)), true));
    let first = new_task(String::from("main"), Some(Box::new(move || main())), false);
    let _irq = disable_local_irqs();
    // SAFETY: `first` has never run and is not shared yet.
    let rsp = unsafe { (*first.context.get()).rsp };
    drop(CURRENT.replace(Some(first)));
    let mut boot_context = TaskContext::default();
    // SAFETY: `boot_context` is a valid save slot that is never resumed (we never switch
    // back to the boot stack); `rsp` is the fresh frame of the first task, which CURRENT
    // keeps alive. Interrupts are off.
    unsafe { context::switch(&mut boot_context, rsp) };
    unreachable!("the boot context was resumed");
}

/// The stack range, in pages, of kernel stacks (for diagnostics).
pub const KERNEL_STACK_BYTES: usize = STACK_PAGES * PAGE_SIZE;

/// Returns the running task, or `None` before the scheduler starts.
pub fn current_if_any() -> Option<Arc<Task>> {
    CURRENT.running()
}
