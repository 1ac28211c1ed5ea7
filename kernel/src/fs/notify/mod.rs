//! inotify: watching files and directories for changes (inotify(7)), as Linux 6.1 does it.
//!
//! - [`event`]: the event bits and the `struct inotify_event` records read(2) returns.
//! - [`limits`]: the three tunables of /proc/sys/fs/inotify and what each user is charged.
//! - [`queue`]: an instance's event queue: coalescing, overflow, reading.
//! - [`watches`]: which instance watches which node, under one lock; delivery to them.
//! - [`inotify`]: the instance as an open file, and inotify_init/add_watch/rm_watch.
//! - [`dnotify`]: fcntl(F_NOTIFY)'s signals for changes in a directory, fed by the same
//!   delivery.
//! - [`vfs`]: what the VFS calls when an operation happens (a file was written, an entry
//!   created, renamed, removed...). Each call returns at once while nothing is watched.
//!
//! A watch holds its node (Linux pins the inode), so the node's address identifies it for
//! as long as the watch exists.

pub mod dnotify;
pub mod event;
pub mod inotify;
pub mod limits;
mod queue;
pub mod vfs;
mod watches;

pub use inotify::Inotify;
