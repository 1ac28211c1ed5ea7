//! The mount table: which filesystem root covers which directory.
//!
//! Path resolution crosses into a mounted root when it reaches a mountpoint, and back out
//! (to the mountpoint's parent) on `..` from that root. The table is also what
//! /proc/mounts prints.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::disk::DiskMount;
use super::node::{Node, NodeKind};
use crate::error::{Errno, SysResult};

/// One mounted filesystem.
#[derive(Clone)]
pub struct Mount {
    /// The directory it covers.
    pub point: Arc<Node>,
    /// Its root directory.
    pub root: Arc<Node>,
    /// Its type ("proc", "devtmpfs", ...).
    pub fstype: String,
    /// The source argument of mount(2).
    pub source: String,
    /// The path it was mounted at, as given.
    pub target: String,
}

static MOUNTS: SpinLock<Vec<Mount>> = SpinLock::new(Vec::new());

/// Filesystem types whose code lives outside fs/ (procfs is the process subsystem's view of
/// itself), by name, with the function that makes a fresh root. Registered at boot, so fs
/// does not import the subsystems above it.
static REGISTERED: SpinLock<Vec<(&'static str, fn() -> Arc<Node>)>> = SpinLock::new(Vec::new());

/// Makes `name` mountable: `mount -t name` gets the root `new_root` returns.
pub fn register_filesystem(name: &'static str, new_root: fn() -> Arc<Node>) {
    REGISTERED.lock().push((name, new_root));
}

/// Mounts `root` over `point`.
pub fn mount(point: Arc<Node>, root: Arc<Node>, fstype: &str, source: &str, target: &str) {
    root.set_parent(&point.parent());
    MOUNTS.lock().push(Mount {
        point,
        root,
        fstype: String::from(fstype),
        source: String::from(source),
        target: String::from(target),
    });
}

/// Unmounts whatever is mounted with root `root` (as resolution of the target finds it).
/// A disk filesystem mounted nowhere else is written back first, and refused with EBUSY while
/// any of its files is in use (open, a working directory, a running program), as on Linux.
pub fn umount(root: &Arc<Node>) -> SysResult<()> {
    let mounted_at = MOUNTS.lock().iter().filter(|m| Arc::ptr_eq(&m.root, root)).count();
    if mounted_at == 0 {
        return Err(Errno::EINVAL);
    }
    let last_of_disk = root.disk().filter(|_| mounted_at == 1);
    if let Some(disk) = last_of_disk {
        if disk.mount().busy(root) {
            return Err(Errno::EBUSY);
        }
        disk.mount().sync()?;
    }
    let mut mounts = MOUNTS.lock();
    let i = mounts.iter().rposition(|m| Arc::ptr_eq(&m.root, root)).ok_or(Errno::EINVAL)?;
    mounts.remove(i);
    drop(mounts);
    if mounted_at == 1 {
        super::notify::vfs::unmounted(root);
    }
    if let Some(disk) = last_of_disk {
        disk.mount().fs().unmount();
    }
    Ok(())
}

/// How often the writeback task writes changed disk filesystems back: Linux writes dirty data
/// back once it is 30 s old (vm.dirty_expire_centisecs); writing all of it every 30 s bounds
/// the age the same way.
const WRITEBACK_INTERVAL_MS: u64 = 30_000;

/// Starts the writeback task (once, at the first disk mount): without it, changes would reach
/// the disk only at sync, fsync, unmount or when the block cache is full.
pub fn start_writeback() {
    static STARTED: spin::Once<()> = spin::Once::new();
    STARTED.call_once(|| {
        drop(ostd::task::spawn("writeback", || {
            loop {
                ostd::task::sleep_ms(WRITEBACK_INTERVAL_MS);
                for disk in mounted_disks() {
                    if let Err(e) = disk.sync_if_dirty() {
                        log::warn!("writeback of {}: {e:?}", disk.dev());
                    }
                }
            }
        }));
    });
}

/// Writes every mounted disk filesystem back to its disk (sync(2)); returns the first error.
pub fn sync_all() -> SysResult<()> {
    mounted_disks().iter().map(|disk| disk.sync()).fold(Ok(()), SysResult::and)
}

/// Returns each mounted disk filesystem once (a disk mounted in two places is one).
fn mounted_disks() -> Vec<Arc<DiskMount>> {
    let mut disks: Vec<Arc<DiskMount>> = Vec::new();
    for m in MOUNTS.lock().iter() {
        if let Some(disk) = m.root.disk() {
            if !disks.iter().any(|d| Arc::ptr_eq(d, disk.mount())) {
                disks.push(disk.mount().clone());
            }
        }
    }
    disks
}

/// Mounts the disk filesystem `fstype` from the block device node `device` on `dir`.
///
/// # Errors
/// ENODEV for a type that is not a disk filesystem here; ENOTBLK if `device` is not a block
/// device; ENXIO if no disk has its number; the filesystem's own errors (EINVAL for a disk
/// that holds no such filesystem, EBUSY if it is mounted already).
pub fn mount_disk(
    dir: Arc<Node>,
    fstype: &str,
    device: &Node,
    read_only: bool,
    source: &str,
    target: &str,
) -> SysResult<()> {
    if !is_disk_filesystem(fstype) {
        return Err(Errno::ENODEV);
    }
    let NodeKind::BlockDev(rdev) = device.kind() else { return Err(Errno::ENOTBLK) };
    let disk = crate::block::by_rdev(rdev).ok_or(Errno::ENXIO)?;
    let root = super::ext2::mount(disk, rdev, read_only)?;
    mount(dir, root, fstype, source, target);
    Ok(())
}

/// Returns whether `fstype` names a filesystem that lives on a disk (mount(2) then resolves
/// its source as a block device).
pub fn is_disk_filesystem(fstype: &str) -> bool {
    fstype == "ext2"
}

/// Returns the root mounted over `node`, or `node` itself.
pub fn cross(node: Arc<Node>) -> Arc<Node> {
    let mounts = MOUNTS.lock();
    match mounts.iter().rev().find(|m| Arc::ptr_eq(&m.point, &node)) {
        Some(m) => m.root.clone(),
        None => node,
    }
}

/// Returns the mountpoint of a mounted root.
pub fn mountpoint_of(root: &Arc<Node>) -> Option<Arc<Node>> {
    MOUNTS.lock().iter().rev().find(|m| Arc::ptr_eq(&m.root, root)).map(|m| m.point.clone())
}

/// Whether `node` is the root of a mounted filesystem (which has no parent to report
/// inotify events to, as a Linux mount's root dentry has none).
pub fn is_mount_root(node: &Node) -> bool {
    MOUNTS.lock().iter().any(|m| core::ptr::eq(Arc::as_ptr(&m.root), node))
}

/// Returns the table.
pub fn list() -> Vec<Mount> {
    MOUNTS.lock().clone()
}

/// Mounts a new filesystem of type `fstype` on the directory `dir` (mount(2) without
/// MS_REMOUNT or MS_BIND): devtmpfs fills `dir` with the device nodes; tmpfs and ramfs are
/// what every directory already is. Other filesystems do not exist yet (ENODEV).
pub fn mount_new(dir: Arc<Node>, fstype: &str, source: &str, target: &str) -> SysResult<()> {
    let root = match fstype {
        "devtmpfs" => {
            super::devfs::populate_dir(&dir)?;
            dir.clone()
        }
        "sysfs" => super::sysfs::new_root(),
        "devpts" => crate::tty::pty::devpts_root(),
        "tmpfs" | "ramfs" => Node::new_dir(0o1777),
        other => {
            let registered = REGISTERED
                .lock()
                .iter()
                .find(|(name, _)| *name == other)
                .map(|&(_, new_root)| new_root);
            registered.ok_or(Errno::ENODEV)?()
        }
    };
    if !Arc::ptr_eq(&root, &dir) {
        mount(dir, root, fstype, source, target);
    } else {
        mount(dir.clone(), dir, fstype, source, target);
    }
    Ok(())
}
