//! The virtio-blk driver against QEMU's device. The harness attaches disks whose sector `k`
//! starts with `k` (little-endian u64) and says so with `ktest.disk=pattern`; without it
//! the tests skip, with it a missing disk fails them.

use alloc::sync::Arc;
use alloc::vec;

use ostd::bus::virtio::VirtioPciDevice;
use ostd::bus::virtio::spec::DEVICE_TYPE_BLOCK;

use super::blk::VirtioBlk;
use crate::block::BlockDevice;
use crate::error::Errno;

/// The virtio disk the tests share (claimed once: claims last for the boot, and the ostd
/// transport test needs another), or `None` (skip) when the harness attached none.
fn test_disk(test: &str) -> Option<Arc<VirtioBlk>> {
    static DISK: spin::Once<Option<Arc<VirtioBlk>>> = spin::Once::new();
    let expected = ostd::boot::boot_info().cmdline.value("ktest.disk") == Some("pattern");
    // Claimed outside `call_once`: a test that panics inside it would leave the `Once`
    // running, and the next test would spin on it instead of failing.
    let disk = match DISK.get() {
        Some(disk) => disk,
        None => {
            let claimed = VirtioPciDevice::claim(DEVICE_TYPE_BLOCK).map(|found| {
                let device = found.unwrap_or_else(|e| panic!("{e}"));
                VirtioBlk::new(device).unwrap_or_else(|e| panic!("{e}"))
            });
            DISK.call_once(|| claimed)
        }
    };
    match disk {
        Some(disk) => Some(disk.clone()),
        None if expected => panic!("ktest.disk=pattern, but no unclaimed virtio-blk is attached"),
        None => {
            ostd::early_println!("ktest {test}: skipped: no virtio-blk");
            None
        }
    }
}

/// The first eight bytes of sector `k` on the harness's disks.
fn pattern_of(buf: &[u8]) -> u64 {
    u64::from_le_bytes(buf[..8].try_into().expect("eight bytes"))
}

ostd::ktest! {
    fn virtio_blk_reads_what_the_host_wrote_and_writes_what_it_reads_back() {
        let Some(disk) = test_disk("virtio_blk_reads_what_the_host_wrote") else { return };
        assert_eq!(disk.sectors(), 8 * 1024 * 1024 / 512, "the harness's disks are 8 MiB");
        // Host data: one sector, then 200 sectors.
        let mut one = [0u8; 512];
        disk.read(5, &mut one).unwrap();
        assert_eq!(pattern_of(&one), 5);
        let mut many = vec![0u8; 200 * 512];
        disk.read(1000, &mut many).unwrap();
        for (i, sector) in many.chunks(512).enumerate() {
            assert_eq!(pattern_of(sector), 1000 + i as u64, "sector {} read wrong", 1000 + i);
        }
        // Write, flush, read back.
        let data: alloc::vec::Vec<u8> = (0..150 * 512).map(|i| (i % 251) as u8).collect();
        disk.write(3000, &data).unwrap();
        disk.flush().unwrap();
        let mut back = vec![0u8; data.len()];
        disk.read(3000, &mut back).unwrap();
        assert!(back == data, "a written range read back different");
        // Past the end: the driver refuses before the device sees it.
        let last = disk.sectors();
        assert_eq!(disk.read(last, &mut one), Err(Errno::EIO));
        assert_eq!(disk.read(last - 1, &mut [0u8; 1024]), Err(Errno::EIO));
        disk.read(last - 1, &mut one).unwrap();
        assert_eq!(pattern_of(&one), last - 1);
    }

    fn virtio_blk_serves_several_tasks_with_requests_in_flight_together() {
        let Some(disk) = test_disk("virtio_blk_serves_several_tasks") else { return };
        let workers: alloc::vec::Vec<_> = (0..4u64)
            .map(|w| {
                let disk = disk.clone();
                ostd::task::spawn("blk-worker", move || {
                    for round in 0..8u64 {
                        let base = 4000 + w * 512 + round * 64;
                        let fill = (w * 16 + round) as u8;
                        disk.write(base, &[fill; 64 * 512]).unwrap();
                        let mut back = [0u8; 64 * 512];
                        disk.read(base, &mut back).unwrap();
                        assert!(back.iter().all(|&b| b == fill), "worker {w} round {round}");
                    }
                })
            })
            .collect();
        // A worker's failed assertion panics the kernel, which fails the whole run.
        for worker in workers {
            worker.join();
        }
    }
}

ostd::ktest! {
    fn virtio_blk_moves_frames_across_request_boundaries_and_a_short_last_page() {
        use ostd::mm::{Frame, PAGE_SIZE};
        let Some(disk) = test_disk("virtio_blk_moves_frames") else { return };
        // 260 pages and three sectors: two requests of up to 1 MiB, the last page cut short.
        let bytes = 260 * PAGE_SIZE + 3 * 512;
        let frames: alloc::vec::Vec<Frame> =
            (0..261).map(|_| Frame::alloc_zeroed().expect("a frame")).collect();
        let first = 24u64;
        disk.read_frames(first, bytes, &frames).unwrap();
        let mut sector = [0u8; 512];
        for k in 0..(bytes / 512) as u64 {
            let (page, within) = ((k as usize * 512) / PAGE_SIZE, (k as usize * 512) % PAGE_SIZE);
            frames[page].read_bytes(within, &mut sector);
            assert_eq!(pattern_of(&sector), first + k, "sector {} landed wrong", first + k);
        }
        let mut past = [0u8; 8];
        frames[260].read_bytes(3 * 512, &mut past);
        assert_eq!(past, [0; 8], "bytes past the last sector were written");
        // Written back from the frames, whole and as three runs in flight together, the disk
        // reads the same (the pattern is unchanged; a run written to the wrong place breaks it).
        disk.write_frames(first, bytes, &frames).unwrap();
        let page_sectors = (PAGE_SIZE / 512) as u64;
        let runs = [
            crate::block::FrameRun { sector: first, bytes: 100 * PAGE_SIZE, frames: &frames[..100] },
            crate::block::FrameRun {
                sector: first + 100 * page_sectors,
                bytes: 160 * PAGE_SIZE,
                frames: &frames[100..260],
            },
            crate::block::FrameRun {
                sector: first + 260 * page_sectors,
                bytes: 3 * 512,
                frames: &frames[260..],
            },
        ];
        disk.write_frame_runs(&runs).unwrap();
        let mut back = vec![0u8; bytes];
        disk.read(first, &mut back).unwrap();
        for (k, s) in back.chunks(512).enumerate() {
            assert_eq!(pattern_of(s), first + k as u64, "sector {} written back wrong", first + k as u64);
        }
        assert_eq!(disk.read_frames(disk.sectors() - 1, 1024, &frames[..1]), Err(Errno::EIO));
    }
}
