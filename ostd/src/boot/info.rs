//! What the boot loader told the kernel, independent of which protocol said it.

use super::cmdline::Cmdline;
use crate::mm::{PhysSpan, RegionUse, WindowError};

/// A range of physical addresses, `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// Returns the number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Returns whether the range holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Which path the kernel was entered through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootProtocol {
    /// Xen PVH (`qemu -kernel kernel.elf` under SeaBIOS).
    Pvh,
    /// The Linux boot protocol's 64-bit EFI handover (bzImage under OVMF/TDVF).
    EfiHandover,
}

impl core::fmt::Display for BootProtocol {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(match self {
            Self::Pvh => "PVH",
            Self::EfiHandover => "Linux/EFI handover",
        })
    }
}

/// What a region of the firmware's memory map holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// RAM the kernel may use.
    Usable,
    /// ACPI tables the kernel may reclaim once it has read them.
    AcpiReclaimable,
    /// RAM the firmware left unaccepted (EFI type 15, under TDX or SEV-SNP): usable once
    /// accepted, which the frame allocator does a 2 MiB chunk at a time when it first hands
    /// out a frame of it (`tee::accept`).
    Unaccepted,
    /// Anything else: firmware, ACPI NVS, MMIO, bad memory.
    Reserved,
}

/// One entry of the memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// The addresses it covers.
    pub range: PhysRange,
    /// What they hold.
    pub kind: MemoryKind,
}

/// The firmware's memory map, copied out of firmware memory into a fixed table.
#[derive(Clone)]
pub struct MemoryMap {
    regions: [MemoryRegion; Self::CAPACITY],
    len: usize,
    /// Entries the table had no room for (counted, so the banner can say so).
    pub dropped: usize,
}

impl MemoryMap {
    /// The most entries kept; QEMU's maps have under 10, OVMF's about 100.
    pub const CAPACITY: usize = 256;

    pub(super) const fn new() -> Self {
        const EMPTY: MemoryRegion =
            MemoryRegion { range: PhysRange { start: 0, end: 0 }, kind: MemoryKind::Reserved };
        Self { regions: [EMPTY; Self::CAPACITY], len: 0, dropped: 0 }
    }

    /// Appends a region, merging it into the previous one when they touch and match.
    pub(super) fn push(&mut self, region: MemoryRegion) {
        if region.range.is_empty() {
            return;
        }
        if let Some(last) = self.regions[..self.len].last_mut()
            && last.kind == region.kind
            && last.range.end == region.range.start
        {
            last.range.end = region.range.end;
            return;
        }
        if self.len == Self::CAPACITY {
            self.dropped += 1;
            return;
        }
        self.regions[self.len] = region;
        self.len += 1;
    }

    /// Returns the regions, in firmware order.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.regions[..self.len]
    }

    /// Returns the regions as the bounds checks in [`crate::mm`] see them.
    pub(crate) fn spans(&self) -> impl Iterator<Item = (PhysSpan, RegionUse)> + '_ {
        self.regions().iter().filter_map(|r| {
            let kind = match r.kind {
                MemoryKind::Usable | MemoryKind::Unaccepted => RegionUse::Usable,
                MemoryKind::AcpiReclaimable => RegionUse::AcpiReclaimable,
                MemoryKind::Reserved => RegionUse::Reserved,
            };
            Some((PhysSpan::from_bounds(r.range.start, r.range.end)?, kind))
        })
    }

    /// Returns the total bytes of usable RAM.
    pub fn usable_bytes(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| matches!(r.kind, MemoryKind::Usable | MemoryKind::Unaccepted))
            .map(|r| r.range.len())
            .sum()
    }
}

/// Everything the boot protocol handed over.
pub struct BootInfo {
    /// The entry path.
    pub protocol: BootProtocol,
    /// The kernel command line.
    pub cmdline: Cmdline,
    /// The initial ramdisk, if the loader gave one and it passed [`BootInfo::set_initrd`]'s checks.
    pub initrd: Option<PhysRange>,
    /// Why the loader's initrd was refused, if it was.
    pub initrd_refused: Option<WindowError>,
    /// The physical memory map.
    pub memory: MemoryMap,
    /// Physical ranges the kernel must not allocate from (image, boot structures).
    pub reserved: [PhysRange; 8],
    /// The ACPI RSDP, if the loader said where it is.
    pub rsdp: Option<u64>,
    /// Physical address the image runs at minus its link address.
    pub load_offset: u64,
    /// The TSC at the first instruction of the kernel.
    pub entry_tsc: u64,
    /// Things the loader got wrong that the kernel worked around.
    pub warnings: [Option<&'static str>; 4],
}

impl BootInfo {
    /// Returns the physical range the kernel image occupies (code, data and bss).
    pub fn kernel_image(&self) -> PhysRange {
        let (start, end) = crate::mm::kernel_image_link_range();
        PhysRange { start: start + self.load_offset, end: end + self.load_offset }
    }

    /// Takes the loader's initrd (`len` bytes at `paddr`) if it lies wholly in one usable
    /// RAM region within the direct map and clear of the kernel image, and reserves it;
    /// otherwise records why it was refused. The kernel reads it in place
    /// ([`super::initrd_bytes`]), so these checks are what make that view sound.
    pub(super) fn set_initrd(&mut self, paddr: u64, len: u64) {
        let image = self.kernel_image();
        // The image's bounds are link-time symbols plus the load offset, so start <= end;
        // were that ever false, everything counts as image and the initrd is refused.
        let image = PhysSpan::from_bounds(image.start, image.end).unwrap_or(PhysSpan::ALL);
        match crate::mm::check_loaded(paddr, len, image, self.memory.spans()) {
            Ok(range) => {
                let range = PhysRange { start: range.start(), end: range.end() };
                self.initrd = Some(range);
                self.reserved[2] = range;
            }
            Err(e) => self.initrd_refused = Some(e),
        }
    }
}
