//! Tasks, switching and the sleeping primitives, on the machine.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{spawn, yield_now};
use crate::sync::{Mutex, SpinLock, WaitQueue};
static INSIDE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

crate::ktest! {
    fn cpu_usage_counts_busy_time_idle_time_and_switches() {
        let before = super::cpu_usage();
        // Busy for 2 ms: no idle time can pass (this task stays runnable throughout).
        let start = crate::time::monotonic_ns();
        while crate::time::monotonic_ns() < start + 2_000_000 {
            core::hint::spin_loop();
        }
        let busy = super::cpu_usage();
        assert_eq!(busy.idle_ns, before.idle_ns, "idle time passed while a task spun");
        let worked = |u: super::CpuUsage| u.user_ns + u.system_ns;
        assert!(worked(busy) - worked(before) >= 2_000_000, "{before:?} -> {busy:?}");
        // Sleeping 2 ms with nothing else to run is idle time, reached by switching away.
        super::sleep_ms(2);
        let slept = super::cpu_usage();
        assert!(slept.idle_ns > busy.idle_ns, "{busy:?} -> {slept:?}");
        assert!(slept.context_switches >= busy.context_switches + 2, "{busy:?} -> {slept:?}");
    }

    fn two_kernel_threads_interleave_by_yielding() {
        let log = Arc::new(SpinLock::new(Vec::new()));
        let handles: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                spawn(name, move || {
                    for i in 0..3 {
                        log.lock().push((name, i));
                        yield_now();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join();
        }
        let log = log.lock();
        assert_eq!(log.len(), 6);
        // Strict alternation proves every yield switched to the other thread.
        for pair in log.chunks(2) {
            assert_ne!(pair[0].0, pair[1].0, "no switch between {:?}", pair);
        }
    }

    fn busy_threads_are_preempted_by_the_timer() {
        let spins = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let stop = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (spins, stop) = (spins.clone(), stop.clone());
                // Neither thread yields: only timer preemption lets the other one run.
                spawn("spinner", move || {
                    while stop.load(Ordering::Relaxed) == 0 {
                        spins[i].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        super::sleep_ms(200);
        stop.store(1, Ordering::Relaxed);
        for h in handles {
            h.join();
        }
        assert!(
            spins[0].load(Ordering::Relaxed) > 0 && spins[1].load(Ordering::Relaxed) > 0,
            "a spinning thread starved the other"
        );
    }

    fn mutex_serialises_sleeping_holders() {
        let counter = Arc::new(Mutex::new(0u32));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                spawn("incrementer", move || {
                    for _ in 0..50 {
                        let mut guard = counter.lock();
                        let seen = *guard;
                        assert!(!INSIDE.swap(true, Ordering::SeqCst), "two holders at once");
                        yield_now(); // holding the mutex while others run and block on it
                        INSIDE.store(false, Ordering::SeqCst);
                        *guard = seen + 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join();
        }
        assert_eq!(*counter.lock(), 200);
    }

    fn mutex_counts_without_yield() {
        let counter = Arc::new(Mutex::new(0u32));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                spawn("incrementer", move || {
                    for _ in 0..50 {
                        let mut guard = counter.lock();
                        *guard += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join();
        }
        assert_eq!(*counter.lock(), 200);
    }

    fn yield_counts_without_mutex() {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                spawn("incrementer", move || {
                    for _ in 0..50 {
                        counter.fetch_add(1, Ordering::SeqCst);
                        yield_now();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join();
        }
        assert_eq!(counter.load(Ordering::SeqCst), 200);
    }

    fn wait_queue_wakes_a_sleeper() {
        let ready = Arc::new(AtomicUsize::new(0));
        // What the waiter's wait_until returned; 0 until it returns.
        let seen = Arc::new(AtomicUsize::new(0));
        let wq = Arc::new(WaitQueue::new());
        let waiter = {
            let (ready, seen, wq) = (ready.clone(), seen.clone(), wq.clone());
            spawn("waiter", move || {
                let v = wq.wait_until(|| match ready.load(Ordering::SeqCst) {
                    0 => None,
                    v => Some(v),
                });
                seen.store(v, Ordering::SeqCst);
            })
        };
        yield_now();
        assert!(!wq.is_empty(), "the waiter should be asleep on the queue");
        assert_eq!(seen.load(Ordering::SeqCst), 0, "the waiter returned before the condition held");
        ready.store(42, Ordering::SeqCst);
        wq.wake_all();
        waiter.join();
        // The waiter is not a test task (a panic there would stop the kernel, not fail this
        // test), so it reports what it saw and the test checks it here.
        assert_eq!(
            seen.load(Ordering::SeqCst),
            42,
            "the woken waiter did not see the value it waited for"
        );
    }
}
