//! Interrupt lines: a vector, and the handler that runs when it fires.
//!
//! Vectors 0x30..=0xef are handed out by [`IrqLine::alloc`]; the local APIC timer and the
//! spurious vector have fixed numbers. Handlers run with interrupts off, on the interrupted
//! stack, and must not sleep.

use alloc::sync::Arc;

use crate::sync::SpinLock;

/// The local APIC timer's vector.
pub(crate) const TIMER_VECTOR: u8 = 0xec;
/// The APIC's spurious-interrupt vector (no EOI).
pub(crate) const SPURIOUS_VECTOR: u8 = 0xff;
/// The vector user code raises with `int $0x80` (Linux's i386 syscall gate): never given to
/// a device, so a trap from user mode on it is always the instruction.
pub(crate) const LEGACY_SYSCALL_VECTOR: u8 = 0x80;
const FIRST_DYNAMIC: u8 = 0x30;
const LAST_DYNAMIC: u8 = 0xef;

type Handler = Arc<dyn Fn() + Send + Sync>;

static HANDLERS: SpinLock<[Option<Handler>; 256]> = SpinLock::new([const { None }; 256]);
static ALLOCATED: SpinLock<[bool; 256]> = SpinLock::new([false; 256]);
static COUNTS: [core::sync::atomic::AtomicU64; 256] =
    [const { core::sync::atomic::AtomicU64::new(0) }; 256];

/// Why an interrupt line could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqError {
    /// Every dynamic vector is taken.
    NoFreeVector,
    /// That vector is fixed or already taken.
    VectorBusy(u8),
}

/// An allocated interrupt vector; freed (and its handler removed) on drop.
#[derive(Debug)]
pub struct IrqLine {
    vector: u8,
}

impl IrqLine {
    /// Allocates a free vector.
    pub fn alloc() -> Result<Self, IrqError> {
        let mut allocated = ALLOCATED.lock();
        let vector = (FIRST_DYNAMIC..=LAST_DYNAMIC)
            .find(|&v| v != LEGACY_SYSCALL_VECTOR && !allocated[v as usize])
            .ok_or(IrqError::NoFreeVector)?;
        allocated[vector as usize] = true;
        Ok(Self { vector })
    }

    /// Claims a specific vector (the fixed ones: timer).
    pub(crate) fn claim(vector: u8) -> Result<Self, IrqError> {
        let mut allocated = ALLOCATED.lock();
        if allocated[vector as usize] {
            return Err(IrqError::VectorBusy(vector));
        }
        allocated[vector as usize] = true;
        Ok(Self { vector })
    }

    /// Returns the vector number.
    pub fn vector(&self) -> u8 {
        self.vector
    }

    /// Sets the handler, replacing any previous one.
    pub fn on_active(&self, handler: impl Fn() + Send + Sync + 'static) {
        HANDLERS.lock()[self.vector as usize] = Some(Arc::new(handler));
    }

    /// Returns how many times this vector has fired.
    pub fn count(&self) -> u64 {
        COUNTS[self.vector as usize].load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Raises this vector on the current CPU with `int` (for tests and self-IPIs).
    pub fn trigger_locally(&self) {
        crate::time::apic::self_interrupt(self.vector);
    }
}

impl Drop for IrqLine {
    fn drop(&mut self) {
        HANDLERS.lock()[self.vector as usize] = None;
        ALLOCATED.lock()[self.vector as usize] = false;
    }
}

/// Runs the handler for `vector` and acknowledges the interrupt.
pub(crate) fn dispatch(vector: u8) {
    COUNTS[vector as usize].fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let handler = HANDLERS.lock()[vector as usize].clone();
    if let Some(handler) = handler {
        handler();
    }
    if vector != SPURIOUS_VECTOR {
        crate::time::apic::end_of_interrupt();
    }
}
