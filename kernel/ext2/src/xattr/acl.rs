//! POSIX ACLs: the value programs see (`getxattr`) and the shorter one ext2 stores.
//!
//! A program reads and writes `system.posix_acl_access` and `system.posix_acl_default` in
//! the "xattr" form of Linux's `include/uapi/linux/posix_acl_xattr.h`: a version word (2),
//! then one 8-byte entry (tag, permissions, id) per ACL entry. Linux's ext2 stores them
//! in its own form (`fs/ext2/acl.h`): version 1, and the id only for the tags that have one
//! (a named user or group), so the owner, owning group, mask and other entries take 4
//! bytes. e2fsprogs converts the same way (`ea_get`/`ea_set` in debugfs).

use alloc::vec::Vec;

use crate::bytes::{le16, le32};
use crate::error::{Error, corrupt};

/// The version word of the xattr form.
const XATTR_VERSION: u32 = 2;
/// The version word of ext2's form.
const DISK_VERSION: u32 = 1;
/// Bytes of an entry in the xattr form.
const XATTR_ENTRY: usize = 8;
/// What Linux reports as the id of an entry that has none (`ACL_UNDEFINED_ID`).
const UNDEFINED_ID: u32 = u32::MAX;

/// The ACL entry tags (`ACL_USER_OBJ` and the others).
mod tag {
    pub const USER_OBJ: u16 = 0x01;
    pub const USER: u16 = 0x02;
    pub const GROUP_OBJ: u16 = 0x04;
    pub const GROUP: u16 = 0x08;
    pub const MASK: u16 = 0x10;
    pub const OTHER: u16 = 0x20;
}

/// Returns whether entries with `tag` carry an id; `None` for a tag that is no ACL tag.
fn has_id(t: u16) -> Option<bool> {
    match t {
        tag::USER | tag::GROUP => Some(true),
        tag::USER_OBJ | tag::GROUP_OBJ | tag::MASK | tag::OTHER => Some(false),
        _ => None,
    }
}

/// Converts an ACL from the xattr form to ext2's.
///
/// # Errors
/// [`Error::InvalidArgument`] (Linux's `EINVAL`) if `value` is not a well-formed xattr
/// ACL: a wrong version, a length that is not a whole number of entries, no entries, an
/// unknown tag, or permission bits other than read, write and execute.
pub(super) fn to_disk(value: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |why| Err(Error::InvalidArgument(why));
    if value.len() < 4 || le32(value, 0) != XATTR_VERSION {
        return bad("POSIX ACL value does not start with version 2");
    }
    let entries = &value[4..];
    if entries.is_empty() || !entries.len().is_multiple_of(XATTR_ENTRY) {
        return bad("POSIX ACL value is not a whole, non-zero number of 8-byte entries");
    }
    let mut disk = DISK_VERSION.to_le_bytes().to_vec();
    for e in entries.chunks_exact(XATTR_ENTRY) {
        let (t, perm) = (le16(e, 0), le16(e, 2));
        let Some(with_id) = has_id(t) else { return bad("POSIX ACL entry has an unknown tag") };
        if perm & !0o7 != 0 {
            return bad("POSIX ACL entry has permission bits other than rwx");
        }
        disk.extend_from_slice(&e[..if with_id { 8 } else { 4 }]);
    }
    Ok(disk)
}

/// Converts an ACL read from the disk (attribute block `block` of inode `ino`) to the
/// xattr form, with the id of entries that have none reported as Linux does (-1).
///
/// # Errors
/// [`Error::Corrupt`] if the stored value is not in ext2's form.
pub(super) fn from_disk(stored: &[u8], ino: u32, block: u32) -> Result<Vec<u8>, Error> {
    let bad = |what| Err(corrupt(what, ino, block.into()));
    if stored.len() < 4 || le32(stored, 0) != DISK_VERSION {
        return bad("stored POSIX ACL does not start with version 1");
    }
    let mut out = XATTR_VERSION.to_le_bytes().to_vec();
    let mut at = 4;
    while at < stored.len() {
        if at + 4 > stored.len() {
            return bad("stored POSIX ACL entry is cut short");
        }
        let t = le16(stored, at);
        let Some(with_id) = has_id(t) else {
            return bad("stored POSIX ACL entry has an unknown tag");
        };
        let len = if with_id { 8 } else { 4 };
        if at + len > stored.len() {
            return bad("stored POSIX ACL entry is cut short");
        }
        out.extend_from_slice(&stored[at..at + 4]);
        let id = if with_id { le32(stored, at + 4) } else { UNDEFINED_ID };
        out.extend_from_slice(&id.to_le_bytes());
        at += len;
    }
    Ok(out)
}
