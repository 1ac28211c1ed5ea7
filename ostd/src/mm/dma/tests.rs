//! The shared-memory rules, checked on the machine.

use super::*;
use crate::mm::frame_stats;

crate::ktest! {
    fn shared_pool_grows_and_tracks_high_water() {
        let before = pool_stats();
        let bufs: alloc::vec::Vec<_> = (0..40).map(|_| SharedBuffer::alloc(4096).unwrap()).collect();
        let during = pool_stats();
        assert!(during.total >= before.in_use + 40, "pool did not grow: {during:?}");
        assert_eq!(during.in_use, before.in_use + 40);
        assert!(during.high_water >= before.in_use + 40);
        drop(bufs);
        let after = pool_stats();
        assert_eq!(after.in_use, before.in_use);
        assert_eq!(after.high_water, during.high_water, "high water must not drop");
    }

    fn freed_shared_memory_stays_in_the_pool_until_shrink() {
        let frames_before = frame_stats().free;
        let buf = SharedBuffer::alloc(20 * 4096).unwrap();
        let (to_shared, to_private) = crate::tee::conversion_counts();
        assert!(to_shared >= 20);
        drop(buf);
        assert!(frame_stats().free < frames_before, "shared frames went straight back to the allocator");
        let released = pool::shrink();
        assert!(released >= 20);
        let (_, to_private_after) = crate::tee::conversion_counts();
        assert_eq!(to_private_after - to_private, released as u64, "every released frame was converted back first");
    }

    fn shared_buffer_copies_are_bounds_checked() {
        let buf = SharedBuffer::alloc(100).unwrap();
        buf.write_from(96, &[1, 2, 3, 4]).unwrap();
        let mut out = [0u8; 4];
        buf.read_into(96, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(buf.read_into(97, &mut out), Err(DmaError::OutOfBounds { offset: 97, len: 4, size: 100 }));
        assert_eq!(buf.write_from(usize::MAX, &[0]), Err(DmaError::OutOfBounds { offset: usize::MAX, len: 1, size: 100 }));
    }

    fn streams_bounce_data_in_their_direction() {
        let to = DmaStream::<ToDevice>::alloc(64).unwrap();
        to.sync_to_device(0, b"request").unwrap();
        let from = DmaStream::<FromDevice>::alloc(64).unwrap();
        // Play the device: it reads `to` and writes `from`, at their device addresses.
        let mut seen = [0u8; 7];
        device_read(to.device_addr(), &mut seen);
        assert_eq!(&seen, b"request");
        device_write(from.device_addr(), b"reply");
        let mut got = [0u8; 5];
        from.sync_from_device(0, &mut got).unwrap();
        assert_eq!(&got, b"reply");
        assert_ne!(to.device_addr(), from.device_addr());
    }

    fn device_addresses_are_in_the_shared_set() {
        let c = DmaCoherent::alloc(8192).unwrap();
        assert!(crate::tee::is_shared(c.device_addr(), c.len()));
        c.write_u32(4096, 0xfeed_f00d).unwrap();
        assert_eq!(c.read_u32(4096), Ok(0xfeed_f00d));
    }
}

/// A device's view: it reaches memory by physical address.
fn device_read(paddr: crate::mm::Paddr, buf: &mut [u8]) {
    let p = crate::mm::paddr_to_vaddr(paddr) as *const u8;
    for (i, b) in buf.iter_mut().enumerate() {
        // SAFETY: test-only stand-in for a device: `paddr` is a live pool buffer of at least
        // `buf.len()` bytes owned by the calling test; volatile like any access to shared memory.
        *b = unsafe { p.add(i).read_volatile() };
    }
}

fn device_write(paddr: crate::mm::Paddr, data: &[u8]) {
    let p = crate::mm::paddr_to_vaddr(paddr) as *mut u8;
    for (i, &b) in data.iter().enumerate() {
        // SAFETY: as in `device_read`.
        unsafe { p.add(i).write_volatile(b) };
    }
}
