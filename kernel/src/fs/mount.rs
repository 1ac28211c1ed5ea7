//! The mount table: which filesystem root covers which directory.
//!
//! Path resolution crosses into a mounted root when it reaches a mountpoint, and back out
//! (to the mountpoint's parent) on `..` from that root. The table is also what
//! /proc/mounts prints.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::node::Node;
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
pub fn umount(root: &Arc<Node>) -> SysResult<()> {
    let mut mounts = MOUNTS.lock();
    let i = mounts.iter().rposition(|m| Arc::ptr_eq(&m.root, root)).ok_or(Errno::EINVAL)?;
    mounts.remove(i);
    Ok(())
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
