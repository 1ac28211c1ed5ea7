//! Interruptible waits: how a blocking operation on a file, socket or terminal learns that
//! its caller has a signal to take (and should answer EINTR) without knowing what a process
//! is.
//!
//! The process subsystem, which owns signals, registers the check once at boot
//! ([`set_signal_check`]); the subsystems below it only ask ([`signal_pending`],
//! [`not_ready`]). Until the check is registered nothing is interrupted.

use spin::Once;

use crate::error::{Errno, SysResult};

static SIGNAL_CHECK: Once<fn() -> bool> = Once::new();

/// Registers how to tell whether the running thread has a signal that interrupts a wait.
/// The first registration wins.
pub fn set_signal_check(check: fn() -> bool) {
    SIGNAL_CHECK.call_once(|| check);
}

/// Returns whether the running thread has a signal that should interrupt a blocking wait.
pub fn signal_pending() -> bool {
    SIGNAL_CHECK.get().is_some_and(|check| check())
}

/// What a wait condition answers when it found nothing to do: EAGAIN for a non-blocking
/// caller, EINTR if a signal is pending, otherwise `None` (keep sleeping).
pub fn not_ready<T>(nonblocking: bool) -> Option<SysResult<T>> {
    if nonblocking {
        Some(Err(Errno::EAGAIN))
    } else if signal_pending() {
        Some(Err(Errno::EINTR))
    } else {
        None
    }
}

/// Sleeps until `cond` answers or the monotonic clock reaches `deadline_ns` (then `None`),
/// for waits that nothing signals but the clock and signals: a signal wakes its thread
/// wherever it sleeps (`Process::interrupt_sleep`), so `cond` sees it.
pub fn until_signal_or_deadline<R>(
    cond: impl FnMut() -> Option<R>,
    deadline_ns: Option<u64>,
) -> Option<R> {
    let alone = ostd::sync::WaitQueue::new();
    alone.wait_until_or_deadline(cond, deadline_ns).ok()
}
