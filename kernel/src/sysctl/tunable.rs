//! A tunable integer: a value its owner reads where it enforces the limit, and /proc/sys
//! writes within the range Linux's handler allows.

use core::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Errno, SysResult};

/// An integer setting with the range a write may set it to (Linux's
/// `proc_dointvec_minmax` and friends: anything outside is EINVAL).
pub struct IntTunable {
    value: AtomicI64,
    min: i64,
    max: i64,
}

impl IntTunable {
    /// A tunable starting at `default`, settable within `min..=max`.
    pub const fn new(default: i64, min: i64, max: i64) -> Self {
        Self { value: AtomicI64::new(default), min, max }
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// The current value as a count (a tunable whose range starts at 0 or above).
    pub fn get_usize(&self) -> usize {
        usize::try_from(self.get()).unwrap_or(0)
    }

    /// Stores `value`.
    ///
    /// # Errors
    /// EINVAL if `value` is outside the tunable's range.
    pub fn set(&self, value: i64) -> SysResult<()> {
        if !(self.min..=self.max).contains(&value) {
            return Err(Errno::EINVAL);
        }
        self.value.store(value, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the range admits negative values (signed handlers accept a '-').
    pub fn signed(&self) -> bool {
        self.min < 0
    }
}
