//! The virtual filesystem.
//!
//! - [`node`]: the in-memory inode tree (ramfs): files, directories, symlinks, device
//!   nodes and FIFOs, with Unix metadata.
//! - [`path`]: path resolution: `.`/`..`, symlinks with a loop limit, `*at` directory fds.
//! - [`file`]: open files ([`FileLike`]): regular files, directories, devices, pipes, the tty.
//! - [`fd_table`]: per-process descriptor tables.
//! - [`devfs`], [`pipe`]: the special files.
//! - [`open`], [`entries`], [`attr`], [`perm`]: opening paths; creating, linking, removing
//!   and renaming entries; changing attributes; and who may do each.
//! - [`async_owner`]: the owner F_SETOWN names for an open file.
//! - [`flock`], [`record_lock`], [`lease`]: advisory locks and leases on files.
//! - [`handle`]: file handles (name_to_handle_at/open_by_handle_at) for tmpfs and ext2.
//! - [`notify`]: inotify; the operations above tell it what happened.
//! - [`stat`], [`copy`]: the statx/statfs records; copying between open files.
//! - [`initramfs`]: unpacks the boot loader's gzip'd cpio into the root.

pub mod async_owner;
pub mod attr;
pub mod copy;
pub mod cpio;
pub mod devfs;
pub mod direct_reads;
pub mod disk;
pub mod entries;
pub mod epoll;
pub mod epoll_ready;
pub mod eventfd;
pub mod ext2;
pub mod fd_table;
pub mod file;
pub mod flock;
pub mod generated;
pub mod handle;
pub mod initramfs;
pub mod lease;
pub mod mount;
pub mod mount_busy;
pub mod mount_flags;
pub mod mount_ns;
pub mod mount_show;
pub mod node;
pub mod notify;
pub mod nsfs;
pub mod open;
pub mod page_cache;
pub mod path;
pub mod perm;
pub mod pipe;
pub mod poll;
pub mod record_lock;
pub mod rootfs;
pub mod stat;
pub mod sysfs;
pub mod timerfd;
pub mod tmpfs;
pub mod xattr;

pub use fd_table::FdTable;
pub use file::{FileLike, OpenFlags};
pub use node::{Node, NodeKind};

use alloc::sync::Arc;
use spin::Once;

static ROOT: Once<Arc<Node>> = Once::new();

/// Returns the root directory.
pub fn root() -> Arc<Node> {
    ROOT.call_once(|| Node::new_dir(0o755)).clone()
}
