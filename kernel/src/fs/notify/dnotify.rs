//! dnotify: `fcntl(fd, F_NOTIFY, mask)` on a directory, Linux's older change notification.
//! When something in the directory happens that the mask names, the descriptor's owner
//! (set to the caller's process by F_NOTIFY, changeable with F_SETOWN) gets a signal: SIGIO,
//! or F_SETSIG's signal with `si_code` POLL_MSG and the descriptor in `si_fd`. Without
//! DN_MULTISHOT a registration fires once; the owner's close of the descriptor ends it.
//!
//! The events come from the same VFS hooks as inotify's, through the watch table's
//! delivery to a node's directory ([`super::watches`]).

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::event::{
    IN_ACCESS, IN_ATTRIB, IN_CREATE, IN_DELETE, IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO,
};
use crate::error::{Errno, SysResult};
use crate::fs::async_owner::{self, OwnerKind};
use crate::fs::{FileLike, Node, NodeKind};
use crate::process::Pid;

const DN_ACCESS: u32 = 0x01;
const DN_MODIFY: u32 = 0x02;
const DN_CREATE: u32 = 0x04;
const DN_DELETE: u32 = 0x08;
const DN_RENAME: u32 = 0x10;
const DN_ATTRIB: u32 = 0x20;
const DN_MULTISHOT: u32 = 0x8000_0000;

/// One directory descriptor's request.
struct Registration {
    file: Weak<dyn FileLike>,
    /// The process that asked: its close of the descriptor ends the request.
    asker: Pid,
    fd: i32,
    mask: u32,
}

impl Registration {
    fn is(&self, file: &Arc<dyn FileLike>, asker: Pid) -> bool {
        self.asker == asker && core::ptr::addr_eq(self.file.as_ptr(), Arc::as_ptr(file))
    }
}

/// Requests by directory (the node's address: a live registration's file holds the node).
static DIRS: SpinLock<BTreeMap<usize, Vec<Registration>>> = SpinLock::new(BTreeMap::new());
/// How many requests exist: while 0, the VFS hooks need not look.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn node_id(node: &Node) -> usize {
    node as *const Node as usize
}

/// Whether any directory has a request.
pub(super) fn any() -> bool {
    COUNT.load(Ordering::Relaxed) != 0
}

/// Whether `dir` has a request.
pub(super) fn registered(dir: &Node) -> bool {
    any() && DIRS.lock().contains_key(&node_id(dir))
}

fn recount(dirs: &BTreeMap<usize, Vec<Registration>>) {
    COUNT.store(dirs.values().map(Vec::len).sum(), Ordering::Relaxed);
}

/// F_NOTIFY: `mask` (DN_* bits) for the directory open as `file` (descriptor `fd`) of
/// process `asker`, added to its earlier request (Linux's attach_dn ORs them); a mask of
/// nothing but DN_MULTISHOT ends it. ENOTDIR for anything but a directory, as Linux's
/// fcntl_dirnotify.
pub fn request(file: &Arc<dyn FileLike>, fd: i32, asker: Pid, mask: u32) -> SysResult<()> {
    let dir = file.node().filter(|n| n.kind() == NodeKind::Dir).ok_or(Errno::ENOTDIR)?;
    if mask & !DN_MULTISHOT == 0 {
        flush(file, asker);
        return Ok(());
    }
    // The caller's process becomes the descriptor's owner (Linux's __f_setown).
    async_owner::update(file, |o| (o.kind, o.id) = (OwnerKind::Process, asker));
    let mut dirs = DIRS.lock();
    let list = dirs.entry(node_id(dir)).or_default();
    list.retain(|r| r.file.strong_count() > 0);
    match list.iter_mut().find(|r| r.is(file, asker)) {
        Some(r) => {
            r.fd = fd;
            r.mask |= mask;
        }
        None => list.push(Registration { file: Arc::downgrade(file), asker, fd, mask }),
    }
    recount(&dirs);
    Ok(())
}

/// The descriptor of `file` was closed by `closer`: its requests end (Linux's
/// dnotify_flush).
pub fn flush(file: &Arc<dyn FileLike>, closer: Pid) {
    if !any() {
        return;
    }
    let mut dirs = DIRS.lock();
    for list in dirs.values_mut() {
        list.retain(|r| !r.is(file, closer) && r.file.strong_count() > 0);
    }
    dirs.retain(|_, list| !list.is_empty());
    recount(&dirs);
}

/// The DN_* bits an inotify event on an entry of a directory stands for.
fn dn_bits(mask: u32) -> u32 {
    let map = [
        (IN_ACCESS, DN_ACCESS),
        (IN_MODIFY, DN_MODIFY),
        (IN_CREATE, DN_CREATE),
        (IN_DELETE, DN_DELETE),
        (IN_MOVED_FROM | IN_MOVED_TO, DN_RENAME),
        (IN_ATTRIB, DN_ATTRIB),
    ];
    map.iter().filter(|(i, _)| mask & i != 0).fold(0, |acc, (_, d)| acc | d)
}

/// Something happened in directory `dir` (`mask`: inotify's bits for it): each request
/// that asks for it signals its descriptor's owner; one without DN_MULTISHOT ends.
pub(super) fn event(dir: &Node, mask: u32) {
    let bits = dn_bits(mask);
    if bits == 0 || !any() {
        return;
    }
    let mut fired: Vec<(Arc<dyn FileLike>, i32)> = Vec::new();
    {
        let mut dirs = DIRS.lock();
        let Some(list) = dirs.get_mut(&node_id(dir)) else { return };
        list.retain(|r| {
            let Some(file) = r.file.upgrade() else { return false };
            if r.mask & bits == 0 {
                return true;
            }
            fired.push((file, r.fd));
            r.mask & DN_MULTISHOT != 0
        });
        if list.is_empty() {
            dirs.remove(&node_id(dir));
        }
        recount(&dirs);
    }
    for (file, fd) in fired {
        async_owner::send_message_signal(&file, fd);
    }
}
