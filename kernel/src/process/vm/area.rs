//! An area (Linux's VMA): a page-aligned range with its rights, its kind and the file it
//! maps, and how it splits and merges.

use bitflags::bitflags;
use ostd::mm::PageFlags;

use super::MappedFile;

bitflags! {
    /// `PROT_*`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Prot: u32 {
        /// PROT_READ.
        const READ = 1;
        /// PROT_WRITE.
        const WRITE = 2;
        /// PROT_EXEC.
        const EXEC = 4;
    }
}

impl Prot {
    pub(super) fn page_flags(self) -> PageFlags {
        let mut f = PageFlags::READ;
        if self.contains(Prot::WRITE) {
            f |= PageFlags::WRITE;
        }
        if self.contains(Prot::EXEC) {
            f |= PageFlags::EXEC;
        }
        f
    }
}

/// One mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area {
    /// First byte (page-aligned).
    pub start: u64,
    /// One past the last byte (page-aligned).
    pub end: u64,
    /// Access rights.
    pub prot: Prot,
    /// MAP_SHARED: writes are seen by every process mapping it (never copied on write).
    pub shared: bool,
    /// mlock(2)ed (VM_LOCKED): counted against RLIMIT_MEMLOCK and shown as VmLck. Nothing
    /// is ever paged out here, so the pages stay resident either way.
    pub locked: bool,
    /// Backed by a file or by shared memory (Linux's vm_file), as opposed to private
    /// anonymous memory: madvise's FREE, REMOVE and WIPEONFORK care.
    pub file: bool,
    /// madvise(MADV_DONTFORK): a child made by fork does not get it (VM_DONTCOPY).
    pub dont_fork: bool,
    /// madvise(MADV_WIPEONFORK): a child made by fork gets it zero-filled (VM_WIPEONFORK).
    pub wipe_on_fork: bool,
    /// Made by brk(2): /proc/PID/maps calls it [heap].
    pub heap: bool,
    /// The file it maps and the file offset of `start` (/proc/PID/maps shows them).
    pub mapped: Option<MappedFile>,
}

impl Area {
    /// A private anonymous area with no advice.
    pub fn anonymous(start: u64, end: u64, prot: Prot) -> Self {
        Self {
            start,
            end,
            prot,
            shared: false,
            locked: false,
            file: false,
            dont_fork: false,
            wipe_on_fork: false,
            heap: false,
            mapped: None,
        }
    }

    /// The part `start..end` of this area (within it, or next to it for a growth in
    /// place): its file offset moves by the distance from this area's start.
    pub fn piece(&self, start: u64, end: u64) -> Self {
        self.moved_to(start, start, end)
    }

    /// This area's mapping as seen from address `from`, placed at `start..end` (mremap's
    /// move: the new range maps what `from` mapped).
    pub fn moved_to(&self, from: u64, start: u64, end: u64) -> Self {
        let mapped = self.mapped.as_ref().map(|m| m.advanced(from.wrapping_sub(self.start)));
        Self { start, end, mapped, ..self.clone() }
    }

    /// Whether `next`, starting where this area ends, is the same kind of mapping and
    /// continues it (the same rights and advice, and the next bytes of the same file):
    /// Linux merges such neighbours.
    pub(super) fn continued_by(&self, next: &Area) -> bool {
        let same_kind = Area { start: 0, end: 0, mapped: None, ..self.clone() }
            == Area { start: 0, end: 0, mapped: None, ..next.clone() };
        let same_file = match (&self.mapped, &next.mapped) {
            (None, None) => true,
            (Some(a), Some(b)) => a.continued_by(self.end - self.start, b),
            _ => false,
        };
        self.end == next.start && same_kind && same_file
    }
}

ostd::ktest! {
    fn a_file_area_split_keeps_offsets_and_merges_back() {
        let node = crate::fs::Node::new_of(crate::fs::NodeKind::File, 0o600, "");
        let file = MappedFile { node, offset: 0x3000, name: super::MapName::SharedAnonymous };
        let a = Area { mapped: Some(file), ..Area::anonymous(0x10000, 0x14000, Prot::READ) };
        let (low, high) = (a.piece(0x10000, 0x12000), a.piece(0x12000, 0x14000));
        assert_eq!(high.mapped.as_ref().map(|m| m.offset), Some(0x5000));
        assert!(low.continued_by(&high), "the pieces of one mapping merge again");
        let moved = a.moved_to(0x11000, 0x40000, 0x42000);
        assert_eq!(moved.mapped.as_ref().map(|m| m.offset), Some(0x4000));
        assert!(!high.continued_by(&low), "not in address order");
        let other = Area { mapped: None, ..high };
        assert!(!low.continued_by(&other), "a file area and an anonymous one stay apart");
    }
}
