//! Extended attributes, stored as Linux's ext2 stores them: in one block per inode, named
//! by `i_file_acl`, which inodes with the same attributes may share (`h_refcount`).
//!
//! - `name`: full names (`user.x`) to the namespace index and the stored rest.
//! - `acl`: POSIX ACL values, converted between the form programs see and ext2's.
//! - `block`: the block's bytes, checked on reading, rebuilt on every change.
//! - `ops`: [`Filesystem::list_xattrs`](crate::Filesystem::list_xattrs), `get_xattr`,
//!   `set_xattr`, `remove_xattr`, and the release of an inode's block when it is deleted.
//!
//! Attributes inside the inode (ext4's, after the 128-byte record) are neither read nor
//! written: this crate's inodes are 128 bytes. An inode with an attribute block counts it
//! in `i_blocks`, as Linux does and e2fsck expects, and the first block sets the
//! superblock's `ext_attr` feature, without which e2fsck takes the pointer for damage.

mod acl;
mod block;
mod name;
mod ops;
