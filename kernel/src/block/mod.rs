//! Block devices: the disks drivers find, named and numbered as Linux names them, and the
//! device files (`/dev/vda`) that read and write them.
//!
//! A driver implements [`BlockDevice`] and calls [`register`]; devfs then shows the disk, and
//! opening it gives a [`file::BlockFile`]. Filesystems will read through the same trait.

pub mod cache;
pub mod file;
pub mod loopback;
pub mod mem;
pub mod transfer;
pub mod verity;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::SpinLock;

use crate::error::SysResult;
pub use transfer::{ReadTarget, WriteData};

/// The unit of [`BlockDevice`] addresses: 512 bytes, whatever the device's own block size
/// (Linux's `sector_t`).
pub const SECTOR_SIZE: usize = 512;

/// A disk.
///
/// Sector numbers and lengths are in [`SECTOR_SIZE`] units; callers pass whole sectors
/// inside the capacity ([`file::BlockFile`] does the partial-sector and bounds work).
pub trait BlockDevice: Send + Sync {
    /// Capacity in sectors.
    fn sectors(&self) -> u64;
    /// The smallest unit the device transfers, in bytes (a power of two, 512..=4096).
    fn logical_block_size(&self) -> usize {
        SECTOR_SIZE
    }
    /// Whether writes are refused (the device is read-only).
    fn read_only(&self) -> bool;
    /// Reads `buf.len() / SECTOR_SIZE` sectors from `sector`.
    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()>;
    /// Writes `buf.len() / SECTOR_SIZE` sectors at `sector`.
    fn write(&self, sector: u64, buf: &[u8]) -> SysResult<()>;
    /// Makes every completed write durable.
    fn flush(&self) -> SysResult<()>;

    /// Notes a user that keeps the device open beyond a file: a mounted filesystem.
    fn hold(&self) {}

    /// Notes that a user [`BlockDevice::hold`] counted is done with the device (a loop
    /// device set to clear itself detaches when the last one is).
    fn release(&self) {}

    /// Reads `bytes` (whole sectors) from `sector` into `target` at `at`. A driver that
    /// bounces overrides this to copy straight from its bounce buffers into the target, with
    /// later requests in flight meanwhile; by default the bytes pass through a buffer (none
    /// for a kernel target).
    fn read_to(
        &self,
        sector: u64,
        bytes: usize,
        target: &mut ReadTarget<'_>,
        at: usize,
    ) -> SysResult<()> {
        target.fill_with(at, bytes, |buf| self.read(sector, buf).map(|()| bytes)).map(drop)
    }

    /// A buffer for a direct write of `len` bytes, for [`WriteData::fill_from_user`] and then
    /// [`BlockDevice::write_prepared`]: a bounce buffer where the driver bounces.
    fn prepare_write(&self, len: usize) -> SysResult<WriteData> {
        Ok(WriteData::Memory(alloc::vec![0u8; len]))
    }

    /// Writes `bytes` (whole sectors) at `sector` from `data` at `from`.
    fn write_prepared(
        &self,
        sector: u64,
        bytes: usize,
        data: &WriteData,
        from: usize,
    ) -> SysResult<()> {
        self.write(sector, data.memory(from, bytes)?)
    }

    /// Reads `bytes` (whole sectors) from `sector` into `frames`, a page to a frame (the last
    /// may be filled only in part). A driver that can copy from its device straight into
    /// frames overrides this; by default the bytes pass through a buffer.
    fn read_frames(&self, sector: u64, bytes: usize, frames: &[Frame]) -> SysResult<()> {
        read_frames_buffered(self, sector, bytes, frames)
    }

    /// Writes `bytes` (whole sectors) at `sector` from `frames`, a page from each frame (the
    /// last may be used only in part). Overridden as [`BlockDevice::read_frames`] is.
    fn write_frames(&self, sector: u64, bytes: usize, frames: &[Frame]) -> SysResult<()> {
        write_frames_buffered(self, sector, bytes, frames)
    }

    /// Writes several runs of frames ([`BlockDevice::write_frames`] each). A driver that can
    /// keep several requests in flight overrides this; on an error, some of the runs may
    /// have been written and some not.
    fn write_frame_runs(&self, runs: &[FrameRun<'_>]) -> SysResult<()> {
        runs.iter().try_for_each(|r| self.write_frames(r.sector, r.bytes, r.frames))
    }
}

/// One run of [`BlockDevice::write_frame_runs`]: `bytes` (whole sectors) at `sector`, from
/// `frames`, a page from each.
pub struct FrameRun<'a> {
    pub sector: u64,
    pub bytes: usize,
    pub frames: &'a [Frame],
}

/// [`BlockDevice::read_frames`] through a buffer and [`BlockDevice::read`].
pub fn read_frames_buffered<D: BlockDevice + ?Sized>(
    device: &D,
    sector: u64,
    bytes: usize,
    frames: &[Frame],
) -> SysResult<()> {
    let mut data = alloc::vec![0u8; bytes];
    device.read(sector, &mut data)?;
    for (frame, chunk) in frames.iter().zip(data.chunks(PAGE_SIZE)) {
        frame.write_bytes(0, chunk);
    }
    Ok(())
}

/// [`BlockDevice::write_frames`] through a buffer and [`BlockDevice::write`].
pub fn write_frames_buffered<D: BlockDevice + ?Sized>(
    device: &D,
    sector: u64,
    bytes: usize,
    frames: &[Frame],
) -> SysResult<()> {
    let mut data = alloc::vec![0u8; bytes];
    for (frame, chunk) in frames.iter().zip(data.chunks_mut(PAGE_SIZE)) {
        frame.read_bytes(0, chunk);
    }
    device.write(sector, &data)
}

/// The major number of virtio disks: Linux allocates it dynamically, and on Debian's 6.1
/// (which registers no other dynamic block majors first) it is 254, with 16 minors a disk.
pub const VIRTIO_BLK_MAJOR: u32 = 254;
const MINORS_PER_DISK: u32 = 16;

struct Disk {
    name: String,
    rdev: u32,
    device: Arc<dyn BlockDevice>,
}

static DISKS: SpinLock<Vec<Disk>> = SpinLock::new(Vec::new());

/// Registers a virtio disk; it becomes `vda`, `vdb`, ... in the order drivers find them.
/// Returns its name and device number.
pub fn register_virtio(device: Arc<dyn BlockDevice>) -> (String, u32) {
    let mut disks = DISKS.lock();
    let index = disks.len() as u32;
    let name = virtio_name(index);
    let rdev = crate::fs::devfs::makedev(VIRTIO_BLK_MAJOR, index * MINORS_PER_DISK);
    disks.push(Disk { name: name.clone(), rdev, device });
    (name, rdev)
}

/// The major number of device-mapper disks (`dm-0`, ...; dynamic on Linux, 253 on Debian's
/// 6.1 next to virtio's 254).
pub const DM_MAJOR: u32 = 253;

/// Registers a disk made from others (a [`verity::VerityDisk`]): `dm-0`, `dm-1`, ... in
/// order. Returns its name and device number.
pub fn register_mapped(device: Arc<dyn BlockDevice>) -> (String, u32) {
    let mut disks = DISKS.lock();
    let index = disks.iter().filter(|d| crate::fs::devfs::major(d.rdev) == DM_MAJOR).count() as u32;
    let name = alloc::format!("dm-{index}");
    let rdev = crate::fs::devfs::makedev(DM_MAJOR, index);
    disks.push(Disk { name: name.clone(), rdev, device });
    (name, rdev)
}

/// Registers a disk a driver names and numbers itself (`loop0` at 7:0).
pub fn register_named(name: String, rdev: u32, device: Arc<dyn BlockDevice>) {
    DISKS.lock().push(Disk { name, rdev, device });
}

/// Forgets the disk with device number `rdev` (a removed loop device).
pub fn unregister(rdev: u32) {
    DISKS.lock().retain(|d| d.rdev != rdev);
}

/// Linux's virtio_blk names: vda..vdz, then vdaa..vdzz, and so on.
fn virtio_name(mut index: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    let mut name = String::from("vd");
    name.extend(letters.iter().map(|&b| b as char));
    name
}

/// Returns the disk with device number `rdev`.
pub fn by_rdev(rdev: u32) -> Option<Arc<dyn BlockDevice>> {
    DISKS.lock().iter().find(|d| d.rdev == rdev).map(|d| d.device.clone())
}

/// Returns every disk's name and device number, in registration order.
pub fn names() -> Vec<(String, u32)> {
    DISKS.lock().iter().map(|d| (d.name.clone(), d.rdev)).collect()
}

ostd::ktest! {
    fn virtio_disks_are_named_as_linux_names_them() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702].map(virtio_name).into();
        assert_eq!(
            names,
            ["vda", "vdb", "vdz", "vdaa", "vdab", "vdaz", "vdba", "vdzz", "vdaaa"]
        );
    }
}
