//! ext2 on a disk: the [`DiskFs`] operations over the `ext2` crate, through the disk's
//! [`BlockCache`].
//!
//! The crate owns the on-disk format and checks every value it reads; this file maps its
//! answers to errnos (a damaged disk is EUCLEAN, logged with the inode and block), stamps
//! the time on each change, and serialises the operations with one sleeping lock per mount.
//! Files unlinked while open are kept until their last close (`keep_unlinked`).

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ext2::{Error, FileType, Filesystem, InodeNo, Owner, SetAttr};
use ostd::sync::{Mutex, SpinLock};

use super::direct_reads::DirectReads;
use super::disk::{DiskFs, DiskMount, DiskStat, DiskStatFs, XattrMode};
use super::node::{Metadata, Node, NodeKind, Timespec};
use crate::block::cache::BlockCache;
use crate::block::{BlockDevice, ReadTarget, WriteData};
use crate::error::{Errno, SysResult};

/// `f_type` of ext2 (and ext3/ext4) in `statfs`.
const EXT2_SUPER_MAGIC: u64 = 0xef53;

/// The ext2 crate's view of a disk: byte offsets into the block cache.
struct CachedDisk(Arc<BlockCache>);

impl ext2::BlockDevice for CachedDisk {
    fn size(&self) -> u64 {
        self.0.size()
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), ext2::IoError> {
        self.0.read(offset, buf).map_err(|_| ext2::IoError { offset, len: buf.len() })
    }

    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), ext2::IoError> {
        self.0.write(offset, buf).map_err(|_| ext2::IoError { offset, len: buf.len() })
    }
}

/// One mounted ext2 filesystem.
struct Ext2 {
    fs: Mutex<Filesystem<CachedDisk>>,
    cache: Arc<BlockCache>,
    /// The files with direct reads in flight (whose blocks a truncate must not free yet).
    direct_reads: DirectReads,
    /// The disk's device number, so that a disk is mounted once.
    rdev: u32,
}

/// Disks with a mounted ext2 filesystem, and its root. Mounting a disk again (elsewhere)
/// shows the same filesystem there, as Linux shares one superblock between its mounts.
static MOUNTED: SpinLock<Vec<(u32, Weak<Node>)>> = SpinLock::new(Vec::new());

/// Returns the root of disk `rdev` in `mounted` (the locked [`MOUNTED`]), if it is mounted.
fn mounted_root(mounted: &[(u32, Weak<Node>)], rdev: u32) -> Option<Arc<Node>> {
    mounted.iter().find(|(r, _)| *r == rdev).and_then(|(_, root)| root.upgrade())
}

/// Mounts the ext2 filesystem on `device` (device number `rdev`) and returns its root.
///
/// A disk that is mounted already gives the root it has (the mount flags of the first mount
/// stay in force).
///
/// # Errors
/// EINVAL if it holds no ext2 filesystem this kernel can mount (logged with the reason);
/// EIO if the disk fails.
pub fn mount(device: Arc<dyn BlockDevice>, rdev: u32, read_only: bool) -> SysResult<Arc<Node>> {
    if let Some(root) = mounted_root(&MOUNTED.lock(), rdev) {
        return Ok(root);
    }
    let cache = Arc::new(BlockCache::new(device));
    let disk = CachedDisk(cache.clone());
    let read_only = read_only || cache.read_only();
    let opened = if read_only { Filesystem::open_read_only(disk) } else { Filesystem::open(disk) };
    let mut fs = opened.map_err(|e| {
        log::warn!("ext2: cannot mount disk {:#x}: {e}", rdev);
        match e {
            Error::Io(_) => Errno::EIO,
            _ => Errno::EINVAL,
        }
    })?;
    fs.keep_unlinked(true);
    let ext2 = Arc::new(Ext2 { fs: Mutex::new(fs), cache, direct_reads: DirectReads::new(), rdev });
    let root = DiskMount::new(ext2, u64::from(rdev)).root()?;
    super::mount::start_writeback();
    let mut mounted = MOUNTED.lock();
    // Mount(2) calls for one disk can race; the first to get here wins, and the loser's
    // filesystem (which changed nothing) is dropped.
    if let Some(winner) = mounted_root(&mounted, rdev) {
        return Ok(winner);
    }
    mounted.retain(|(_, w)| w.strong_count() > 0);
    mounted.push((rdev, Arc::downgrade(&root)));
    Ok(root)
}

impl Ext2 {
    /// Runs a change with the current time stamped on what it touches.
    fn change<T>(
        &self,
        f: impl FnOnce(&mut Filesystem<CachedDisk>) -> Result<T, Error>,
    ) -> SysResult<T> {
        let mut fs = self.fs.lock();
        fs.set_time(now());
        f(&mut fs).map_err(errno)
    }

    fn look<T>(&self, f: impl FnOnce(&Filesystem<CachedDisk>) -> Result<T, Error>) -> SysResult<T> {
        f(&self.fs.lock()).map_err(errno)
    }
}

/// The time ext2 stamps on a change: seconds, clamped to its 32-bit field.
fn now() -> u32 {
    crate::time::realtime().sec.clamp(0, i64::from(u32::MAX)) as u32
}

/// Checks an inode number the VFS hands back (it came from this filesystem).
fn ino(fs: &Filesystem<CachedDisk>, n: u32) -> Result<InodeNo, Error> {
    fs.inode_no(n)
}

/// The errno for an ext2 error; a damaged disk or failed device is also logged.
fn errno(e: Error) -> Errno {
    match e {
        Error::Io(_) => {
            log::error!("ext2: {e}");
            Errno::EIO
        }
        Error::Corrupt { .. } | Error::Unsupported { .. } => {
            log::error!("ext2: {e}");
            Errno::EUCLEAN
        }
        Error::NotFound => Errno::ENOENT,
        Error::Exists => Errno::EEXIST,
        Error::NoSpace => Errno::ENOSPC,
        Error::NotDir => Errno::ENOTDIR,
        Error::IsDir => Errno::EISDIR,
        Error::NotEmpty => Errno::ENOTEMPTY,
        Error::NameTooLong => Errno::ENAMETOOLONG,
        Error::TooManyLinks => Errno::EMLINK,
        Error::FileTooLarge => Errno::EFBIG,
        Error::ReadOnly => Errno::EROFS,
        Error::InvalidArgument(_) | Error::NotSymlink => Errno::EINVAL,
        // Extended attributes, as Linux's ext2 answers getxattr/setxattr.
        Error::NoSuchAttribute => Errno::ENODATA,
        Error::UnknownAttributeNamespace => Errno::ENOTSUP,
        Error::AttributesTooLarge { .. } => Errno::ENOSPC,
        _ => Errno::EIO,
    }
}

fn time(secs: u32) -> Timespec {
    Timespec { sec: i64::from(secs), nsec: 0 }
}

fn secs(t: Timespec) -> u32 {
    t.sec.clamp(0, i64::from(u32::MAX)) as u32
}

impl DiskFs for Ext2 {
    fn root(&self) -> u32 {
        self.fs.lock().root().get()
    }

    fn stat(&self, n: u32) -> SysResult<DiskStat> {
        let m = self.look(|fs| fs.stat(ino(fs, n)?))?;
        let kind = match m.file_type {
            FileType::Regular => NodeKind::File,
            FileType::Directory => NodeKind::Dir,
            FileType::Symlink => NodeKind::Symlink,
            FileType::CharDevice => NodeKind::CharDev(m.rdev),
            FileType::BlockDevice => NodeKind::BlockDev(m.rdev),
            FileType::Fifo => NodeKind::Fifo,
            FileType::Socket => NodeKind::Socket,
            _ => {
                log::error!("ext2: inode {n} has no file type (mode {:#o})", m.mode);
                return Err(Errno::EUCLEAN);
            }
        };
        Ok(DiskStat {
            kind,
            meta: Metadata {
                ino: u64::from(m.ino),
                perm: u32::from(m.mode) & 0o7777,
                uid: m.uid,
                gid: m.gid,
                nlink: u32::from(m.links),
                atime: time(m.atime),
                mtime: time(m.mtime),
                ctime: time(m.ctime),
            },
            size: m.size,
            blocks: u64::from(m.blocks),
        })
    }

    fn generation(&self, n: u32) -> SysResult<u32> {
        // Linux's ext2_nfs_get_inode: the reserved inodes but the root are stale too.
        const FIRST_INO: u32 = 11;
        const ROOT_INO: u32 = 2;
        if n < FIRST_INO && n != ROOT_INO {
            return Err(Errno::ESTALE);
        }
        let generation = self.look(|fs| match fs.inode_no(n) {
            Ok(ino) => fs.generation(ino),
            Err(_) => Ok(None),
        })?;
        generation.ok_or(Errno::ESTALE)
    }

    fn lookup(&self, dir: u32, name: &str) -> SysResult<u32> {
        self.look(|fs| fs.lookup(ino(fs, dir)?, name.as_bytes())).map(InodeNo::get)
    }

    fn read_dir(&self, dir: u32) -> SysResult<Vec<(String, u32)>> {
        let entries = self.look(|fs| fs.read_dir(ino(fs, dir)?))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.name != b"." && e.name != b"..")
            .map(|e| (String::from_utf8_lossy(&e.name).into_owned(), e.ino.get()))
            .collect())
    }

    fn create(
        &self,
        dir: u32,
        name: &str,
        kind: NodeKind,
        perm: u32,
        target: &str,
    ) -> SysResult<u32> {
        let owner = Owner { perm: (perm & 0o7777) as u16, uid: 0, gid: 0 };
        let name = name.as_bytes();
        let made = self.change(|fs| {
            let dir = ino(fs, dir)?;
            match kind {
                NodeKind::File => fs.create(dir, name, owner),
                NodeKind::Dir => fs.mkdir(dir, name, owner),
                NodeKind::Symlink => fs.symlink(dir, name, target.as_bytes(), owner),
                NodeKind::CharDev(rdev) => fs.mknod(dir, name, FileType::CharDevice, owner, rdev),
                NodeKind::BlockDev(rdev) => fs.mknod(dir, name, FileType::BlockDevice, owner, rdev),
                NodeKind::Fifo => fs.mknod(dir, name, FileType::Fifo, owner, 0),
                NodeKind::Socket => fs.mknod(dir, name, FileType::Socket, owner, 0),
            }
        })?;
        Ok(made.get())
    }

    fn link(&self, target: u32, dir: u32, name: &str) -> SysResult<()> {
        self.change(|fs| fs.link(ino(fs, target)?, ino(fs, dir)?, name.as_bytes()))
    }

    fn unlink(&self, dir: u32, name: &str, is_dir: bool) -> SysResult<()> {
        self.change(|fs| {
            let dir = ino(fs, dir)?;
            if is_dir { fs.rmdir(dir, name.as_bytes()) } else { fs.unlink(dir, name.as_bytes()) }
        })
    }

    fn rename(&self, src_dir: u32, src_name: &str, dst_dir: u32, dst_name: &str) -> SysResult<()> {
        self.change(|fs| {
            let (src, dst) = (ino(fs, src_dir)?, ino(fs, dst_dir)?);
            fs.rename(src, src_name.as_bytes(), dst, dst_name.as_bytes())
        })
    }

    fn exchange(
        &self,
        (a_dir, a_name): (u32, &str),
        (b_dir, b_name): (u32, &str),
    ) -> SysResult<()> {
        self.change(|fs| {
            let (a, b) = (ino(fs, a_dir)?, ino(fs, b_dir)?);
            fs.exchange((a, a_name.as_bytes()), (b, b_name.as_bytes()))
        })
    }

    fn read(&self, n: u32, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        self.look(|fs| fs.read(ino(fs, n)?, offset, buf))
    }

    fn read_direct(&self, n: u32, offset: u64, target: &mut ReadTarget<'_>) -> SysResult<usize> {
        // The runs are found under the lock, which is then let go: the copies into a user
        // target may fault in a page of a file on this filesystem. The guard, taken under
        // the lock, keeps the blocks the file's until the device has read them: a truncate
        // waits for it, and nothing else frees an open file's blocks.
        let (runs, _guard) = {
            let fs = self.fs.lock();
            let runs = fs.data_runs(ino(&fs, n).map_err(errno)?, offset, target.len() as u64);
            (runs.map_err(errno)?, self.direct_reads.enter(n))
        };
        let mut read = 0;
        for run in runs {
            let start = (run.file_offset - offset) as usize;
            let len = run.len as usize;
            match run.disk_offset {
                None => target.zero(start, len)?,
                Some(at) => self.cache.read_uncached_to(at, len, target, start)?,
            }
            read = start + len;
        }
        Ok(read)
    }

    fn write(&self, n: u32, offset: u64, buf: &[u8]) -> SysResult<usize> {
        self.change(|fs| fs.write(ino(fs, n)?, offset, buf))
    }

    fn write_direct(&self, n: u32, offset: u64, buf: &[u8]) -> SysResult<usize> {
        let (written, runs) = self.change(|fs| {
            let file = ino(fs, n)?;
            let written = fs.write(file, offset, buf)?;
            Ok((written, fs.data_runs(file, offset, written as u64)?))
        })?;
        // Outside the lock: if the blocks changed hands meanwhile, writing back what the
        // cache holds for them now is still right.
        for run in runs {
            if let Some(at) = run.disk_offset {
                self.cache.write_back_bytes(at, run.len)?;
            }
        }
        Ok(written)
    }

    fn prepare_write(&self, len: usize) -> Option<SysResult<WriteData>> {
        Some(self.cache.prepare_write(len))
    }

    fn write_prepared(&self, n: u32, offset: u64, data: &WriteData) -> SysResult<Option<usize>> {
        // All under the lock: a reader never sees the new blocks before their bytes are on
        // the device, and the cache's copies of them are dropped before anyone reads them.
        let mut fs = self.fs.lock();
        fs.set_time(now());
        let file = ino(&fs, n).map_err(errno)?;
        let planned = data.len() as u64;
        let Some(runs) = fs.direct_write_runs(file, offset, planned).map_err(errno)? else {
            return Ok(None);
        };
        let mut written = 0;
        let mut result = Ok(());
        for run in &runs {
            let from = (run.file_offset - offset) as usize;
            let Some(at) = run.disk_offset else {
                log::error!("ext2: a direct write's run at {} is a hole", run.file_offset);
                result = Err(Errno::EIO);
                break;
            };
            if let Err(e) = self.cache.write_uncached_from(at, run.len as usize, data, from) {
                result = Err(e);
                break;
            }
            written = from + run.len as usize;
        }
        // Also after a failure: blocks allocated past what reached the device are freed.
        let end = offset + written as u64;
        fs.finish_direct_write(file, end, offset + planned).map_err(errno)?;
        match result {
            Err(e) if written == 0 => Err(e),
            _ => Ok(Some(written)),
        }
    }

    fn truncate(&self, n: u32, len: u64) -> SysResult<()> {
        // Not while a direct read of the file still has the device reading blocks it would
        // free (the check is under the lock, which direct reads take their guard under).
        loop {
            let mut fs = self.fs.lock();
            if !self.direct_reads.busy(n) {
                fs.set_time(now());
                let file = ino(&fs, n).map_err(errno)?;
                return fs.truncate(file, len).map_err(errno);
            }
            drop(fs);
            self.direct_reads.wait_idle(n);
        }
    }

    fn readlink(&self, n: u32) -> SysResult<String> {
        let target = self.look(|fs| fs.readlink(ino(fs, n)?))?;
        Ok(String::from_utf8_lossy(&target).into_owned())
    }

    fn set_attr(&self, n: u32, meta: &Metadata) -> SysResult<()> {
        let attr = SetAttr {
            perm: Some((meta.perm & 0o7777) as u16),
            uid: Some(meta.uid),
            gid: Some(meta.gid),
            atime: Some(secs(meta.atime)),
            mtime: Some(secs(meta.mtime)),
            ctime: Some(secs(meta.ctime)),
        };
        self.change(|fs| fs.set_attr(ino(fs, n)?, &attr))
    }

    fn release(&self, n: u32) -> SysResult<()> {
        self.change(|fs| fs.release_unlinked(ino(fs, n)?)).map(drop)
    }

    fn list_xattrs(&self, n: u32) -> SysResult<Vec<Vec<u8>>> {
        self.look(|fs| fs.list_xattrs(ino(fs, n)?))
    }

    fn get_xattr(&self, n: u32, name: &[u8]) -> SysResult<Vec<u8>> {
        self.look(|fs| fs.get_xattr(ino(fs, n)?, name))
    }

    fn set_xattr(&self, n: u32, name: &[u8], value: &[u8], mode: XattrMode) -> SysResult<()> {
        self.change(|fs| {
            let i = ino(fs, n)?;
            let exists = match fs.get_xattr(i, name) {
                Ok(_) => true,
                Err(Error::NoSuchAttribute) => false,
                Err(e) => return Err(e),
            };
            match mode {
                XattrMode::Create | XattrMode::Neither if exists => Err(Error::Exists),
                XattrMode::Replace | XattrMode::Neither if !exists => Err(Error::NoSuchAttribute),
                _ => fs.set_xattr(i, name, value),
            }
        })
    }

    fn remove_xattr(&self, n: u32, name: &[u8]) -> SysResult<()> {
        self.change(|fs| fs.remove_xattr(ino(fs, n)?, name))
    }

    fn statfs(&self) -> DiskStatFs {
        let fs = self.fs.lock();
        let s = fs.statfs();
        DiskStatFs {
            magic: EXT2_SUPER_MAGIC,
            block_size: u64::from(s.block_size),
            // Linux's ext2 and ext4 (in their default "bsddf" mode) leave the metadata out.
            blocks: u64::from(s.blocks - s.overhead_blocks),
            free_blocks: s.free_blocks,
            available_blocks: s.free_blocks.saturating_sub(u64::from(s.reserved_blocks)),
            files: u64::from(s.inodes),
            free_files: s.free_inodes,
            read_only: fs.is_read_only(),
        }
    }

    fn sync(&self) -> SysResult<()> {
        let mut fs = self.fs.lock();
        if fs.is_read_only() {
            return Ok(());
        }
        fs.sync().map_err(errno)?;
        self.cache.sync()
    }

    fn has_dirty(&self) -> bool {
        // Every change (free counts included) dirties a cached block: a bitmap, an inode.
        self.cache.stats().dirty > 0
    }

    fn remount(&self, read_only: bool) -> SysResult<()> {
        if read_only {
            self.sync()?;
        } else if self.cache.read_only() {
            return Err(Errno::EACCES);
        }
        self.fs.lock().set_read_only(read_only).map_err(errno)
    }

    fn unmount(&self) {
        MOUNTED.lock().retain(|(r, _)| *r != self.rdev);
    }
}
