//! The SNP CPUID page (SNP firmware ABI, "CPUID Reporting": the SNP_CPUID_FUNCTION
//! entries of the CPUID page the firmware checks at launch).
//!
//! Layout: count u32 at 0, reserved to 0x10, then up to 64 entries of 0x30 bytes
//! {eax_in u32, ecx_in u32, xcr0_in u64, xss_in u64, eax, ebx, ecx, edx u32, reserved u64}
//! (Linux `struct snp_cpuid_table`). The firmware refused any entry the hypervisor could
//! not back with real hardware, so the page is the guest's trusted answer to CPUID; the
//! host's own CPUID answers are used only for the few per-vCPU fields the page cannot know.
//!
//! The lookup follows the rules Linux applies (`snp_cpuid()` and `snp_cpuid_postprocess()`
//! in arch/x86/coco/sev): ECX selects the entry only for leaves indexed by it; a leaf that
//! is not in the page reads as zeros, and is post-processed only when it lies within the
//! standard, hypervisor or extended range that leaf 0, 0x4000_0000 or 0x8000_0000 reports;
//! leaf 0xD sub-leaves 0 and 1 report the XSAVE size computed from the page for the guest's
//! XCR0 and XSS; leaves 1, 7, 0xB and 0x8000_001E take per-vCPU fields from the guest's
//! own state ([`GuestCpuState`]) or from the host ([`HostFixup`]).

use core::fmt;

use super::le::{u32_at, u64_at};

/// Bytes in the CPUID page.
pub const CPUID_PAGE_SIZE: usize = 4096;
/// The most entries the page holds.
pub const MAX_ENTRIES: usize = 64;
const ENTRIES_OFFSET: usize = 0x10;
const ENTRY_SIZE: usize = 0x30;

/// The four registers of a CPUID answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidRegs {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// One SNP_CPUID_FUNCTION entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidEntry {
    /// The leaf (EAX in).
    pub leaf: u32,
    /// The sub-leaf (ECX in); meaningful only for leaves indexed by ECX.
    pub subleaf: u32,
    /// XCR0 in: for leaf 0xD, the XCR0 the sizes were taken with.
    pub xcr0_in: u64,
    /// XSS in: for leaf 0xD, the XSS the sizes were taken with.
    pub xss_in: u64,
    /// The answer.
    pub regs: CpuidRegs,
}

/// Whether CPUID `leaf` looks at ECX (Linux `cpuid_function_is_indexed`).
pub const fn is_indexed(leaf: u32) -> bool {
    matches!(
        leaf,
        0x4 | 0x7
            | 0xb
            | 0xd
            | 0xf
            | 0x10
            | 0x12
            | 0x14
            | 0x17
            | 0x18
            | 0x1d
            | 0x1e
            | 0x1f
            | 0x8000_001d
    )
}

impl CpuidEntry {
    /// Entries for leaf 0xD sub-leaves 0 and 1 are used only when taken for the legacy
    /// XSAVE area (XCR0 = 1 or 3, XSS = 0): the sizes for other feature sets are computed.
    fn is_xsave_base(&self) -> bool {
        (self.xcr0_in == 1 || self.xcr0_in == 3) && self.xss_in == 0
    }

    /// Whether a lookup of (`leaf`, `subleaf`) may return this entry.
    fn answers(&self, leaf: u32, subleaf: u32) -> bool {
        if self.leaf != leaf || (is_indexed(leaf) && self.subleaf != subleaf) {
            return false;
        }
        !(leaf == 0xd && (subleaf == 0 || subleaf == 1)) || self.is_xsave_base()
    }
}

/// A CPUID page that cannot be used, with the field and value at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidPageError {
    /// The count is 0: the page was not filled in.
    Empty,
    /// The count is above 64.
    TooManyEntries {
        /// The count in the page.
        count: u32,
    },
    /// Two entries answer the same lookup, so the answer would depend on their order.
    Duplicate {
        /// The leaf.
        leaf: u32,
        /// The sub-leaf.
        subleaf: u32,
        /// Index of the first entry.
        first: usize,
        /// Index of the second entry.
        second: usize,
    },
}

impl fmt::Display for CpuidPageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty => write!(f, "CPUID page count is 0"),
            Self::TooManyEntries { count } => write!(f, "CPUID page count {count} is above 64"),
            Self::Duplicate { leaf, subleaf, first, second } => write!(
                f,
                "CPUID page entries {first} and {second} both answer leaf {leaf:#x} sub-leaf {subleaf:#x}"
            ),
        }
    }
}

/// A CPUID question the page cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidError {
    /// Leaf 0xD sub-leaf 1 without XSAVEC or XSAVES (EAX bits 1 and 3): the compacted size
    /// has no meaning, and Linux refuses it too.
    NoCompactedXsave,
    /// The page lacks a leaf 0xD entry for a feature enabled in XCR0 | XSS.
    XsaveFeatureMissing {
        /// XCR0 | XSS the size was asked for.
        xfeatures: u64,
    },
}

impl fmt::Display for CpuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoCompactedXsave => write!(f, "CPUID 0xD.1 without XSAVEC or XSAVES"),
            Self::XsaveFeatureMissing { xfeatures } => {
                write!(f, "CPUID page has no XSAVE size for features {xfeatures:#x}")
            }
        }
    }
}

/// The guest's own state that some CPUID fields reflect; OSTD reads it from the vCPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuestCpuState {
    /// CR4.OSXSAVE: reported in leaf 1 ECX bit 27; without it XCR0 reads as 1.
    pub osxsave: bool,
    /// CR4.PKE: reported in leaf 7 ECX bit 4 (OSPKE).
    pub pke: bool,
    /// XCR0 (used only with `osxsave`).
    pub xcr0: u64,
    /// IA32_XSS (used only when leaf 0xD.1 reports XSAVES).
    pub xss: u64,
}

/// The answer to a CPUID lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuidAnswer {
    /// The answer, final.
    Ready(CpuidRegs),
    /// The answer needs per-vCPU fields from the host's CPUID (APIC IDs, topology): ask the
    /// host for [`HostFixup::leaf`] / [`HostFixup::subleaf`] and call [`HostFixup::complete`].
    NeedsHost(HostFixup),
}

/// A page answer waiting for the host's values of its per-vCPU fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostFixup {
    leaf: u32,
    subleaf: u32,
    template: CpuidRegs,
}

impl HostFixup {
    /// The leaf to ask the host for.
    pub fn leaf(&self) -> u32 {
        self.leaf
    }

    /// The sub-leaf to ask the host for.
    pub fn subleaf(&self) -> u32 {
        self.subleaf
    }

    /// Takes only the per-vCPU fields from `host`; everything else stays the page's.
    /// - leaf 1: initial APIC ID (EBX[31:24]) and APIC enabled (EDX bit 9);
    /// - leaf 0xB: the x2APIC ID (EDX), asked for with sub-leaf 0;
    /// - leaf 0x8000_001E: extended APIC ID (EAX), core ID (EBX[7:0]), node ID (ECX[7:0]).
    pub fn complete(self, host: CpuidRegs) -> CpuidRegs {
        let mut regs = self.template;
        match self.leaf {
            0x1 => {
                regs.ebx = (host.ebx & 0xff00_0000) | (regs.ebx & 0x00ff_ffff);
                regs.edx = (host.edx & (1 << 9)) | (regs.edx & !(1 << 9));
            }
            0xb => regs.edx = host.edx,
            0x8000_001e => {
                regs.eax = host.eax;
                regs.ebx = (regs.ebx & !0xff) | (host.ebx & 0xff);
                regs.ecx = (regs.ecx & !0xff) | (host.ecx & 0xff);
            }
            _ => {}
        }
        regs
    }
}

/// A parsed, checked CPUID page.
#[derive(Clone, Debug)]
pub struct CpuidPage {
    entries: [CpuidEntry; MAX_ENTRIES],
    count: usize,
    standard_max: u32,
    hypervisor_max: u32,
    extended_max: u32,
}

/// The legacy region and XSAVE header: the size of an XSAVE area with x87 and SSE only.
const XSAVE_LEGACY_SIZE: u32 = 0x240;

impl CpuidPage {
    /// Parses a copy of the CPUID page: count at most 64 and no two entries answering the
    /// same lookup.
    pub fn parse(page: &[u8; CPUID_PAGE_SIZE]) -> Result<Self, CpuidPageError> {
        let count = u32_at(page, 0);
        if count == 0 {
            return Err(CpuidPageError::Empty);
        }
        if count as usize > MAX_ENTRIES {
            return Err(CpuidPageError::TooManyEntries { count });
        }
        let count = count as usize;
        let mut entries = [CpuidEntry::default(); MAX_ENTRIES];
        for (index, entry) in entries.iter_mut().take(count).enumerate() {
            let raw = &page[ENTRIES_OFFSET + index * ENTRY_SIZE..][..ENTRY_SIZE];
            *entry = CpuidEntry {
                leaf: u32_at(raw, 0),
                subleaf: u32_at(raw, 4),
                xcr0_in: u64_at(raw, 8),
                xss_in: u64_at(raw, 0x10),
                regs: CpuidRegs {
                    eax: u32_at(raw, 0x18),
                    ebx: u32_at(raw, 0x1c),
                    ecx: u32_at(raw, 0x20),
                    edx: u32_at(raw, 0x24),
                },
            };
        }
        let entries_used = &entries[..count];
        for (first, a) in entries_used.iter().enumerate() {
            for (second, b) in entries_used.iter().enumerate().skip(first + 1) {
                if a.answers(b.leaf, b.subleaf) && b.answers(a.leaf, a.subleaf) {
                    let (leaf, subleaf) = (a.leaf, a.subleaf);
                    return Err(CpuidPageError::Duplicate { leaf, subleaf, first, second });
                }
            }
        }
        let max_of = |leaf| entries_used.iter().find(|e| e.leaf == leaf).map_or(0, |e| e.regs.eax);
        Ok(Self {
            entries,
            count,
            standard_max: max_of(0),
            hypervisor_max: max_of(0x4000_0000),
            extended_max: max_of(0x8000_0000),
        })
    }

    /// The entries, in page order.
    pub fn entries(&self) -> &[CpuidEntry] {
        &self.entries[..self.count]
    }

    fn find(&self, leaf: u32, subleaf: u32) -> Option<CpuidRegs> {
        self.entries().iter().find(|e| e.answers(leaf, subleaf)).map(|e| e.regs)
    }

    fn in_range(&self, leaf: u32) -> bool {
        leaf <= self.standard_max
            || (0x4000_0000..=self.hypervisor_max).contains(&leaf)
            || (0x8000_0000..=self.extended_max).contains(&leaf)
    }

    /// Answers CPUID (`leaf`, `subleaf`) for a vCPU in `guest` state.
    pub fn lookup(
        &self,
        leaf: u32,
        subleaf: u32,
        guest: &GuestCpuState,
    ) -> Result<CpuidAnswer, CpuidError> {
        let subleaf = if is_indexed(leaf) { subleaf } else { 0 };
        let regs = match self.find(leaf, subleaf) {
            Some(regs) => regs,
            // Hypervisors leave out all-zero leaves; inside a range they still get the
            // per-vCPU fix-ups, outside every range CPUID returns zeros and nothing else.
            None if self.in_range(leaf) => CpuidRegs::default(),
            None => return Ok(CpuidAnswer::Ready(CpuidRegs::default())),
        };
        self.postprocess(leaf, subleaf, regs, guest)
    }

    fn postprocess(
        &self,
        leaf: u32,
        subleaf: u32,
        mut regs: CpuidRegs,
        guest: &GuestCpuState,
    ) -> Result<CpuidAnswer, CpuidError> {
        let needs_host = |leaf, subleaf, template| {
            Ok(CpuidAnswer::NeedsHost(HostFixup { leaf, subleaf, template }))
        };
        match leaf {
            0x1 => {
                regs.ecx = set_bit(regs.ecx, 27, guest.osxsave);
                needs_host(leaf, 0, regs)
            }
            0x7 => {
                regs.ecx = set_bit(regs.ecx, 4, guest.pke);
                Ok(CpuidAnswer::Ready(regs))
            }
            0xb => needs_host(leaf, 0, regs),
            0xd if subleaf <= 1 => {
                let xcr0 = if guest.osxsave { guest.xcr0 } else { 1 };
                let compacted = subleaf == 1;
                let xss = if compacted && regs.eax & (1 << 3) != 0 { guest.xss } else { 0 };
                if compacted && regs.eax & ((1 << 1) | (1 << 3)) == 0 {
                    return Err(CpuidError::NoCompactedXsave);
                }
                regs.ebx = self.xsave_size(xcr0 | xss, compacted)?;
                Ok(CpuidAnswer::Ready(regs))
            }
            0x8000_001e => needs_host(leaf, 0, regs),
            _ => Ok(CpuidAnswer::Ready(regs)),
        }
    }

    /// The XSAVE area size for the features in `xfeatures`: the legacy area plus, for each
    /// enabled component 2..=63, its size (compacted) or the furthest end (standard format),
    /// from the leaf 0xD sub-leaf entries. Every enabled component must have an entry.
    fn xsave_size(&self, xfeatures: u64, compacted: bool) -> Result<u32, CpuidError> {
        let mut size = XSAVE_LEGACY_SIZE;
        let mut found = 0u64;
        for entry in self.entries() {
            let component = entry.subleaf;
            if entry.leaf != 0xd || !(2..64).contains(&component) {
                continue;
            }
            let bit = 1u64 << component;
            if xfeatures & bit == 0 || found & bit != 0 {
                continue;
            }
            found |= bit;
            let (component_size, offset) = (entry.regs.eax, entry.regs.ebx);
            size = if compacted {
                size.saturating_add(component_size)
            } else {
                size.max(offset.saturating_add(component_size))
            };
        }
        if found != xfeatures & !0b11 {
            return Err(CpuidError::XsaveFeatureMissing { xfeatures });
        }
        Ok(size)
    }
}

fn set_bit(value: u32, bit: u32, on: bool) -> u32 {
    if on { value | (1 << bit) } else { value & !(1 << bit) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(leaf: u32, subleaf: u32, xcr0_in: u64, regs: [u32; 4]) -> CpuidEntry {
        let [eax, ebx, ecx, edx] = regs;
        CpuidEntry { leaf, subleaf, xcr0_in, xss_in: 0, regs: CpuidRegs { eax, ebx, ecx, edx } }
    }

    fn page_of(entries: &[CpuidEntry]) -> [u8; CPUID_PAGE_SIZE] {
        let mut page = [0u8; CPUID_PAGE_SIZE];
        page[0..4].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        for (i, e) in entries.iter().enumerate() {
            let at = 0x10 + i * 0x30;
            page[at..at + 4].copy_from_slice(&e.leaf.to_le_bytes());
            page[at + 4..at + 8].copy_from_slice(&e.subleaf.to_le_bytes());
            page[at + 8..at + 16].copy_from_slice(&e.xcr0_in.to_le_bytes());
            page[at + 16..at + 24].copy_from_slice(&e.xss_in.to_le_bytes());
            page[at + 24..at + 28].copy_from_slice(&e.regs.eax.to_le_bytes());
            page[at + 28..at + 32].copy_from_slice(&e.regs.ebx.to_le_bytes());
            page[at + 32..at + 36].copy_from_slice(&e.regs.ecx.to_le_bytes());
            page[at + 36..at + 40].copy_from_slice(&e.regs.edx.to_le_bytes());
        }
        page
    }

    /// A small table in the shape of one QEMU/KVM builds for an EPYC guest: leaf 0 max 0xd,
    /// hypervisor leaves up to 0x4000_0001, extended up to 0x8000_0021, XSAVE components
    /// 2 (AVX, 256 bytes at 576) and 5..7 (AVX-512: 64 at 832, 512 at 896, 1024 at 1408).
    fn table() -> CpuidPage {
        let entries = [
            entry(0, 0, 0, [0xd, 0x6874_7541, 0x444d_4163, 0x6974_6e65]),
            entry(1, 0, 0, [0x00a0_0f11, 0x0000_0800, 0x7ed8_320b, 0x178b_fbff]),
            entry(7, 0, 0, [0, 0xf1bf_97a9, 0x0040_069c, 0]),
            entry(0xb, 0, 0, [1, 1, 0x100, 0]),
            entry(0xd, 0, 1, [0xe7, 0x240, 0, 0x988]),
            entry(0xd, 1, 1, [0xf, 0x240, 0, 0]),
            entry(0xd, 2, 0, [0x100, 0x240, 0, 0]),
            entry(0xd, 5, 0, [0x40, 0x340, 0, 0]),
            entry(0xd, 6, 0, [0x200, 0x380, 0, 0]),
            entry(0xd, 7, 0, [0x400, 0x580, 0, 0]),
            entry(0x4000_0000, 0, 0, [0x4000_0001, 0x4b4d_564b, 0x564b_4d56, 0x4d]),
            entry(0x8000_0000, 0, 0, [0x8000_0021, 0x6874_7541, 0x444d_4163, 0x6974_6e65]),
            entry(0x8000_001e, 0, 0, [0, 0x100, 0, 0]),
        ];
        CpuidPage::parse(&page_of(&entries)).unwrap()
    }

    fn ready(answer: CpuidAnswer) -> CpuidRegs {
        match answer {
            CpuidAnswer::Ready(regs) => regs,
            CpuidAnswer::NeedsHost(fixup) => panic!("needs host for {fixup:?}"),
        }
    }

    #[test]
    fn parse_rejects_bad_counts_and_duplicates() {
        let mut page = [0u8; CPUID_PAGE_SIZE];
        assert_eq!(CpuidPage::parse(&page).err(), Some(CpuidPageError::Empty));
        page[0..4].copy_from_slice(&65u32.to_le_bytes());
        assert_eq!(
            CpuidPage::parse(&page).err(),
            Some(CpuidPageError::TooManyEntries { count: 65 })
        );
        let dup = [entry(7, 0, 0, [1; 4]), entry(1, 0, 0, [0; 4]), entry(7, 0, 0, [2; 4])];
        assert_eq!(
            CpuidPage::parse(&page_of(&dup)).err(),
            Some(CpuidPageError::Duplicate { leaf: 7, subleaf: 0, first: 0, second: 2 })
        );
        // A leaf not indexed by ECX answers every sub-leaf, so two of them clash.
        let dup = [entry(1, 0, 0, [1; 4]), entry(1, 5, 0, [2; 4])];
        assert!(CpuidPage::parse(&page_of(&dup)).is_err());
        // Distinct sub-leaves of an indexed leaf do not, nor 0xD.0 for XCR0 = 1 and for
        // XCR0 = 7 (the second is never used for lookups).
        let fine = [
            entry(7, 0, 0, [1; 4]),
            entry(7, 1, 0, [2; 4]),
            entry(0xd, 0, 1, [0; 4]),
            entry(0xd, 0, 7, [0; 4]),
        ];
        assert_eq!(CpuidPage::parse(&page_of(&fine)).unwrap().entries().len(), 4);
        let clash = [entry(0xd, 0, 1, [0; 4]), entry(0xd, 0, 3, [0; 4])];
        assert!(CpuidPage::parse(&page_of(&clash)).is_err());
    }

    #[test]
    fn lookup_indexes_only_indexed_leaves() {
        let page = table();
        let guest = GuestCpuState::default();
        // Leaf 0 ignores ECX.
        assert_eq!(ready(page.lookup(0, 9, &guest).unwrap()).eax, 0xd);
        // Leaf 7 sub-leaf 1 is absent but in range: zeros, after the OSPKE fix-up.
        assert_eq!(ready(page.lookup(7, 1, &guest).unwrap()), CpuidRegs::default());
        assert_eq!(ready(page.lookup(7, 0, &guest).unwrap()).ebx, 0xf1bf_97a9);
    }

    #[test]
    fn out_of_range_leaves_are_zero() {
        let page = table();
        let guest = GuestCpuState { osxsave: true, ..Default::default() };
        for leaf in [0xe, 0x4000_0002, 0x8000_0022, 0x2000_0000] {
            assert_eq!(page.lookup(leaf, 0, &guest), Ok(CpuidAnswer::Ready(CpuidRegs::default())));
        }
        // In range but absent (0x8000_0008 ≤ 0x8000_0021): zeros too.
        assert_eq!(ready(page.lookup(0x8000_0008, 0, &guest).unwrap()), CpuidRegs::default());
    }

    #[test]
    fn leaf_1_takes_osxsave_from_the_guest_and_apic_fields_from_the_host() {
        let page = table();
        let guest = GuestCpuState { osxsave: true, ..Default::default() };
        let CpuidAnswer::NeedsHost(fixup) = page.lookup(1, 0, &guest).unwrap() else { panic!() };
        assert_eq!((fixup.leaf(), fixup.subleaf()), (1, 0));
        let host = CpuidRegs { eax: 0xdead, ebx: 0x0500_0000 | 0xabcdef, ecx: 0, edx: 0 };
        let regs = fixup.complete(host);
        assert_eq!(regs.eax, 0x00a0_0f11, "family/model stay the page's");
        assert_eq!(regs.ebx, 0x0500_0800, "APIC ID 5 from the host, the rest from the page");
        assert_eq!(regs.ecx, 0x7ed8_320b | 1 << 27);
        assert_eq!(regs.edx, 0x178b_fbff & !(1 << 9), "APIC enable bit from the host");
        let off = GuestCpuState::default();
        let CpuidAnswer::NeedsHost(fixup) = page.lookup(1, 0, &off).unwrap() else { panic!() };
        assert_eq!(fixup.complete(CpuidRegs::default()).ecx & (1 << 27), 0);
    }

    #[test]
    fn leaf_7_ospke_follows_cr4() {
        let page = table();
        let on = GuestCpuState { pke: true, ..Default::default() };
        assert_eq!(ready(page.lookup(7, 0, &on).unwrap()).ecx, 0x0040_069c | 1 << 4);
        let off = GuestCpuState::default();
        assert_eq!(ready(page.lookup(7, 0, &off).unwrap()).ecx, 0x0040_068c);
    }

    #[test]
    fn topology_leaves_take_ids_from_the_host() {
        let page = table();
        let guest = GuestCpuState::default();
        let CpuidAnswer::NeedsHost(fixup) = page.lookup(0xb, 1, &guest).unwrap() else { panic!() };
        assert_eq!((fixup.leaf(), fixup.subleaf()), (0xb, 0));
        assert_eq!(fixup.complete(CpuidRegs { edx: 7, ..Default::default() }).edx, 7);
        let CpuidAnswer::NeedsHost(fixup) = page.lookup(0x8000_001e, 0, &guest).unwrap() else {
            panic!()
        };
        let regs =
            fixup.complete(CpuidRegs { eax: 9, ebx: 0xffff_ff03, ecx: 0xffff_ff01, edx: 0xffff });
        assert_eq!(regs, CpuidRegs { eax: 9, ebx: 0x103, ecx: 0x01, edx: 0 });
    }

    #[test]
    fn xsave_sizes_follow_xcr0_and_xss() {
        let page = table();
        // Without OSXSAVE XCR0 counts as 1: the legacy area.
        let off = GuestCpuState { xcr0: 0xe7, ..Default::default() };
        assert_eq!(ready(page.lookup(0xd, 0, &off).unwrap()).ebx, 0x240);
        // x87 | SSE | AVX: standard format ends at 576 + 256 = 832.
        let avx = GuestCpuState { osxsave: true, xcr0: 0x7, ..Default::default() };
        assert_eq!(ready(page.lookup(0xd, 0, &avx).unwrap()).ebx, 832);
        assert_eq!(ready(page.lookup(0xd, 1, &avx).unwrap()).ebx, 832);
        // With AVX-512 the standard format ends at 1408 + 1024 = 2432, the compacted one is
        // 576 + 256 + 64 + 512 + 1024 = 2432 as well here, so drop AVX to tell them apart.
        let avx512 = GuestCpuState { osxsave: true, xcr0: 0xe3, ..Default::default() };
        assert_eq!(ready(page.lookup(0xd, 0, &avx512).unwrap()).ebx, 2432);
        assert_eq!(ready(page.lookup(0xd, 1, &avx512).unwrap()).ebx, 576 + 64 + 512 + 1024);
        // Other fields of 0xD.0 stay the page's.
        assert_eq!(ready(page.lookup(0xd, 0, &avx512).unwrap()).eax, 0xe7);
        // A feature the page has no entry for (bit 9, PKRU) has no size.
        let pkru = GuestCpuState { osxsave: true, xcr0: 0x207, ..Default::default() };
        assert_eq!(
            page.lookup(0xd, 0, &pkru),
            Err(CpuidError::XsaveFeatureMissing { xfeatures: 0x207 })
        );
        // XSS counts only with XSAVES (0xD.1 EAX bit 3, set in this table).
        let xss = GuestCpuState { osxsave: true, xcr0: 0x3, xss: 1 << 11, ..Default::default() };
        assert_eq!(
            page.lookup(0xd, 1, &xss),
            Err(CpuidError::XsaveFeatureMissing { xfeatures: 0x803 })
        );
        assert_eq!(ready(page.lookup(0xd, 0, &xss).unwrap()).ebx, 0x240);
        // Other 0xD sub-leaves are looked up as they are.
        assert_eq!(ready(page.lookup(0xd, 6, &xss).unwrap()).eax, 0x200);
    }

    #[test]
    fn compacted_size_needs_xsavec_or_xsaves() {
        let entries = [entry(0, 0, 0, [0xd, 0, 0, 0]), entry(0xd, 1, 1, [0x1, 0, 0, 0])];
        let page = CpuidPage::parse(&page_of(&entries)).unwrap();
        let guest = GuestCpuState { osxsave: true, xcr0: 3, ..Default::default() };
        assert_eq!(page.lookup(0xd, 1, &guest), Err(CpuidError::NoCompactedXsave));
    }
}
