//! Inodes: numbers, the on-disk record, file types and the metadata `stat` reports.
//!
//! An [`InodeNo`] is only made by [`InodeNo::new`], which checks it against the geometry, so
//! every inode number the crate follows (from a directory entry, from the caller) is in
//! `1..=inodes_count` before it is used to compute a disk address. [`Inode::parse`] accepts
//! any bytes: the fields are plain numbers, and each use checks what it needs (block
//! pointers in `bmap`, sizes against the block map's reach, symlink lengths in `readlink`).

use crate::bytes::{le16, le32, put16, put32};
use crate::error::Error;
use crate::superblock::Geometry;

/// The bytes of an inode this crate interprets (the rest of a larger slot is kept as is).
pub const INODE_RECORD: usize = 128;
/// Block pointers in an inode: 12 direct, then single, double and triple indirect.
pub const N_BLOCKS: usize = 15;
/// Direct block pointers.
pub const N_DIRECT: usize = 12;
/// Bytes of `i_block`, the largest fast symlink plus one.
pub const FAST_SYMLINK_MAX: usize = N_BLOCKS * 4;
/// The root directory's inode number.
pub const ROOT_INO: u32 = 2;
/// Linux's `EXT2_LINK_MAX`.
pub const LINK_MAX: u16 = 32000;
/// `EXT2_INDEX_FL`: the directory has an htree index (we read it linearly, and clear the flag
/// when we change the directory, because we do not maintain the index).
pub const INDEX_FL: u32 = 0x1000;

mod field {
    pub const MODE: usize = 0;
    pub const UID: usize = 2;
    pub const SIZE: usize = 4;
    pub const ATIME: usize = 8;
    pub const CTIME: usize = 12;
    pub const MTIME: usize = 16;
    pub const DTIME: usize = 20;
    pub const GID: usize = 24;
    pub const LINKS: usize = 26;
    pub const BLOCKS: usize = 28;
    pub const FLAGS: usize = 32;
    pub const BLOCK: usize = 40;
    pub const GENERATION: usize = 100;
    pub const FILE_ACL: usize = 104;
    pub const SIZE_HIGH: usize = 108;
    pub const UID_HIGH: usize = 120;
    pub const GID_HIGH: usize = 122;
}

/// An inode number known to be in `1..=inodes_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InodeNo(u32);

impl InodeNo {
    /// The root directory. Valid on every filesystem: `Geometry` guarantees
    /// `inodes_count >= first_ino >= 11`.
    pub(crate) const ROOT: InodeNo = InodeNo(ROOT_INO);

    /// Checks `n` against the filesystem's inode count.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if `n` is 0 or above the inode count (`what` names the source).
    pub fn new(n: u32, geo: &Geometry) -> Result<Self, Error> {
        if n == 0 || n > geo.inodes_count {
            return Err(Error::Corrupt { what: "inode number out of range", inode: n, block: 0 });
        }
        Ok(InodeNo(n))
    }

    /// Returns the number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Returns the group holding this inode and its index within the group.
    pub(crate) fn group_index(self, geo: &Geometry) -> (u32, u32) {
        ((self.0 - 1) / geo.inodes_per_group, (self.0 - 1) % geo.inodes_per_group)
    }
}

/// The kind of file, from the top bits of `i_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A mode with none of the above types.
    Unknown,
}

/// `S_IFMT` and the type values Linux uses.
pub mod mode {
    /// The file-type bits.
    pub const S_IFMT: u16 = 0o170000;
    /// A socket.
    pub const S_IFSOCK: u16 = 0o140000;
    /// A symbolic link.
    pub const S_IFLNK: u16 = 0o120000;
    /// A regular file.
    pub const S_IFREG: u16 = 0o100000;
    /// A block device.
    pub const S_IFBLK: u16 = 0o060000;
    /// A directory.
    pub const S_IFDIR: u16 = 0o040000;
    /// A character device.
    pub const S_IFCHR: u16 = 0o020000;
    /// A named pipe.
    pub const S_IFIFO: u16 = 0o010000;
}

impl FileType {
    /// Returns the type encoded in `mode`.
    pub fn from_mode(m: u16) -> Self {
        match m & mode::S_IFMT {
            mode::S_IFREG => FileType::Regular,
            mode::S_IFDIR => FileType::Directory,
            mode::S_IFLNK => FileType::Symlink,
            mode::S_IFCHR => FileType::CharDevice,
            mode::S_IFBLK => FileType::BlockDevice,
            mode::S_IFIFO => FileType::Fifo,
            mode::S_IFSOCK => FileType::Socket,
            _ => FileType::Unknown,
        }
    }

    /// Returns the directory-entry type byte (`EXT2_FT_*`).
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }

    /// Returns the type named by a directory-entry type byte.
    pub fn from_dirent_type(t: u8) -> Self {
        match t {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::CharDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }
}

/// The fields of an on-disk inode this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits.
    pub mode: u16,
    /// Owner (low and high halves joined).
    pub uid: u32,
    /// Group (low and high halves joined).
    pub gid: u32,
    /// Size in bytes (`i_size_high` is used for regular files only, as in Linux's ext2).
    pub size: u64,
    /// Access time, seconds since the epoch.
    pub atime: u32,
    /// Change time.
    pub ctime: u32,
    /// Modification time.
    pub mtime: u32,
    /// Deletion time (0 while in use).
    pub dtime: u32,
    /// Hard links.
    pub links: u16,
    /// 512-byte sectors allocated, indirect and xattr blocks included.
    pub blocks: u32,
    /// `EXT2_*_FL` flags.
    pub flags: u32,
    /// Block pointers (or a fast symlink's target, or a device number).
    pub block: [u32; N_BLOCKS],
    /// The extended-attribute block, or 0.
    pub file_acl: u32,
    /// NFS generation number.
    pub generation: u32,
}

impl Inode {
    /// Reads the fields out of the first [`INODE_RECORD`] bytes of an inode slot.
    pub fn parse(raw: &[u8; INODE_RECORD]) -> Self {
        let mode = le16(raw, field::MODE);
        let mut block = [0u32; N_BLOCKS];
        for (i, b) in block.iter_mut().enumerate() {
            *b = le32(raw, field::BLOCK + 4 * i);
        }
        let size_lo = u64::from(le32(raw, field::SIZE));
        let size = if FileType::from_mode(mode) == FileType::Regular {
            size_lo | u64::from(le32(raw, field::SIZE_HIGH)) << 32
        } else {
            size_lo
        };
        Inode {
            mode,
            uid: u32::from(le16(raw, field::UID)) | u32::from(le16(raw, field::UID_HIGH)) << 16,
            gid: u32::from(le16(raw, field::GID)) | u32::from(le16(raw, field::GID_HIGH)) << 16,
            size,
            atime: le32(raw, field::ATIME),
            ctime: le32(raw, field::CTIME),
            mtime: le32(raw, field::MTIME),
            dtime: le32(raw, field::DTIME),
            links: le16(raw, field::LINKS),
            blocks: le32(raw, field::BLOCKS),
            flags: le32(raw, field::FLAGS),
            block,
            file_acl: le32(raw, field::FILE_ACL),
            generation: le32(raw, field::GENERATION),
        }
    }

    /// Writes the fields into `raw`, keeping the bytes we do not interpret.
    pub fn emit(&self, raw: &mut [u8; INODE_RECORD]) {
        put16(raw, field::MODE, self.mode);
        put16(raw, field::UID, self.uid as u16);
        put16(raw, field::UID_HIGH, (self.uid >> 16) as u16);
        put16(raw, field::GID, self.gid as u16);
        put16(raw, field::GID_HIGH, (self.gid >> 16) as u16);
        put32(raw, field::SIZE, self.size as u32);
        if self.file_type() == FileType::Regular {
            put32(raw, field::SIZE_HIGH, (self.size >> 32) as u32);
        }
        put32(raw, field::ATIME, self.atime);
        put32(raw, field::CTIME, self.ctime);
        put32(raw, field::MTIME, self.mtime);
        put32(raw, field::DTIME, self.dtime);
        put16(raw, field::LINKS, self.links);
        put32(raw, field::BLOCKS, self.blocks);
        put32(raw, field::FLAGS, self.flags);
        for (i, b) in self.block.iter().enumerate() {
            put32(raw, field::BLOCK + 4 * i, *b);
        }
        put32(raw, field::FILE_ACL, self.file_acl);
        put32(raw, field::GENERATION, self.generation);
    }

    /// Returns the file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// Returns whether this is a symlink whose target is stored in `i_block` itself.
    ///
    /// Linux decides by the block count: a fast symlink owns no blocks other than an
    /// extended-attribute block.
    pub fn is_fast_symlink(&self, geo: &Geometry) -> bool {
        let ea_sectors = if self.file_acl != 0 { geo.block_size / 512 } else { 0 };
        self.file_type() == FileType::Symlink && self.blocks == ea_sectors
    }

    /// Returns the `i_block` bytes (a fast symlink's target lives here).
    pub fn block_bytes(&self) -> [u8; FAST_SYMLINK_MAX] {
        let mut out = [0u8; FAST_SYMLINK_MAX];
        for (chunk, b) in out.chunks_exact_mut(4).zip(self.block.iter()) {
            chunk.copy_from_slice(&b.to_le_bytes());
        }
        out
    }

    /// Stores `bytes` (at most [`FAST_SYMLINK_MAX`]) in `i_block`, zero-padded.
    pub fn set_block_bytes(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; FAST_SYMLINK_MAX];
        buf[..bytes.len()].copy_from_slice(bytes);
        for (b, chunk) in self.block.iter_mut().zip(buf.chunks_exact(4)) {
            *b = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
    }
}

/// What `stat` reports about an inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The inode number.
    pub ino: u32,
    /// The file type.
    pub file_type: FileType,
    /// Type and permission bits, as in `st_mode`.
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hard links.
    pub links: u16,
    /// 512-byte sectors allocated.
    pub blocks: u32,
    /// Access time.
    pub atime: u32,
    /// Modification time.
    pub mtime: u32,
    /// Change time.
    pub ctime: u32,
    /// Device number for character and block devices (Linux's encoding), else 0.
    pub rdev: u32,
}

/// Stores device number `rdev` (Linux's `new_encode_dev` form) as Linux's ext2 does.
pub(crate) fn store_dev(i: &mut Inode, rdev: u32) {
    let (major, minor) = ((rdev & 0xfff00) >> 8, (rdev & 0xff) | ((rdev >> 12) & 0xfff00));
    if major < 256 && minor < 256 {
        i.block[0] = rdev;
    } else {
        i.block[1] = rdev;
    }
}

/// Encodes a device number as Linux's `new_encode_dev` (12-bit major, 20-bit minor).
pub fn encode_dev(major: u32, minor: u32) -> u32 {
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12)
}
