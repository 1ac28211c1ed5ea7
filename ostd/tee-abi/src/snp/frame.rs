//! Guest frame numbers and page sizes.
//!
//! The GHCB protocol carries a guest frame number in 40 bits (GHCBData[51:12] in the MSR
//! protocol, bits 51:12 of a page-state-change entry), so a [`Gfn`] is checked to fit when
//! it is made and every encoder can use it without masking.

use core::fmt;

/// Bytes in a 4 KiB page.
pub const PAGE_SIZE_4K: u64 = 4096;
/// 4 KiB frames in a 2 MiB page.
pub const FRAMES_PER_2M: u64 = 512;

/// A guest frame number: a guest-physical address shifted right by 12, at most 40 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gfn(u64);

impl Gfn {
    /// The largest frame number the GHCB encodings can carry (40 bits).
    pub const MAX: u64 = (1 << 40) - 1;

    /// A frame number, or `None` when it does not fit in 40 bits.
    pub const fn new(frame: u64) -> Option<Self> {
        if frame <= Self::MAX { Some(Self(frame)) } else { None }
    }

    /// The frame that holds a guest-physical address, or `None` past 52 bits.
    pub const fn containing(gpa: u64) -> Option<Self> {
        Self::new(gpa >> 12)
    }

    /// The frame number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The guest-physical address of the frame's first byte.
    pub const fn gpa(self) -> u64 {
        self.0 << 12
    }

    /// Whether the frame starts a 2 MiB page.
    pub const fn is_2m_aligned(self) -> bool {
        self.0.is_multiple_of(FRAMES_PER_2M)
    }

    /// The frame `count` frames further on, or `None` past [`Gfn::MAX`].
    pub const fn checked_add(self, count: u64) -> Option<Self> {
        match self.0.checked_add(count) {
            Some(frame) => Self::new(frame),
            None => None,
        }
    }
}

impl fmt::Display for Gfn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gfn {:#x}", self.0)
    }
}

/// The size of the page a page-state-change entry names (the RMP page size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    /// One 4 KiB frame.
    Size4K,
    /// 512 frames starting at a 2 MiB-aligned frame.
    Size2M,
}

impl PageSize {
    /// How many 4 KiB frames the page covers.
    pub const fn frames(self) -> u64 {
        match self {
            Self::Size4K => 1,
            Self::Size2M => FRAMES_PER_2M,
        }
    }
}

/// What a page-state change asks for: the GHCB operation codes shared by the MSR protocol
/// (GHCBData[55:52]) and the page-state-change entries (bits 55:52).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStateOp {
    /// Assign the page to the guest (private, encrypted): code 1.
    Private,
    /// Give the page back to the host (shared, unencrypted): code 2.
    Shared,
}

impl PageStateOp {
    /// The operation code on the wire.
    pub const fn code(self) -> u64 {
        match self {
            Self::Private => 1,
            Self::Shared => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gfn_is_limited_to_40_bits() {
        assert_eq!(Gfn::new(Gfn::MAX).map(Gfn::get), Some((1 << 40) - 1));
        assert_eq!(Gfn::new(1 << 40), None);
        assert_eq!(Gfn::containing(0x000f_ffff_ffff_f123).map(Gfn::get), Some(Gfn::MAX));
        assert_eq!(Gfn::containing(1 << 52), None);
        assert_eq!(Gfn::new(Gfn::MAX).and_then(|g| g.checked_add(1)), None);
    }

    #[test]
    fn gfn_address_and_alignment() {
        let gfn = Gfn::new(0x200).unwrap();
        assert_eq!(gfn.gpa(), 0x20_0000);
        assert!(gfn.is_2m_aligned());
        assert!(!Gfn::new(0x201).unwrap().is_2m_aligned());
    }
}
