//! TDX's MRTD for a TDVF (TDX-capable OVMF) build: what the TDX module measures while the
//! VMM builds the TD's initial memory from the firmware, before the TD runs.
//!
//! The firmware says what to load in its TDX metadata (TDVF Design Guide, "TDVF Metadata"):
//! a descriptor (`TDVF`, length, version 1, section count) found through OVMF's GUIDed
//! table at the end of the image ([`super::ovmf`]), then one 32-byte entry per section: file
//! offset and size, guest-physical address and size, type, attributes. Attribute bit 0
//! (MR.EXTEND) asks the VMM to measure the section's contents; bit 1 (PAGE.AUG) asks it to
//! add the pages later, which VMMs disagree on, so such sections are refused. Sections are
//! checked as QEMU checks them (types 0 to 3; firmware volumes with data, memory-only
//! sections without), so a firmware QEMU would not launch gets no prediction.
//!
//! The TDX module's MRTD is a SHA-384 over what the VMM asked of it (TDX Module ABI,
//! TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): for each page added, a 128-byte block holding
//! `MEM.PAGE.ADD` and the page's GPA (at byte 16); for each 256-byte chunk extended, a
//! 128-byte block holding `MR.EXTEND` and the chunk's GPA, then the chunk itself. Upstream
//! KVM and QEMU (`KVM_TDX_INIT_MEM_REGION` with `KVM_TDX_MEASURE_MEMORY_REGION`) add each
//! page and extend its 16 chunks before the next page, section by section; that order is
//! the one computed here. (Intel's earlier out-of-tree stack added every page first; it
//! gives a different MRTD and is not supported.)
//!
//! Everything here is read from a file the host supplies: every offset and size is checked
//! against the file before use, and a bad one is an error naming the section.

use sha2::{Digest as _, Sha384};

use super::ovmf::le32;

/// The table entry holding the TDX metadata's offset from the end of the image,
/// `e47a6535-984a-4798-865e-4685a7bf8ec2`.
const TDX_METADATA_OFFSET_GUID: [u8; 16] = [
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
];
const PAGE_SIZE: u64 = 4096;
const MR_EXTEND_GRANULARITY: u64 = 256;
const ATTRIBUTE_MR_EXTEND: u32 = 1 << 0;
const ATTRIBUTE_PAGE_AUG: u32 = 1 << 1;
/// More sections than any TDVF has.
const MAX_SECTIONS: u32 = 64;
/// 4 GiB of pages in all: more than any TDVF loads, few enough to hash in seconds.
const MAX_PAGES: u64 = 1 << 20;
/// The section types QEMU loads (hw/i386/tdvf.c); it refuses any other.
const SECTION_BFV: u32 = 0;
const SECTION_CFV: u32 = 1;
const SECTION_TD_HOB: u32 = 2;
const SECTION_TEMP_MEM: u32 = 3;

/// One section of the TDX metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdvfSection {
    /// Where its bytes are in the image.
    pub data_offset: u32,
    /// How many bytes the image holds for it.
    pub raw_data_size: u32,
    /// Its guest-physical address (page-aligned).
    pub memory_address: u64,
    /// Its size in guest memory (whole pages).
    pub memory_data_size: u64,
    /// BFV 0, CFV 1, TD_HOB 2, TempMem 3, ...
    pub section_type: u32,
    /// MR.EXTEND (bit 0), PAGE.AUG (bit 1).
    pub attributes: u32,
}

/// Returns the image's TDX metadata sections, checked against the image.
///
/// # Errors
/// No GUIDed table, no TDX metadata entry in it, a descriptor or section that does not fit
/// the image or breaks the rules above (each named).
pub fn sections(image: &[u8]) -> Result<Vec<TdvfSection>, String> {
    let entry = super::ovmf::guided_table_entry(image, &TDX_METADATA_OFFSET_GUID)?
        .ok_or("the firmware's GUIDed table has no TDX metadata entry (not a TDVF build?)")?;
    // QEMU (hw/i386/tdvf.c) reads the offset from the entry's first four bytes.
    let offset = entry
        .get(..4)
        .map(|b| le32(b, 0))
        .ok_or("the TDX metadata entry is shorter than its 4-byte offset")?;
    let at = image
        .len()
        .checked_sub(offset as usize)
        .ok_or_else(|| format!("the TDX metadata offset {offset:#x} is before the image"))?;
    let descriptor = image.get(at..at + 16).ok_or("the TDX metadata descriptor is cut off")?;
    if &descriptor[..4] != b"TDVF" {
        return Err(format!("no TDVF descriptor at {at:#x} (the metadata offset is wrong)"));
    }
    let (length, version, count) = (le32(descriptor, 4), le32(descriptor, 8), le32(descriptor, 12));
    if version != 1 {
        return Err(format!("TDX metadata version {version} (only version 1 is known)"));
    }
    if count == 0 || count > MAX_SECTIONS {
        return Err(format!("TDX metadata with {count} sections (1 to {MAX_SECTIONS})"));
    }
    if length != 16 + 32 * count {
        return Err(format!("TDX metadata length {length} does not match {count} sections"));
    }
    let table = image
        .get(at + 16..at + length as usize)
        .ok_or("the TDX metadata's sections run past the image")?;
    let sections: Vec<TdvfSection> = table
        .chunks_exact(32)
        .enumerate()
        .map(|(i, raw)| section(image, i, raw))
        .collect::<Result<_, _>>()?;
    // Each page costs a hash update: a descriptor may not ask for more than 4 GiB of them.
    let pages: u64 = sections.iter().map(|s| s.memory_data_size / PAGE_SIZE).sum();
    if pages > MAX_PAGES {
        return Err(format!("the TDX metadata asks for {pages} pages (at most {MAX_PAGES})"));
    }
    Ok(sections)
}

fn section(image: &[u8], index: usize, raw: &[u8]) -> Result<TdvfSection, String> {
    let s = TdvfSection {
        data_offset: le32(raw, 0),
        raw_data_size: le32(raw, 4),
        memory_address: le64(raw, 8),
        memory_data_size: le64(raw, 16),
        section_type: le32(raw, 24),
        attributes: le32(raw, 28),
    };
    let bad =
        |why: &str| Err(format!("TDX metadata section {index} (type {}): {why}", s.section_type));
    let data_end = u64::from(s.data_offset) + u64::from(s.raw_data_size);
    if data_end > image.len() as u64 {
        return bad("its data runs past the image");
    }
    if s.attributes & !(ATTRIBUTE_MR_EXTEND | ATTRIBUTE_PAGE_AUG) != 0 {
        return bad(&format!("unknown attributes {:#x}", s.attributes));
    }
    // QEMU adds a PAGE.AUG section's pages like any other; tools that matched live launches
    // skip them. No TDVF sets the bit: until one does and a launch settles it, no guess.
    if s.attributes & ATTRIBUTE_PAGE_AUG != 0 {
        return bad("PAGE.AUG sections are not predicted (VMMs differ on them)");
    }
    match s.section_type {
        SECTION_BFV | SECTION_CFV if s.raw_data_size == 0 => {
            return bad("a firmware volume with no data");
        }
        SECTION_TD_HOB | SECTION_TEMP_MEM if s.raw_data_size != 0 => {
            return bad("a memory-only section with data in the image");
        }
        SECTION_BFV | SECTION_CFV | SECTION_TD_HOB | SECTION_TEMP_MEM => {}
        other => return bad(&format!("unknown section type {other} (QEMU loads 0 to 3)")),
    }
    if !s.memory_address.is_multiple_of(PAGE_SIZE) || !s.memory_data_size.is_multiple_of(PAGE_SIZE)
    {
        return bad("its memory is not whole pages");
    }
    if s.memory_address.checked_add(s.memory_data_size).is_none() {
        return bad("its memory range wraps");
    }
    if u64::from(s.raw_data_size) > s.memory_data_size {
        return bad("it holds more data than memory");
    }
    if s.attributes & ATTRIBUTE_MR_EXTEND != 0 && u64::from(s.raw_data_size) != s.memory_data_size {
        return bad("a measured section must fill its memory exactly");
    }
    Ok(s)
}

/// Returns MRTD for `image` launched by upstream KVM and QEMU.
///
/// # Errors
/// As [`sections`].
pub fn mrtd(image: &[u8]) -> Result<[u8; 48], String> {
    let mut h = Sha384::new();
    for s in sections(image)? {
        for page in 0..s.memory_data_size / PAGE_SIZE {
            let gpa = s.memory_address + page * PAGE_SIZE;
            h.update(operation_block(b"MEM.PAGE.ADD", gpa));
            if s.attributes & ATTRIBUTE_MR_EXTEND != 0 {
                for chunk in 0..PAGE_SIZE / MR_EXTEND_GRANULARITY {
                    let offset = chunk * MR_EXTEND_GRANULARITY;
                    h.update(operation_block(b"MR.EXTEND", gpa + offset));
                    // In bounds: `section` checked data_offset + raw size against the
                    // image, and raw size equals memory size for a measured section.
                    let from = u64::from(s.data_offset) + page * PAGE_SIZE + offset;
                    h.update(&image[from as usize..(from + MR_EXTEND_GRANULARITY) as usize]);
                }
            }
        }
    }
    Ok(h.finalize().into())
}

/// The 128 bytes the TDX module hashes for one operation: its name, then the GPA at 16.
fn operation_block(name: &[u8], gpa: u64) -> [u8; 128] {
    let mut block = [0u8; 128];
    block[..name.len()].copy_from_slice(name);
    block[16..24].copy_from_slice(&gpa.to_le_bytes());
    block
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}
