//! The one kind of address a device is ever given.

use core::fmt;

use super::pool;
use crate::mm::Paddr;

/// An address in the shared pool, as a device uses it: what a driver writes into a
/// descriptor or a register for the device to read or write.
///
/// # Invariants
/// When the value was made, `addr..addr + len` (for the `len` it was made for) lay inside
/// memory the shared pool had handed out to one live buffer. Only this module's
/// [`DeviceAddr::new`] makes one, and it is private to `mm::dma`, where only the pool's
/// buffers ([`SharedBuffer`](super::SharedBuffer), and through it
/// [`DmaCoherent`](super::DmaCoherent) and [`DmaStream`](super::DmaStream)) call it. There is
/// no arithmetic on it: an address at an offset comes from the buffer, bounds-checked
/// ([`SharedBuffer::device_addr_at`](super::SharedBuffer::device_addr_at)). So safe code
/// outside this module cannot name private memory to a device through OSTD's DMA API.
///
/// Under the simulated TEE every value is checked when it is made, in every build, against
/// the TEE's shared set and the pool's record of what it has handed out: see
/// [`crate::tee::dma_violations`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceAddr(u64);

impl DeviceAddr {
    /// Makes the device address of `paddr..paddr + len`, which the caller (a pool buffer)
    /// owns. Under the simulated TEE, a range that is not shared, or not handed out by the
    /// pool, is a fatal, counted error.
    ///
    /// # Panics
    /// Under `tee=sim`, if any byte of the range is private memory or free in the pool.
    pub(super) fn new(paddr: Paddr, len: usize) -> Self {
        crate::tee::check_device_range(paddr, len, || pool::is_handed_out(paddr, len));
        // The plain guest-physical address, under TDX too: the VMM's devices see guest memory
        // without the shared bit (Linux's x86 `phys_to_dma_unencrypted` adds none).
        Self(paddr)
    }

    /// Returns the address as the number a descriptor or device register holds.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for DeviceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceAddr({:#x})", self.0)
    }
}

impl fmt::LowerHex for DeviceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}
