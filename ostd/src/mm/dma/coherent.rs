//! Coherent DMA: shared memory for the whole life of a ring or descriptor table.

use core::ops::Deref;

use super::shared::{DmaError, SharedBuffer};

/// Memory that the driver and the device both use for as long as it lives (virtqueues).
/// All access is by copying, as for every [`SharedBuffer`].
pub struct DmaCoherent {
    buffer: SharedBuffer,
}

impl DmaCoherent {
    /// Allocates `len` zeroed bytes in the shared pool.
    pub fn alloc(len: usize) -> Result<Self, DmaError> {
        Ok(Self { buffer: SharedBuffer::alloc(len)? })
    }
}

impl Deref for DmaCoherent {
    type Target = SharedBuffer;
    fn deref(&self) -> &SharedBuffer {
        &self.buffer
    }
}
