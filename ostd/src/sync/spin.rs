//! A spin lock that disables local interrupts while held.

use core::ops::{Deref, DerefMut};

use super::irq_guard::{DisabledIrqGuard, disable_local_irqs};

/// A mutual-exclusion lock that spins, with local interrupts off while it is held.
///
/// Because interrupts are off, an interrupt handler on this CPU can never find the lock held
/// by the code it interrupted (no self-deadlock), and the holder is never preempted.
/// Holding it across anything that sleeps is a bug.
pub struct SpinLock<T: ?Sized> {
    inner: spin::Mutex<T>,
}

/// Access to the data of a held [`SpinLock`]; releases the lock, then restores interrupts.
pub struct SpinLockGuard<'a, T: ?Sized> {
    // Field order is drop order: unlock first, then re-enable interrupts.
    data: spin::MutexGuard<'a, T>,
    _irq: DisabledIrqGuard,
}

impl<T> SpinLock<T> {
    /// Creates an unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        Self { inner: spin::Mutex::new(value) }
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Disables local interrupts, then spins until the lock is free and takes it.
    #[inline]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irq = disable_local_irqs();
        SpinLockGuard { data: self.inner.lock(), _irq: irq }
    }

    /// Takes the lock if it is free right now.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irq = disable_local_irqs();
        self.inner.try_lock().map(|data| SpinLockGuard { data, _irq: irq })
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}
