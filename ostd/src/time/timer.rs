//! Deadline timers: wake a task, or run a callback, at a moment of the monotonic clock
//! rather than at the next scheduler tick.
//!
//! The local APIC's timer serves every deadline and the tick itself. It runs one-shot and
//! is armed for the earliest of the next tick and the earliest queued deadline; its
//! interrupt accounts the ticks that are due (so [`super::ticks`] still advances at
//! [`super::hz`], drift-free, since each tick is scheduled from the previous one's deadline,
//! not from when its interrupt ran), runs the expired entries and arms it again.
//!
//! Expiries run in interrupt context, after the queue's lock is dropped: a callback must not
//! sleep. A deadline that has passed when it is queued fires after the shortest delay, so
//! expiries never run in the caller's context.
//!
//! The host controls when interrupts arrive, so a timer's firing is only a hint: waiters
//! compare the TSC with their deadline before believing it (`sync::WaitQueue`).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::timer_queue::{TimerKey, TimerQueue};
use super::{apic, monotonic_ns};
use crate::sync::SpinLock;
use crate::task::Task;

/// The shortest delay the hardware is armed for: a deadline nearer than this fires after
/// it, so that a burst of near deadlines cannot keep the CPU in the timer's interrupt.
const MIN_DELAY_NS: u64 = 1_000;

/// What happens when a deadline passes.
enum Expiry {
    Wake(Arc<Task>),
    Call(Arc<dyn Fn() + Send + Sync>),
}

struct Clock {
    queue: TimerQueue<Expiry>,
    /// When the next scheduler tick is due; 0 until the timer starts.
    next_tick_ns: u64,
    /// The deadline the hardware is armed for, if it is.
    armed_for: Option<u64>,
}

static CLOCK: SpinLock<Clock> =
    SpinLock::new(Clock { queue: TimerQueue::new(), next_tick_ns: 0, armed_for: None });
/// Nanoseconds between scheduler ticks; 0 until the timer starts.
static TICK_PERIOD_NS: AtomicU64 = AtomicU64::new(0);

impl Clock {
    /// The earliest moment anything is due.
    fn next_event(&self) -> u64 {
        let tick = if self.next_tick_ns == 0 { u64::MAX } else { self.next_tick_ns };
        self.queue.next_deadline().map_or(tick, |d| d.min(tick))
    }

    /// Arms the hardware for the earliest event, unless it is armed for exactly that.
    fn rearm(&mut self, now: u64) {
        let event = self.next_event();
        if event == u64::MAX || self.armed_for == Some(event) {
            return;
        }
        // A deadline that is already due fires after the shortest delay, in the handler.
        apic::arm_oneshot_ns(event.saturating_sub(now).max(MIN_DELAY_NS));
        self.armed_for = Some(event);
    }
}

/// Starts the tick at `hz` on the one-shot timer (the APIC timer is calibrated by now).
pub(super) fn start(hz: u32) {
    let period = 1_000_000_000 / u64::from(hz);
    TICK_PERIOD_NS.store(period, Ordering::Relaxed);
    let mut clock = CLOCK.lock();
    let now = monotonic_ns();
    clock.next_tick_ns = now + period;
    clock.armed_for = None;
    clock.rearm(now);
}

/// The timer's interrupt: returns how many scheduler ticks came due, after running every
/// expired entry and arming the hardware for what comes next.
pub(super) fn on_interrupt() -> u64 {
    let now = monotonic_ns();
    let ticks = {
        let mut clock = CLOCK.lock();
        // A one-shot that fired is disarmed; a self-raised vector leaves it armed, and
        // arming it again below is harmless.
        clock.armed_for = None;
        let period = TICK_PERIOD_NS.load(Ordering::Relaxed);
        if clock.next_tick_ns != 0 && now >= clock.next_tick_ns && period != 0 {
            let due = (now - clock.next_tick_ns) / period + 1;
            clock.next_tick_ns += due * period;
            due
        } else {
            0
        }
    };
    loop {
        // One entry per lock hold: expiries run without the lock (they take scheduler
        // locks, or queue timers themselves).
        let Some(expiry) = CLOCK.lock().queue.pop_expired(now) else { break };
        match expiry {
            Expiry::Wake(task) => crate::task::wake(task),
            Expiry::Call(callback) => callback(),
        }
    }
    CLOCK.lock().rearm(monotonic_ns());
    ticks
}

/// Wakes `task` at `deadline_ns` (monotonic), unless [`cancel`]led first.
pub(crate) fn wake_at(deadline_ns: u64, task: Arc<Task>) -> TimerKey {
    queue(deadline_ns, Expiry::Wake(task))
}

/// Removes a queued expiry; one that already ran is gone already.
pub(crate) fn cancel(key: TimerKey) {
    // Dropped after the lock: a callback's last reference may own anything.
    let removed = CLOCK.lock().queue.remove(key);
    drop(removed);
}

fn queue(deadline_ns: u64, expiry: Expiry) -> TimerKey {
    let mut clock = CLOCK.lock();
    let key = clock.queue.insert(deadline_ns, expiry);
    clock.rearm(monotonic_ns());
    key
}

/// A callback that runs, in interrupt context, when a deadline passes.
///
/// Set it for a deadline, set it again to move it, cancel it; dropping it cancels it. The
/// callback must not sleep or take a lock that is held where interrupts are on (any
/// [`SpinLock`] is fine).
pub struct Timer {
    callback: Arc<dyn Fn() + Send + Sync>,
    key: SpinLock<Option<TimerKey>>,
}

impl Timer {
    /// Creates an unset timer that will run `callback`.
    pub fn new(callback: impl Fn() + Send + Sync + 'static) -> Self {
        Self { callback: Arc::new(callback), key: SpinLock::new(None) }
    }

    /// Runs the callback once at `deadline_ns` (monotonic), replacing any earlier setting.
    pub fn set(&self, deadline_ns: u64) {
        let mut key = self.key.lock();
        if let Some(old) = key.take() {
            cancel(old);
        }
        *key = Some(queue(deadline_ns, Expiry::Call(self.callback.clone())));
    }

    /// Cancels the pending expiry, if any.
    pub fn cancel(&self) {
        if let Some(old) = self.key.lock().take() {
            cancel(old);
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}

crate::ktest! {
    fn a_deadline_before_the_next_tick_arms_the_hardware_for_it_and_wakes_the_sleeper() {
        // 300 µs is far below the 4 ms tick. What makes a short sleep short is that queuing
        // its deadline arms the one-shot for it, not for the tick; that is checked on the
        // clock itself, with interrupts off so that nothing fires in between. (How long
        // the sleep then lasts is up to the host, so only its lower bound is asserted.)
        for _ in 0..5 {
            let start = monotonic_ns();
            let deadline = start + 300_000;
            let timer = Timer::new(|| {});
            {
                let _irqs_off = crate::sync::disable_local_irqs();
                timer.set(deadline);
                let clock = CLOCK.lock();
                let due = clock.next_event();
                assert!(due <= deadline, "next event {due} is after the deadline {deadline}");
                assert_eq!(clock.armed_for, Some(due), "the one-shot is not armed for it");
            }
            crate::task::sleep_until(deadline);
            let slept = monotonic_ns() - start;
            assert!(slept >= 300_000, "woke {slept} ns after a 300 µs deadline");
        }
    }

    fn a_timer_runs_its_callback_once_and_a_cancelled_one_never() {
        use core::sync::atomic::AtomicUsize;
        static FIRED: AtomicUsize = AtomicUsize::new(0);
        static CANCELLED: AtomicUsize = AtomicUsize::new(0);
        FIRED.store(0, Ordering::Relaxed);
        let fires = Timer::new(|| {
            FIRED.fetch_add(1, Ordering::Relaxed);
        });
        let never = Timer::new(|| {
            CANCELLED.fetch_add(1, Ordering::Relaxed);
        });
        let now = monotonic_ns();
        {
            // With interrupts off, the host may stall us past both deadlines between the
            // set and the cancel (a CI run once saw it), yet neither expiry can run before
            // the cancel: what the test checks is the queue, not how fast the guest is.
            let _irqs_off = crate::sync::disable_local_irqs();
            never.set(now + 1_000_000);
            fires.set(now + 500_000);
            never.cancel();
        }
        crate::task::sleep_until(now + 20_000_000);
        assert_eq!(FIRED.load(Ordering::Relaxed), 1);
        assert_eq!(CANCELLED.load(Ordering::Relaxed), 0);
    }

    fn a_deadline_in_the_past_fires_at_once() {
        use core::sync::atomic::AtomicBool;
        static FIRED: AtomicBool = AtomicBool::new(false);
        let timer = Timer::new(|| FIRED.store(true, Ordering::Relaxed));
        timer.set(monotonic_ns().saturating_sub(1_000));
        // The vector is raised as soon as interrupts are on; one halt is enough.
        let deadline = monotonic_ns() + 1_000_000_000;
        while !FIRED.load(Ordering::Relaxed) && monotonic_ns() < deadline {
            x86_64::instructions::interrupts::enable_and_hlt();
        }
        assert!(FIRED.load(Ordering::Relaxed), "a past deadline did not fire within 1 s");
    }
}
