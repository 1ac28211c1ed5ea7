//! Streaming DMA: private data bounced through the shared pool, one direction per type.

use core::marker::PhantomData;

use super::device_addr::DeviceAddr;
use super::shared::{DmaError, SharedBuffer, UserDmaError};
use crate::mm::{Frame, Vaddr, VmSpace};

/// Which way a stream's data flows.
pub trait DmaDirection: sealed::Sealed {
    /// The device reads the buffer (we copy in).
    const TO_DEVICE: bool;
    /// The device writes the buffer (we copy out).
    const FROM_DEVICE: bool;
}

/// The device only reads.
pub enum ToDevice {}
/// The device only writes.
pub enum FromDevice {}
/// Both.
pub enum Bidirectional {}

impl DmaDirection for ToDevice {
    const TO_DEVICE: bool = true;
    const FROM_DEVICE: bool = false;
}
impl DmaDirection for FromDevice {
    const TO_DEVICE: bool = false;
    const FROM_DEVICE: bool = true;
}
impl DmaDirection for Bidirectional {
    const TO_DEVICE: bool = true;
    const FROM_DEVICE: bool = true;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ToDevice {}
    impl Sealed for super::FromDevice {}
    impl Sealed for super::Bidirectional {}
}

/// A bounce buffer for one transfer direction. Copying the wrong way does not compile.
pub struct DmaStream<D: DmaDirection> {
    bounce: SharedBuffer,
    _direction: PhantomData<D>,
}

impl<D: DmaDirection> DmaStream<D> {
    /// Allocates a bounce buffer of `len` bytes in the shared pool. It is not zeroed: it
    /// holds what earlier transfers left in the pool, all of it the host's to see already
    /// (see [`SharedBuffer`]'s `alloc_unzeroed`). Fill what the device is to read; copy out
    /// only what it wrote.
    pub fn alloc(len: usize) -> Result<Self, DmaError> {
        Ok(Self { bounce: SharedBuffer::alloc_unzeroed(len)?, _direction: PhantomData })
    }

    /// Allocates a bounce buffer of `len` bytes in the shared pool, zeroed: for a buffer that
    /// a device may leave partly unwritten where the driver still reads (virtio-net's
    /// `num_buffers`, which QEMU writes only with mergeable receive buffers).
    pub fn alloc_zeroed(len: usize) -> Result<Self, DmaError> {
        Ok(Self { bounce: SharedBuffer::alloc(len)?, _direction: PhantomData })
    }

    /// Returns the address to give the device.
    pub fn device_addr(&self) -> DeviceAddr {
        self.bounce.device_addr()
    }

    /// Returns the address to give the device for `len` bytes at `offset`.
    ///
    /// # Errors
    /// [`DmaError::OutOfBounds`] unless the range lies inside the buffer.
    pub fn device_addr_at(&self, offset: usize, len: usize) -> Result<DeviceAddr, DmaError> {
        self.bounce.device_addr_at(offset, len)
    }

    /// Returns the size in bytes.
    pub fn len(&self) -> usize {
        self.bounce.len()
    }

    /// Returns whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.bounce.is_empty()
    }

    /// Copies private `data` into the bounce buffer at `offset`, for the device to read.
    pub fn sync_to_device(&self, offset: usize, data: &[u8]) -> Result<(), DmaError> {
        const { assert!(D::TO_DEVICE, "this stream's device never reads") };
        self.bounce.write_from(offset, data)
    }

    /// Copies `len` bytes of private `frame` at `frame_offset` into the bounce buffer at
    /// `offset`, for the device to read.
    pub fn sync_to_device_from_frame(
        &self,
        offset: usize,
        frame: &Frame,
        frame_offset: usize,
        len: usize,
    ) -> Result<(), DmaError> {
        const { assert!(D::TO_DEVICE, "this stream's device never reads") };
        self.bounce.write_from_frame(offset, frame, frame_offset, len)
    }

    /// Copies `len` bytes the device wrote at `offset` into private `frame` at
    /// `frame_offset`.
    pub fn sync_from_device_to_frame(
        &self,
        offset: usize,
        frame: &Frame,
        frame_offset: usize,
        len: usize,
    ) -> Result<(), DmaError> {
        const { assert!(D::FROM_DEVICE, "this stream's device never writes") };
        self.bounce.read_into_frame(offset, frame, frame_offset, len)
    }

    /// Copies `len` bytes of private user memory at `va` of `space` into the bounce buffer
    /// at `offset`, for the device to read (an O_DIRECT write with one copy).
    ///
    /// # Errors
    /// As [`SharedBuffer::write_from_user`].
    pub fn sync_to_device_from_user(
        &self,
        offset: usize,
        space: &VmSpace,
        va: Vaddr,
        len: usize,
    ) -> Result<(), UserDmaError> {
        const { assert!(D::TO_DEVICE, "this stream's device never reads") };
        self.bounce.write_from_user(offset, space, va, len)
    }

    /// Copies `len` bytes the device wrote at `offset` to user memory at `va` of `space`
    /// (an O_DIRECT read with one copy).
    ///
    /// # Errors
    /// As [`SharedBuffer::read_into_user`].
    pub fn sync_from_device_to_user(
        &self,
        offset: usize,
        space: &VmSpace,
        va: Vaddr,
        len: usize,
    ) -> Result<(), UserDmaError> {
        const { assert!(D::FROM_DEVICE, "this stream's device never writes") };
        self.bounce.read_into_user(offset, space, va, len)
    }

    /// Copies what the device wrote at `offset` into private `data`.
    pub fn sync_from_device(&self, offset: usize, data: &mut [u8]) -> Result<(), DmaError> {
        const { assert!(D::FROM_DEVICE, "this stream's device never writes") };
        self.bounce.read_into(offset, data)
    }
}
