//! The mount table: which filesystem root covers which directory.
//!
//! Path resolution crosses into a mounted root when it reaches a mountpoint, and back out
//! (to the mountpoint's parent) on `..` from that root. The table is also what
//! /proc/mounts prints.
//!
//! Each mount carries its own [`MountFlags`]; the mount a node is on is the nearest mounted
//! root above it ([`flags_of`]). A bind mount shares its nodes with the mount it was made
//! from, so it is found through them too: flags differing between the two views of one
//! directory are not told apart.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::disk::DiskMount;
use super::mount_flags::MountFlags;
use super::mount_ns::{MountNamespace, mounted_anywhere};
use super::node::{Node, NodeKind};
use super::tmpfs::Tmpfs;
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
    /// The absolute path of the directory it covers (as the table shows it).
    pub target: String,
    /// The per-mount flags.
    pub flags: MountFlags,
    /// Its mount ID (mountinfo's first field).
    pub id: u32,
    /// The ID of the mount it sits on (1, the in-memory root's, for one on that).
    pub parent_id: u32,
    /// Where its root lies inside its filesystem ("/" unless it is a bind mount of a
    /// subdirectory).
    pub root_path: String,
    /// The tmpfs instance it shows, with its options and counts.
    pub tmpfs: Option<Arc<Tmpfs>>,
    /// Files open for writing through it (Linux's mnt_writers): a remount read-only is
    /// EBUSY while there are any.
    pub writers: Arc<AtomicUsize>,
}

impl Mount {
    /// The filesystem's own options, as /proc/mounts prints them after the per-mount ones
    /// (tmpfs: size, nr_inodes, mode, uid, gid where not the defaults).
    pub fn fs_options(&self) -> String {
        self.tmpfs.as_ref().map(|t| t.options()).unwrap_or_default()
    }
}

/// The next mount ID: Linux numbers its mounts from 1 in the order they are made; the values
/// differ between systems anyway.
static NEXT_ID: AtomicU32 = AtomicU32::new(20);

/// A fresh mount ID.
pub(super) fn next_id() -> u32 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The caller's mount table.
fn table() -> Arc<MountNamespace> {
    super::mount_ns::current()
}

/// Filesystem types whose code lives outside fs/ (procfs is the process subsystem's view of
/// itself), by name, with the function that makes a fresh root. Registered at boot, so fs
/// does not import the subsystems above it.
static REGISTERED: SpinLock<Vec<(&'static str, NewRoot)>> = SpinLock::new(Vec::new());

/// What makes a fresh root of a registered filesystem.
type NewRoot = fn() -> Arc<Node>;

/// Makes `name` mountable: `mount -t name` gets the root `new_root` returns.
pub fn register_filesystem(name: &'static str, new_root: fn() -> Arc<Node>) {
    REGISTERED.lock().push((name, new_root));
}

/// Mounts `root` over `point` with the default flags.
pub fn mount(point: Arc<Node>, root: Arc<Node>, fstype: &str, source: &str, target: &str) {
    attach(point, root, fstype, source, target, MountFlags::default(), None);
}

/// Mounts `root` over `point` with `flags`; `tmpfs` is the instance a tmpfs mount shows.
fn attach(
    point: Arc<Node>,
    root: Arc<Node>,
    fstype: &str,
    source: &str,
    target: &str,
    flags: MountFlags,
    tmpfs: Option<Arc<Tmpfs>>,
) -> u32 {
    root.set_parent(&point.parent());
    root.number_generated_fs();
    let parent_id = mount_of(&point).map_or(1, |m| m.id);
    let id = next_id();
    table().lock().push(Mount {
        point,
        root,
        fstype: String::from(fstype),
        source: String::from(source),
        target: String::from(target),
        flags,
        id,
        parent_id,
        root_path: String::from("/"),
        tmpfs,
        writers: Arc::new(AtomicUsize::new(0)),
    });
    id
}

/// Whether `dir` is the root of a mount, as remounting, moving and changing propagation need
/// (the in-memory root counts: it is Linux's rootfs).
pub fn is_mounted_root(dir: &Arc<Node>) -> bool {
    Arc::ptr_eq(dir, &super::root()) || table().lock().iter().any(|m| Arc::ptr_eq(&m.root, dir))
}

/// Moves the mount whose root is `source` to `dir` (MS_MOVE).
///
/// # Errors
/// EINVAL if `source` is no mounted root (or is the in-memory root); ELOOP to move a mount
/// below itself.
pub fn move_mount(source: &Arc<Node>, dir: Arc<Node>, target: &str) -> SysResult<()> {
    let id = table()
        .lock()
        .iter()
        .rev()
        .find(|m| Arc::ptr_eq(&m.root, source))
        .map(|m| m.id)
        .ok_or(Errno::EINVAL)?;
    // Moving a mount below itself would make a loop.
    if is_below(&dir, source) {
        return Err(Errno::ELOOP);
    }
    let parent_id = mount_of(&dir).map_or(1, |m| m.id);
    source.set_parent(&dir.parent());
    if let Some(m) = table().lock().iter_mut().find(|m| m.id == id) {
        m.point = dir;
        m.target = String::from(target);
        m.parent_id = parent_id;
    }
    Ok(())
}

/// Whether `node` is `ancestor` or lies below it, across mounts.
pub fn is_below(node: &Arc<Node>, ancestor: &Arc<Node>) -> bool {
    let mut current = node.clone();
    for _ in 0..4096 {
        if Arc::ptr_eq(&current, ancestor) {
            return true;
        }
        let up = mountpoint_of(&current).map_or_else(|| current.parent(), |point| point.parent());
        if Arc::ptr_eq(&up, &current) {
            return false;
        }
        current = up;
    }
    false
}

/// pivot_root(2) in the caller's mount namespace: the mount whose root is `new` takes the
/// place of the one whose root is `root` (the caller's root), which moves to `put_old`.
/// Returns nothing to do for the processes: the caller moves the roots and working
/// directories that were `root` to `new`.
///
/// # Errors
/// Linux's order: EBUSY if `new` or `put_old` is on the root's own mount; EINVAL if the
/// root is no mount's root or is the in-memory root filesystem (which is attached nowhere,
/// as Linux's rootfs), if `new` is no mount's root, if `put_old` is not at or below `new`,
/// or `new` not below the root.
pub fn pivot_root(root: &Arc<Node>, new: &Arc<Node>, put_old: &Arc<Node>) -> SysResult<()> {
    let id_of = |m: Option<Mount>| m.map(|m| m.id);
    let root_mount = id_of(mount_of(root));
    if id_of(mount_of(new)) == root_mount || id_of(mount_of(put_old)) == root_mount {
        return Err(Errno::EBUSY);
    }
    let entry_of =
        |n: &Arc<Node>| table().lock().iter().rev().find(|m| Arc::ptr_eq(&m.root, n)).cloned();
    let (Some(old_root), Some(new_root)) = (entry_of(root), entry_of(new)) else {
        return Err(Errno::EINVAL);
    };
    if !is_below(put_old, new) || !is_below(new, root) {
        return Err(Errno::EINVAL);
    }
    let put_old_parent = id_of(mount_of(put_old)).unwrap_or(new_root.id);
    {
        let ns = table();
        let mut mounts = ns.lock();
        for m in mounts.iter_mut() {
            if m.id == new_root.id {
                m.point = old_root.point.clone();
                m.parent_id = old_root.parent_id;
            } else if m.id == old_root.id {
                m.point = put_old.clone();
                m.parent_id = put_old_parent;
            }
        }
    }
    new.set_parent(&old_root.point.parent());
    root.set_parent(&put_old.parent());
    // The table names mounts as the new root sees them.
    let below: Vec<(u32, String)> = list()
        .iter()
        .filter(|m| is_below(&m.root, new))
        .map(|m| (m.id, super::path::absolute_path(new, &m.root)))
        .collect();
    let ns = table();
    for m in ns.lock().iter_mut() {
        if let Some((_, target)) = below.iter().find(|(id, _)| *id == m.id) {
            m.target = if m.id == new_root.id { String::from("/") } else { target.clone() };
        }
    }
    Ok(())
}

/// Returns the mount `node` is on: the nearest mounted root above it (the last mounted
/// there, as resolution finds it), or `None` on the in-memory root filesystem.
pub fn mount_of(node: &Node) -> Option<Mount> {
    let mut current: Option<Arc<Node>> = None;
    for _ in 0..4096 {
        let here: &Node = current.as_deref().unwrap_or(node);
        let generated_fs = here.generated_fs();
        if generated_fs != 0 {
            // A generated node's parents are gone: its instance names its mounted root.
            let ns = table();
            let mounts = ns.lock();
            return mounts.iter().rev().find(|m| m.root.generated_fs() == generated_fs).cloned();
        }
        if let Some(disk) = here.disk() {
            // Every inode of a disk knows its disk: its mount is the one of that disk.
            let ns = table();
            let mounts = ns.lock();
            return mounts
                .iter()
                .rev()
                .find(|m| m.root.disk().is_some_and(|d| Arc::ptr_eq(d.mount(), disk.mount())))
                .cloned();
        }
        {
            let ns = table();
            let mounts = ns.lock();
            if let Some(m) = mounts.iter().rev().find(|m| core::ptr::eq(Arc::as_ptr(&m.root), here))
            {
                return Some(m.clone());
            }
        }
        let parent = here.linked_parent()?;
        if core::ptr::eq(Arc::as_ptr(&parent), here) {
            return None;
        }
        current = Some(parent);
    }
    None
}

/// Returns the flags of the mount `node` is on.
pub fn flags_of(node: &Node) -> MountFlags {
    mount_of(node).map(|m| m.flags).unwrap_or_default()
}

/// Checks that `node` may change: EROFS on a read-only mount or a read-only disk
/// filesystem (Linux's mnt_want_write, asked once per changing operation).
pub fn require_writable(node: &Node) -> SysResult<()> {
    if flags_of(node).read_only {
        return Err(Errno::EROFS);
    }
    if node.disk().is_some_and(|d| d.mount().fs().statfs().read_only) {
        return Err(Errno::EROFS);
    }
    Ok(())
}

/// Checks that `node` may be executed: EACCES on a noexec mount (Linux's path_noexec).
pub fn require_executable(node: &Node) -> SysResult<()> {
    if flags_of(node).noexec {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// A file's hold on its mount's write count, for as long as it is open for writing.
pub struct WriteAccess(Arc<AtomicUsize>);

impl Drop for WriteAccess {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a file opened for writing on `node`'s mount until the returned value is dropped.
pub fn write_access(node: &Node) -> Option<WriteAccess> {
    let m = mount_of(node)?;
    m.writers.fetch_add(1, Ordering::Relaxed);
    Some(WriteAccess(m.writers))
}

/// Changes the flags of the mount whose root is `root` (mount(2) with MS_REMOUNT): the
/// filesystem itself follows a change to read-only, unless `bind_only` (MS_BIND), which
/// changes the mount alone.
///
/// # Errors
/// EINVAL if `root` is not a mounted root; EBUSY to go read-only while a file is open for
/// writing on it; the disk filesystem's own errors.
pub fn remount(root: &Arc<Node>, ms_flags: u64, bind_only: bool, data: &str) -> SysResult<()> {
    // The in-memory root is no entry of the table: it has nothing to change.
    if Arc::ptr_eq(root, &super::root()) && mountpoint_of(root).is_none() {
        return Ok(());
    }
    let current = table()
        .lock()
        .iter()
        .rev()
        .find(|m| Arc::ptr_eq(&m.root, root))
        .cloned()
        .ok_or(Errno::EINVAL)?;
    let flags = current.flags.remounted(ms_flags);
    if !bind_only {
        if flags.read_only
            && !current.flags.read_only
            && current.writers.load(Ordering::Relaxed) != 0
        {
            return Err(Errno::EBUSY);
        }
        if let Some(t) = &current.tmpfs {
            t.reconfigure(data)?;
        }
        if let Some(disk) = root.disk() {
            disk.mount().fs().remount(flags.read_only)?;
        }
    }
    let ns = table();
    let mut mounts = ns.lock();
    for m in mounts.iter_mut().filter(|m| Arc::ptr_eq(&m.root, root)) {
        if bind_only && m.id != current.id {
            continue;
        }
        m.flags = flags;
    }
    Ok(())
}

/// Mounts the directory `source` again on `dir` (MS_BIND): the same nodes, seen from a
/// second place. Mounts are found by the directory they cover, so those below `source` show
/// through the bind with or without MS_REC (Linux shows them only with it).
pub fn bind(source: Arc<Node>, dir: Arc<Node>, target: &str) -> SysResult<()> {
    let origin = mount_of(&source);
    let (fstype, src, tmpfs) = match &origin {
        Some(m) => (m.fstype.clone(), m.source.clone(), m.tmpfs.clone()),
        None => (String::from("rootfs"), String::from("rootfs"), None),
    };
    let root_path = match &origin {
        Some(m) if !Arc::ptr_eq(&m.root, &source) => super::path::absolute_path(&m.root, &source),
        Some(_) => String::from("/"),
        None => super::path::absolute_path(&super::root(), &source),
    };
    let flags = origin.as_ref().map(|m| m.flags).unwrap_or_default();
    let id = attach(dir, source, &fstype, &src, target, flags, tmpfs);
    if let Some(m) = table().lock().iter_mut().find(|m| m.id == id) {
        m.root_path = root_path;
    }
    Ok(())
}

/// How umount2(2) goes about it.
#[derive(Clone, Copy, Default)]
pub struct UmountMode {
    /// MNT_DETACH: take the mount out of the tree now, whatever still uses it.
    pub lazy: bool,
}

/// Unmounts whatever is mounted with root `root` (as resolution of the target finds it).
/// A disk filesystem mounted nowhere else is written back first. A filesystem mounted
/// nowhere else is refused with EBUSY while any of its files is in use (open, a working
/// directory, a running program), as on Linux, and any mount with others mounted below it
/// ([`super::mount_busy`]). A lazy unmount skips the checks.
pub fn umount(root: &Arc<Node>, mode: UmountMode) -> SysResult<()> {
    // (Only the ID is kept through the checks: a copy of the entry would hold the root.)
    let (id, whole_tmpfs) = table()
        .lock()
        .iter()
        .rev()
        .find(|m| Arc::ptr_eq(&m.root, root))
        .map(|m| (m.id, m.tmpfs.is_some() && m.root_path == "/"))
        .ok_or(Errno::EINVAL)?;
    // The accounting file does not keep its mount busy (Linux's fs_pin): unmounting stops
    // accounting first.
    crate::process::acct::stop_on_unmount(id);
    if !mode.lazy {
        let has_mounts_below = table().lock().iter().any(|m| m.parent_id == id);
        let target = super::mount_busy::Target { id, root, whole_tmpfs };
        if super::mount_busy::in_use(&target, has_mounts_below) {
            return Err(Errno::EBUSY);
        }
    }
    let target = table().lock().iter().find(|m| m.id == id).cloned().ok_or(Errno::EINVAL)?;
    detach(&target)
}

/// Takes `mount` out of the table, with the mounts on it (a lazy unmount's subtree): a disk
/// filesystem mounted nowhere else is written back and let go of.
fn detach(mount: &Mount) -> SysResult<()> {
    let children: Vec<Mount> = list().into_iter().filter(|m| m.parent_id == mount.id).collect();
    for child in children.iter().rev() {
        detach(child)?;
    }
    let last = mounted_anywhere(&mount.root) == 1;
    if let Some(disk) = mount.root.disk().filter(|_| last) {
        // A disk that cannot be written back stays mounted.
        disk.mount().sync()?;
    }
    table().lock().retain(|m| m.id != mount.id);
    if last {
        let_go(mount);
    }
    Ok(())
}

/// Lets go of the filesystem of `mount`, mounted nowhere any more: a disk filesystem is
/// written back and its device released; watchers of its files hear that it went.
pub(super) fn let_go(mount: &Mount) {
    let root = &mount.root;
    let disk = root.disk();
    if let Some(Err(e)) = disk.map(|disk| disk.mount().sync()) {
        log::warn!("writing back {} as its last mount goes: {e:?}", mount.source);
    }
    super::notify::vfs::unmounted(root);
    if let Some(disk) = disk {
        disk.mount().fs().unmount();
        if let Some(device) = crate::block::by_rdev(disk.mount().dev() as u32) {
            device.release();
        }
    }
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
    for m in super::mount_ns::all_mounts() {
        if let Some(disk) = m.root.disk()
            && !disks.iter().any(|d| Arc::ptr_eq(d, disk.mount()))
        {
            disks.push(disk.mount().clone());
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
    flags: MountFlags,
    source: &str,
    target: &str,
) -> SysResult<()> {
    if !is_disk_filesystem(fstype) {
        return Err(Errno::ENODEV);
    }
    let NodeKind::BlockDev(rdev) = device.kind() else { return Err(Errno::ENOTBLK) };
    let disk = crate::block::by_rdev(rdev).ok_or(Errno::ENXIO)?;
    let root = super::ext2::mount(disk.clone(), rdev, flags.read_only)?;
    // A read-only disk (a loop device attached read-only) mounts read-only, as Linux does
    // with a warning.
    let flags = MountFlags { read_only: flags.read_only || disk.read_only(), ..flags };
    disk.hold();
    attach(dir, root, fstype, source, target, flags, None);
    Ok(())
}

/// Returns whether `fstype` names a filesystem that lives on a disk (mount(2) then resolves
/// its source as a block device).
pub fn is_disk_filesystem(fstype: &str) -> bool {
    fstype == "ext2"
}

/// Returns the root mounted over `node`, or `node` itself; of mounts stacked on one
/// directory (each over the root of the one before), the top one.
pub fn cross(node: Arc<Node>) -> Arc<Node> {
    let ns = table();
    let mounts = ns.lock();
    let mut current = node;
    // A mount over its own point (devtmpfs on /dev) ends the climb; so does the table's end.
    for _ in 0..=mounts.len() {
        match mounts.iter().rev().find(|m| Arc::ptr_eq(&m.point, &current)) {
            Some(m) if !Arc::ptr_eq(&m.root, &current) => current = m.root.clone(),
            _ => break,
        }
    }
    current
}

/// Returns the mountpoint of a mounted root.
pub fn mountpoint_of(root: &Arc<Node>) -> Option<Arc<Node>> {
    table().lock().iter().rev().find(|m| Arc::ptr_eq(&m.root, root)).map(|m| m.point.clone())
}

/// Whether `node` is the root of a mounted filesystem (which has no parent to report
/// inotify events to, as a Linux mount's root dentry has none).
pub fn is_mount_root(node: &Node) -> bool {
    table().lock().iter().any(|m| core::ptr::eq(Arc::as_ptr(&m.root), node))
}

/// Returns the table.
pub fn list() -> Vec<Mount> {
    table().lock().clone()
}

/// Mounts a new filesystem of type `fstype` on the directory `dir` with default flags.
pub fn mount_new(dir: Arc<Node>, fstype: &str, source: &str, target: &str) -> SysResult<()> {
    mount_new_with(dir, fstype, source, target, MountFlags::default(), "")
}

/// Mounts a new filesystem of type `fstype` on the directory `dir` (mount(2) without
/// MS_REMOUNT or MS_BIND), with `flags` and the filesystem options `data`: devtmpfs fills
/// `dir` with the device nodes; tmpfs and ramfs are fresh in-memory trees. Other
/// filesystems do not exist yet (ENODEV).
pub fn mount_new_with(
    dir: Arc<Node>,
    fstype: &str,
    source: &str,
    target: &str,
    flags: MountFlags,
    data: &str,
) -> SysResult<()> {
    let mut tmpfs = None;
    let root = match fstype {
        "devtmpfs" => {
            super::devfs::populate_dir(&dir)?;
            dir.clone()
        }
        "sysfs" => super::sysfs::new_root(),
        "devpts" => crate::tty::pty::devpts_root(),
        "tmpfs" => {
            let instance = Tmpfs::new(data)?;
            let root = instance.new_root()?;
            tmpfs = Some(instance);
            root
        }
        "ramfs" => Node::new_dir(0o755),
        other => {
            let registered = REGISTERED
                .lock()
                .iter()
                .find(|(name, _)| *name == other)
                .map(|&(_, new_root)| new_root);
            registered.ok_or(Errno::ENODEV)?()
        }
    };
    attach(dir, root, fstype, source, target, flags, tmpfs);
    Ok(())
}
