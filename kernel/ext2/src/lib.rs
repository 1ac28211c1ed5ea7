//! The ext2 filesystem (revision 0 and 1), read and write, over any [`BlockDevice`].
//!
//! The guest kernel mounts disks with this crate, and `images/` will build disk images with
//! it, so both use one implementation of the format. It is `no_std` (with `alloc`); the `std`
//! feature adds a [`BlockDevice`] for `std::fs::File`.
//!
//! # Layers, bottom up
//! - [`dev`]: the [`BlockDevice`] trait (byte offsets; every read copies out).
//! - [`superblock`]: the 1024 bytes at offset 1024, validated into a [`Geometry`].
//! - `group`: block group descriptors, checked against the geometry.
//! - [`inode`]: inode numbers ([`InodeNo`], always in range), the on-disk inode, file types.
//! - `bmap`: logical to physical blocks (direct, single, double, triple indirect).
//! - `bitmap`: block and inode allocation, and free counts (not `alloc`, which names the
//!   `alloc` crate).
//! - `dir`: directory blocks and entries.
//! - `file`, `namespace`, `xattr`: the operations of [`Filesystem`].
//! - [`format`]: making a new, empty filesystem (mkfs): [`Filesystem::format`] with
//!   [`FormatParams`], reproducible byte for byte, for the image builder to fill through
//!   the operations above.
//!
//! # The disk is untrusted
//! An image may be crafted by whoever controls the host. Every value read from it is
//! checked before it is used as an index, a length, a count or a block number: a bad image
//! gives [`Error::Corrupt`] (naming what, and the inode or block), never a panic, an
//! unbounded loop or an allocation larger than the device. Work per call is bounded by the
//! size of the device: directory scans by the directory's size (itself checked block by
//! block), block-map walks by a budget of the filesystem's block count.
//!
//! # Features
//! INCOMPAT: only `filetype` (others refuse the mount). RO_COMPAT: `sparse_super`,
//! `large_file` (others mount read-only). COMPAT features are ignored, as the format
//! allows: `dir_index` directories are read linearly and lose their index flag when
//! changed, and `resize_inode`'s reserved blocks are left alone. `ext_attr` is implemented:
//! extended attributes are read and written in Linux's attribute blocks (`xattr`), and
//! the feature is set with the first one.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod bitmap;
mod bmap;
mod bytes;
pub mod dev;
mod dir;
pub mod error;
mod file;
pub mod format;
mod fs;
mod group;
pub mod inode;
mod namespace;
mod runs;
pub mod superblock;
mod xattr;

pub use dev::{BlockDevice, IoError};
pub use dir::{DirEntry, NAME_MAX};
pub use error::Error;
pub use format::FormatParams;
pub use fs::{Filesystem, StatFs};
pub use group::GroupDesc;
pub use inode::{FileType, InodeNo, Metadata};
pub use namespace::{Owner, SetAttr};
pub use runs::DataRun;
pub use superblock::Geometry;
