//! What can go wrong: the disk lied ([`Error::Corrupt`]), the device failed ([`Error::Io`]),
//! or the request cannot be done on this filesystem (everything else).
//!
//! `Corrupt` and `Unsupported` are caused by the bytes on the disk, never by the caller; the
//! kernel maps them to `EUCLEAN`/`EIO` and logs them. The other variants map one-to-one to the
//! errno a Linux filesystem returns for the same request.

use core::fmt;

use crate::dev::IoError;

/// Why an ext2 operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The block device failed to read or write.
    Io(IoError),
    /// A value on the disk is out of range or inconsistent. `inode` and `block` are 0 when
    /// they do not apply.
    Corrupt {
        /// What was wrong, e.g. "rec_len crosses the block end".
        what: &'static str,
        /// The inode being read, or 0.
        inode: u32,
        /// The block (filesystem block number) being read, or 0.
        block: u64,
    },
    /// The filesystem uses a feature this crate does not implement.
    Unsupported {
        /// Which field holds the feature.
        what: &'static str,
        /// The bits or value we do not know.
        value: u32,
    },
    /// No entry with that name (`ENOENT`).
    NotFound,
    /// The name already exists (`EEXIST`).
    Exists,
    /// No free block or inode is left (`ENOSPC`).
    NoSpace,
    /// A directory was needed (`ENOTDIR`).
    NotDir,
    /// The operation does not apply to a directory (`EISDIR`, or `EPERM` for `link`).
    IsDir,
    /// The directory still has entries (`ENOTEMPTY`).
    NotEmpty,
    /// A name is longer than 255 bytes (`ENAMETOOLONG`).
    NameTooLong,
    /// The inode has the maximum number of links (`EMLINK`).
    TooManyLinks,
    /// The offset or size is past the largest file this filesystem can hold (`EFBIG`).
    FileTooLarge,
    /// The filesystem is mounted read-only, or has features we may only read (`EROFS`).
    ReadOnly,
    /// The request is malformed (`EINVAL`), e.g. renaming a directory into itself.
    InvalidArgument(&'static str),
    /// The inode is not a symbolic link (`EINVAL` from `readlink`).
    NotSymlink,
    /// The inode has no extended attribute of that name (`ENODATA`).
    NoSuchAttribute,
    /// The attribute name's prefix is not a namespace ext2 stores (`EOPNOTSUPP`).
    UnknownAttributeNamespace,
    /// The inode's attributes, with the one being set, do not fit in its one attribute
    /// block (`ENOSPC`, as Linux's ext2 answers; it gives `ERANGE` when a single value is
    /// larger than a block).
    AttributesTooLarge {
        /// Bytes the attribute block would need: header, entries, values.
        needed: usize,
        /// Bytes in a block.
        block_size: usize,
    },
}

impl From<IoError> for Error {
    fn from(e: IoError) -> Self {
        Error::Io(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error at byte {} (len {})", e.offset, e.len),
            Error::Corrupt { what, inode, block } => {
                write!(f, "corrupt filesystem: {what} (inode {inode}, block {block})")
            }
            Error::Unsupported { what, value } => write!(f, "unsupported {what}: {value:#x}"),
            Error::NotFound => f.write_str("no such file or directory"),
            Error::Exists => f.write_str("file exists"),
            Error::NoSpace => f.write_str("no space left on device"),
            Error::NotDir => f.write_str("not a directory"),
            Error::IsDir => f.write_str("is a directory"),
            Error::NotEmpty => f.write_str("directory not empty"),
            Error::NameTooLong => f.write_str("file name too long"),
            Error::TooManyLinks => f.write_str("too many links"),
            Error::FileTooLarge => f.write_str("file too large"),
            Error::ReadOnly => f.write_str("read-only filesystem"),
            Error::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Error::NotSymlink => f.write_str("not a symbolic link"),
            Error::NoSuchAttribute => f.write_str("no such extended attribute"),
            Error::UnknownAttributeNamespace => {
                f.write_str("extended attribute namespace not supported")
            }
            Error::AttributesTooLarge { needed, block_size } => write!(
                f,
                "extended attributes need {needed} bytes, more than the {block_size}-byte \
                 attribute block holds"
            ),
        }
    }
}

/// Shorthand for a [`Error::Corrupt`] value.
pub(crate) fn corrupt(what: &'static str, inode: u32, block: u64) -> Error {
    Error::Corrupt { what, inode, block }
}
