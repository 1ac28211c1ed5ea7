//! An open block device (`/dev/vda`): byte-addressed reads and writes over whole sectors, as
//! Linux's `def_blk_fops` give them.
//!
//! The file is a window of exactly the disk's size: reads stop at the end, a write that
//! starts there fails with ENOSPC, and a seek beyond it with EINVAL. Partial sectors are
//! read, changed and written back whole.

use alloc::sync::Arc;
use alloc::vec;

use ostd::sync::{Mutex, SpinLock};

use super::{BlockDevice, SECTOR_SIZE};
use crate::error::{Errno, SysResult};
use crate::fs::file::{SEEK_CUR, SEEK_END, SEEK_SET, Stat};
use crate::fs::{FileLike, Node, OpenFlags};
use crate::user_mem::UserMem;

/// Sectors moved per device request: bounds the kernel buffer a large read or write needs.
const MAX_SECTORS_PER_REQUEST: usize = 128;

/// An open disk.
pub struct BlockFile {
    device: Arc<dyn BlockDevice>,
    node: Arc<Node>,
    offset: Mutex<u64>,
    flags: SpinLock<OpenFlags>,
}

impl BlockFile {
    /// Opens `device` through its device node `node`.
    pub fn new(device: Arc<dyn BlockDevice>, node: Arc<Node>, flags: OpenFlags) -> Self {
        device.hold();
        Self { device, node, offset: Mutex::new(0), flags: SpinLock::new(flags) }
    }

    fn size(&self) -> u64 {
        self.device.sectors().saturating_mul(SECTOR_SIZE as u64)
    }

    /// Reads at `offset`, stopping at the end of the disk.
    fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let size = self.size();
        if offset >= size {
            return Ok(0);
        }
        let len = buf.len().min(usize::try_from(size - offset).unwrap_or(usize::MAX));
        self.each_span(offset, len, |piece, span| {
            self.device.read(piece.first, span)?;
            buf[piece.done..piece.done + piece.len]
                .copy_from_slice(&span[piece.skip..piece.skip + piece.len]);
            Ok(())
        })
    }

    /// Writes at `offset`; ENOSPC if it starts at or past the end, short if it crosses it.
    fn write_bytes(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        if self.device.read_only() {
            return Err(Errno::EPERM);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let size = self.size();
        if offset >= size {
            return Err(Errno::ENOSPC);
        }
        let len = buf.len().min(usize::try_from(size - offset).unwrap_or(usize::MAX));
        self.each_span(offset, len, |piece, span| {
            // A partial first or last sector keeps the bytes around the write.
            if piece.skip != 0 || (piece.skip + piece.len) % SECTOR_SIZE != 0 {
                self.device.read(piece.first, span)?;
            }
            span[piece.skip..piece.skip + piece.len]
                .copy_from_slice(&buf[piece.done..piece.done + piece.len]);
            self.device.write(piece.first, span)
        })
    }

    /// Walks `len` bytes at `offset` in whole-sector spans of at most one request, calling
    /// `step` with each piece and a kernel buffer exactly the span's sectors long. Returns
    /// the bytes walked (`len`), or the first error.
    fn each_span(
        &self,
        offset: u64,
        len: usize,
        mut step: impl FnMut(Piece, &mut [u8]) -> SysResult<()>,
    ) -> SysResult<usize> {
        let mut chunk =
            vec![0u8; sectors_spanned(offset, len).min(MAX_SECTORS_PER_REQUEST) * SECTOR_SIZE];
        let mut done = 0;
        while done < len {
            let pos = offset + done as u64;
            let skip = (pos % SECTOR_SIZE as u64) as usize;
            let piece = Piece {
                first: pos / SECTOR_SIZE as u64,
                skip,
                len: (len - done).min(chunk.len() - skip),
                done,
            };
            let sectors = (skip + piece.len).div_ceil(SECTOR_SIZE);
            step(piece, &mut chunk[..sectors * SECTOR_SIZE])?;
            done += piece.len;
        }
        Ok(done)
    }
}

/// One step of [`BlockFile::each_span`]: the span's first sector, where the bytes start in
/// it, how many, and how many came before.
#[derive(Clone, Copy)]
struct Piece {
    first: u64,
    skip: usize,
    len: usize,
    done: usize,
}

/// How many sectors `len` bytes at `offset` touch.
fn sectors_spanned(offset: u64, len: usize) -> usize {
    let skip = (offset % SECTOR_SIZE as u64) as usize;
    (skip + len).div_ceil(SECTOR_SIZE).max(1)
}

/// ioctl numbers of `<linux/fs.h>` that disk tools use.
const BLKROGET: u32 = 0x125e;
const BLKGETSIZE: u32 = 0x1260;
const BLKFLSBUF: u32 = 0x1261;
const BLKSSZGET: u32 = 0x1268;
const BLKPBSZGET: u32 = 0x127b;
const BLKGETSIZE64: u32 = 0x8008_1272;

impl Drop for BlockFile {
    fn drop(&mut self) {
        // The description's flock and OFD locks go with it.
        let description = self as *const Self as *const u8 as usize;
        crate::fs::file::release_description_locks(&self.node, description);
        self.device.release();
    }
}

impl FileLike for BlockFile {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if !self.flags().readable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        let n = self.read_bytes(*offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        if !self.flags().writable() {
            return Err(Errno::EBADF);
        }
        let mut offset = self.offset.lock();
        let n = self.write_bytes(*offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        if !self.flags().readable() {
            return Err(Errno::EBADF);
        }
        self.read_bytes(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        if !self.flags().writable() {
            return Err(Errno::EBADF);
        }
        self.write_bytes(offset, buf)
    }

    /// Linux's `fixed_size_llseek`: no position beyond the disk's end, and no SEEK_DATA or
    /// SEEK_HOLE.
    fn seek(&self, off: i64, whence: u32) -> SysResult<u64> {
        let size = i64::try_from(self.size()).map_err(|_| Errno::EOVERFLOW)?;
        let mut offset = self.offset.lock();
        let new = match whence {
            SEEK_SET => off,
            SEEK_CUR => (*offset as i64).checked_add(off).ok_or(Errno::EINVAL)?,
            SEEK_END => size.checked_add(off).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 || new > size {
            return Err(Errno::EINVAL);
        }
        *offset = new as u64;
        Ok(new as u64)
    }

    fn stat(&self) -> Stat {
        Stat::of_node(&self.node)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        let block = self.device.logical_block_size() as u32;
        match cmd {
            BLKGETSIZE64 => mem.write_u64(arg, self.size())?,
            BLKGETSIZE => mem.write_u64(arg, self.device.sectors())?,
            BLKSSZGET | BLKPBSZGET => mem.write_u32(arg, block)?,
            BLKROGET => mem.write_u32(arg, u32::from(self.device.read_only()))?,
            BLKFLSBUF => self.device.flush()?,
            // A loop device's own ioctls that name no descriptor.
            _ => {
                let no_fd = |_| Err(Errno::EBADF);
                return super::loopback::ioctl(self, cmd, arg, mem, &no_fd)
                    .unwrap_or(Err(Errno::ENOTTY));
            }
        }
        Ok(0)
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        const STATUS_FLAGS: OpenFlags = OpenFlags::APPEND.union(OpenFlags::STREAM_STATUS);
        let mut f = self.flags.lock();
        *f = (*f - STATUS_FLAGS) | (flags & STATUS_FLAGS);
    }
}

ostd::ktest! {
    fn a_disk_file_reads_and_writes_across_sector_boundaries_and_stops_at_its_end() {
        use super::mem::MemDisk;
        use crate::fs::NodeKind;
        let pattern: alloc::vec::Vec<u8> = (0..8 * SECTOR_SIZE).map(|i| (i * 13) as u8).collect();
        let disk = Arc::new(MemDisk::new(pattern.clone(), false));
        let node = Node::new_of(NodeKind::BlockDev(0), 0o660, "");
        let file = BlockFile::new(disk.clone(), node.clone(), OpenFlags::RDWR);
        // Unaligned read across two sectors.
        let mut got = [0u8; 700];
        assert_eq!(file.read_at(300, &mut got), Ok(700));
        assert_eq!(&got[..], &pattern[300..1000]);
        // Unaligned write keeps the bytes around it.
        assert_eq!(file.write_at(510, b"hello"), Ok(5));
        let mut expect = pattern.clone();
        expect[510..515].copy_from_slice(b"hello");
        assert!(*disk.bytes.lock() == expect, "a partial-sector write changed other bytes");
        // The end: short read, then nothing; a write at the end is ENOSPC, across it short.
        let end = (8 * SECTOR_SIZE) as u64;
        assert_eq!(file.read_at(end - 10, &mut got), Ok(10));
        assert_eq!(file.read_at(end, &mut got), Ok(0));
        assert_eq!(file.write_at(end, b"x"), Err(Errno::ENOSPC));
        assert_eq!(file.write_at(end - 2, b"xyz"), Ok(2));
        // Seeks stay inside the disk.
        assert_eq!(file.seek(0, SEEK_END), Ok(end));
        assert_eq!(file.seek(1, SEEK_END), Err(Errno::EINVAL));
        assert_eq!(file.seek(-1, SEEK_SET), Err(Errno::EINVAL));
        assert_eq!(file.seek(5, crate::fs::file::SEEK_HOLE), Err(Errno::EINVAL));
        // Sequential reads through the offset, in one large request.
        assert_eq!(file.seek(0, SEEK_SET), Ok(0));
        let mut all = alloc::vec![0u8; 8 * SECTOR_SIZE + 100];
        assert_eq!(file.read(&mut all), Ok(8 * SECTOR_SIZE));
        // A read-only disk refuses writes with EPERM.
        let ro = Arc::new(MemDisk::new(pattern, true));
        let file = BlockFile::new(ro, node, OpenFlags::RDWR);
        assert_eq!(file.write_at(0, b"x"), Err(Errno::EPERM));
    }
}
