//! Builds a bzImage (Linux boot protocol 2.15, 64-bit EFI handover) from the kernel ELF.
//!
//! Layout: a 4 KiB setup area (eight 512-byte sectors: the boot sector and the setup
//! header, no real-mode code) followed by the protected-mode kernel, which is the ELF's
//! loadable segments laid out flat from their physical link address (1 MiB). UEFI loaders
//! (OVMF, TDVF) place the flat part anywhere 4 KiB-aligned and call
//! `start + handover_offset + 0x200`; the kernel maps itself wherever that is.
//! Under SeaBIOS the same file does not boot (there is no real-mode setup): use the ELF.
//!
//! Field offsets are from Linux's Documentation/arch/x86/boot.rst.

use core::fmt;

use xmas_elf::ElfFile;
use xmas_elf::program::Type;
use xmas_elf::sections::SectionData;
use xmas_elf::symbol_table::Entry;

/// The kernel's physical link address, where the flat part starts.
pub const LINK_BASE: u64 = 0x10_0000;
/// The setup area: boot sector plus seven setup sectors, the `boot_params` size loaders expect.
pub const SETUP_SECTS: u8 = 7;
const SETUP_LEN: usize = (SETUP_SECTS as usize + 1) * 512;
/// The symbol of the 64-bit EFI handover entry in `ostd/src/boot/entry.S`.
pub const HANDOVER_SYMBOL: &str = "efi_handover64";

const XLF_KERNEL_64: u16 = 1 << 0;
const XLF_EFI_HANDOVER_64: u16 = 1 << 3;
const LOADED_HIGH: u8 = 1 << 0;
const PROTOCOL_VERSION: u16 = 0x020f;

/// Why a bzImage could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum BzImageError {
    /// The input is not a 64-bit ELF the parser accepts.
    BadElf(String),
    /// A loadable segment sits below the link base.
    SegmentBelowBase {
        /// The segment's physical load address.
        paddr: u64,
    },
    /// The ELF has no loadable contents.
    Empty,
    /// The handover symbol is missing or not past the first 0x200 bytes.
    NoHandoverEntry,
    /// The image does not fit the 32-bit size fields.
    TooLarge(u64),
}

impl fmt::Display for BzImageError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::BadElf(e) => write!(f, "not a usable kernel ELF: {e}"),
            Self::SegmentBelowBase { paddr } => {
                write!(f, "loadable segment at {paddr:#x} is below the link base {LINK_BASE:#x}")
            }
            Self::Empty => write!(f, "the ELF has no loadable segments"),
            Self::NoHandoverEntry => {
                write!(f, "symbol {HANDOVER_SYMBOL} is missing or within the first 0x200 bytes")
            }
            Self::TooLarge(n) => {
                write!(f, "image of {n:#x} bytes does not fit the boot protocol's 32-bit fields")
            }
        }
    }
}

impl std::error::Error for BzImageError {}

/// The protected-mode part of the kernel, ready to wrap.
#[derive(Debug, PartialEq, Eq)]
pub struct FlatKernel {
    /// Bytes from `LINK_BASE` to the end of the last loaded file contents.
    pub bytes: Vec<u8>,
    /// Bytes from `LINK_BASE` to the end of memory the kernel uses (bss included).
    pub init_size: u64,
    /// Offset of the handover entry from `LINK_BASE`.
    pub handover_entry: u64,
}

/// Lays the ELF's loadable segments out flat and finds the handover entry.
pub fn flatten(elf_bytes: &[u8]) -> Result<FlatKernel, BzImageError> {
    let elf = ElfFile::new(elf_bytes).map_err(|e| BzImageError::BadElf(e.to_string()))?;
    let mut bytes = Vec::new();
    let mut mem_end = 0u64;
    for ph in elf.program_iter() {
        if ph.get_type() != Ok(Type::Load) {
            continue;
        }
        let paddr = ph.physical_addr();
        let offset =
            paddr.checked_sub(LINK_BASE).ok_or(BzImageError::SegmentBelowBase { paddr })?;
        mem_end = mem_end.max(offset + ph.mem_size());
        if ph.file_size() == 0 {
            continue;
        }
        let start =
            usize::try_from(ph.offset()).map_err(|_| BzImageError::TooLarge(ph.offset()))?;
        let data = elf_bytes.get(start..start + ph.file_size() as usize).ok_or_else(|| {
            BzImageError::BadElf(format!("segment at file offset {start:#x} runs past the end"))
        })?;
        let end = (offset + ph.file_size()) as usize;
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset as usize..end].copy_from_slice(data);
    }
    if bytes.is_empty() {
        return Err(BzImageError::Empty);
    }
    let handover = find_symbol(&elf, HANDOVER_SYMBOL).ok_or(BzImageError::NoHandoverEntry)?;
    let handover_entry = handover
        .checked_sub(LINK_BASE)
        .filter(|&o| o >= 0x200)
        .ok_or(BzImageError::NoHandoverEntry)?;
    Ok(FlatKernel { bytes, init_size: mem_end.next_multiple_of(4096), handover_entry })
}

fn find_symbol(elf: &ElfFile, name: &str) -> Option<u64> {
    let symtab = elf.find_section_by_name(".symtab")?;
    match symtab.get_data(elf).ok()? {
        SectionData::SymbolTable64(entries) => {
            entries.iter().find(|e| e.get_name(elf) == Ok(name)).map(|e| e.value())
        }
        _ => None,
    }
}

/// Returns the 4 KiB setup area for a flat kernel.
pub fn setup_area(kernel: &FlatKernel) -> Result<Vec<u8>, BzImageError> {
    let too_large = |n: u64| BzImageError::TooLarge(n);
    let syssize = u32::try_from(kernel.bytes.len().div_ceil(16))
        .map_err(|_| too_large(kernel.bytes.len() as u64))?;
    let init_size = u32::try_from(kernel.init_size).map_err(|_| too_large(kernel.init_size))?;
    let handover_offset = u32::try_from(kernel.handover_entry - 0x200)
        .map_err(|_| too_large(kernel.handover_entry))?;
    let mut s = vec![0u8; SETUP_LEN];
    s[0x1f1] = SETUP_SECTS;
    s[0x1f4..0x1f8].copy_from_slice(&syssize.to_le_bytes());
    s[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
    s[0x200..0x202].copy_from_slice(&[0xeb, 0x66]); // jmp over the header (never run)
    s[0x202..0x206].copy_from_slice(b"HdrS");
    s[0x206..0x208].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    s[0x211] = LOADED_HIGH;
    s[0x214..0x218].copy_from_slice(&(LINK_BASE as u32).to_le_bytes()); // code32_start
    // initrd_addr_max (QEMU refuses initrds without it)
    s[0x22c..0x230].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    s[0x230..0x234].copy_from_slice(&0x20_0000u32.to_le_bytes()); // kernel_alignment
    s[0x234] = 1; // relocatable_kernel
    s[0x235] = 12; // min_alignment: 4 KiB
    s[0x236..0x238].copy_from_slice(&(XLF_KERNEL_64 | XLF_EFI_HANDOVER_64).to_le_bytes());
    s[0x238..0x23c].copy_from_slice(&2047u32.to_le_bytes()); // cmdline_size
    s[0x258..0x260].copy_from_slice(&LINK_BASE.to_le_bytes()); // pref_address
    s[0x260..0x264].copy_from_slice(&init_size.to_le_bytes());
    s[0x264..0x268].copy_from_slice(&handover_offset.to_le_bytes());
    Ok(s)
}

/// Builds the whole bzImage from the kernel ELF.
pub fn build(elf_bytes: &[u8]) -> Result<Vec<u8>, BzImageError> {
    let kernel = flatten(elf_bytes)?;
    let mut image = setup_area(&kernel)?;
    image.extend_from_slice(&kernel.bytes);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> FlatKernel {
        FlatKernel { bytes: vec![0x90; 10_000], init_size: 0x40_0000, handover_entry: 0x240 }
    }

    fn u32_at(s: &[u8], off: usize) -> u32 {
        u32::from_le_bytes(s[off..off + 4].try_into().unwrap())
    }

    #[test]
    fn setup_area_is_one_boot_params_page() {
        let s = setup_area(&kernel()).unwrap();
        assert_eq!(
            s.len(),
            4096,
            "OVMF silently skips kernels whose setup is smaller than boot_params"
        );
        assert_eq!(s[0x1f1], 7);
    }

    #[test]
    fn setup_header_announces_a_relocatable_64_bit_efi_handover_kernel() {
        let s = setup_area(&kernel()).unwrap();
        assert_eq!(&s[0x202..0x206], b"HdrS");
        assert_eq!(u16::from_le_bytes([s[0x206], s[0x207]]), 0x020f);
        assert_eq!(u16::from_le_bytes([s[0x1fe], s[0x1ff]]), 0xaa55);
        assert_eq!(s[0x234], 1, "relocatable");
        assert_eq!(
            u16::from_le_bytes([s[0x236], s[0x237]]),
            0b1001,
            "XLF_KERNEL_64 | XLF_EFI_HANDOVER_64"
        );
        assert_eq!(u32_at(&s, 0x264), 0x40, "handover_offset is the entry minus 0x200");
        assert_eq!(u32_at(&s, 0x260), 0x40_0000, "init_size covers bss");
        assert_eq!(u32_at(&s, 0x1f4), 625, "syssize counts 16-byte paragraphs");
        assert_eq!(
            u32_at(&s, 0x22c),
            0x7fff_ffff,
            "initrd_addr_max: loaders refuse any initrd when it is 0"
        );
    }

    #[test]
    fn garbage_is_rejected_not_panicked_on() {
        assert!(matches!(build(b"not an elf"), Err(BzImageError::BadElf(_))));
        assert!(matches!(build(&[]), Err(BzImageError::BadElf(_))));
    }
}
