//! Device files: /dev/null, zero, full, random, urandom, tty, console and ptmx, and the
//! platform's attestation device (`crate::attest::guest_dev`).
//!
//! Device nodes live in the ramfs like any other node (so `mknod` and `ls -l /dev` work);
//! opening one maps its device number to the driver below.

use alloc::string::String;
use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::file::{FileLike, OpenFlags, Stat};
use super::node::{Node, NodeKind};
use crate::error::{Errno, SysResult};

/// Makes a device number from major and minor, in Linux's (glibc's) 32-bit encoding.
pub const fn makedev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}

/// The major number of a device number.
pub const fn major(dev: u32) -> u32 {
    (dev >> 8) & 0xfff
}

/// The minor number of a device number.
pub const fn minor(dev: u32) -> u32 {
    (dev & 0xff) | ((dev >> 12) & !0xff)
}

/// The devices this kernel provides, with their Linux numbers.
pub const DEVICES: &[(&str, u32, u32)] = &[
    ("null", makedev(1, 3), 0o666),
    ("zero", makedev(1, 5), 0o666),
    ("full", makedev(1, 7), 0o666),
    ("random", makedev(1, 8), 0o666),
    ("urandom", makedev(1, 9), 0o666),
    ("tty", makedev(5, 0), 0o666),
    ("console", makedev(5, 1), 0o600),
    ("ptmx", makedev(5, 2), 0o666),
    ("loop-control", crate::block::loopback::LOOP_CONTROL, 0o600),
];

/// The path a device is known by (what /proc/PID/fd shows for it).
pub fn path_of(rdev: u32) -> String {
    if major(rdev) == crate::tty::pty::PTS_MAJOR {
        return alloc::format!("/dev/pts/{}", minor(rdev));
    }
    match DEVICES.iter().find(|(_, r, _)| *r == rdev) {
        Some((name, _, _)) => alloc::format!("/dev/{name}"),
        None if rdev == crate::attest::guest_dev::TDX_GUEST => String::from("/dev/tdx_guest"),
        None if rdev == crate::attest::guest_dev::SEV_GUEST => String::from("/dev/sev-guest"),
        None => String::from("/dev/console"),
    }
}

/// Creates /dev and its nodes under `root`.
pub fn populate(root: &Arc<Node>) -> SysResult<()> {
    let dev = match root.lookup("dev") {
        Ok(dev) => dev,
        Err(_) => root.create("dev", NodeKind::Dir, 0o755, "")?,
    };
    populate_dir(&dev)
}

/// Creates the device nodes in `dev` (what mounting devtmpfs there shows).
pub fn populate_dir(dev: &Arc<Node>) -> SysResult<()> {
    for &(name, rdev, perm) in DEVICES {
        if !dev.contains(name) {
            dev.create(name, NodeKind::CharDev(rdev), perm, "")?;
        }
    }
    // The platform's attestation device, where it has one (crw------- as Linux's).
    for (name, rdev) in [
        ("tdx_guest", crate::attest::guest_dev::TDX_GUEST),
        ("sev-guest", crate::attest::guest_dev::SEV_GUEST),
    ] {
        if crate::attest::guest_dev::present(rdev) && !dev.contains(name) {
            dev.create(name, NodeKind::CharDev(rdev), 0o600, "")?;
        }
    }
    // Disks: brw------- root:root, as devtmpfs makes them (udev, where there is one, hands
    // them to the disk group afterwards).
    for (name, rdev) in crate::block::names() {
        if !dev.contains(&name) {
            dev.create(&name, NodeKind::BlockDev(rdev), 0o600, "")?;
        }
    }
    if !dev.contains("shm") {
        dev.create("shm", NodeKind::Dir, 0o1777, "")?;
    }
    Ok(())
}

/// Adds the node of a disk that appeared after boot (a loop device) to /dev, as devtmpfs
/// shows it: brw------- root:root.
pub fn add_disk_node(name: &str, rdev: u32) {
    if let Ok(dev) = super::root().lookup("dev")
        && !dev.contains(name)
    {
        let _ = dev.create(name, NodeKind::BlockDev(rdev), 0o600, "");
    }
}

/// Removes the node `name` from /dev (a removed loop device).
pub fn remove_node(name: &str) {
    if let Ok(dev) = super::root().lookup("dev") {
        let _ = dev.unlink(name, false);
    }
}

/// Opens the device with number `rdev`.
pub fn open(rdev: u32, node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    let kind = match rdev {
        r if r == makedev(1, 3) => Kind::Null,
        r if r == makedev(1, 5) => Kind::Zero,
        r if r == makedev(1, 7) => Kind::Full,
        r if r == makedev(1, 8) || r == makedev(1, 9) => Kind::Random,
        r if r == makedev(5, 0) || r == makedev(5, 1) => return Ok(crate::tty::open(node, flags)),
        r if r == makedev(5, 2) => return crate::tty::pty::open_master(node, flags),
        r if r == crate::block::loopback::LOOP_CONTROL => {
            return Ok(crate::block::loopback::open_control(node, flags));
        }
        r if major(r) == crate::tty::pty::PTS_MAJOR => {
            return crate::tty::pty::open_slave(minor(r), node, flags);
        }
        r if r == crate::attest::guest_dev::TDX_GUEST
            || r == crate::attest::guest_dev::SEV_GUEST =>
        {
            return crate::attest::guest_dev::open(r, node, flags);
        }
        _ => return Err(Errno::ENXIO),
    };
    Ok(Arc::new(Device { kind, node, flags: SpinLock::new(flags) }))
}

#[derive(Clone, Copy)]
enum Kind {
    Null,
    Zero,
    Full,
    Random,
}

struct Device {
    kind: Kind,
    node: Arc<Node>,
    flags: SpinLock<OpenFlags>,
}

impl Drop for Device {
    fn drop(&mut self) {
        // The description's flock and OFD locks go with it.
        let description = self as *const Self as *const u8 as usize;
        crate::fs::file::release_description_locks(&self.node, description);
    }
}

impl FileLike for Device {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        match self.kind {
            Kind::Null => Ok(0),
            Kind::Zero | Kind::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Kind::Random => {
                crate::random::fill(buf);
                Ok(buf.len())
            }
        }
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        match self.kind {
            Kind::Full => Err(Errno::ENOSPC),
            _ => Ok(buf.len()),
        }
    }

    fn read_at(&self, _offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        self.read(buf)
    }

    fn write_at(&self, _offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.write(buf)
    }

    fn seek(&self, _offset: i64, _whence: u32) -> SysResult<u64> {
        Ok(0)
    }

    fn stat(&self) -> Stat {
        Stat::of_node(&self.node)
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }
}
