//! Device and firmware memory (MMIO registers, ACPI tables), mapped uncached.
//!
//! Only volatile, bounds-checked, fixed-width accesses exist: no references, so neither the
//! compiler nor a caller can assume the bytes stay put between reads.

use super::{Paddr, Vaddr, kspace};

/// A window onto physical device or firmware memory.
///
/// # Invariants
/// `vaddr..vaddr+len` is mapped uncached onto `paddr..paddr+len` for the kernel's lifetime.
#[derive(Clone, Debug)]
pub struct IoMem {
    paddr: Paddr,
    vaddr: Vaddr,
    len: usize,
}

/// Plain integers that may be read from or written to device memory.
pub trait IoValue: Copy + sealed::Sealed {}
impl IoValue for u8 {}
impl IoValue for u16 {}
impl IoValue for u32 {}
impl IoValue for u64 {}
mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
}

impl IoMem {
    /// Maps `len` bytes at physical `paddr`.
    ///
    /// Refuses (returns `None`) ranges that overlap RAM the allocator manages: device memory
    /// must never alias memory the kernel hands out.
    pub fn map(paddr: Paddr, len: usize) -> Option<Self> {
        if crate::boot::boot_info().memory.regions().iter().any(|r| {
            r.kind == crate::boot::MemoryKind::Usable && r.range.start < paddr + len as u64 && paddr < r.range.end
        }) {
            return None;
        }
        Self::map_firmware(paddr, len)
    }

    /// Maps firmware memory (ACPI tables), which may sit in RAM the firmware marked as
    /// reclaimable; the mapping is read through volatile copies like any other `IoMem`.
    pub(crate) fn map_firmware(paddr: Paddr, len: usize) -> Option<Self> {
        let vaddr = kspace::map_io(paddr, len)?;
        Some(Self { paddr, vaddr, len })
    }

    /// Returns the physical base.
    pub fn paddr(&self) -> Paddr {
        self.paddr
    }

    /// Returns the length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check<T>(&self, offset: usize) -> usize {
        let size = core::mem::size_of::<T>();
        assert!(offset % size == 0 && offset + size <= self.len, "IoMem access at {offset:#x} out of range");
        self.vaddr as usize + offset
    }

    /// Reads a value at `offset`.
    ///
    /// # Panics
    /// If the access is unaligned or out of bounds.
    pub fn read<T: IoValue>(&self, offset: usize) -> T {
        let ptr = self.check::<T>(offset) as *const T;
        // SAFETY: in bounds and aligned (checked), mapped (invariant); T is a plain integer.
        unsafe { ptr.read_volatile() }
    }

    /// Writes a value at `offset`.
    ///
    /// # Panics
    /// If the access is unaligned or out of bounds.
    pub fn write<T: IoValue>(&self, offset: usize, value: T) {
        let ptr = self.check::<T>(offset) as *mut T;
        // SAFETY: as in `read`.
        unsafe { ptr.write_volatile(value) }
    }

    /// Copies bytes at `offset` into `buf`.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.read::<u8>(offset + i);
        }
    }
}
