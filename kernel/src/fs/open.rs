//! Opening a path: creating it if asked, the checks open(2) makes, and the file that the
//! node's kind calls for.

use alloc::sync::Arc;

use super::file::NodeFile;
use super::notify::vfs as notify;
use super::path::{self, Start};
use super::perm::{Caller, MAY_READ, MAY_WRITE, check_access, check_dir_write, set_owner};
use super::{FileLike, Node, NodeKind, OpenFlags, devfs, pipe};
use crate::error::{Errno, SysResult};

/// Opens a node as a file.
pub fn open_node(node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    match node.kind() {
        NodeKind::CharDev(rdev) if !flags.contains(OpenFlags::PATH) => {
            devfs::open(rdev, node, flags)
        }
        NodeKind::BlockDev(rdev) if !flags.contains(OpenFlags::PATH) => {
            let device = crate::block::by_rdev(rdev).ok_or(Errno::ENXIO)?;
            Ok(Arc::new(crate::block::file::BlockFile::new(device, node, flags)))
        }
        NodeKind::Fifo if !flags.contains(OpenFlags::PATH) => {
            pipe::open_fifo(node.metadata().ino, flags)
        }
        NodeKind::Socket if !flags.contains(OpenFlags::PATH) => Err(Errno::ENXIO),
        _ => {
            let file = Arc::new(NodeFile::new(node.clone(), flags));
            if !flags.contains(OpenFlags::PATH) {
                notify::opened(&node);
            }
            Ok(file)
        }
    }
}

/// Opens `path` with `flags` (open(2) without O_TMPFILE), creating a regular file with
/// `mode` less the umask under O_CREAT.
pub fn open_path(
    caller: &dyn Caller,
    start: &Start,
    path: &str,
    flags: OpenFlags,
    mode: u64,
) -> SysResult<Arc<dyn FileLike>> {
    let follow = !flags.contains(OpenFlags::NOFOLLOW);
    // /proc/[pid]/fd/N (and /dev/fd/N through it) opens the file itself, like Linux's magic links.
    if follow
        && let Some(file) = path::resolve(start, path, false).ok().and_then(|n| n.magic_file())
    {
        if start.scope.contains(path::Scope::NO_SYMLINKS) {
            return Err(Errno::ELOOP);
        }
        if let Some(refused) = start.scope.refuses_magic_link() {
            return Err(refused);
        }
        return Ok(file);
    }
    let node = if flags.contains(OpenFlags::CREAT) {
        let (dir, name) = path::resolve_parent(start, path)
            .map_err(|e| if e == Errno::EEXIST { Errno::EISDIR } else { e })?;
        match dir.lookup(&name) {
            Ok(_) if flags.contains(OpenFlags::EXCL) => return Err(Errno::EEXIST),
            Ok(existing) if existing.kind() == NodeKind::Symlink && follow => {
                path::resolve(start, path, true)?
            }
            Ok(existing) => existing,
            Err(Errno::ENOENT) => {
                if path.ends_with('/') {
                    return Err(Errno::EISDIR);
                }
                super::mount::require_writable(&dir)?;
                check_dir_write(caller, &dir)?;
                let umask = caller.umask();
                let node =
                    dir.create(&name, NodeKind::File, (mode as u32) & 0o7777 & !umask, "")?;
                set_owner(caller, &dir, &node);
                notify::created(&dir, &name, &node);
                // A file the caller just created opens with the access it asked for,
                // whatever mode it was given (as on Linux).
                return open_node(node, flags);
            }
            Err(e) => return Err(e),
        }
    } else {
        path::resolve(start, path, follow)?
    };
    open_existing(caller, node, flags)
}

/// Opens a node that exists, found by a path or a file handle: the checks open(2) makes on
/// it, breaking leases, and O_TRUNC.
pub fn open_existing(
    caller: &dyn Caller,
    node: Arc<Node>,
    flags: OpenFlags,
) -> SysResult<Arc<dyn FileLike>> {
    if node.kind() == NodeKind::Symlink && !flags.contains(OpenFlags::PATH) {
        return Err(Errno::ELOOP);
    }
    if flags.contains(OpenFlags::DIRECTORY) && node.kind() != NodeKind::Dir {
        return Err(Errno::ENOTDIR);
    }
    if node.kind() == NodeKind::Dir && flags.writable() {
        return Err(Errno::EISDIR);
    }
    let changes = flags.writable() || flags.contains(OpenFlags::TRUNC);
    if changes && node.kind() == NodeKind::File && !flags.contains(OpenFlags::PATH) {
        super::mount::require_writable(&node)?;
    }
    // A device node on a nodev mount does not open (Linux's may_open_dev), whoever asks.
    let device = matches!(node.kind(), NodeKind::CharDev(_) | NodeKind::BlockDev(_));
    if device && !flags.contains(OpenFlags::PATH) && super::mount::flags_of(&node).nodev {
        return Err(Errno::EACCES);
    }
    if !flags.contains(OpenFlags::PATH) {
        let mask = if flags.readable() { MAY_READ } else { 0 }
            | if flags.writable() || flags.contains(OpenFlags::TRUNC) { MAY_WRITE } else { 0 };
        check_access(caller, &node, mask)?;
    }
    // A conflicting lease is broken, and given up or timed out, before the open goes on
    // (Linux's break_lease in do_dentry_open, before handle_truncate).
    if node.kind() == NodeKind::File && !flags.contains(OpenFlags::PATH) {
        super::lease::break_for_open(&node, flags)?;
    }
    // As sysfs and configfs, O_TRUNC on a generated file (an attribute) changes nothing.
    if flags.contains(OpenFlags::TRUNC)
        && flags.writable()
        && node.kind() == NodeKind::File
        && !node.is_generated()
    {
        node.truncate(0)?;
    }
    open_node(node, flags)
}
