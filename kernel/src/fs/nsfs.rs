//! nsfs: the files that name a namespace (Linux's fs/nsfs.c).
//!
//! Opening `/proc/PID/ns/uts` gives an [`NsFile`]: it keeps the namespace alive, `fstat`
//! shows the namespace's inode number (the one in the link text `uts:[4026531838]`), and
//! setns(2) and the `ioctl_ns` queries take it. The namespaces themselves belong to the
//! subsystems they divide (UTS and PID names to `process`, IPC objects to `ipc`, the mount
//! table to `fs::mount`); this file knows them only as a [`NsType`], an inode number and an
//! opaque handle the owner downcasts.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use super::file::{FileLike, OpenFlags, Stat};
use super::generated::Generated;
use super::node::{Node, NodeKind};

/// The kinds of namespace, with the clone flag that makes each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsType {
    /// Mount table (CLONE_NEWNS).
    Mnt,
    /// Host and domain name (CLONE_NEWUTS).
    Uts,
    /// System V IPC objects and POSIX message queues (CLONE_NEWIPC).
    Ipc,
    /// Process IDs (CLONE_NEWPID).
    Pid,
    /// Network stack (CLONE_NEWNET).
    Net,
    /// User and group IDs (CLONE_NEWUSER).
    User,
    /// Cgroup root (CLONE_NEWCGROUP).
    Cgroup,
    /// Clock offsets (CLONE_NEWTIME).
    Time,
}

impl NsType {
    /// Every kind, in the order /proc/PID/ns lists them on Linux.
    pub const ALL: [NsType; 8] = [
        NsType::Cgroup,
        NsType::Ipc,
        NsType::Mnt,
        NsType::Net,
        NsType::Pid,
        NsType::Time,
        NsType::User,
        NsType::Uts,
    ];

    /// The CLONE_NEW* flag (what NS_GET_NSTYPE answers and setns's second argument names).
    pub const fn clone_flag(self) -> u64 {
        match self {
            NsType::Mnt => 0x0002_0000,
            NsType::Uts => 0x0400_0000,
            NsType::Ipc => 0x0800_0000,
            NsType::Pid => 0x2000_0000,
            NsType::Net => 0x4000_0000,
            NsType::User => 0x1000_0000,
            NsType::Cgroup => 0x0200_0000,
            NsType::Time => 0x80,
        }
    }

    /// The name in /proc/PID/ns and in the link text.
    pub const fn name(self) -> &'static str {
        match self {
            NsType::Mnt => "mnt",
            NsType::Uts => "uts",
            NsType::Ipc => "ipc",
            NsType::Pid => "pid",
            NsType::Net => "net",
            NsType::User => "user",
            NsType::Cgroup => "cgroup",
            NsType::Time => "time",
        }
    }

    /// The inode number of the namespace of this kind the machine starts with: Linux's
    /// fixed PROC_*_INIT_INO for those that have one, an early allocation for the others.
    pub const fn initial_inum(self) -> u64 {
        match self {
            NsType::Ipc => 0xEFFF_FFFF,
            NsType::Uts => 0xEFFF_FFFE,
            NsType::User => 0xEFFF_FFFD,
            NsType::Pid => 0xEFFF_FFFC,
            NsType::Cgroup => 0xEFFF_FFFB,
            NsType::Time => 0xEFFF_FFFA,
            NsType::Net => 0xF000_0000,
            NsType::Mnt => 0xF000_0001,
        }
    }
}

/// Inode numbers for namespaces made after boot. Linux draws them from the proc inode
/// allocator, above the initial ones.
static NEXT_INUM: AtomicU64 = AtomicU64::new(0xF000_00FF);

/// A fresh namespace inode number.
pub fn alloc_inum() -> u64 {
    NEXT_INUM.fetch_add(1, Ordering::Relaxed)
}

/// The device numbers nsfs files show (Linux's nsfs is an anonymous block device; 0:4 on
/// Debian's 6.1).
const NSFS_DEV: u64 = 4;

/// An open namespace file.
pub struct NsFile {
    ty: NsType,
    inum: u64,
    namespace: Arc<dyn Any + Send + Sync>,
    /// The inode stat(2) finds through the /proc link: numbered as the namespace.
    node: Arc<Node>,
}

/// The contents of an nsfs inode: none (read is EINVAL on the file).
struct NoContents;

impl Generated for NoContents {}

impl NsFile {
    /// A file naming `namespace`, a namespace of kind `ty` numbered `inum`.
    pub fn new(ty: NsType, inum: u64, namespace: Arc<dyn Any + Send + Sync>) -> Arc<Self> {
        let node = Node::new_generated(NodeKind::File, 0o444, inum, NoContents);
        Arc::new(Self { ty, inum, namespace, node })
    }

    /// The kind of namespace.
    pub fn ns_type(&self) -> NsType {
        self.ty
    }

    /// The namespace's inode number.
    pub fn inum(&self) -> u64 {
        self.inum
    }

    /// The namespace, for its owner to downcast.
    pub fn namespace(&self) -> Arc<dyn Any + Send + Sync> {
        self.namespace.clone()
    }
}

/// The link text `/proc/PID/ns/NAME` reads as.
pub fn link_text(ty: NsType, inum: u64) -> String {
    format!("{}:[{inum}]", ty.name())
}

/// The namespace file behind `file`, if it is one.
pub fn ns_file_of(file: &dyn FileLike) -> Option<&NsFile> {
    file.as_any()?.downcast_ref::<NsFile>()
}

impl FileLike for NsFile {
    fn stat(&self) -> Stat {
        Stat {
            mode: 0o100444,
            nlink: 1,
            blksize: 4096,
            ino: self.inum,
            dev: NSFS_DEV,
            ..Stat::default()
        }
    }

    fn flags(&self) -> OpenFlags {
        OpenFlags::empty()
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
