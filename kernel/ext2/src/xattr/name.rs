//! Attribute names: the namespace prefix is stored as a number (`e_name_index`), and only
//! the rest of the name as bytes.
//!
//! The numbers are those of Linux's `fs/ext2/xattr.h` and e2fsprogs' `lib/ext2fs/ext_attr.c`.
//! The two POSIX ACL names are whole names (stored with an empty rest), so they are matched
//! before the `system.` prefix they start with.

use crate::error::Error;

/// `e_name_index` of `system.posix_acl_access`.
pub(super) const POSIX_ACL_ACCESS: u8 = 2;
/// `e_name_index` of `system.posix_acl_default`.
pub(super) const POSIX_ACL_DEFAULT: u8 = 3;

/// How a name is matched against a namespace's text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The whole name is the text; nothing is stored after it.
    Whole,
    /// The name starts with the text; a non-empty rest is stored.
    Prefix,
}

/// The namespaces this crate stores, most specific first.
const NAMESPACES: [(u8, &[u8], Match); 6] = [
    (POSIX_ACL_ACCESS, b"system.posix_acl_access", Match::Whole),
    (POSIX_ACL_DEFAULT, b"system.posix_acl_default", Match::Whole),
    (1, b"user.", Match::Prefix),
    (4, b"trusted.", Match::Prefix),
    (6, b"security.", Match::Prefix),
    (7, b"system.", Match::Prefix),
];

/// The longest name stored after the prefix (`e_name_len` is one byte).
const SUFFIX_MAX: usize = 255;

/// Splits a full attribute name into its namespace index and the bytes stored after it.
///
/// # Errors
/// [`Error::UnknownAttributeNamespace`] for a prefix ext2 has no index for;
/// [`Error::InvalidArgument`] for a NUL byte or an empty name after a prefix (Linux's
/// `EINVAL`); [`Error::NameTooLong`] if the rest is longer than 255 bytes.
pub(super) fn split(name: &[u8]) -> Result<(u8, &[u8]), Error> {
    if name.contains(&0) {
        return Err(Error::InvalidArgument("attribute name contains NUL"));
    }
    let (index, rest) = NAMESPACES
        .iter()
        .find_map(|&(index, text, how)| match how {
            Match::Whole => (name == text).then_some((index, &name[name.len()..])),
            Match::Prefix => name.strip_prefix(text).map(|rest| (index, rest)),
        })
        .ok_or(Error::UnknownAttributeNamespace)?;
    if rest.is_empty() && !is_acl(index) {
        return Err(Error::InvalidArgument("attribute name is empty after its prefix"));
    }
    if rest.len() > SUFFIX_MAX {
        return Err(Error::NameTooLong);
    }
    Ok((index, rest))
}

/// Returns the full name of the attribute stored as `index` and `rest`, or `None` if this
/// crate would not find it by that name (an index it does not know, or bytes after an ACL
/// name): such entries are kept as they are but not listed, as Linux's ext2 does.
pub(super) fn join(index: u8, rest: &[u8]) -> Option<alloc::vec::Vec<u8>> {
    let &(_, text, _) = NAMESPACES.iter().find(|&&(i, _, _)| i == index)?;
    let mut full = text.to_vec();
    full.extend_from_slice(rest);
    (split(&full).ok() == Some((index, rest))).then_some(full)
}

/// Returns whether `index` names a POSIX ACL, whose value is converted on the way to and
/// from the disk.
pub(super) fn is_acl(index: u8) -> bool {
    matches!(index, POSIX_ACL_ACCESS | POSIX_ACL_DEFAULT)
}
