//! Shared memory, reachable only by copying.

use super::device_addr::DeviceAddr;
use super::pool;
use crate::mm::{Frame, PAGE_SIZE, Paddr, Vaddr, VmError, VmSpace, paddr_to_vaddr};
use crate::tee::TeeError;

/// Why a DMA operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaError {
    /// The access falls outside the buffer.
    OutOfBounds {
        /// Offset asked for.
        offset: usize,
        /// Bytes asked for.
        len: usize,
        /// The buffer's size.
        size: usize,
    },
    /// No frames were left to grow the pool.
    OutOfMemory,
    /// The TEE refused a conversion.
    Conversion(TeeError),
    /// A single-access read or write at an offset not aligned to its size.
    Misaligned {
        /// Offset asked for.
        offset: usize,
        /// The alignment it needed.
        align: usize,
    },
}

/// Why a copy between shared memory and user memory failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserDmaError {
    /// The range is not inside the shared buffer.
    Dma(DmaError),
    /// The user range could not be reached.
    User(VmError),
}

/// Copies `len` bytes from `src` to `dst` with [`crate::rt::copy_forward`], reading each source byte
/// once. The compiler sees an opaque block: it can neither read the host-visible side twice
/// nor assume what it holds, so a device writing at the same time gets no say over what the
/// kernel does with the copy beyond the bytes themselves.
///
/// # Safety
/// `src` is readable and `dst` writable for `len` bytes, and the two do not overlap.
unsafe fn copy_once(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller's contract is copy_forward's; it reads each source byte once and
    // writes each destination byte once, in asm the compiler cannot re-read from.
    unsafe { crate::rt::copy_forward(dst, src, len) };
}

/// The direct-map address of `frame_offset..frame_offset + len` in `frame`, if it fits.
fn frame_range(frame: &Frame, frame_offset: usize, len: usize) -> Result<*mut u8, DmaError> {
    match frame_offset.checked_add(len) {
        Some(end) if end <= PAGE_SIZE => {
            Ok((paddr_to_vaddr(frame.paddr()) as usize + frame_offset) as *mut u8)
        }
        _ => Err(DmaError::OutOfBounds { offset: frame_offset, len, size: PAGE_SIZE }),
    }
}

/// Bytes in the shared pool: visible to the host, never referenced by the kernel.
///
/// # Invariants
/// `paddr..paddr + frames * PAGE_SIZE` is shared memory allocated from the pool for this
/// value alone, and `len <= frames * PAGE_SIZE`.
#[derive(Debug)]
pub struct SharedBuffer {
    paddr: Paddr,
    frames: usize,
    len: usize,
}

impl SharedBuffer {
    /// Allocates `len` bytes (rounded up to whole pages) of zeroed shared memory.
    pub fn alloc(len: usize) -> Result<Self, DmaError> {
        let frames = len.div_ceil(PAGE_SIZE).max(1);
        let paddr = pool::alloc(frames)?;
        let buffer = Self { paddr, frames, len };
        buffer.fill_zero();
        Ok(buffer)
    }

    /// Allocates `len` bytes (rounded up to whole pages) of shared memory without zeroing
    /// it: it holds what earlier transfers left there. Every byte of the pool is the host's
    /// to read already (frames are zeroed when they join it, see [`pool`]), so a buffer that
    /// is filled or read back only in part shows nothing the host does not have. For bounce
    /// buffers, which a transfer fills before it is used: zeroing a megabyte costs as much as
    /// copying it.
    pub(super) fn alloc_unzeroed(len: usize) -> Result<Self, DmaError> {
        let frames = len.div_ceil(PAGE_SIZE).max(1);
        Ok(Self { paddr: pool::alloc(frames)?, frames, len })
    }

    /// Returns the size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the address a device uses to reach the buffer.
    ///
    /// # Panics
    /// Under `tee=sim`, if the buffer is not in the TEE's shared set (a broken pool).
    pub fn device_addr(&self) -> DeviceAddr {
        DeviceAddr::new(self.paddr, self.len.max(1))
    }

    /// Returns the address a device uses to reach `len` bytes at `offset` in the buffer (a
    /// ring inside a coherent region, say).
    ///
    /// # Errors
    /// [`DmaError::OutOfBounds`] unless `offset..offset + len` lies inside the buffer.
    pub fn device_addr_at(&self, offset: usize, len: usize) -> Result<DeviceAddr, DmaError> {
        self.check(offset, len)?;
        Ok(DeviceAddr::new(self.paddr + offset as u64, len.max(1)))
    }

    fn check(&self, offset: usize, len: usize) -> Result<*mut u8, DmaError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => {
                Ok((paddr_to_vaddr(self.paddr) as usize + offset) as *mut u8)
            }
            _ => Err(DmaError::OutOfBounds { offset, len, size: self.len }),
        }
    }

    /// Copies `buf.len()` bytes at `offset` out of shared memory, reading each byte once.
    pub fn read_into(&self, offset: usize, buf: &mut [u8]) -> Result<(), DmaError> {
        let src = self.check(offset, buf.len())?;
        // SAFETY: `src` is in bounds (checked) of pool memory owned by this buffer
        // (invariant), mapped in the direct map; `buf` is private memory, disjoint from it.
        unsafe { copy_once(buf.as_mut_ptr(), src, buf.len()) };
        Ok(())
    }

    /// Copies `buf` into shared memory at `offset`, writing each byte once.
    pub fn write_from(&self, offset: usize, buf: &[u8]) -> Result<(), DmaError> {
        let dst = self.check(offset, buf.len())?;
        // SAFETY: as in `read_into`, the other way round.
        unsafe { copy_once(dst, buf.as_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `len` bytes at `offset` out of shared memory into `frame` at `frame_offset`,
    /// reading each byte once (a page cache filled straight from a device's bounce buffer).
    ///
    /// # Errors
    /// [`DmaError::OutOfBounds`] unless both ranges lie inside their buffer and frame.
    pub fn read_into_frame(
        &self,
        offset: usize,
        frame: &Frame,
        frame_offset: usize,
        len: usize,
    ) -> Result<(), DmaError> {
        let src = self.check(offset, len)?;
        let dst = frame_range(frame, frame_offset, len)?;
        // A frame is private memory, so disjoint from the pool, and no Rust reference to its
        // contents exists (Frame's invariant: they are reached only through copies).
        // SAFETY: `src` is in bounds (checked) of pool memory owned by this buffer; `dst` is
        // in bounds (checked) of an allocated frame in the direct map.
        unsafe { copy_once(dst, src, len) };
        Ok(())
    }

    /// Copies `len` bytes of `frame` at `frame_offset` into shared memory at `offset`,
    /// writing each byte once.
    ///
    /// # Errors
    /// As [`SharedBuffer::read_into_frame`].
    pub fn write_from_frame(
        &self,
        offset: usize,
        frame: &Frame,
        frame_offset: usize,
        len: usize,
    ) -> Result<(), DmaError> {
        let dst = self.check(offset, len)?;
        let src = frame_range(frame, frame_offset, len)?;
        // SAFETY: as in `read_into_frame`, the other way round.
        unsafe { copy_once(dst, src, len) };
        Ok(())
    }

    /// Copies `len` bytes at `offset` out of shared memory to user address `va` of `space`
    /// (a read straight from a device's bounce buffer into the caller's memory).
    ///
    /// A user page that faults in the middle of a 64-byte block makes that block's bytes be
    /// read again, one at a time, so the host may see part of a block read twice. That is
    /// harmless here: the bytes go to user memory, which the kernel never interprets, and
    /// they are the device's data whichever read the user gets.
    ///
    /// # Errors
    /// [`UserDmaError::Dma`] unless the range lies inside the buffer;
    /// [`UserDmaError::User`] for a user range that is not user space, an inactive space, or
    /// a page that cannot be made writable (bytes before it may have been copied).
    pub fn read_into_user(
        &self,
        offset: usize,
        space: &VmSpace,
        va: Vaddr,
        len: usize,
    ) -> Result<(), UserDmaError> {
        let src = self.check(offset, len).map_err(UserDmaError::Dma)?;
        // SAFETY: `src..src + len` is in bounds (checked) of pool memory owned by this buffer
        // (invariant), mapped in the direct map, and is not user memory.
        unsafe { space.write_bytes_from_raw(va, src, len) }.map_err(UserDmaError::User)
    }

    /// Copies `len` bytes from user address `va` of `space` into shared memory at `offset`
    /// (a write straight from the caller's memory into a device's bounce buffer). A fault
    /// in a 64-byte block writes that block's bytes again; the device reads them only after
    /// the copy.
    ///
    /// # Errors
    /// As [`SharedBuffer::read_into_user`].
    pub fn write_from_user(
        &self,
        offset: usize,
        space: &VmSpace,
        va: Vaddr,
        len: usize,
    ) -> Result<(), UserDmaError> {
        let dst = self.check(offset, len).map_err(UserDmaError::Dma)?;
        // SAFETY: as in `read_into_user`, the other way round: `dst` is writable pool memory
        // of this buffer, not user memory.
        unsafe { space.read_bytes_into_raw(va, dst, len) }.map_err(UserDmaError::User)
    }

    /// Copies a little-endian `u32` out of shared memory.
    pub fn read_u32(&self, offset: usize) -> Result<u32, DmaError> {
        let mut raw = [0u8; 4];
        self.read_into(offset, &mut raw)?;
        Ok(u32::from_le_bytes(raw))
    }

    /// Copies a little-endian `u32` into shared memory.
    pub fn write_u32(&self, offset: usize, value: u32) -> Result<(), DmaError> {
        self.write_from(offset, &value.to_le_bytes())
    }

    /// Reads the naturally aligned little-endian `u16` at `offset` in one access, so a
    /// value the device writes meanwhile is seen whole, old or new (a ring index).
    ///
    /// # Errors
    /// [`DmaError::OutOfBounds`] if it is outside the buffer, [`DmaError::Misaligned`] if
    /// `offset` is odd.
    pub fn read_u16_once(&self, offset: usize) -> Result<u16, DmaError> {
        let src = self.check_aligned(offset, 2)?;
        let value: u16;
        // SAFETY: two in-bounds, aligned bytes of this buffer's pool memory (checked); the
        // load is one instruction the compiler cannot split, repeat or elide.
        unsafe {
            core::arch::asm!("mov {:x}, word ptr [{}]", out(reg) value, in(reg) src,
                options(nostack, preserves_flags, readonly))
        };
        Ok(value)
    }

    /// Writes the naturally aligned little-endian `u16` at `offset` in one access, so the
    /// device never sees half of it (a ring index).
    ///
    /// # Errors
    /// As for [`SharedBuffer::read_u16_once`].
    pub fn write_u16_once(&self, offset: usize, value: u16) -> Result<(), DmaError> {
        let dst = self.check_aligned(offset, 2)?;
        // SAFETY: as in `read_u16_once`; a store of two bytes this buffer owns.
        unsafe {
            core::arch::asm!("mov word ptr [{}], {:x}", in(reg) dst, in(reg) value,
                options(nostack, preserves_flags))
        };
        Ok(())
    }

    fn check_aligned(&self, offset: usize, size: usize) -> Result<*mut u8, DmaError> {
        let ptr = self.check(offset, size)?;
        if !(ptr as usize).is_multiple_of(size) {
            return Err(DmaError::Misaligned { offset, align: size });
        }
        Ok(ptr)
    }

    fn fill_zero(&self) {
        // SAFETY: the whole allocation (frames pages) belongs to this buffer (invariant).
        unsafe {
            core::ptr::write_bytes(
                paddr_to_vaddr(self.paddr) as *mut u8,
                0,
                self.frames * PAGE_SIZE,
            )
        };
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        pool::free(self.paddr, self.frames);
    }
}
