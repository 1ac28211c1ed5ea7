//! Whether a mount is in use, for umount(2)'s EBUSY.
//!
//! Linux counts the references to each mount (mnt_count: open files, working and root
//! directories, mappings, mounts below). Here each kind of filesystem answers in its own
//! way: a disk by the inodes it has in use, a tmpfs by the nodes of its tree that someone
//! else holds. Generated filesystems (proc, sysfs, devpts, configfs) and the other in-memory
//! ones keep no tree to look through, so for them the processes are asked what they hold
//! ([`set_holders_hook`]).

use alloc::sync::Arc;

use super::mount_ns::mounted_anywhere;
use super::node::Node;

/// Whether any process holds a node that the predicate picks (the process layer answers).
type Holders = fn(&dyn Fn(&Node) -> bool) -> bool;

static HOLDERS_HOOK: spin::Once<Holders> = spin::Once::new();

/// Lets the process layer answer which nodes processes hold: open files, working and root
/// directories, programs and mapped files (fs does not import the layers above it).
pub fn set_holders_hook(hook: Holders) {
    HOLDERS_HOOK.call_once(|| hook);
}

/// The mount a busy check is asked of.
pub(super) struct Target<'a> {
    /// Its mount ID.
    pub id: u32,
    /// Its root.
    pub root: &'a Arc<Node>,
    /// Whether it shows a whole tmpfs (not a bind mount of a part of one).
    pub whole_tmpfs: bool,
}

/// Whether unmounting `target` must be refused with EBUSY: mounts sit below it, or files on
/// it are in use. A filesystem also mounted elsewhere is in use through the other mount as
/// much as through this one, and the two are not told apart: only the mounts below count.
pub(super) fn in_use(target: &Target, has_mounts_below: bool) -> bool {
    if has_mounts_below {
        return true;
    }
    if mounted_anywhere(target.root) != 1 {
        return false;
    }
    let root = target.root;
    if let Some(disk) = root.disk() {
        return disk.mount().busy(root);
    }
    if target.whole_tmpfs {
        return super::tmpfs::tree_in_use(root);
    }
    let id = target.id;
    HOLDERS_HOOK.get().is_some_and(|holders| {
        holders(&|node| super::mount::mount_of(node).is_some_and(|m| m.id == id))
    })
}
