//! timerfd: a timer that counts its expiries in a file (timerfd_create(2)). Reading takes
//! the count; the file is readable while it is non-zero. The count is brought up to date
//! whenever the file is asked (read, poll, gettime); a deadline timer at each expiry only
//! wakes the readers and pollers, so that they ask.

use alloc::sync::{Arc, Weak};

use ostd::sync::SpinLock;
use ostd::time::Timer;

use super::file::{FileLike, OpenFlags, Readiness, Stat};
use crate::error::{Errno, SysResult};
use crate::time::timer::{deadline_for, expire, remaining};

/// The clocks a timerfd may count on: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM,
/// BOOTTIME_ALARM (as timerfd_create accepts them).
pub fn valid_clock(clock: u64) -> bool {
    matches!(clock, 0 | 1 | 7 | 8 | 9)
}

#[derive(Default)]
struct State {
    /// Next expiry in monotonic ns, if armed.
    deadline: Option<u64>,
    /// Reload interval in ns (0: one-shot).
    interval: u64,
    /// Expiries not yet read.
    ticks: u64,
}

impl State {
    /// Counts the expiries that have passed by `now`.
    fn catch_up(&mut self, now: u64) {
        if let Some(at) = self.deadline.filter(|&at| at <= now) {
            let (expiries, next) = expire(at, self.interval, now);
            self.ticks = self.ticks.saturating_add(expiries);
            self.deadline = next;
        }
    }
}

/// A timerfd.
pub struct TimerFd {
    clock: u32,
    state: SpinLock<State>,
    flags: SpinLock<OpenFlags>,
    /// Set for the next expiry while the timer is armed.
    alarm: Timer,
}

impl TimerFd {
    /// A disarmed timer on `clock` (checked by [`valid_clock`]).
    pub fn new(clock: u32, flags: OpenFlags) -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<Self>| {
            let me = me.clone();
            Self {
                clock,
                state: SpinLock::new(State::default()),
                flags: SpinLock::new(flags | OpenFlags::RDWR),
                alarm: Timer::new(move || {
                    if let Some(timer) = me.upgrade() {
                        timer.expired();
                    }
                }),
            }
        })
    }

    /// The alarm's callback (interrupt context): counts the expiry, sets the alarm for the
    /// next one of a periodic timer, and wakes whoever waits for the file.
    fn expired(&self) {
        let next = {
            let mut s = self.state.lock();
            s.catch_up(crate::time::monotonic_ns());
            s.deadline
        };
        if let Some(at) = next {
            self.alarm.set(at);
        }
        crate::fs::poll::notify_readiness();
    }

    /// timerfd_settime: arms the timer `value` ns from now (or at the absolute time `value`
    /// on its clock), reloading every `interval` ns; a value of 0 disarms it. Unread
    /// expiries are dropped. Returns the old (interval, time left).
    pub fn set(&self, interval: u64, value: u64, absolute: bool) -> (u64, u64) {
        let now = crate::time::monotonic_ns();
        let mut s = self.state.lock();
        s.catch_up(now);
        let old = (s.interval, remaining(s.deadline, now));
        s.deadline = deadline_for(self.clock, value, absolute, now);
        s.interval = if s.deadline.is_some() { interval } else { 0 };
        s.ticks = 0;
        match s.deadline {
            Some(at) => self.alarm.set(at),
            None => self.alarm.cancel(),
        }
        old
    }

    /// timerfd_gettime: (interval, time left), 0 left if disarmed.
    pub fn get(&self) -> (u64, u64) {
        let now = crate::time::monotonic_ns();
        let mut s = self.state.lock();
        s.catch_up(now);
        (s.interval, remaining(s.deadline, now))
    }

    fn take_ticks(&self) -> u64 {
        let mut s = self.state.lock();
        s.catch_up(crate::time::monotonic_ns());
        core::mem::take(&mut s.ticks)
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }
}

impl FileLike for TimerFd {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let nonblocking = self.nonblocking();
        // Woken by the alarm (or any other readiness change): the count decides.
        let ticks = crate::fs::poll::wait_for_readiness(
            || match self.take_ticks() {
                0 => crate::wait::not_ready(nonblocking),
                n => Some(Ok(n)),
            },
            None,
        )
        .unwrap_or(Err(Errno::EAGAIN))?;
        buf[..8].copy_from_slice(&ticks.to_le_bytes());
        Ok(8)
    }

    fn write(&self, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> Stat {
        Stat { mode: 0o600, nlink: 1, blksize: 4096, dev: 13, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness(&self) -> Readiness {
        let mut s = self.state.lock();
        s.catch_up(crate::time::monotonic_ns());
        Readiness {
            readable: s.ticks > 0,
            writable: false,
            hangup: false,
            plain: true,
            ..Readiness::default()
        }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
