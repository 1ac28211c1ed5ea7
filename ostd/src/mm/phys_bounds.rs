//! Bounds arithmetic for windows onto physical memory: ranges that cannot wrap, page rounding
//! that cannot overflow, and the rules that keep a device or firmware window off the RAM the
//! kernel owns and off the kernel image.
//!
//! Every address here may come from the host (a firmware table, an MCFG base, a boot
//! structure), so nothing is added, rounded or offset without a check, and every rejection
//! names the range and the reason.
//!
//! The file is pure: no `unsafe`, no hardware, nothing from the rest of the crate. The host
//! test suite compiles it on its own (`tests/tests/phys_bounds.rs`) and checks it with
//! proptest, so keep it that way.

use core::fmt;

/// The size of a base page.
pub const PAGE: u64 = 4096;

/// How many bytes of physical address space one PML4 slot covers (512 GiB), and so the
/// direct map's reach: it is one slot (256), so RAM at or above this has no place in it.
pub const WINDOW_SPAN: u64 = 1 << 39;

/// How many PML4 slots the I/O window may use: from its own (384) up to, not including, the
/// kernel stacks' (448). 64 slots reach 32 TiB, a 45-bit physical address.
pub const IO_WINDOW_SLOTS: u64 = 64;

/// Returns how far the I/O window reaches on a CPU with `phys_bits`-bit physical addresses:
/// to `2^phys_bits` (no device sits above, and a page-table entry cannot name it), but at most
/// [`IO_WINDOW_SLOTS`] slots, so a mapping never reaches the kernel stacks or the image. A
/// width below 32 bits is taken as 32: every PC has device registers just under 4 GiB.
pub fn io_window_reach(phys_bits: u8) -> u64 {
    let bits = u32::from(phys_bits).clamp(32, 63);
    (1u64 << bits).min(IO_WINDOW_SLOTS * WINDOW_SPAN)
}

/// The first MiB: the legacy BIOS area, where firmware tables may sit in RAM the allocator
/// never owns.
pub const LEGACY_END: u64 = 0x10_0000;

/// A range of physical addresses, `start..end`.
///
/// # Invariants
/// `start <= end`: constructors refuse ranges that would wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysSpan {
    start: u64,
    end: u64,
}

impl PhysSpan {
    /// Every address below 2^64 - 1: what to assume when a bound is unknown.
    pub const ALL: PhysSpan = PhysSpan { start: 0, end: u64::MAX };

    /// Returns the range of `len` bytes at `start`, or `None` if it would run past 2^64.
    pub fn new(start: u64, len: u64) -> Option<Self> {
        Some(Self { start, end: start.checked_add(len)? })
    }

    /// Returns the range `start..end`, or `None` if `end < start`.
    pub fn from_bounds(start: u64, end: u64) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    /// Returns the first address.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Returns one past the last address.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Returns the number of bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Returns whether the range holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Returns whether the two ranges share at least one byte.
    pub fn overlaps(&self, other: PhysSpan) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Returns whether every byte of `other` is in `self` (an empty `other` inside or at the
    /// edge counts).
    pub fn contains(&self, other: PhysSpan) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// Returns the largest page-aligned range inside `self` (what an allocator may hand out
    /// of a RAM region), or `None` if no whole page fits.
    pub fn whole_pages(&self) -> Option<PhysSpan> {
        let (start, end) = (page_ceil(self.start)?, page_floor(self.end));
        (start < end).then_some(PhysSpan { start, end })
    }

    /// Returns the smallest page-aligned range holding `self`, or `None` if rounding the end
    /// up would pass 2^64.
    pub fn pages(&self) -> Option<PhysSpan> {
        Some(PhysSpan { start: page_floor(self.start), end: page_ceil(self.end)? })
    }
}

impl fmt::Display for PhysSpan {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.start, self.end)
    }
}

/// Rounds down to a page boundary.
pub fn page_floor(addr: u64) -> u64 {
    addr & !(PAGE - 1)
}

/// Rounds up to a page boundary, or returns `None` if that passes 2^64.
pub fn page_ceil(addr: u64) -> Option<u64> {
    Some(page_floor(addr.checked_add(PAGE - 1)?))
}

/// What a window onto physical memory is for; each purpose has its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowPurpose {
    /// Device registers (MMIO: APIC, IOAPIC, PCI ECAM, BARs). They must not overlap
    /// anything the kernel maps as RAM (usable or ACPI-reclaimable), nor the kernel image.
    Device,
    /// A firmware table (ACPI RSDP, XSDT/RSDT, MCFG, MADT). It must lie in reserved or ACPI
    /// memory, or in the legacy first MiB: never in usable RAM above 1 MiB (the allocator's)
    /// nor in the kernel image.
    Firmware,
}

/// What one memory-map region holds, as far as windows care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionUse {
    /// Usable RAM: direct-mapped, and the allocator's except where the boot reserved it.
    Usable,
    /// RAM holding ACPI tables the kernel may reclaim: direct-mapped, never allocated.
    AcpiReclaimable,
    /// Anything else: firmware, ACPI NVS, MMIO, holes.
    Reserved,
}

/// Why a window onto physical memory was refused.
///
/// `range` is the window asked for; `region` and `image` are what it ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "the fields are described once, in the paragraph above")]
pub enum WindowError {
    /// `paddr + len` runs past 2^64.
    Wraps { paddr: u64, len: u64 },
    /// The window would hold no bytes.
    Empty { paddr: u64 },
    /// The range reaches past `reach`, the end of what its window covers: the I/O window's
    /// reach for [`check_window`] (see [`io_window_reach`]), [`WINDOW_SPAN`] for the direct map.
    BeyondWindow { range: PhysSpan, reach: u64 },
    /// The range overlaps RAM the kernel owns (`region` is the memory-map entry).
    OverlapsRam { range: PhysSpan, region: PhysSpan, purpose: WindowPurpose },
    /// The range overlaps the kernel image.
    OverlapsKernel { range: PhysSpan, image: PhysSpan },
    /// The range passed the checks, but memory for its page tables ran out.
    NoPageTables { range: PhysSpan },
    /// Data the loader placed in RAM (the initrd) does not lie wholly inside one usable region.
    NotInUsableRam { range: PhysSpan },
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Wraps { paddr, len } => {
                write!(f, "{paddr:#x} + {len:#x} wraps past the end of the address space")
            }
            Self::Empty { paddr } => write!(f, "empty range at {paddr:#x}"),
            Self::BeyondWindow { range, reach } => {
                write!(
                    f,
                    "{range} reaches past {reach:#x}, the highest physical address the kernel \
                     maps"
                )
            }
            Self::OverlapsRam { range, region, purpose: WindowPurpose::Device } => {
                write!(f, "device window {range} overlaps RAM {region} in the memory map")
            }
            Self::OverlapsRam { range, region, purpose: WindowPurpose::Firmware } => {
                write!(
                    f,
                    "firmware table {range} lies in usable RAM {region}, not reserved or ACPI \
                     memory"
                )
            }
            Self::OverlapsKernel { range, image } => {
                write!(f, "{range} overlaps the kernel image {image}")
            }
            Self::NoPageTables { range } => {
                write!(f, "out of memory for the page tables mapping {range}")
            }
            Self::NotInUsableRam { range } => {
                write!(f, "{range} does not lie inside one usable RAM region of the memory map")
            }
        }
    }
}

/// Checks a window of `len` bytes at physical `paddr` for `purpose`, against the memory
/// map (`regions`) and where the kernel image sits, and returns its page-aligned extent: the
/// pages to map, all below `reach` (the I/O window's, from [`io_window_reach`]).
///
/// # Errors
/// A range that wraps, is empty, reaches past `reach`, or breaks the rule of its
/// [`WindowPurpose`] (named in the error).
pub fn check_window(
    paddr: u64,
    len: u64,
    purpose: WindowPurpose,
    reach: u64,
    kernel_image: PhysSpan,
    regions: impl IntoIterator<Item = (PhysSpan, RegionUse)>,
) -> Result<PhysSpan, WindowError> {
    let range = PhysSpan::new(paddr, len).ok_or(WindowError::Wraps { paddr, len })?;
    if range.is_empty() {
        return Err(WindowError::Empty { paddr });
    }
    let pages = range
        .pages()
        .filter(|p| p.end <= reach)
        .ok_or(WindowError::BeyondWindow { range, reach })?;
    // The pages, not just the bytes, must stay clear: a mapping is page-granular, and an
    // uncached alias of a page the kernel uses as RAM is a memory-type conflict.
    if pages.overlaps(kernel_image) {
        return Err(WindowError::OverlapsKernel { range, image: kernel_image });
    }
    for (region, kind) in regions {
        let forbidden = match (purpose, kind) {
            (_, RegionUse::Reserved) => continue,
            (WindowPurpose::Device, _) => region,
            (WindowPurpose::Firmware, RegionUse::AcpiReclaimable) => continue,
            (WindowPurpose::Firmware, RegionUse::Usable) => {
                // The allocator never owns the first MiB, and legacy tables live there.
                match PhysSpan::from_bounds(region.start.max(LEGACY_END), region.end) {
                    Some(above) => above,
                    None => continue,
                }
            }
        };
        if pages.overlaps(forbidden) {
            return Err(WindowError::OverlapsRam { range, region, purpose });
        }
    }
    Ok(pages)
}

/// Checks data of `len` bytes the loader placed at physical `paddr` (the initrd), which the
/// kernel reads in place through the direct map: it must lie wholly inside one usable
/// region, below [`WINDOW_SPAN`] (the direct map's reach), and clear of the kernel image.
/// Returns the exact range.
///
/// # Errors
/// A range that wraps, is empty, or breaks one of those rules (named in the error).
pub fn check_loaded(
    paddr: u64,
    len: u64,
    kernel_image: PhysSpan,
    regions: impl IntoIterator<Item = (PhysSpan, RegionUse)>,
) -> Result<PhysSpan, WindowError> {
    let range = PhysSpan::new(paddr, len).ok_or(WindowError::Wraps { paddr, len })?;
    if range.is_empty() {
        return Err(WindowError::Empty { paddr });
    }
    if range.end > WINDOW_SPAN {
        return Err(WindowError::BeyondWindow { range, reach: WINDOW_SPAN });
    }
    if range.overlaps(kernel_image) {
        return Err(WindowError::OverlapsKernel { range, image: kernel_image });
    }
    if !regions
        .into_iter()
        .any(|(region, kind)| kind == RegionUse::Usable && region.contains(range))
    {
        return Err(WindowError::NotInUsableRam { range });
    }
    Ok(range)
}

/// Returns the address of an access of `size` bytes at `offset` into a window of `len`
/// bytes based at virtual address `base`, or `None` if the access runs past the window
/// (with no wrapping) or is not aligned to `size` at its actual address.
pub fn access(base: u64, len: usize, offset: usize, size: usize) -> Option<u64> {
    let end = offset.checked_add(size)?;
    if end > len {
        return None;
    }
    let addr = base.checked_add(offset as u64)?;
    (size != 0 && addr % size as u64 == 0).then_some(addr)
}

/// Returns whether `len` bytes at `offset` fit inside a window of `window_len` bytes.
pub fn fits(window_len: usize, offset: usize, len: usize) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= window_len)
}
