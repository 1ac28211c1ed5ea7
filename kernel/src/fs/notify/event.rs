//! inotify's event bits (`<linux/inotify.h>`) and the records read(2) returns.

use alloc::boxed::Box;

/// File was read (read, getdents; utimensat of the access time alone).
pub const IN_ACCESS: u32 = 0x1;
/// File was written (write, truncate; utimensat of the modification time alone).
pub const IN_MODIFY: u32 = 0x2;
/// Metadata changed: mode, owner, times, link count, extended attributes.
pub const IN_ATTRIB: u32 = 0x4;
/// A file opened for writing was closed.
pub const IN_CLOSE_WRITE: u32 = 0x8;
/// A file not opened for writing was closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
/// File was opened.
pub const IN_OPEN: u32 = 0x20;
/// An entry was renamed away from the watched directory.
pub const IN_MOVED_FROM: u32 = 0x40;
/// An entry was renamed into the watched directory.
pub const IN_MOVED_TO: u32 = 0x80;
/// An entry was created in the watched directory.
pub const IN_CREATE: u32 = 0x100;
/// An entry was removed from the watched directory.
pub const IN_DELETE: u32 = 0x200;
/// The watched node itself was deleted (its last link, once no one has it open).
pub const IN_DELETE_SELF: u32 = 0x400;
/// The watched node itself was renamed.
pub const IN_MOVE_SELF: u32 = 0x800;
/// The filesystem of the watched node was unmounted.
pub const IN_UNMOUNT: u32 = 0x2000;
/// Events were lost: the queue was full.
pub const IN_Q_OVERFLOW: u32 = 0x4000;
/// The watch is gone (removed, one-shot, or its node deleted).
pub const IN_IGNORED: u32 = 0x8000;
/// add_watch: only if the path is a directory.
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// add_watch: do not follow a final symlink.
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// Watch: no events about children once they are unlinked.
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// add_watch: fail (EEXIST) if the node is already watched by the instance.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// add_watch: add to the watch's mask instead of replacing it.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// Event: the subject is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;
/// Watch: report one event, then remove the watch.
pub const IN_ONESHOT: u32 = 0x8000_0000;

/// Every event a watch can ask for.
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// Every bit inotify_add_watch knows (Linux's ALL_INOTIFY_BITS): a mask with none is EINVAL.
pub const ALL_INOTIFY_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;
/// What a watch keeps of the mask it was given: the events and how it behaves.
pub const WATCH_BITS: u32 = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

/// The size of `struct inotify_event` without its name.
pub const HEADER_SIZE: usize = 16;

/// A queued event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The watch descriptor (-1 for IN_Q_OVERFLOW).
    pub wd: i32,
    /// The event bits.
    pub mask: u32,
    /// Ties an IN_MOVED_FROM to its IN_MOVED_TO; 0 otherwise.
    pub cookie: u32,
    /// The entry's name, for an event a directory's watch receives about an entry.
    pub name: Option<Box<str>>,
}

impl Event {
    /// The overflow event: wd -1, no name.
    pub fn overflow() -> Self {
        Self { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: None }
    }

    /// Returns the record's size: the header, then the name and at least one NUL, padded
    /// to a multiple of the header's size (as Linux pads it).
    pub fn size(&self) -> usize {
        HEADER_SIZE + self.padded_name_len()
    }

    fn padded_name_len(&self) -> usize {
        self.name.as_ref().map_or(0, |n| (n.len() + 1).next_multiple_of(HEADER_SIZE))
    }

    /// Writes the record to the start of `out`, which holds at least [`Event::size`] bytes.
    pub fn encode(&self, out: &mut [u8]) {
        let len = self.padded_name_len();
        out[0..4].copy_from_slice(&self.wd.to_le_bytes());
        out[4..8].copy_from_slice(&self.mask.to_le_bytes());
        out[8..12].copy_from_slice(&self.cookie.to_le_bytes());
        out[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        let name = &mut out[HEADER_SIZE..HEADER_SIZE + len];
        name.fill(0);
        if let Some(n) = &self.name {
            name[..n.len()].copy_from_slice(n.as_bytes());
        }
    }

    /// Whether `next`, queued right after this event, adds nothing to it (Linux's
    /// `inotify_merge`): the same watch, bits and name. An IN_IGNORED ends a watch's
    /// events, so nothing merges into it.
    pub fn absorbs(&self, next: &Event) -> bool {
        self.mask & IN_IGNORED == 0
            && self.mask == next.mask
            && self.wd == next.wd
            && self.name == next.name
    }
}
