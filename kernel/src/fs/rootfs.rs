//! The root filesystem from a disk, as Linux chooses it: `root=/dev/vda` (with
//! `rootfstype=ext2`, and `ro` or `rw`) when the initramfs has no init of its own.
//!
//! Linux unpacks the initramfs first and runs its `/init` (or `rdinit=`) if there is one;
//! that program is then in charge of finding the real root. Only without one does the kernel
//! mount `root=` itself, read-only unless the command line says `rw`, with the in-memory
//! `/dev` (devtmpfs) mounted over the disk's `/dev`, and run `init=` or the first of
//! `/sbin/init`, `/etc/init`, `/bin/init`, `/bin/sh` from it.

use alloc::string::{String, ToString};
use alloc::sync::Arc;

use super::node::{Node, NodeKind};
use super::path::{self, Start};
use crate::error::{Errno, SysResult};

/// What the command line asks for as the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSpec {
    /// The block device, e.g. `/dev/vda`.
    pub device: String,
    /// The filesystem type (`ext2` when not given).
    pub fstype: String,
    /// Mount read-only (Linux's default; `rw` turns it off).
    pub read_only: bool,
    /// The disk's hash tree, from `verity.root=` and its companions (or why they are
    /// malformed): the root is then read through [`crate::block::verity::VerityDisk`].
    pub verity: Option<Result<guest_image::verity::VerityParams, &'static str>>,
}

impl RootSpec {
    /// Reads `root=`, `rootfstype=`, `ro` and `rw` from the command line; `None` without
    /// `root=`.
    pub fn from_cmdline(cmdline: &ostd::boot::Cmdline) -> Option<Self> {
        let device = cmdline.value("root")?;
        let mut read_only = true;
        for arg in cmdline.args() {
            match (arg.key, arg.value) {
                ("ro", None) => read_only = true,
                ("rw", None) => read_only = false,
                _ => {}
            }
        }
        Some(Self {
            device: String::from(device),
            fstype: String::from(cmdline.value("rootfstype").unwrap_or("ext2")),
            read_only,
            verity: crate::block::verity::params_from_cmdline(cmdline),
        })
    }
}

/// The init programs Linux tries on a root it mounted itself, in order.
pub const ROOT_INITS: [&str; 4] = ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"];

/// Mounts the root filesystem `spec` names over the in-memory root (whose `/dev` is already
/// populated), mounts that `/dev` over the disk's, and returns the disk's root directory:
/// init's root and working directory.
///
/// # Errors
/// ENOENT if the device does not exist (no such disk was found), ENOTBLK if it is not a
/// block device, and the mount's own errors (EINVAL: not a filesystem of that type).
pub fn mount_root(spec: &RootSpec) -> SysResult<Arc<Node>> {
    let memory_root = super::root();
    let start = Start::kernel(&memory_root);
    let mut device = path::resolve(&start, &spec.device, true)?;
    let mut device_name = spec.device.clone();
    if let Some(verity) = &spec.verity {
        (device, device_name) = verified(&memory_root, &device, verity, spec)?;
    }
    // Measured boot, event 3: the disk's identity, read before anything on it is used.
    let volume = volume_identity(&device)?;
    crate::attest::measure::root(&crate::attest::measure::disk_identity(
        &spec.fstype,
        &device_name,
        spec.read_only,
        &volume,
    ));
    super::mount::mount_disk(
        memory_root.clone(),
        &spec.fstype,
        &device,
        super::mount_flags::MountFlags { read_only: spec.read_only, ..Default::default() },
        &device_name,
        "/",
    )?;
    let root = super::mount::cross(memory_root.clone());
    match (root.lookup("dev"), memory_root.lookup("dev")) {
        (Ok(disk_dev), Ok(devices)) if disk_dev.kind() == NodeKind::Dir => {
            super::mount::mount(disk_dev, devices, "devtmpfs", "devtmpfs", "/dev");
        }
        _ => log::warn!("root: {} has no /dev directory; devtmpfs is not mounted", spec.device),
    }
    Ok(root)
}

/// Puts `device` under its hash tree: registers the checked disk (`dm-0`) and returns its
/// node in `/dev` and its path. The root must be read-only.
fn verified(
    memory_root: &Arc<Node>,
    device: &Arc<Node>,
    params: &Result<guest_image::verity::VerityParams, &'static str>,
    spec: &RootSpec,
) -> SysResult<(Arc<Node>, String)> {
    let params = params.as_ref().map_err(|what| {
        log::error!("root: bad {what}");
        Errno::EINVAL
    })?;
    if !spec.read_only {
        log::error!("root: a disk under verity.root= is read-only; drop `rw`");
        return Err(Errno::EROFS);
    }
    let NodeKind::BlockDev(rdev) = device.kind() else { return Err(Errno::ENOTBLK) };
    let inner = crate::block::by_rdev(rdev).ok_or(Errno::ENXIO)?;
    let checked = crate::block::verity::VerityDisk::new(inner, params.clone())?;
    let (name, _) = crate::block::register_mapped(Arc::new(checked));
    super::devfs::populate(memory_root)?;
    let node = memory_root.lookup("dev")?.lookup(&name)?;
    log::info!("root: {} checked against its hash tree as /dev/{name}", spec.device);
    Ok((node, alloc::format!("/dev/{name}")))
}

/// Reads the superblock of the disk behind `device` and returns its UUID and label as text;
/// errors as mounting would report them.
fn volume_identity(device: &Node) -> SysResult<String> {
    use ext2::superblock::{Geometry, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, VolumeIdentity};
    let NodeKind::BlockDev(rdev) = device.kind() else { return Err(Errno::ENOTBLK) };
    let disk = crate::block::by_rdev(rdev).ok_or(Errno::ENXIO)?;
    // Whole device blocks around the superblock (at byte 1024, 1024 long).
    let block = disk.logical_block_size() as u64;
    let start = SUPERBLOCK_OFFSET / block * block;
    let end = (SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64).div_ceil(block) * block;
    let mut bytes = alloc::vec![0u8; (end - start) as usize];
    disk.read(start / crate::block::SECTOR_SIZE as u64, &mut bytes)?;
    let at = (SUPERBLOCK_OFFSET - start) as usize;
    let sb: &[u8; SUPERBLOCK_SIZE] =
        bytes.get(at..at + SUPERBLOCK_SIZE).and_then(|b| b.try_into().ok()).ok_or(Errno::EIO)?;
    Geometry::parse(sb, disk.sectors() * crate::block::SECTOR_SIZE as u64)
        .map_err(|_| Errno::EINVAL)?;
    Ok(VolumeIdentity::of(sb).to_string())
}

/// Explains a failed root mount the way Linux's "VFS: Cannot open root device" does.
pub fn explain(spec: &RootSpec, e: Errno) -> String {
    let why = match e {
        Errno::EINVAL | Errno::EROFS if spec.verity.is_some() => {
            "its hash tree cannot be used (verity.* on the command line; the log says which)"
        }
        Errno::ENOENT | Errno::ENXIO => "no such device (is the disk attached?)",
        Errno::ENOTBLK => "not a block device",
        Errno::ENODEV => "unknown filesystem type (only ext2 can be a root here)",
        Errno::EINVAL => "no valid filesystem of that type on it",
        _ => "the device failed",
    };
    alloc::format!(
        "cannot mount root {} ({}, {}): {why} ({e:?})",
        spec.device,
        spec.fstype,
        if spec.read_only { "ro" } else { "rw" }
    )
}
