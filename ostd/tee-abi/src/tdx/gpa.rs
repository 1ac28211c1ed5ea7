//! Guest physical addresses, the GPA width, the shared bit and page levels.
//!
//! A TD's GPA space is split in two by one address bit, the *shared bit*: with it clear a
//! GPA names private memory (encrypted and integrity-protected with the TD's key, mapped
//! by the Secure EPT), with it set the same page number names memory shared with the VMM.
//! Which bit it is follows from the GPA width (GPAW) that TDG.VP.INFO reports: the shared
//! bit is bit GPAW-1 (TDX Module ABI spec, TDG.VP.INFO, RCX; GHCI spec, "GPA.SHARED").
//! Mixing up the two halves is the classic way to leak a secret to the host or to let the
//! host feed data into private memory, so the types here keep them apart.

use super::error::TdxError;

/// The 4 KiB page size, the smallest unit of TDX memory management.
pub const PAGE_SIZE_4K: u64 = 0x1000;

/// A guest physical address, exactly as it goes in a register (shared bit included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gpa(u64);

impl Gpa {
    /// Wraps a raw GPA.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw value for a register.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Checks that the GPA is a multiple of `align`, naming `field` if not.
    pub fn check_aligned(self, field: &'static str, align: u64) -> Result<Self, TdxError> {
        if self.0.is_multiple_of(align) {
            Ok(self)
        } else {
            Err(TdxError::Misaligned { field, value: self.0, align })
        }
    }
}

/// The GPA width of the TD: the only two values the TDX module defines (TDX Module ABI
/// spec, TDG.VP.INFO, RCX\[5:0\] "GPAW": 48 or 52, following TD_PARAMS.EPTP.GPAW).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpaWidth {
    /// 48-bit GPAs (4-level Secure EPT); the shared bit is bit 47.
    Bits48,
    /// 52-bit GPAs (5-level Secure EPT); the shared bit is bit 51.
    Bits52,
}

impl GpaWidth {
    /// Decodes GPAW. Any other width would put the shared bit somewhere the TDX module
    /// never does, so it is refused rather than trusted.
    pub fn from_raw(gpaw: u64) -> Result<Self, TdxError> {
        match gpaw {
            48 => Ok(Self::Bits48),
            52 => Ok(Self::Bits52),
            _ => Err(TdxError::Unrecognised { field: "TDG.VP.INFO RCX[5:0] (GPAW)", value: gpaw }),
        }
    }

    /// The width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            Self::Bits48 => 48,
            Self::Bits52 => 52,
        }
    }

    /// The shared bit for this width: bit GPAW-1.
    pub const fn shared_bit(self) -> SharedBit {
        SharedBit(self.bits() - 1)
    }
}

/// The GPA bit that selects shared (set) or private (clear) memory. Only obtainable from a
/// [`GpaWidth`], so it is always bit 47 or bit 51.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedBit(u32);

impl SharedBit {
    /// The bit number (47 or 51).
    pub const fn index(self) -> u32 {
        self.0
    }

    /// The bit as a mask (what Linux calls `cc_mask`).
    pub const fn mask(self) -> u64 {
        1 << self.0
    }

    /// The first GPA past the private half: private GPAs are below it.
    pub const fn private_limit(self) -> u64 {
        self.mask()
    }

    /// Whether the GPA has the shared bit set.
    pub const fn is_shared(self, gpa: Gpa) -> bool {
        gpa.0 & self.mask() != 0
    }

    /// The shared alias of a private GPA.
    pub fn to_shared(self, private: Gpa) -> Result<Gpa, TdxError> {
        self.check_private("GPA", private)?;
        Ok(Gpa(private.0 | self.mask()))
    }

    /// Checks that `gpa` is private: shared bit clear and nothing set above it.
    pub fn check_private(self, field: &'static str, gpa: Gpa) -> Result<Gpa, TdxError> {
        if gpa.0 < self.private_limit() {
            Ok(gpa)
        } else {
            Err(TdxError::WrongSharing { field, gpa: gpa.0, want_shared: false })
        }
    }

    /// Checks that `gpa` is shared: shared bit set and nothing set above it (bits above
    /// GPAW are reserved, and a VMM-supplied GPA with them set is malformed).
    pub fn check_shared(self, field: &'static str, gpa: Gpa) -> Result<Gpa, TdxError> {
        let above_width = gpa.0 >> self.0 >> 1;
        if self.is_shared(gpa) && above_width == 0 {
            Ok(gpa)
        } else {
            Err(TdxError::WrongSharing { field, gpa: gpa.0, want_shared: true })
        }
    }
}

/// A Secure-EPT page level, as TDG.MEM.PAGE.ACCEPT takes it in RCX\[2:0\] (TDX Module ABI
/// spec, TDG.MEM.PAGE.ACCEPT; "SEPT level": 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PageLevel {
    /// A 4 KiB page.
    Size4K = 0,
    /// A 2 MiB page.
    Size2M = 1,
    /// A 1 GiB page.
    Size1G = 2,
}

impl PageLevel {
    /// The level number for the register.
    pub const fn raw(self) -> u64 {
        self as u64
    }

    /// The page size in bytes.
    pub const fn size(self) -> u64 {
        match self {
            Self::Size4K => PAGE_SIZE_4K,
            Self::Size2M => 0x20_0000,
            Self::Size1G => 0x4000_0000,
        }
    }

    /// The next smaller level, if any: where an accept falls back to on a size mismatch.
    pub const fn smaller(self) -> Option<Self> {
        match self {
            Self::Size4K => None,
            Self::Size2M => Some(Self::Size4K),
            Self::Size1G => Some(Self::Size2M),
        }
    }
}
