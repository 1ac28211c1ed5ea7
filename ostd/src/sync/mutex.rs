//! A sleeping mutex.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use super::WaitQueue;

/// A mutual-exclusion lock whose waiters sleep. Only for task context.
pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    waiters: WaitQueue,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one guard at a time (the `locked` flag,
// taken with acquire and released with release ordering), so sharing the mutex between
// threads is sound when T can be sent between them.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the T it owns.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Access to the data of a held [`Mutex`].
///
/// The marker makes the guard `Sync` only when `T: Sync`, as std's guard is: a shared guard
/// hands out `&T` to every thread that can see it, which a `Cell` or `RefCell` inside would
/// not survive. (Its one real field, `&Mutex<T>`, would be `Sync` for any `T: Send`.)
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    _shares_like: PhantomData<&'a mut T>,
}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex.
    pub const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            waiters: WaitQueue::new(),
            data: UnsafeCell::new(value),
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, sleeping while someone else holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.waiters.wait_until(|| self.try_lock())
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            // `then`, not `then_some`: a guard built eagerly on failure would unlock the
            // holder's lock when dropped.
            .then(|| MutexGuard { mutex: self, _shares_like: PhantomData })
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock, so no `&mut` to the data exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, and `&mut self` makes this the only reference.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.locked.store(false, Ordering::Release);
        self.mutex.waiters.wake_one();
    }
}
