//! Disabling local interrupts for a scope.

use core::marker::PhantomData;
use x86_64::instructions::interrupts;

/// Proof that local interrupts are disabled until this guard is dropped.
///
/// Dropping it restores the interrupt flag to what it was when the guard was made, so guards
/// nest. It is `!Send`: the flag belongs to the CPU that made the guard.
pub struct DisabledIrqGuard {
    were_enabled: bool,
    _not_send: PhantomData<*const ()>,
}

/// Disables local interrupts until the returned guard is dropped.
pub fn disable_local_irqs() -> DisabledIrqGuard {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    DisabledIrqGuard { were_enabled, _not_send: PhantomData }
}

impl Drop for DisabledIrqGuard {
    fn drop(&mut self) {
        if self.were_enabled {
            interrupts::enable();
        }
    }
}
