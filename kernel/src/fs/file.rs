//! Open files: what a file descriptor points to.
//!
//! [`FileLike`] is the interface every kind of open file implements (regular files and
//! directories through [`NodeFile`], devices, pipes, the tty). Defaults give the errno Linux
//! gives for an operation the kind does not support.

use alloc::sync::Arc;
use alloc::vec::Vec;

use bitflags::bitflags;
use ostd::sync::{Mutex, SpinLock};

use super::epoll_ready::ReadyList;
use super::node::{Node, NodeKind, Timespec};
use super::notify::vfs as notify;
use crate::block::ReadTarget;
use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

bitflags! {
    /// `open` flags (x86-64 values).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OpenFlags: u32 {
        /// Write only (access mode 1).
        const WRONLY = 0o1;
        /// Read and write (access mode 2).
        const RDWR = 0o2;
        /// Create if missing.
        const CREAT = 0o100;
        /// With CREAT: fail if it exists.
        const EXCL = 0o200;
        /// Do not become the controlling tty.
        const NOCTTY = 0o400;
        /// Truncate to zero length.
        const TRUNC = 0o1000;
        /// Every write appends.
        const APPEND = 0o2000;
        /// Non-blocking I/O.
        const NONBLOCK = 0o4000;
        /// Synchronous writes (accepted; ramfs is always synchronous).
        const DSYNC = 0o10000;
        /// Signal-driven I/O (FASYNC): recorded and reported by F_GETFL, but no SIGIO is
        /// sent yet (see `fs::async_owner`).
        const ASYNC = 0o20000;
        /// Direct I/O: reads of disk files bypass the caches (see `Node::read_direct_at`).
        const DIRECT = 0o40000;
        /// Large files (always on, on x86-64).
        const LARGEFILE = 0o100000;
        /// Must be a directory.
        const DIRECTORY = 0o200000;
        /// Do not follow a final symlink.
        const NOFOLLOW = 0o400000;
        /// Keep atime (accepted, ignored).
        const NOATIME = 0o1000000;
        /// Close on exec.
        const CLOEXEC = 0o2000000;
        /// Full synchronous writes (accepted).
        const SYNC = 0o4010000;
        /// A path-only descriptor.
        const PATH = 0o10000000;
        /// An unnamed temporary file (not supported).
        const TMPFILE = 0o20200000;
    }
}

impl OpenFlags {
    /// The status flags F_SETFL (and FIONBIO, FIOASYNC) change on a pipe, socket, tty or
    /// event file.
    pub const STREAM_STATUS: Self = Self::NONBLOCK.union(Self::ASYNC);

    /// Returns whether the access mode allows reading.
    pub fn readable(&self) -> bool {
        !self.contains(Self::WRONLY) && !self.contains(Self::PATH)
    }

    /// Returns whether the access mode allows writing.
    pub fn writable(&self) -> bool {
        (self.contains(Self::WRONLY) || self.contains(Self::RDWR)) && !self.contains(Self::PATH)
    }
}

/// `struct stat` for x86-64.
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    /// Returns the 144-byte Linux layout.
    pub fn to_bytes(self) -> [u8; 144] {
        let mut b = [0u8; 144];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &self.dev.to_le_bytes());
        put(8, &self.ino.to_le_bytes());
        put(16, &self.nlink.to_le_bytes());
        put(24, &self.mode.to_le_bytes());
        put(28, &self.uid.to_le_bytes());
        put(32, &self.gid.to_le_bytes());
        put(40, &self.rdev.to_le_bytes());
        put(48, &self.size.to_le_bytes());
        put(56, &self.blksize.to_le_bytes());
        put(64, &self.blocks.to_le_bytes());
        put(72, &self.atime.sec.to_le_bytes());
        put(80, &self.atime.nsec.to_le_bytes());
        put(88, &self.mtime.sec.to_le_bytes());
        put(96, &self.mtime.nsec.to_le_bytes());
        put(104, &self.ctime.sec.to_le_bytes());
        put(112, &self.ctime.nsec.to_le_bytes());
        b
    }

    /// Returns the stat of a node.
    pub fn of_node(node: &Node) -> Self {
        let m = node.metadata();
        let size = node.size();
        Stat {
            dev: node.dev(),
            ino: m.ino,
            nlink: u64::from(m.nlink),
            mode: node.kind().mode_bits() | m.perm,
            uid: m.uid,
            gid: m.gid,
            rdev: match node.kind() {
                NodeKind::CharDev(rdev) | NodeKind::BlockDev(rdev) => u64::from(rdev),
                _ => 0,
            },
            size: size as i64,
            blksize: 4096,
            blocks: node.blocks() as i64,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }
}

/// `lseek` origins.
pub const SEEK_SET: u32 = 0;
/// Relative to the current offset.
pub const SEEK_CUR: u32 = 1;
/// Relative to the end.
pub const SEEK_END: u32 = 2;
/// lseek: the next offset holding data.
pub const SEEK_DATA: u32 = 3;
/// lseek: the next hole (for us, the end of the file).
pub const SEEK_HOLE: u32 = 4;

/// How many times a file's input side (data, connections or end of file arrived) and its
/// output side (room to write came) were woken: see [`FileLike::readiness_changes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadinessChanges {
    pub input: u64,
    pub output: u64,
}

impl ReadinessChanges {
    /// The same count for both sides, for files with one wait queue.
    pub fn both(count: u64) -> Self {
        Self { input: count, output: count }
    }
}

/// Readiness, for poll/select.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Reading would not block.
    pub readable: bool,
    /// Writing would not block.
    pub writable: bool,
    /// The other end is gone (POLLHUP).
    pub hangup: bool,
    /// The peer shut its sending side down, or we shut our receiving side (POLLRDHUP).
    pub read_hangup: bool,
    /// An error is pending (POLLERR): SO_ERROR would report it.
    pub error: bool,
    /// Reading and writing are reported as POLLIN and POLLOUT only, without POLLRDNORM and
    /// POLLWRNORM (Linux's eventfd, timerfd and pidfd; pipes, sockets, terminals and
    /// regular files report both).
    pub plain: bool,
}

/// POLLRDNORM and POLLWRNORM: "normal data", which most files report beside POLLIN and
/// POLLOUT (the same bits in epoll's EPOLLRDNORM and EPOLLWRNORM).
pub const POLLRDNORM: u16 = 0x40;
pub const POLLWRNORM: u16 = 0x100;

impl Readiness {
    /// The input and output bits poll(2) and epoll would report before masking by what was
    /// asked: POLLIN (and POLLRDNORM) when readable, POLLOUT (and POLLWRNORM) when writable.
    pub fn data_bits(&self) -> u16 {
        let normal = |bit: u16| if self.plain { 0 } else { bit };
        use super::poll::{POLLIN, POLLOUT};
        let input = if self.readable { POLLIN | normal(POLLRDNORM) } else { 0 };
        let output = if self.writable { POLLOUT | normal(POLLWRNORM) } else { 0 };
        input | output
    }
}

/// An open file.
pub trait FileLike: Send + Sync {
    /// Reads at the current offset.
    fn read(&self, _buf: &mut [u8]) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    /// Writes at the current offset.
    fn write(&self, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::EINVAL)
    }
    /// Reads at `offset` without moving the offset.
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> SysResult<usize> {
        Err(Errno::ESPIPE)
    }
    /// Reads into `target` (at `offset`, or at the current offset and moving it), from
    /// where the data arrives: an O_DIRECT disk file reads straight from the device's bounce
    /// buffers into user memory, one copy instead of two. `None` for files without such a
    /// path; the caller then reads through a kernel buffer.
    fn read_direct_to(
        &self,
        _offset: Option<u64>,
        _target: &mut ReadTarget<'_>,
    ) -> Option<SysResult<usize>> {
        None
    }
    /// Writes `len` bytes of user memory at `addr` (at `offset`, or at the current offset
    /// and moving it), copied once: an O_DIRECT disk file copies them into the device's
    /// bounce buffer before it takes any lock. `None` for files without such a path; the
    /// caller then writes through a kernel buffer.
    fn write_direct_from(
        &self,
        _offset: Option<u64>,
        _mem: &UserMem,
        _addr: u64,
        _len: usize,
    ) -> Option<SysResult<usize>> {
        None
    }
    /// Writes at `offset` without moving the offset.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::ESPIPE)
    }
    /// Moves the offset.
    fn seek(&self, _offset: i64, _whence: u32) -> SysResult<u64> {
        Err(Errno::ESPIPE)
    }
    /// Returns the file's status.
    fn stat(&self) -> Stat;
    /// Device-specific control.
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &UserMem) -> SysResult<u64> {
        Err(Errno::ENOTTY)
    }
    /// Returns the inode, for files that have one.
    fn node(&self) -> Option<&Arc<Node>> {
        None
    }
    /// Returns the open flags (access mode and status flags).
    fn flags(&self) -> OpenFlags;
    /// Replaces the status flags that `F_SETFL` may change (APPEND, NONBLOCK, ASYNC, and
    /// DIRECT on disk files).
    fn set_status_flags(&self, _flags: OpenFlags) {}
    /// Returns directory entries from the current position, as `getdents64` records that fit
    /// in `max` bytes.
    fn getdents(&self, _max: usize) -> SysResult<Vec<u8>> {
        Err(Errno::ENOTDIR)
    }
    /// Returns readiness for poll/select.
    fn readiness(&self) -> Readiness {
        Readiness { readable: true, writable: true, hangup: false, ..Readiness::default() }
    }
    /// Counts that grow whenever the file's readiness may have changed (its wait queues
    /// were woken): edge-triggered epoll reports a ready file once per change, as Linux
    /// reports it once per wake-up of the file's queue. `None` for files that keep no such
    /// counts: epoll then reports them whenever they are ready, as if level-triggered, which
    /// can repeat an event but never loses one.
    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        None
    }
    /// Has every wake-up of the file's wait queues (every possible change of its readiness)
    /// mark `key` on `list`, an epoll instance's ready list; returns whether the file can.
    /// Files that cannot (the default) are asked at every `epoll_wait` instead.
    fn watch_readiness(&self, _list: &Arc<ReadyList>, _key: i32) -> bool {
        false
    }
    /// Undoes [`FileLike::watch_readiness`].
    fn unwatch_readiness(&self, _list: &ReadyList, _key: i32) {}
    /// Returns an epoll instance behind this file, for epoll_ctl/epoll_wait.
    fn as_epoll(&self) -> Option<&super::epoll::Epoll> {
        None
    }
    /// F_GETPIPE_SZ: a pipe's capacity (EBADF for anything else, as Linux answers).
    fn pipe_size(&self) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    /// F_SETPIPE_SZ.
    fn set_pipe_size(&self, _size: usize, _privileged: bool) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    /// The file as its concrete type, for the subsystem that made a special file and needs it
    /// back (a pidfd is the process subsystem's: `process::pidfd::process_of`). `None` for
    /// files nobody downcasts.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
    /// Called at every close of a descriptor of this file by process `closer` (Linux's
    /// f_op->flush): a message queue ends that process's notification request.
    fn flush(&self, _closer: crate::process::Pid) {}
    /// Returns the socket behind this file, for the socket calls (ENOTSOCK otherwise).
    fn into_socket(self: Arc<Self>) -> Option<crate::net::socket::Socket> {
        None
    }
}

/// A regular file or directory opened through the VFS.
pub struct NodeFile {
    node: Arc<Node>,
    offset: Mutex<u64>,
    /// For directories: the name getdents returned last. Reading resumes after it in name
    /// order, so entries removed or added meanwhile (a program deleting what it lists) do
    /// not make it skip others, as a position index would.
    dir_cursor: SpinLock<Option<alloc::string::String>>,
    flags: SpinLock<OpenFlags>,
    /// The count of files open for writing on the node's mount that this file is one of
    /// (a remount read-only is EBUSY meanwhile).
    _write_access: Option<super::mount::WriteAccess>,
}

/// The order getdents lists a directory in: numeric names first, by value (/proc, fd/),
/// then the others bytewise. Any fixed total order would do; this one reads naturally.
fn listing_order(a: &str, b: &str) -> core::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => core::cmp::Ordering::Less,
        (Err(_), Ok(_)) => core::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

impl NodeFile {
    /// Opens `node` with `flags`.
    pub fn new(node: Arc<Node>, flags: OpenFlags) -> Self {
        node.note_opened(flags);
        let writes = flags.writable() && !flags.contains(OpenFlags::PATH);
        let write_access = if writes { super::mount::write_access(&node) } else { None };
        Self {
            node,
            offset: Mutex::new(0),
            dir_cursor: SpinLock::new(None),
            flags: SpinLock::new(flags),
            _write_access: write_access,
        }
    }
}

/// The alignment O_DIRECT asks of offsets, lengths and buffers on a disk: the logical block
/// size of virtio disks (512 bytes).
pub const DIRECT_ALIGN: u64 = 512;

/// Whether transfers on `file` bypass the caches: it was opened O_DIRECT and is a regular
/// file on a disk (other files ignore the flag, as tmpfs-like ones here always have).
pub fn is_direct(file: &dyn FileLike) -> bool {
    file.flags().contains(OpenFlags::DIRECT)
        && file.node().is_some_and(|n| n.disk().is_some() && n.kind() == NodeKind::File)
}

impl NodeFile {
    fn is_direct(&self) -> bool {
        is_direct(self)
    }

    /// EINVAL for a direct transfer at an offset or of a length that is not in whole
    /// [`DIRECT_ALIGN`] units (as Linux's direct I/O; an empty transfer passes).
    fn check_direct(&self, offset: u64, len: usize) -> SysResult<bool> {
        if !self.is_direct() {
            return Ok(false);
        }
        if len > 0 && !(offset | len as u64).is_multiple_of(DIRECT_ALIGN) {
            return Err(Errno::EINVAL);
        }
        Ok(true)
    }

    /// Reads the node at `offset`, directly from the device if the file was opened O_DIRECT.
    /// A direct read at or past the end of the file reads nothing before any alignment is
    /// checked, as on Linux.
    fn read_node(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        if self.is_direct() && offset >= self.node.size() {
            return Ok(0);
        }
        if self.check_direct(offset, buf.len())? {
            self.node.read_direct_at(offset, &mut ReadTarget::Kernel(buf))
        } else {
            self.node.read_at(offset, buf)
        }
    }

    /// Writes the node at `offset`, through to the device if the file was opened O_DIRECT.
    fn write_node(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        let buf = within_file_size_limit(&self.node, offset, buf)?;
        if self.check_direct(offset, buf.len())? {
            self.node.write_direct_at(offset, buf)
        } else {
            self.node.write_at(offset, buf)
        }
    }
}

/// RLIMIT_FSIZE as Linux's generic_write_check_limits applies it to a regular file: a write
/// starting at or past the limit fails with EFBIG (and SIGXFSZ), one crossing it is cut
/// short; an empty write is not checked.
fn within_file_size_limit<'a>(node: &Node, offset: u64, buf: &'a [u8]) -> SysResult<&'a [u8]> {
    file_size_room(node, offset, buf.len()).map(|len| &buf[..len])
}

/// [`within_file_size_limit`] for a write of `len` bytes: how many of them may be written.
fn file_size_room(node: &Node, offset: u64, len: usize) -> SysResult<usize> {
    if node.kind() != NodeKind::File || len == 0 {
        return Ok(len);
    }
    let limit = crate::process::limits::file_size_limit();
    if offset >= limit {
        crate::process::limits::file_too_big();
        return Err(Errno::EFBIG);
    }
    let room = usize::try_from(limit - offset).unwrap_or(usize::MAX);
    Ok(len.min(room))
}

/// What the end of an open file description (its last descriptor closed) releases: its
/// flock, its OFD record locks and its lease. Every file type with a node calls it from its `Drop`,
/// with its own address (the description's identity, as the lock calls take it).
pub fn release_description_locks(node: &Arc<Node>, description: usize) {
    let node = super::record_lock::node_id(node);
    super::flock::release(node, description);
    super::record_lock::release(node, super::record_lock::Owner::Description(description));
    super::lease::release(node, description);
}

impl Drop for NodeFile {
    fn drop(&mut self) {
        release_description_locks(&self.node, self as *const Self as *const u8 as usize);
        if !self.flags().contains(OpenFlags::PATH) {
            notify::closed(&self.node, self.flags().writable());
        }
        self.node.note_closed(self.flags());
        notify::released(&self.node);
    }
}

const STATUS_FLAGS: OpenFlags =
    OpenFlags::APPEND.union(OpenFlags::STREAM_STATUS).union(OpenFlags::DIRECT);

impl FileLike for NodeFile {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if !self.flags().readable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        let n = self.read_node(*offset, buf)?;
        *offset += n as u64;
        drop(offset);
        if n > 0 {
            notify::accessed(&self.node);
        }
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        if !self.flags().writable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        if self.flags().contains(OpenFlags::APPEND) {
            *offset = self.node.size();
        }
        let n = self.write_node(*offset, buf)?;
        *offset += n as u64;
        drop(offset);
        if n > 0 {
            notify::modified(&self.node);
        }
        Ok(n)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        if !self.flags().readable() {
            return Err(Errno::EBADF);
        }
        let n = self.read_node(offset, buf)?;
        if n > 0 {
            notify::accessed(&self.node);
        }
        Ok(n)
    }

    fn write_direct_from(
        &self,
        offset: Option<u64>,
        mem: &UserMem,
        addr: u64,
        len: usize,
    ) -> Option<SysResult<usize>> {
        if !self.is_direct() || !self.flags().writable() {
            return None;
        }
        let write = |at: u64| -> Option<SysResult<usize>> {
            let len = match file_size_room(&self.node, at, len) {
                Ok(len) => len,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = self.check_direct(at, len) {
                return Some(Err(e));
            }
            // Through a kernel buffer and the cache where the one-copy path does not serve
            // (mapped pages, a hole inside the file): the bytes are read from the caller
            // again, since a bounce buffer is never read back.
            let through_cache = || {
                let mut buf = alloc::vec![0u8; len];
                mem.read(addr, &mut buf)?;
                self.node.write_direct_at(at, &buf)
            };
            let Some(prepared) = self.node.prepare_direct_write(len) else {
                return Some(through_cache());
            };
            let written = prepared.and_then(|mut data| {
                data.fill_from_user(mem, addr)?;
                self.node.write_prepared_at(at, &data)
            });
            Some(match written {
                Ok(Some(n)) => Ok(n),
                Ok(None) => through_cache(),
                Err(e) => Err(e),
            })
        };
        let n = match offset {
            Some(at) => write(at)?,
            None => {
                let mut position = self.offset.lock();
                if self.flags().contains(OpenFlags::APPEND) {
                    *position = self.node.size();
                }
                write(*position)?.inspect(|&n| *position += n as u64)
            }
        };
        if n.as_ref().is_ok_and(|&n| n > 0) {
            notify::modified(&self.node);
        }
        Some(n)
    }

    fn read_direct_to(
        &self,
        offset: Option<u64>,
        target: &mut ReadTarget<'_>,
    ) -> Option<SysResult<usize>> {
        if !self.is_direct() {
            return None;
        }
        let read = |at: u64, target: &mut ReadTarget<'_>| {
            if !self.flags().readable() {
                return Err(Errno::EBADF);
            }
            // As `read_node`: at or past the end, nothing is read before alignment is checked.
            if at >= self.node.size() {
                return Ok(0);
            }
            self.check_direct(at, target.len())?;
            self.node.read_direct_at(at, target)
        };
        let n = match offset {
            Some(at) => read(at, target),
            None => {
                let mut position = self.offset.lock();
                read(*position, target).inspect(|&n| *position += n as u64)
            }
        };
        if n.as_ref().is_ok_and(|&n| n > 0) {
            notify::accessed(&self.node);
        }
        Some(n)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        if !self.flags().writable() {
            return Err(Errno::EBADF);
        }
        let n = self.write_node(offset, buf)?;
        if n > 0 {
            notify::modified(&self.node);
        }
        Ok(n)
    }

    fn seek(&self, off: i64, whence: u32) -> SysResult<u64> {
        // A directory seek (rewinddir, seekdir) goes back to counting positions.
        *self.dir_cursor.lock() = None;
        let mut offset = self.offset.lock();
        let size = self.node.size() as i64;
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *offset as i64,
            SEEK_END => size,
            // In-memory files have no holes: data runs from any offset to the end, and the
            // only hole is the implicit one at the end (as on Linux's tmpfs with no holes).
            SEEK_DATA | SEEK_HOLE if off < 0 || off >= size => return Err(Errno::ENXIO),
            SEEK_DATA => {
                *offset = off as u64;
                return Ok(off as u64);
            }
            SEEK_HOLE => {
                *offset = size as u64;
                return Ok(size as u64);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off).filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
        *offset = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Stat {
        Stat::of_node(&self.node)
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - STATUS_FLAGS) | (flags & STATUS_FLAGS);
    }

    fn getdents(&self, max: usize) -> SysResult<Vec<u8>> {
        let mut entries = self.node.entries()?;
        entries.sort_by(|a, b| listing_order(&a.0, &b.0));
        let mut offset = self.offset.lock();
        let mut cursor = self.dir_cursor.lock();
        let mut out = Vec::new();
        let parent = self.node.parent();
        let total = entries.len() as u64 + 2;
        if let Some(last) = cursor.as_ref().filter(|_| *offset >= 2) {
            *offset = 2 + entries.partition_point(|(name, _)| {
                listing_order(name, last) != core::cmp::Ordering::Greater
            }) as u64;
        }
        while *offset < total {
            let i = *offset;
            let (name, ino, dtype) = match i {
                0 => (".", self.node.metadata().ino, 4u8),
                1 => ("..", parent.metadata().ino, 4u8),
                _ => {
                    let (name, node) = &entries[(i - 2) as usize];
                    (name.as_str(), node.metadata().ino, node.kind().dirent_type())
                }
            };
            let reclen = (19 + name.len() + 1).next_multiple_of(8);
            if out.len() + reclen > max {
                break;
            }
            let start = out.len();
            out.extend_from_slice(&ino.to_le_bytes());
            out.extend_from_slice(&((i + 1) as i64).to_le_bytes());
            out.extend_from_slice(&(reclen as u16).to_le_bytes());
            out.push(dtype);
            out.extend_from_slice(name.as_bytes());
            out.resize(start + reclen, 0);
            if i >= 2 {
                *cursor = Some(alloc::string::String::from(name));
            }
            *offset += 1;
        }
        if out.is_empty() && *offset < total {
            return Err(Errno::EINVAL); // the buffer cannot hold even one entry
        }
        drop((offset, cursor));
        notify::accessed(&self.node);
        Ok(out)
    }
}
