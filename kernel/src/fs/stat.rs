//! The stat-family records user space reads, beyond `struct stat` ([`Stat::to_bytes`]):
//! `struct statx` and `struct statfs`.

use super::file::Stat;
use super::node::{Node, NodeKind};

impl Stat {
    /// Returns the 256-byte `struct statx` with the basic fields (STATX_BASIC_STATS).
    pub fn to_statx_bytes(self) -> [u8; 256] {
        let st = self;
        let mut b = [0u8; 256];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &0x7ffu32.to_le_bytes()); // STATX_BASIC_STATS
        put(4, &(st.blksize as u32).to_le_bytes());
        put(16, &(st.nlink as u32).to_le_bytes());
        put(20, &st.uid.to_le_bytes());
        put(24, &st.gid.to_le_bytes());
        put(28, &(st.mode as u16).to_le_bytes());
        put(32, &st.ino.to_le_bytes());
        put(40, &(st.size as u64).to_le_bytes());
        put(48, &(st.blocks as u64).to_le_bytes());
        for (off, t) in [(64, st.atime), (96, st.ctime), (112, st.mtime)] {
            put(off, &t.sec.to_le_bytes());
            put(off + 8, &(t.nsec as u32).to_le_bytes());
        }
        put(128, &((st.rdev >> 8) as u32).to_le_bytes());
        put(132, &((st.rdev & 0xff) as u32).to_le_bytes());
        put(136, &0u32.to_le_bytes());
        put(140, &1u32.to_le_bytes());
        b
    }
}

/// `f_flags` of `struct statfs`: ST_VALID and the mount's flags (Linux's flags_by_mnt).
fn statfs_flags(node: &Node, read_only_fs: bool) -> u64 {
    use super::mount_flags::Atime;
    const ST_RDONLY: u64 = 1;
    const ST_NOSUID: u64 = 2;
    const ST_NODEV: u64 = 4;
    const ST_NOEXEC: u64 = 8;
    const ST_VALID: u64 = 0x20;
    const ST_NOATIME: u64 = 1024;
    const ST_NODIRATIME: u64 = 2048;
    const ST_RELATIME: u64 = 4096;
    let f = super::mount::flags_of(node);
    let bit = |set: bool, v: u64| if set { v } else { 0 };
    ST_VALID
        | bit(f.read_only || read_only_fs, ST_RDONLY)
        | bit(f.nosuid, ST_NOSUID)
        | bit(f.nodev, ST_NODEV)
        | bit(f.noexec, ST_NOEXEC)
        | match f.atime {
            Atime::Relative => ST_RELATIME,
            Atime::Never => ST_NOATIME,
            Atime::Strict => 0,
            Atime::RelativeNoDir => ST_NODIRATIME | ST_RELATIME,
        }
}

/// Returns the 120-byte `struct statfs` for the filesystem holding `node`.
pub fn statfs_bytes(node: &Node) -> [u8; 120] {
    if let Some(disk) = node.disk() {
        let s = disk.mount().fs().statfs();
        let flags = statfs_flags(node, s.read_only);
        return disk_statfs_bytes(&s, disk.mount().dev(), flags);
    }
    // Every directory is in one ramfs; report it as tmpfs does (f_type TMPFS_MAGIC),
    // with the free RAM as free blocks, or a tmpfs's own limits where it was given them.
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    let frames = ostd::mm::frame_stats();
    let (total, free, files, ffree) = match super::mount::mount_of(node).and_then(|m| m.tmpfs) {
        Some(t) => t.statfs_counts(),
        None => (frames.total as u64, frames.free as u64, frames.total as u64, frames.free as u64),
    };
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(
        0,
        if node.kind() == NodeKind::Dir && node.metadata().ino >= 0xf000_0000 {
            0x9fa0
        } else {
            TMPFS_MAGIC
        },
    );
    put(8, 4096); // f_bsize
    put(16, total); // f_blocks
    put(24, free); // f_bfree
    put(32, free); // f_bavail
    put(40, files); // f_files
    put(48, ffree); // f_ffree
    put(64, 255); // f_namelen
    put(72, 4096); // f_frsize
    put(80, statfs_flags(node, false));
    b
}

/// `struct statfs` of a disk filesystem, with Linux's `f_flags` and an `f_fsid` made from
/// the device number, as ext2 derives it from its UUID (any value unique per mount serves).
fn disk_statfs_bytes(s: &super::disk::DiskStatFs, dev: u64, flags: u64) -> [u8; 120] {
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, s.magic);
    put(8, s.block_size);
    put(16, s.blocks);
    put(24, s.free_blocks);
    put(32, s.available_blocks);
    put(40, s.files);
    put(48, s.free_files);
    put(56, dev);
    put(64, 255);
    put(72, s.block_size);
    put(80, flags);
    b
}

/// `struct statfs` of one of Linux's internal filesystems (pipefs, sockfs, anon_inodefs),
/// as simple_statfs fills it: the magic number, the page size and NAME_MAX, nothing else.
pub fn internal_statfs_bytes(magic: u32) -> [u8; 120] {
    let mut b = [0u8; 120];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(0, u64::from(magic));
    put(8, 4096); // f_bsize
    put(64, 255); // f_namelen
    put(72, 4096); // f_frsize
    b
}
