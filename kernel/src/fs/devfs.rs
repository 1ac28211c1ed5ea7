//! Device files: /dev/null, zero, full, random, urandom, tty and console.
//!
//! Device nodes live in the ramfs like any other node (so `mknod` and `ls -l /dev` work);
//! opening one maps its device number to the driver below.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::file::{FileLike, OpenFlags, Stat};
use super::node::{Node, NodeKind};
use crate::error::{Errno, SysResult};

/// Makes a device number from major and minor (Linux's encoding for small numbers).
pub const fn makedev(major: u32, minor: u32) -> u32 {
    (major << 8) | minor
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
];

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
    if !dev.contains("shm") {
        dev.create("shm", NodeKind::Dir, 0o1777, "")?;
    }
    Ok(())
}

/// Opens the device with number `rdev`.
pub fn open(rdev: u32, node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    let kind = match rdev {
        r if r == makedev(1, 3) => Kind::Null,
        r if r == makedev(1, 5) => Kind::Zero,
        r if r == makedev(1, 7) => Kind::Full,
        r if r == makedev(1, 8) || r == makedev(1, 9) => Kind::Random,
        r if r == makedev(5, 0) || r == makedev(5, 1) => return Ok(crate::tty::open(node, flags)),
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
