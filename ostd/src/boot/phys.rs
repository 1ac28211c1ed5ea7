//! Reading boot structures out of physical memory, before the frame allocator exists.
//!
//! The boot page tables map the first 4 GiB of physical memory at `PHYS_OFFSET` (entry.S).
//! Everything the loader hands over is copied out through [`read`]; nothing is referenced
//! in place, because the memory it lives in becomes ordinary free RAM later.

use super::BootError;
use crate::mm::PHYS_OFFSET;

/// The end of what the boot page tables map.
const BOOT_MAPPED_END: u64 = 4 << 30;

/// Copies `buf.len()` bytes at physical address `paddr` into `buf`.
pub(super) fn read(what: &'static str, paddr: u64, buf: &mut [u8]) -> Result<(), BootError> {
    let len = buf.len() as u64;
    if paddr.checked_add(len).is_none_or(|end| end > BOOT_MAPPED_END) {
        return Err(BootError::OutOfReach { what, paddr, len });
    }
    let src = (PHYS_OFFSET + paddr) as *const u8;
    // The bytes are copied volatile, one by one, and no reference is kept, so it does not
    // matter what else may hold or change them.
    for (i, byte) in buf.iter_mut().enumerate() {
        // SAFETY: `paddr..paddr+len` lies in the first 4 GiB, which entry.S maps at
        // PHYS_OFFSET for all of boot.
        *byte = unsafe { src.add(i).read_volatile() };
    }
    Ok(())
}

/// Reads a little-endian value of `N` bytes at `paddr`.
pub(super) fn read_array<const N: usize>(
    what: &'static str,
    paddr: u64,
) -> Result<[u8; N], BootError> {
    let mut buf = [0u8; N];
    read(what, paddr, &mut buf)?;
    Ok(buf)
}

/// Little-endian field accessors over a copied-out byte block.
pub(super) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or([0; 4]))
}
pub(super) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or([0; 8]))
}
