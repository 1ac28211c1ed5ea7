//! The shared-memory rules, checked on the machine.
//!
//! The tests that name the simulated TEE check its release-build DMA check; they need
//! `tee=sim` on the command line and say so when it is missing (the harness runs this module
//! a second time with it).

use core::sync::atomic::Ordering;

use super::*;
use crate::mm::{Frame, frame_stats};
use crate::tee::{Platform, dma_violations, platform};

/// Runs `f` on a task of its own and returns whether it panicked.
fn panics(f: impl FnOnce() + Send + 'static) -> bool {
    let task = crate::task::spawn("dma-panic-probe", move || {
        crate::task::current().is_test.store(true, Ordering::SeqCst);
        f();
    })
    .join();
    task.test_failed.load(Ordering::SeqCst)
}

fn sim_or_skip(test: &str) -> bool {
    let sim = platform() == Platform::Sim;
    if !sim {
        crate::early_println!("ktest {test}: skipped: needs tee=sim");
    }
    sim
}

crate::ktest! {
    fn shared_pool_grows_and_tracks_high_water() {
        let before = pool_stats();
        let bufs: alloc::vec::Vec<_> =
            (0..40).map(|_| SharedBuffer::alloc(4096).unwrap()).collect();
        let during = pool_stats();
        assert!(during.total >= before.in_use + 40, "pool did not grow: {during:?}");
        assert_eq!(during.in_use, before.in_use + 40);
        assert!(during.high_water >= before.in_use + 40);
        drop(bufs);
        let after = pool_stats();
        assert_eq!(after.in_use, before.in_use);
        assert_eq!(after.high_water, during.high_water, "high water must not drop");
    }

    fn freed_shared_memory_stays_in_the_pool_and_leaves_only_where_conversion_revokes_devices() {
        // More than the pool has idle (earlier tests may have grown it), so that it must
        // take new frames from the allocator.
        let idle = pool_stats().total - pool_stats().in_use;
        let frames_before = frame_stats().free;
        let buf = SharedBuffer::alloc((idle + 20) * 4096).unwrap();
        let (to_shared, to_private) = crate::tee::conversion_counts();
        assert!(to_shared >= 20);
        drop(buf);
        assert!(
            frame_stats().free < frames_before,
            "shared frames went straight back to the allocator"
        );
        let released = pool::shrink();
        let (_, to_private_after) = crate::tee::conversion_counts();
        if pool::release_revokes_device_access() {
            assert!(released >= 20);
            assert_eq!(
                to_private_after - to_private,
                released as u64,
                "every released frame was converted back first"
            );
        } else {
            // Nothing would stop a device that still holds an address into the chunk.
            assert_eq!(
                released, 0,
                "idle shared memory left the pool where devices keep access to it"
            );
            assert_eq!(to_private_after, to_private);
        }
    }

    fn shared_buffer_copies_are_bounds_checked() {
        let buf = SharedBuffer::alloc(100).unwrap();
        buf.write_from(96, &[1, 2, 3, 4]).unwrap();
        let mut out = [0u8; 4];
        buf.read_into(96, &mut out).unwrap();
        assert_eq!(out, [1, 2, 3, 4]);
        assert_eq!(
            buf.read_into(97, &mut out),
            Err(DmaError::OutOfBounds { offset: 97, len: 4, size: 100 })
        );
        assert_eq!(
            buf.write_from(usize::MAX, &[0]),
            Err(DmaError::OutOfBounds { offset: usize::MAX, len: 1, size: 100 })
        );
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
        assert!(crate::tee::is_shared(c.device_addr().as_u64(), c.len()));
        c.write_u32(4096, 0xfeed_f00d).unwrap();
        assert_eq!(c.read_u32(4096), Ok(0xfeed_f00d));
    }

    fn ring_indices_are_read_and_written_whole_and_aligned() {
        let c = DmaCoherent::alloc(64).unwrap();
        c.write_u16_once(6, 0xbeef).unwrap();
        assert_eq!(c.read_u16_once(6), Ok(0xbeef));
        let mut raw = [0u8; 2];
        c.read_into(6, &mut raw).unwrap();
        assert_eq!(raw, [0xef, 0xbe], "not little-endian");
        assert_eq!(c.read_u16_once(7), Err(DmaError::Misaligned { offset: 7, align: 2 }));
        assert_eq!(
            c.write_u16_once(63, 1),
            Err(DmaError::OutOfBounds { offset: 63, len: 2, size: 64 })
        );
        // A long copy in both directions, across a page boundary.
        let big = DmaCoherent::alloc(3 * 4096).unwrap();
        let data: alloc::vec::Vec<u8> = (0..9000u32).map(|i| (i * 7 + 3) as u8).collect();
        big.write_from(100, &data).unwrap();
        let mut back = alloc::vec![0u8; data.len()];
        big.read_into(100, &mut back).unwrap();
        assert!(back == data, "a bulk copy changed the bytes");
    }

    fn device_addresses_inside_a_buffer_are_bounds_checked() {
        let c = DmaCoherent::alloc(8192).unwrap();
        let ring = c.device_addr_at(4096, 64).unwrap();
        assert_eq!(ring.as_u64(), c.device_addr().as_u64() + 4096);
        assert_eq!(
            c.device_addr_at(8190, 4),
            Err(DmaError::OutOfBounds { offset: 8190, len: 4, size: 8192 })
        );
        assert_eq!(
            c.device_addr_at(usize::MAX, 1),
            Err(DmaError::OutOfBounds { offset: usize::MAX, len: 1, size: 8192 })
        );
    }

    fn sim_pool_buffers_pass_the_release_build_dma_check() {
        if !sim_or_skip("sim_pool_buffers_pass_the_release_build_dma_check") {
            return;
        }
        let before = dma_violations();
        let stream = DmaStream::<Bidirectional>::alloc(3 * 4096).unwrap();
        let _ = stream.device_addr();
        let coherent = DmaCoherent::alloc(100).unwrap();
        let _ = coherent.device_addr_at(96, 4).unwrap();
        assert_eq!(dma_violations(), before);
    }

    fn sim_private_address_for_a_device_is_a_counted_fatal_error() {
        if !sim_or_skip("sim_private_address_for_a_device_is_a_counted_fatal_error") {
            return;
        }
        let private = Frame::alloc_zeroed().unwrap();
        let paddr = private.paddr();
        assert!(!crate::tee::is_shared(paddr, 4096), "a fresh frame is private");
        let before = dma_violations();
        // Only `mm::dma` can make a `DeviceAddr`; this test plays a broken pool.
        assert!(
            panics(move || {
                let _ = DeviceAddr::new(paddr, 4096);
            }),
            "a private address reached a device unchecked"
        );
        assert_eq!(dma_violations(), before + 1, "the violation was not counted");
    }

    fn sim_pool_frame_no_longer_handed_out_fails_the_dma_check() {
        if !sim_or_skip("sim_pool_frame_no_longer_handed_out_fails_the_dma_check") {
            return;
        }
        let buf = SharedBuffer::alloc(4096).unwrap();
        let paddr = buf.device_addr().as_u64();
        drop(buf); // the frame stays shared, in the pool, but belongs to no buffer
        assert!(crate::tee::is_shared(paddr, 4096));
        let before = dma_violations();
        assert!(
            panics(move || {
                let _ = DeviceAddr::new(paddr, 4096);
            }),
            "a freed pool frame reached a device"
        );
        assert_eq!(dma_violations(), before + 1);
    }

    fn sim_buffer_converted_back_to_private_fails_the_dma_check() {
        if !sim_or_skip("sim_buffer_converted_back_to_private_fails_the_dma_check") {
            return;
        }
        // The pool itself went wrong: a page it hands out is no longer shared.
        let buf = SharedBuffer::alloc(4096).unwrap();
        let paddr = buf.device_addr().as_u64();
        crate::tee::convert_to_private(paddr, 1).unwrap();
        let before = dma_violations();
        let probe = alloc::sync::Arc::new(buf);
        let held = probe.clone();
        assert!(panics(move || {
            let _ = held.device_addr();
        }));
        assert_eq!(dma_violations(), before + 1);
        crate::tee::convert_to_shared(paddr, 1).unwrap();
    }
}

/// A device's view: it reaches memory by the address it was given.
fn device_read(addr: DeviceAddr, buf: &mut [u8]) {
    let p = crate::mm::paddr_to_vaddr(addr.as_u64()) as *const u8;
    for (i, b) in buf.iter_mut().enumerate() {
        // SAFETY: test-only stand-in for a device: `addr` is a live pool buffer of at least
        // `buf.len()` bytes owned by the calling test; volatile like any access to shared memory.
        *b = unsafe { p.add(i).read_volatile() };
    }
}

fn device_write(addr: DeviceAddr, data: &[u8]) {
    let p = crate::mm::paddr_to_vaddr(addr.as_u64()) as *mut u8;
    for (i, &b) in data.iter().enumerate() {
        // SAFETY: as in `device_read`.
        unsafe { p.add(i).write_volatile(b) };
    }
}
