//! The superblock: the 1024 bytes at byte 1024, validated into a [`Geometry`].
//!
//! [`Geometry::parse`] is the only way to get a `Geometry`, and it checks every value the rest
//! of the crate uses as an index, a count or a length: once it succeeds, block and inode
//! arithmetic on the geometry cannot overflow and per-group arrays are bounded by the size of
//! the device. The raw bytes are kept by the filesystem and written back with only the free
//! counts and feature bits changed, so fields we do not interpret survive a mount.

use crate::bytes::{le16, le32};
use crate::error::{Error, corrupt};

/// Where the superblock lives, and its size.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// The size of the superblock.
pub const SUPERBLOCK_SIZE: usize = 1024;

/// `s_magic`.
pub(crate) const EXT2_MAGIC: u16 = 0xEF53;

/// Field offsets in the superblock (Linux `struct ext2_super_block`).
pub(crate) mod field {
    pub const INODES_COUNT: usize = 0;
    pub const BLOCKS_COUNT: usize = 4;
    pub const R_BLOCKS_COUNT: usize = 8;
    pub const FREE_BLOCKS: usize = 12;
    pub const FREE_INODES: usize = 16;
    pub const FIRST_DATA_BLOCK: usize = 20;
    pub const LOG_BLOCK_SIZE: usize = 24;
    pub const BLOCKS_PER_GROUP: usize = 32;
    pub const LOG_FRAG_SIZE: usize = 28;
    pub const FRAGS_PER_GROUP: usize = 36;
    pub const INODES_PER_GROUP: usize = 40;
    pub const WTIME: usize = 48;
    pub const MAX_MNT_COUNT: usize = 54;
    pub const MAGIC: usize = 56;
    pub const STATE: usize = 58;
    pub const ERRORS: usize = 60;
    pub const LASTCHECK: usize = 64;
    pub const CREATOR_OS: usize = 72;
    pub const REV_LEVEL: usize = 76;
    pub const FIRST_INO: usize = 84;
    pub const INODE_SIZE: usize = 88;
    pub const BLOCK_GROUP_NR: usize = 90;
    pub const FEATURE_COMPAT: usize = 92;
    pub const FEATURE_INCOMPAT: usize = 96;
    pub const FEATURE_RO_COMPAT: usize = 100;
    pub const RESERVED_GDT_BLOCKS: usize = 206;
    pub const UUID: usize = 104;
    pub const VOLUME_NAME: usize = 120;
    pub const MKFS_TIME: usize = 264;
    pub const FLAGS: usize = 352;
}

/// Values of superblock fields that a new filesystem starts with (Linux `ext2_fs.h`).
pub(crate) mod value {
    /// `s_state`: unmounted cleanly.
    pub const STATE_CLEAN: u16 = 1;
    /// `s_errors`: on an error, carry on.
    pub const ERRORS_CONTINUE: u16 = 1;
    /// `s_creator_os`: Linux.
    pub const OS_LINUX: u32 = 0;
    /// `s_rev_level`: dynamic inode sizes and feature flags.
    pub const DYNAMIC_REV: u32 = 1;
    /// `s_max_mnt_count`: -1, no fsck forced by mount count (as mke2fs writes by default).
    pub const NO_MAX_MNT_COUNT: u16 = 0xFFFF;
    /// `s_flags`: directory hashes use signed chars (what mke2fs records on x86).
    pub const FLAGS_SIGNED_HASH: u32 = 0x0001;
}

/// COMPAT features: an implementation that does not know them may still read and write.
pub(crate) mod compat {
    /// Inodes may have an extended-attribute block (`i_file_acl`).
    pub const EXT_ATTR: u32 = 0x0008;
    /// `s_reserved_gdt_blocks` follow each group descriptor table copy.
    pub const RESIZE_INODE: u32 = 0x0010;
}

/// INCOMPAT features: an implementation that does not know one must not mount at all.
pub(crate) mod incompat {
    /// Directory entries carry a file type byte.
    pub const FILETYPE: u32 = 0x0002;
    /// Everything this crate implements.
    pub const SUPPORTED: u32 = FILETYPE;
}

/// RO_COMPAT features: an implementation that does not know one may only read.
pub(crate) mod ro_compat {
    /// Superblock backups only in groups 0, 1 and powers of 3, 5 and 7.
    pub const SPARSE_SUPER: u32 = 0x0001;
    /// Some file is 2 GiB or larger (`i_size_high` is in use).
    pub const LARGE_FILE: u32 = 0x0002;
    /// Never used by Linux; harmless.
    pub const BTREE_DIR: u32 = 0x0004;
    /// Everything this crate implements.
    pub const SUPPORTED: u32 = SPARSE_SUPER | LARGE_FILE | BTREE_DIR;
}

/// The validated shape of a filesystem.
///
/// # Invariants
/// 1. `block_size` is 1024, 2048 or 4096, and `first_data_block` is 1 for 1 KiB blocks, else 0.
/// 2. `first_data_block < blocks_count`, and `blocks_count * block_size` fits in the device.
/// 3. `1 <= blocks_per_group, inodes_per_group <= 8 * block_size` (one bitmap block each).
/// 4. `group_count = ceil((blocks_count - first_data_block) / blocks_per_group)` and
///    `inodes_count = inodes_per_group * group_count`.
/// 5. `inode_size` is a power of two in `128..=block_size`, and one group's inode table
///    (`inode_table_blocks`) is shorter than the group.
/// 6. `first_ino` is in `11..=inodes_count` (reserved inodes, root among them, are below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks on the filesystem.
    pub blocks_count: u32,
    /// The block holding the superblock (1 with 1 KiB blocks, else 0).
    pub first_data_block: u32,
    /// Blocks per group.
    pub blocks_per_group: u32,
    /// Inodes on the filesystem.
    pub inodes_count: u32,
    /// Inodes per group.
    pub inodes_per_group: u32,
    /// Bytes per on-disk inode.
    pub inode_size: u32,
    /// The first inode number ordinary files may use.
    pub first_ino: u32,
    /// Number of block groups.
    pub group_count: u32,
    /// Blocks in one group's inode table.
    pub inode_table_blocks: u32,
    /// Blocks holding the group descriptor table.
    pub gdt_blocks: u32,
    /// Blocks reserved after the descriptor table for online resize.
    pub reserved_gdt_blocks: u32,
    /// `s_feature_compat`.
    pub compat: u32,
    /// `s_feature_incompat`.
    pub incompat: u32,
    /// `s_feature_ro_compat`.
    pub ro_compat: u32,
    /// Whether unknown RO_COMPAT features restrict us to reading.
    pub read_only: bool,
}

/// What names a filesystem rather than shapes it: `s_uuid` and `s_volume_name` (revision 1;
/// both zero on revision 0). Measured boot records them as the root disk's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeIdentity {
    /// `s_uuid`, as stored (RFC 4122 byte order, as `blkid` prints it).
    pub uuid: [u8; 16],
    /// `s_volume_name`, as stored (NUL-padded, not necessarily UTF-8).
    pub label: [u8; 16],
}

impl VolumeIdentity {
    /// Reads the identity of a superblock that [`Geometry::parse`] accepted.
    pub fn of(sb: &[u8; SUPERBLOCK_SIZE]) -> Self {
        let mut identity = Self { uuid: [0; 16], label: [0; 16] };
        if le32(sb, field::REV_LEVEL) >= 1 {
            identity.uuid.copy_from_slice(&sb[field::UUID..field::UUID + 16]);
            identity.label.copy_from_slice(&sb[field::VOLUME_NAME..field::VOLUME_NAME + 16]);
        }
        identity
    }

    /// The label up to its first NUL, if it is UTF-8.
    pub fn label_str(&self) -> Option<&str> {
        let end = self.label.iter().position(|&b| b == 0).unwrap_or(self.label.len());
        core::str::from_utf8(&self.label[..end]).ok()
    }
}

impl core::fmt::Display for VolumeIdentity {
    /// `uuid=8-4-4-4-12 label=NAME` (the label as `?` if it is not UTF-8).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("uuid=")?;
        for (i, b) in self.uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        write!(f, " label={}", self.label_str().unwrap_or("?"))
    }
}

impl Geometry {
    /// Validates a raw superblock against a device of `device_size` bytes.
    ///
    /// # Errors
    /// [`Error::Corrupt`] names the first inconsistent field; [`Error::Unsupported`] means an
    /// INCOMPAT feature (or revision) this crate does not implement.
    pub fn parse(sb: &[u8; SUPERBLOCK_SIZE], device_size: u64) -> Result<Self, Error> {
        let bad = |what| Err(corrupt(what, 0, 0));
        if le16(sb, field::MAGIC) != EXT2_MAGIC {
            return bad("superblock magic is not 0xEF53");
        }
        let rev = le32(sb, field::REV_LEVEL);
        if rev > 1 {
            return Err(Error::Unsupported { what: "revision level", value: rev });
        }
        let log = le32(sb, field::LOG_BLOCK_SIZE);
        if log > 2 {
            return Err(Error::Unsupported { what: "log block size", value: log });
        }
        let block_size = 1024u32 << log;
        let (compat, incompat, ro_compat) = if rev == 0 {
            (0, 0, 0)
        } else {
            (
                le32(sb, field::FEATURE_COMPAT),
                le32(sb, field::FEATURE_INCOMPAT),
                le32(sb, field::FEATURE_RO_COMPAT),
            )
        };
        if incompat & !incompat::SUPPORTED != 0 {
            return Err(Error::Unsupported {
                what: "INCOMPAT feature",
                value: incompat & !incompat::SUPPORTED,
            });
        }
        let read_only = ro_compat & !ro_compat::SUPPORTED != 0;

        let blocks_count = le32(sb, field::BLOCKS_COUNT);
        let first_data_block = le32(sb, field::FIRST_DATA_BLOCK);
        if first_data_block != u32::from(block_size == 1024) {
            return bad("first data block does not match the block size");
        }
        if blocks_count <= first_data_block {
            return bad("blocks count is not past the first data block");
        }
        if u64::from(blocks_count) * u64::from(block_size) > device_size {
            return bad("blocks count is larger than the device");
        }
        let bits_per_block = block_size * 8;
        let blocks_per_group = le32(sb, field::BLOCKS_PER_GROUP);
        if blocks_per_group == 0 || blocks_per_group > bits_per_block {
            return bad("blocks per group is 0 or exceeds one bitmap block");
        }
        let inodes_per_group = le32(sb, field::INODES_PER_GROUP);
        if inodes_per_group == 0 || inodes_per_group > bits_per_block {
            return bad("inodes per group is 0 or exceeds one bitmap block");
        }
        let group_count = (blocks_count - first_data_block).div_ceil(blocks_per_group);
        let inodes_count = le32(sb, field::INODES_COUNT);
        if u64::from(inodes_count) != u64::from(inodes_per_group) * u64::from(group_count) {
            return bad("inodes count is not inodes per group times the group count");
        }
        let (inode_size, first_ino) = if rev == 0 {
            (128, 11)
        } else {
            (u32::from(le16(sb, field::INODE_SIZE)), le32(sb, field::FIRST_INO))
        };
        if !inode_size.is_power_of_two() || !(128..=block_size).contains(&inode_size) {
            return bad("inode size is not a power of two in 128..=block size");
        }
        if first_ino < 11 || first_ino > inodes_count {
            return bad("first non-reserved inode is out of range");
        }
        // Both factors are at most 8 * 4096 and 4096, so the product fits in a u64 easily.
        let table_bytes = u64::from(inodes_per_group) * u64::from(inode_size);
        let inode_table_blocks = table_bytes.div_ceil(u64::from(block_size));
        if inode_table_blocks >= u64::from(blocks_per_group) {
            return bad("inode table does not fit in a group");
        }
        let gdt_blocks = (u64::from(group_count) * 32).div_ceil(u64::from(block_size));
        let reserved_gdt_blocks = if compat & compat::RESIZE_INODE != 0 {
            u32::from(le16(sb, field::RESERVED_GDT_BLOCKS))
        } else {
            0
        };
        // Superblock, descriptors and reserved descriptors must leave room in group 0 for the
        // bitmaps and inode table; this also bounds the descriptor table by the device size.
        let group0_meta = 1 + gdt_blocks + u64::from(reserved_gdt_blocks);
        if group0_meta + 2 + inode_table_blocks > u64::from(blocks_per_group) {
            return bad("group descriptor table does not fit in group 0");
        }
        Ok(Geometry {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_count,
            inodes_per_group,
            inode_size,
            first_ino,
            group_count,
            inode_table_blocks: inode_table_blocks as u32,
            gdt_blocks: gdt_blocks as u32,
            reserved_gdt_blocks,
            compat,
            incompat,
            ro_compat,
            read_only,
        })
    }

    /// Returns whether directory entries carry a file type byte.
    pub fn has_filetype(&self) -> bool {
        self.incompat & incompat::FILETYPE != 0
    }

    /// Returns the byte offset of block `b` on the device.
    pub fn block_offset(&self, b: u32) -> u64 {
        u64::from(b) * u64::from(self.block_size)
    }

    /// Returns the first block of group `g` and the number of blocks in it (the last group
    /// may be short).
    pub fn group_blocks(&self, g: u32) -> (u32, u32) {
        let start = self.first_data_block + g * self.blocks_per_group;
        let len = (self.blocks_count - start).min(self.blocks_per_group);
        (start, len)
    }

    /// Returns the group that holds block `b` (which must be a valid block number).
    pub fn group_of_block(&self, b: u32) -> u32 {
        (b - self.first_data_block) / self.blocks_per_group
    }

    /// Returns whether group `g` carries a copy of the superblock and descriptor table.
    pub fn group_has_super(&self, g: u32) -> bool {
        has_super_copy(g, self.ro_compat & ro_compat::SPARSE_SUPER != 0)
    }

    /// Returns the number of block pointers in an indirect block.
    pub fn ptrs_per_block(&self) -> u32 {
        self.block_size / 4
    }
}

/// Returns whether group `g` carries a copy of the superblock and descriptor table: every
/// group, or with `sparse_super` only groups 0, 1 and powers of 3, 5 and 7.
pub(crate) fn has_super_copy(g: u32, sparse_super: bool) -> bool {
    if g <= 1 || !sparse_super {
        return true;
    }
    [3u64, 5, 7].iter().any(|&base| {
        let (mut p, g) = (base, u64::from(g));
        while p < g {
            p *= base;
        }
        p == g
    })
}
