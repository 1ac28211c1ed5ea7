//! DMA and the shared pool: the only door between private guest memory and the host.
//!
//! Under a TEE, all guest memory is private and the host (and every device it emulates) can
//! see only *shared* pages. So:
//! - Private memory is [`Frame`](crate::mm::Frame)/[`Segment`](crate::mm::Segment);
//!   shared memory is [`SharedBuffer`]. No value is ever both, and only this module converts.
//! - Shared pages come from one growable [`pool`], which reports its size and high-water
//!   mark and keeps freed pages shared for reuse; [`pool::shrink`] converts wholly free
//!   chunks back to private before they return to the frame allocator.
//! - Shared memory has no `&`/`&mut` view: it is read by copying out ([`SharedBuffer::read_into`])
//!   and written by copying in. Each copy touches each byte once, so the host cannot change a
//!   value between a check and its use (no double fetch), provided callers validate the copy.
//! - A device is given only a [`DeviceAddr`], which only the pool's buffers can make
//!   ([`SharedBuffer::device_addr`], [`SharedBuffer::device_addr_at`]).
//!   [`DmaStream`] bounces private data through the pool in the direction its type allows;
//!   [`DmaCoherent`] is pool memory for the whole life of a ring.
//! - Frames are zeroed when they join the pool, so every byte in it has only ever held what
//!   the host could read anyway. A stream's bounce buffer is therefore not zeroed again (for
//!   a megabyte that costs as much as the copy it serves).
//! - A stream copies to and from user memory directly ([`DmaStream::sync_from_device_to_user`],
//!   [`DmaStream::sync_to_device_from_user`]) with the fault-tolerant user copy: an O_DIRECT
//!   transfer costs one copy, not two.
//!
//! With no TEE the API is the same and conversion is a no-op; under the simulated TEE the
//! conversions are recorded, and making a [`DeviceAddr`] checks the range really is shared, in
//! every build: a private range is a counted, fatal error ([`crate::tee::dma_violations`]).

mod chunks;
mod coherent;
mod device_addr;
pub mod pool;
mod shared;
mod stream;

pub use coherent::DmaCoherent;
pub use device_addr::DeviceAddr;
pub use pool::{PoolStats, pool_stats};
pub use shared::{DmaError, SharedBuffer, UserDmaError};
pub use stream::{Bidirectional, DmaDirection, DmaStream, FromDevice, ToDevice};

mod tests;
