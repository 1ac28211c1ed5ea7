//! The `net` kernel task: polls the stack when smoltcp asks to be polled (retransmissions,
//! delayed ACKs, TIME-WAIT, keep-alives), sleeping until then with a deadline wait, or until
//! a device interrupt or a socket call that moved that time earlier wakes it.
//!
//! Socket calls poll inline ([`super::stack::with`]), so loopback traffic never waits for
//! this task; it only keeps the timers.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use alloc::sync::Arc;

use ostd::sync::WaitQueue;

use crate::device::virtio::net::VirtioNet;

/// The shortest sleep between two polls by the task.
const MIN_SLEEP_NS: u64 = 1_000_000;

/// Where the task sleeps.
static NET_WQ: WaitQueue = WaitQueue::new();
/// Set by whoever wants the task to look again.
static KICKED: AtomicBool = AtomicBool::new(false);
/// When the task will wake on its own (monotonic ns; `u64::MAX`: never).
static SLEEPS_UNTIL: AtomicU64 = AtomicU64::new(u64::MAX);

/// Starts the task.
pub fn init() {
    drop(ostd::task::spawn("net", || {
        loop {
            // A time already past (smoltcp asks again at once) waits a millisecond, so a
            // socket that cannot make progress does not keep the CPU.
            let floor = ostd::time::monotonic_ns() + MIN_SLEEP_NS;
            let poll_at = super::stack::poll_now().map(|at| at.max(floor));
            let deadline = poll_at.unwrap_or(u64::MAX);
            SLEEPS_UNTIL.store(deadline, Ordering::Release);
            let _ = NET_WQ.wait_until_or_deadline(
                || KICKED.swap(false, Ordering::AcqRel).then_some(()),
                poll_at,
            );
        }
    }));
}

/// Starts the task that polls the stack whenever `nic` has received frames: its receive
/// interrupt wakes the task, which hands the frames to smoltcp at once. It stops if the
/// device is failed (eth0 then stays down).
pub fn watch_nic(nic: Arc<VirtioNet>) {
    drop(ostd::task::spawn("net-rx", move || {
        while nic.failure().is_none() {
            let ready = nic.wait(None);
            super::stack::poll_now();
            if !ready.can_receive {
                // Woken for a transmit buffer that nothing was waiting to use: do not spin.
                ostd::task::sleep_ms(1);
            }
        }
        log::error!("eth0: the device failed ({:?}); no more frames", nic.failure());
    }));
}

/// Makes sure the stack is polled by `poll_at` (monotonic ns): wakes the task if it would
/// sleep past it.
pub fn poll_by(poll_at: Option<u64>) {
    if let Some(at) = poll_at
        && at < SLEEPS_UNTIL.load(Ordering::Acquire)
    {
        kick();
    }
}

/// Wakes the task now (a frame arrived, or the stack needs an earlier poll).
pub fn kick() {
    SLEEPS_UNTIL.store(0, Ordering::Release);
    KICKED.store(true, Ordering::Release);
    NET_WQ.wake_all();
}
