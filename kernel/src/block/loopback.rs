//! Loop devices: `/dev/loopN` (block major 7) shows a regular file as a disk, and
//! `/dev/loop-control` (misc 10:237) finds, adds and removes them, as Linux's loop driver.
//!
//! A device is unbound (size 0) until LOOP_SET_FD or LOOP_CONFIGURE gives it a backing file;
//! reads and writes then go to that file at `offset`, within `sizelimit`. LOOP_CLR_FD
//! detaches it, at once or, while something still has it open or mounted, when the last
//! user lets go (LO_FLAGS_AUTOCLEAR, which `mount -o loop` also asks for).

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::{BlockDevice, SECTOR_SIZE};
use crate::error::{Errno, SysResult};
use crate::fs::devfs::{major, makedev, minor};
use crate::fs::{FileLike, NodeKind, OpenFlags};
use crate::user_mem::UserMem;

/// The block major of loop devices.
pub const LOOP_MAJOR: u32 = 7;
/// The device number of /dev/loop-control (misc, minor LOOP_CTRL_MINOR).
pub const LOOP_CONTROL: u32 = makedev(10, 237);
/// How many devices exist from the start (CONFIG_BLK_DEV_LOOP_MIN_COUNT on Debian).
const INITIAL_DEVICES: u32 = 8;
/// The longest chain of loop devices backed by loop devices that binding follows.
const MAX_CHAIN: usize = 64;
/// The highest device index (Linux's minors for loop are 20 bits).
const MAX_INDEX: u32 = (1 << 20) - 1;

/// The device ioctls.
const LOOP_SET_FD: u32 = 0x4C00;
const LOOP_CLR_FD: u32 = 0x4C01;
const LOOP_SET_STATUS64: u32 = 0x4C04;
const LOOP_GET_STATUS64: u32 = 0x4C05;
const LOOP_SET_CAPACITY: u32 = 0x4C07;
const LOOP_SET_DIRECT_IO: u32 = 0x4C08;
const LOOP_SET_BLOCK_SIZE: u32 = 0x4C09;
const LOOP_CONFIGURE: u32 = 0x4C0A;
/// The control ioctls.
const LOOP_CTL_ADD: u32 = 0x4C80;
const LOOP_CTL_REMOVE: u32 = 0x4C81;
const LOOP_CTL_GET_FREE: u32 = 0x4C82;

/// `lo_flags` bits.
const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
const LO_FLAGS_PARTSCAN: u32 = 8;
const LO_FLAGS_DIRECT_IO: u32 = 16;
/// What LOOP_SET_STATUS64 may set and clear (Linux's LOOP_SET_STATUS_SETTABLE_FLAGS and
/// LOOP_SET_STATUS_CLEARABLE_FLAGS).
const STATUS_SETTABLE: u32 = LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN;
const STATUS_CLEARABLE: u32 = LO_FLAGS_AUTOCLEAR;
/// What LOOP_CONFIGURE may set.
const CONFIGURE_SETTABLE: u32 =
    LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_PARTSCAN | LO_FLAGS_DIRECT_IO;

/// `struct loop_info64`: its size and field offsets.
const INFO_SIZE: usize = 232;
const NAME_SIZE: usize = 64;
const KEY_SIZE: u32 = 32;

/// The file a bound device shows.
struct Backing {
    file: Arc<dyn FileLike>,
    offset: u64,
    sizelimit: u64,
    flags: u32,
    file_name: [u8; NAME_SIZE],
    crypt_name: [u8; NAME_SIZE],
}

/// One loop device.
pub struct LoopDevice {
    index: u32,
    backing: SpinLock<Option<Backing>>,
    /// Open files and mounts of the device (Linux's disk openers).
    users: SpinLock<usize>,
}

impl LoopDevice {
    fn new(index: u32) -> Self {
        Self { index, backing: SpinLock::new(None), users: SpinLock::new(0) }
    }

    fn is_bound(&self) -> bool {
        self.backing.lock().is_some()
    }

    /// Binds the device to `file` (LOOP_SET_FD; LOOP_CONFIGURE with its `struct
    /// loop_info64` and block size), checking in Linux's order: busy, the file, the flags,
    /// the block size.
    fn bind(
        &self,
        file: Arc<dyn FileLike>,
        config: Option<(&[u8], u32)>,
        device_writable: bool,
    ) -> SysResult<()> {
        if self.is_bound() {
            return Err(Errno::EBUSY);
        }
        // A device cannot be backed by itself (EBADF), or by an unbound loop device, which
        // could later lead back to it (its reads would recurse without end): Linux's
        // loop_validate_file follows the chain of loop devices to the file at its end.
        let mut next = file.node().ok_or(Errno::EINVAL)?.clone();
        for _ in 0..=MAX_CHAIN {
            let NodeKind::BlockDev(rdev) = next.kind() else { break };
            if major(rdev) != LOOP_MAJOR {
                break;
            }
            if minor(rdev) == self.index {
                return Err(Errno::EBADF);
            }
            let inner = device(minor(rdev)).ok_or(Errno::EINVAL)?;
            let backing = inner.backing.lock().as_ref().map(|b| b.file.clone());
            next = backing.ok_or(Errno::EINVAL)?.node().ok_or(Errno::EINVAL)?.clone();
        }
        if !matches!(next.kind(), NodeKind::File | NodeKind::BlockDev(_)) {
            return Err(Errno::EINVAL);
        }
        let mut backing = self.backing.lock();
        if backing.is_some() {
            return Err(Errno::EBUSY);
        }
        let mut b = Backing {
            file: file.clone(),
            offset: 0,
            sizelimit: 0,
            flags: 0,
            file_name: [0; NAME_SIZE],
            crypt_name: [0; NAME_SIZE],
        };
        if let Some((info, block_size)) = config {
            let flags = u32::from_le_bytes([info[52], info[53], info[54], info[55]]);
            if flags & !CONFIGURE_SETTABLE != 0 {
                return Err(Errno::EINVAL);
            }
            if block_size != 0 {
                check_block_size(u64::from(block_size))?;
            }
            apply_info(&mut b, info, CONFIGURE_SETTABLE, CONFIGURE_SETTABLE)?;
        }
        if !file.flags().writable() || !device_writable {
            b.flags |= LO_FLAGS_READ_ONLY;
        }
        *backing = Some(b);
        Ok(())
    }

    /// Detaches the backing file (LOOP_CLR_FD): at once when the caller's is the only
    /// open file, else when the last user lets go.
    fn clear(&self) -> SysResult<()> {
        let mut backing = self.backing.lock();
        let b = backing.as_mut().ok_or(Errno::ENXIO)?;
        if *self.users.lock() > 1 {
            b.flags |= LO_FLAGS_AUTOCLEAR;
            return Ok(());
        }
        *backing = None;
        Ok(())
    }

    fn set_status(&self, info: &[u8]) -> SysResult<()> {
        let mut backing = self.backing.lock();
        let b = backing.as_mut().ok_or(Errno::ENXIO)?;
        apply_info(b, info, STATUS_SETTABLE, STATUS_CLEARABLE)
    }

    fn status(&self) -> SysResult<[u8; INFO_SIZE]> {
        let backing = self.backing.lock();
        let b = backing.as_ref().ok_or(Errno::ENXIO)?;
        let stat = b.file.stat();
        let mut info = [0u8; INFO_SIZE];
        let mut put = |off: usize, v: &[u8]| info[off..off + v.len()].copy_from_slice(v);
        put(0, &stat.dev.to_le_bytes());
        put(8, &stat.ino.to_le_bytes());
        put(16, &stat.rdev.to_le_bytes());
        put(24, &b.offset.to_le_bytes());
        put(32, &b.sizelimit.to_le_bytes());
        put(40, &self.index.to_le_bytes());
        put(52, &b.flags.to_le_bytes());
        put(56, &b.file_name);
        put(120, &b.crypt_name);
        Ok(info)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match cmd {
            LOOP_CLR_FD => self.clear()?,
            LOOP_SET_STATUS64 => {
                let mut info = [0u8; INFO_SIZE];
                mem.read(arg, &mut info)?;
                self.set_status(&info)?;
            }
            LOOP_GET_STATUS64 => {
                let info = self.status()?;
                mem.write(arg, &info)?;
            }
            LOOP_SET_CAPACITY | LOOP_SET_DIRECT_IO => {
                // The size follows the file on every request; there is no page cache to
                // bypass in between.
                if !self.is_bound() {
                    return Err(Errno::ENXIO);
                }
            }
            LOOP_SET_BLOCK_SIZE => {
                if !self.is_bound() {
                    return Err(Errno::ENXIO);
                }
                check_block_size(arg)?;
            }
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }
}

/// Takes offset, sizelimit, names and flags from a `struct loop_info64`; `settable` and
/// `clearable` say which flags it may change.
fn apply_info(b: &mut Backing, info: &[u8], settable: u32, clearable: u32) -> SysResult<()> {
    let u64_at = |off: usize| u64::from_le_bytes(info[off..off + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |off: usize| u32::from_le_bytes(info[off..off + 4].try_into().unwrap_or([0; 4]));
    if u32_at(48) > KEY_SIZE {
        return Err(Errno::EINVAL);
    }
    let (offset, sizelimit) = (u64_at(24), u64_at(32));
    if offset > i64::MAX as u64 || sizelimit > i64::MAX as u64 {
        return Err(Errno::EOVERFLOW);
    }
    b.offset = offset;
    b.sizelimit = sizelimit;
    b.file_name.copy_from_slice(&info[56..56 + NAME_SIZE]);
    b.file_name[NAME_SIZE - 1] = 0;
    b.crypt_name.copy_from_slice(&info[120..120 + NAME_SIZE]);
    b.crypt_name[NAME_SIZE - 1] = 0;
    let asked = u32_at(52);
    b.flags = (b.flags & !(clearable & !asked)) | (asked & settable);
    Ok(())
}

/// LOOP_SET_BLOCK_SIZE and LOOP_CONFIGURE's block size: a power of two from 512 to a page
/// (0 in LOOP_CONFIGURE keeps 512).
fn check_block_size(size: u64) -> SysResult<()> {
    if !(512..=4096).contains(&size) || !size.is_power_of_two() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl BlockDevice for LoopDevice {
    fn sectors(&self) -> u64 {
        let backing = self.backing.lock();
        let Some(b) = backing.as_ref() else { return 0 };
        // A disk's file has no size of its own in its inode here: the disk says.
        let file_size = match b.file.node().map(|n| n.kind()) {
            Some(NodeKind::BlockDev(rdev)) => {
                super::by_rdev(rdev).map_or(0, |d| d.sectors().saturating_mul(SECTOR_SIZE as u64))
            }
            _ => b.file.stat().size.max(0) as u64,
        };
        let size = file_size.saturating_sub(b.offset);
        let size = if b.sizelimit != 0 { size.min(b.sizelimit) } else { size };
        size / SECTOR_SIZE as u64
    }

    fn read_only(&self) -> bool {
        self.backing.lock().as_ref().is_some_and(|b| b.flags & LO_FLAGS_READ_ONLY != 0)
    }

    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()> {
        let (file, offset) = self.target(sector)?;
        let mut done = 0;
        while done < buf.len() {
            let n = file.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                buf[done..].fill(0);
                break;
            }
            done += n;
        }
        Ok(())
    }

    fn write(&self, sector: u64, buf: &[u8]) -> SysResult<()> {
        let (file, offset) = self.target(sector)?;
        let mut done = 0;
        while done < buf.len() {
            let n = file.write_at(offset + done as u64, &buf[done..])?;
            if n == 0 {
                return Err(Errno::EIO);
            }
            done += n;
        }
        Ok(())
    }

    fn flush(&self) -> SysResult<()> {
        Ok(())
    }

    fn hold(&self) {
        *self.users.lock() += 1;
    }

    fn release(&self) {
        let mut users = self.users.lock();
        *users = users.saturating_sub(1);
        if *users == 0 {
            let mut backing = self.backing.lock();
            if backing.as_ref().is_some_and(|b| b.flags & LO_FLAGS_AUTOCLEAR != 0) {
                *backing = None;
            }
        }
    }
}

impl LoopDevice {
    /// The backing file and the byte position of `sector` in it (EIO when unbound).
    fn target(&self, sector: u64) -> SysResult<(Arc<dyn FileLike>, u64)> {
        let backing = self.backing.lock();
        let b = backing.as_ref().ok_or(Errno::EIO)?;
        let at = sector.checked_mul(SECTOR_SIZE as u64).and_then(|s| s.checked_add(b.offset));
        Ok((b.file.clone(), at.ok_or(Errno::EIO)?))
    }
}

/// The loop devices by index.
static DEVICES: SpinLock<Vec<Arc<LoopDevice>>> = SpinLock::new(Vec::new());

/// Makes loop0 to loop7, as Linux's driver does when it loads.
pub fn init() {
    for index in 0..INITIAL_DEVICES {
        let _ = add(index);
    }
}

fn device(index: u32) -> Option<Arc<LoopDevice>> {
    DEVICES.lock().iter().find(|d| d.index == index).cloned()
}

/// Adds device `index` and its /dev node; EEXIST if it exists.
fn add(index: u32) -> SysResult<u32> {
    if index > MAX_INDEX {
        return Err(Errno::EINVAL);
    }
    let mut devices = DEVICES.lock();
    if devices.iter().any(|d| d.index == index) {
        return Err(Errno::EEXIST);
    }
    let device = Arc::new(LoopDevice::new(index));
    devices.push(device.clone());
    drop(devices);
    let name = alloc::format!("loop{index}");
    let rdev = makedev(LOOP_MAJOR, index);
    super::register_named(name.clone(), rdev, device);
    crate::fs::devfs::add_disk_node(&name, rdev);
    Ok(index)
}

/// Removes device `index`: ENODEV if there is none, EBUSY while bound or in use.
fn remove(index: u32) -> SysResult<u64> {
    let device = device(index).ok_or(Errno::ENODEV)?;
    if device.is_bound() || *device.users.lock() != 0 {
        return Err(Errno::EBUSY);
    }
    DEVICES.lock().retain(|d| d.index != index);
    super::unregister(makedev(LOOP_MAJOR, index));
    crate::fs::devfs::remove_node(&alloc::format!("loop{index}"));
    Ok(0)
}

/// The ioctls of /dev/loop-control (ENOSYS for any other, as Linux answers).
pub fn control_ioctl(cmd: u32, arg: u64) -> SysResult<u64> {
    match cmd {
        LOOP_CTL_ADD => {
            let index = if (arg as i64) < 0 { first_unused_index() } else { arg as u32 };
            if arg as i64 >= 0 && arg > u64::from(MAX_INDEX) {
                return Err(Errno::EINVAL);
            }
            add(index).map(u64::from)
        }
        LOOP_CTL_REMOVE => {
            if arg > u64::from(MAX_INDEX) {
                return Err(Errno::EINVAL);
            }
            remove(arg as u32)
        }
        LOOP_CTL_GET_FREE => {
            let free = DEVICES.lock().iter().filter(|d| !d.is_bound()).map(|d| d.index).min();
            match free {
                Some(index) => Ok(u64::from(index)),
                None => add(first_unused_index()).map(u64::from),
            }
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn first_unused_index() -> u32 {
    let devices = DEVICES.lock();
    (0..).find(|i| !devices.iter().any(|d| d.index == *i)).unwrap_or(MAX_INDEX)
}

/// Whether `cmd` is a loop device ioctl that names a file descriptor (the caller resolves
/// it: this layer has no descriptor table).
pub fn takes_fd(cmd: u32) -> bool {
    matches!(cmd, LOOP_SET_FD | LOOP_CONFIGURE)
}

/// Returns the loop device the open block-device file `file` is, if it is one.
fn of_file(file: &dyn FileLike) -> Option<Arc<LoopDevice>> {
    let NodeKind::BlockDev(rdev) = file.node()?.kind() else { return None };
    (major(rdev) == LOOP_MAJOR).then(|| device(minor(rdev))).flatten()
}

/// Runs a loop ioctl on `file` (an open /dev/loopN), resolving descriptors with `fd_file`.
/// Returns `None` if `file` is no loop device.
pub fn ioctl(
    file: &dyn FileLike,
    cmd: u32,
    arg: u64,
    mem: &UserMem,
    fd_file: &dyn Fn(i32) -> SysResult<Arc<dyn FileLike>>,
) -> Option<SysResult<u64>> {
    let device = of_file(file)?;
    let writable = file.flags().writable();
    Some(match cmd {
        LOOP_SET_FD => fd_file(arg as i32).and_then(|f| device.bind(f, None, writable)).map(|()| 0),
        LOOP_CONFIGURE => configure(&device, arg, mem, fd_file, writable),
        _ => device.ioctl(cmd, arg, mem),
    })
}

/// LOOP_CONFIGURE: `struct loop_config { u32 fd; u32 block_size; struct loop_info64 info;
/// u64 reserved[8]; }`.
fn configure(
    device: &LoopDevice,
    arg: u64,
    mem: &UserMem,
    fd_file: &dyn Fn(i32) -> SysResult<Arc<dyn FileLike>>,
    writable: bool,
) -> SysResult<u64> {
    let mut config = [0u8; 8 + INFO_SIZE + 64];
    mem.read(arg, &mut config)?;
    let fd = i32::from_le_bytes([config[0], config[1], config[2], config[3]]);
    let block_size = u32::from_le_bytes([config[4], config[5], config[6], config[7]]);
    let file = fd_file(fd)?;
    device.bind(file, Some((&config[8..8 + INFO_SIZE], block_size)), writable)?;
    Ok(0)
}

/// The file /dev/loop-control opens as.
pub fn open_control(node: Arc<crate::fs::Node>, flags: OpenFlags) -> Arc<dyn FileLike> {
    Arc::new(Control { node, flags: SpinLock::new(flags) })
}

/// An open /dev/loop-control.
struct Control {
    node: Arc<crate::fs::Node>,
    flags: SpinLock<OpenFlags>,
}

impl FileLike for Control {
    fn read(&self, _buf: &mut [u8]) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> crate::fs::file::Stat {
        crate::fs::file::Stat::of_node(&self.node)
    }

    fn ioctl(&self, cmd: u32, arg: u64, _mem: &UserMem) -> SysResult<u64> {
        control_ioctl(cmd, arg)
    }

    fn node(&self) -> Option<&Arc<crate::fs::Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }
}

ostd::ktest! {
    fn a_loop_device_reads_and_writes_its_file_within_offset_and_sizelimit() {
        use crate::fs::file::NodeFile;
        let node = crate::fs::Node::new_of(NodeKind::File, 0o644, "");
        let data: Vec<u8> = (0..8 * SECTOR_SIZE).map(|i| (i / SECTOR_SIZE) as u8).collect();
        node.write_at(0, &data).unwrap();
        let file: Arc<dyn FileLike> = Arc::new(NodeFile::new(node.clone(), OpenFlags::RDWR));
        let device = LoopDevice::new(99);
        assert_eq!(device.sectors(), 0, "an unbound device is empty");
        let mut info = [0u8; INFO_SIZE];
        info[24..32].copy_from_slice(&(SECTOR_SIZE as u64).to_le_bytes()); // lo_offset
        info[32..40].copy_from_slice(&(4 * SECTOR_SIZE as u64).to_le_bytes()); // lo_sizelimit
        device.bind(file.clone(), Some((&info, 0)), true).unwrap();
        assert_eq!(device.sectors(), 4);
        let mut sector = [0u8; SECTOR_SIZE];
        device.read(0, &mut sector).unwrap();
        assert!(sector.iter().all(|&b| b == 1), "sector 0 is the file's sector 1");
        device.write(1, &[9u8; SECTOR_SIZE]).unwrap();
        let mut back = [0u8; SECTOR_SIZE];
        node.read_at(2 * SECTOR_SIZE as u64, &mut back).unwrap();
        assert!(back.iter().all(|&b| b == 9), "a write lands at offset + sector");
        assert_eq!(device.bind(file, None, true), Err(Errno::EBUSY));
        device.clear().unwrap();
        assert_eq!(device.sectors(), 0);
        assert_eq!(device.clear(), Err(Errno::ENXIO));
    }
}
