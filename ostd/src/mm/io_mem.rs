//! Device and firmware memory (MMIO registers, ACPI tables), mapped uncached.
//!
//! Only volatile, bounds-checked, fixed-width accesses exist: no references, so neither the
//! compiler nor a caller can assume the bytes stay put between reads.

use super::page_table::Visibility;
use super::phys_bounds::{self, PhysSpan, WindowError, WindowPurpose, check_window};
use super::{Paddr, Vaddr, kspace};

/// A window onto physical device or firmware memory.
///
/// # Invariants
/// `vaddr..vaddr+len` is mapped uncached onto `paddr..paddr+len` for the kernel's lifetime,
/// inside the I/O window (never over the direct map or the kernel image), and the physical
/// range passed [`check_window`] for its purpose.
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
    /// Maps `len` bytes of device registers at physical `paddr`.
    ///
    /// # Errors
    /// The range wraps, is empty, lies past what the I/O window covers, or overlaps RAM or
    /// the kernel image (see [`WindowPurpose::Device`]): device memory must never alias
    /// memory the kernel uses. The error names the range and what it hit.
    ///
    /// Crate-only: device registers can name addresses to the device (ring bases, MSI
    /// messages, BARs), so only OSTD maps them, and hands drivers typed operations instead.
    pub(crate) fn map(paddr: Paddr, len: usize) -> Result<Self, WindowError> {
        Self::map_checked(paddr, len, WindowPurpose::Device)
    }

    /// Maps a firmware table (ACPI) of `len` bytes at physical `paddr`. It may sit in
    /// ACPI-reclaimable or reserved memory, or in the first MiB, but never in RAM the
    /// allocator owns nor in the kernel image (see [`WindowPurpose::Firmware`]); it is read
    /// through volatile copies like any other `IoMem`.
    pub(crate) fn map_firmware(paddr: Paddr, len: usize) -> Result<Self, WindowError> {
        Self::map_checked(paddr, len, WindowPurpose::Firmware)
    }

    fn map_checked(paddr: Paddr, len: usize, purpose: WindowPurpose) -> Result<Self, WindowError> {
        let info = crate::boot::boot_info();
        let image = info.kernel_image();
        // As in `BootInfo::set_initrd`: an impossible image range refuses everything.
        let image = PhysSpan::from_bounds(image.start, image.end).unwrap_or(PhysSpan::ALL);
        let reach = kspace::io_reach();
        let pages = check_window(paddr, len as u64, purpose, reach, image, info.memory.spans())?;
        // Device registers are the host's: mapped shared (Linux's ioremap maps MMIO
        // decrypted); firmware tables are the guest's (measured at launch) and stay private.
        let visibility = match purpose {
            WindowPurpose::Device => Visibility::Shared,
            _ => Visibility::Private,
        };
        let vaddr =
            kspace::map_io(pages, visibility).ok_or(WindowError::NoPageTables { range: pages })?;
        Ok(Self { paddr, vaddr: vaddr + (paddr - pages.start()), len })
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

    fn check<T>(&self, offset: usize) -> u64 {
        let size = core::mem::size_of::<T>();
        match phys_bounds::access(self.vaddr, self.len, offset, size) {
            Some(addr) => addr,
            None => panic!(
                "IoMem access of {size} bytes at {offset:#x} is out of range or unaligned (window \
                 of {:#x} bytes at {:#x})",
                self.len, self.paddr
            ),
        }
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
    ///
    /// # Panics
    /// If `offset..offset + buf.len()` is not inside the window.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        assert!(
            phys_bounds::fits(self.len, offset, buf.len()),
            "IoMem read of {} bytes at {offset:#x} is out of range",
            buf.len()
        );
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.read::<u8>(offset + i);
        }
    }
}
