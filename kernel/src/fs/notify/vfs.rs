//! What the VFS tells inotify, and which events each operation sends to whom, as Linux
//! 6.1's `include/linux/fsnotify.h` does.
//!
//! An event about a node goes to the node's own watches and, if it is one that directories
//! hear about their entries (read, write, attributes, open, close), to the watches of its
//! directory with its name, the directory's first. Events about entries (created, removed,
//! moved) go to the directory's watches. A node is gone (IN_DELETE_SELF, then IN_IGNORED
//! on every watch) once it has no links and no open file: at the unlink, or at the last
//! close after it.
//!
//! Every function returns at once while no node is watched: the common case costs one
//! atomic load.
//!
//! Differences from Linux:
//! - A file's directory is the one it was last linked into or looked up in (Linux uses the
//!   dentry the caller went through, which differs only for a file with hard links in
//!   several directories).
//! - Reads and writes are reported by the open file, once per piece the syscall layer
//!   moves: a transfer over 64 KiB, or over several iovecs, sends one event per piece. In
//!   one queue consecutive identical events merge, as on Linux, but a file watched with
//!   its directory alternates two events that do not. sendfile, copy_file_range and splice
//!   report each piece's read then its write; Linux reports the writes, then one read.
//! - exec and mmap send nothing (Linux: IN_OPEN and IN_CLOSE_NOWRITE for exec).

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use super::event::{
    IN_ACCESS, IN_ATTRIB, IN_CLOSE_NOWRITE, IN_CLOSE_WRITE, IN_CREATE, IN_DELETE, IN_ISDIR,
    IN_MODIFY, IN_MOVE_SELF, IN_MOVED_FROM, IN_MOVED_TO, IN_OPEN,
};
use super::watches::{self, Subject};
use crate::fs::{Node, NodeKind};

/// The last rename cookie handed out (Linux's `fsnotify_sync_cookie`).
static COOKIE: AtomicU32 = AtomicU32::new(0);

fn is_dir_bit(node: &Node) -> u32 {
    if node.kind() == NodeKind::Dir { IN_ISDIR } else { 0 }
}

/// The node has no links left (for a directory: it was removed).
fn unlinked(node: &Node) -> bool {
    node.metadata().nlink == 0 || node.disk().is_some_and(|d| d.is_removed())
}

/// The directory holding `node` and its name there, if that directory is watched.
fn watched_parent(node: &Node) -> Option<(Arc<Node>, String)> {
    let parent = node.linked_parent()?;
    if core::ptr::eq(Arc::as_ptr(&parent), node) || crate::fs::mount::is_mount_root(node) {
        return None;
    }
    if !watches::is_watched(&parent) {
        return None;
    }
    let name = parent.name_of(node).or_else(|| watches::detached_name(node))?;
    Some((parent, name))
}

/// Sends `mask` to the node's directory (named) and to the node. `through_file` marks
/// the events of an open file (open, read, write, close), which IN_EXCL_UNLINK silences
/// once the node is unlinked.
fn to_node_and_directory(node: &Node, mask: u32, through_file: bool) {
    if !watches::any() {
        return;
    }
    let parent = watched_parent(node);
    let subject = Subject {
        node,
        parent: parent.as_ref().map(|(dir, name)| (&**dir, name.as_str())),
        unlinked: through_file && unlinked(node),
    };
    watches::deliver(&subject, mask | is_dir_bit(node), 0);
}

/// Sends `mask` to the node's own watches only.
fn to_node(node: &Node, mask: u32) {
    watches::deliver(&Subject { node, parent: None, unlinked: false }, mask, 0);
}

/// Ends the node's watches if it is gone: no links and no open file.
fn end_if_gone(node: &Node) {
    if unlinked(node) && !node.is_open() {
        watches::node_gone(node);
    }
}

/// File data was read (read, pread, readv, sendfile...) or a directory listed.
pub fn accessed(node: &Node) {
    to_node_and_directory(node, IN_ACCESS, true);
}

/// File data was written.
pub fn modified(node: &Node) {
    to_node_and_directory(node, IN_MODIFY, true);
}

/// The file's size was set (truncate, ftruncate, open with O_TRUNC, fallocate).
pub fn truncated(node: &Node) {
    to_node_and_directory(node, IN_MODIFY, false);
}

/// Mode, owner or extended attributes changed.
pub fn attributes_changed(node: &Node) {
    to_node_and_directory(node, IN_ATTRIB, false);
}

/// Times were set (utimensat): both is IN_ATTRIB, the access time alone IN_ACCESS, the
/// modification time alone IN_MODIFY, neither nothing.
pub fn times_set(node: &Node, atime: bool, mtime: bool) {
    let mask = match (atime, mtime) {
        (true, true) => IN_ATTRIB,
        (true, false) => IN_ACCESS,
        (false, true) => IN_MODIFY,
        (false, false) => return,
    };
    to_node_and_directory(node, mask, false);
}

/// The node was opened.
pub fn opened(node: &Node) {
    to_node_and_directory(node, IN_OPEN, true);
}

/// An open file of the node was closed; `wrote` if it was open for writing.
pub fn closed(node: &Node, wrote: bool) {
    to_node_and_directory(node, if wrote { IN_CLOSE_WRITE } else { IN_CLOSE_NOWRITE }, true);
}

/// An open file description of the node ended (after [`Node::note_closed`]): the node is
/// gone if it has no links left and that was its last.
pub fn released(node: &Node) {
    if watches::any() {
        end_if_gone(node);
    }
}

/// The filesystem whose root is `root` was unmounted: watches on its nodes end with
/// IN_UNMOUNT and IN_IGNORED.
pub fn unmounted(root: &Node) {
    if !watches::any() {
        return;
    }
    match root.disk() {
        Some(disk) => watches::unmounted(|node| {
            node.disk().is_some_and(|d| Arc::ptr_eq(d.mount(), disk.mount()))
        }),
        None => watches::unmounted(|node| is_below(node, root)),
    }
}

/// Whether `node` is `root` or below it, by its recorded parents.
fn is_below(node: &Node, root: &Node) -> bool {
    let mut at = None::<Arc<Node>>;
    for _ in 0..crate::fs::path::PATH_MAX {
        let current = at.as_deref().unwrap_or(node);
        if core::ptr::eq(current, root) {
            return true;
        }
        match current.linked_parent() {
            Some(parent) if !core::ptr::eq(Arc::as_ptr(&parent), current) => at = Some(parent),
            _ => return false,
        }
    }
    false
}

/// How many references to `node` the watch table holds (an unmount ignores them).
pub fn watch_references(node: &Node) -> usize {
    usize::from(watches::is_watched(node))
}

/// Whether an unmount may ignore this reference to `node`: only watches hold it otherwise.
pub fn only_watched(node: &Arc<Node>) -> bool {
    watches::any() && watches::holds_only(node)
}

/// `node` was created as `dir/name` (creat, mkdir, mknod, symlink, bind).
pub fn created(dir: &Node, name: &str, node: &Node) {
    if watches::any() {
        watches::deliver_named(dir, IN_CREATE | is_dir_bit(node), 0, name);
    }
}

/// `node` got another link, `dir/name`.
pub fn linked(dir: &Node, name: &str, node: &Node) {
    if watches::any() {
        to_node(node, IN_ATTRIB);
        watches::deliver_named(dir, IN_CREATE, 0, name);
    }
}

/// The entry `dir/name` of `node` was removed (unlink, rmdir).
pub fn removed(dir: &Node, name: &str, node: &Arc<Node>) {
    if !watches::any() {
        return;
    }
    if node.kind() != NodeKind::Dir {
        to_node(node, IN_ATTRIB);
    }
    leave_entry(dir, name, node);
    watches::deliver_named(dir, IN_DELETE | is_dir_bit(node), 0, name);
}

/// `node` has lost its entry `dir/name`: it is gone if that was its last link and it is
/// not open; if it is open, events on it still reach `dir` under that name.
fn leave_entry(dir: &Node, name: &str, node: &Arc<Node>) {
    if node.is_open() && watches::is_watched(dir) {
        watches::remember_detached_name(node, name);
    }
    end_if_gone(node);
}

/// `node` moved from `old_dir/old_name` to `new_dir/new_name`, replacing `replaced`.
pub fn renamed(old: (&Node, &str), new: (&Node, &str), node: &Node, replaced: Option<&Arc<Node>>) {
    if !watches::any() {
        return;
    }
    // Linux 6.1 first reports FS_RENAME to the old directory, which only dnotify hears
    // (as a DN_RENAME of its own).
    super::dnotify::event(old.0, IN_MOVED_FROM);
    let cookie = next_cookie();
    let dir_bit = is_dir_bit(node);
    watches::deliver_named(old.0, IN_MOVED_FROM | dir_bit, cookie, old.1);
    watches::deliver_named(new.0, IN_MOVED_TO | dir_bit, cookie, new.1);
    if let Some(r) = replaced {
        to_node(r, IN_ATTRIB | is_dir_bit(r));
    }
    to_node(node, IN_MOVE_SELF);
    if let Some(r) = replaced {
        leave_entry(new.0, new.1, r);
    }
}

fn next_cookie() -> u32 {
    let cookie = COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    if cookie == 0 { COOKIE.fetch_add(1, Ordering::Relaxed).wrapping_add(1) } else { cookie }
}
