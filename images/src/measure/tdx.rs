//! TDX's MRTD for a TDVF (TDX-capable OVMF) build: what the TDX module measures while the
//! VMM builds the TD's initial memory from the firmware, before the TD runs.
//!
//! The firmware says what to load in its TDX metadata (TDVF Design Guide, "TDVF Metadata"):
//! a descriptor (`TDVF`, length, version 1, section count) found through OVMF's GUIDed
//! table at the end of the image, then one 32-byte entry per section: file offset and size,
//! guest-physical address and size, type, attributes. Attribute bit 0 (MR.EXTEND) asks the
//! VMM to measure the section's contents; bit 1 (PAGE.AUG) says its pages are added later,
//! at run time, and so are not measured at all.
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

/// OVMF's GUIDed table footer, `96b582de-1fb2-45f7-baea-a366c55a082d`, as stored (the
/// first three fields little-endian).
const TABLE_FOOTER_GUID: [u8; 16] = [
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
];
/// The table entry holding the TDX metadata's offset from the end of the image,
/// `e47a6535-984a-4798-865e-4685a7bf8ec2`.
const TDX_METADATA_OFFSET_GUID: [u8; 16] = [
    0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2,
];
/// The image's last 32 bytes follow the table (the reset vector's).
const BYTES_AFTER_TABLE: usize = 32;
/// A table entry's trailer: its length (u16) and GUID.
const ENTRY_TRAILER: usize = 18;

const PAGE_SIZE: u64 = 4096;
const MR_EXTEND_GRANULARITY: u64 = 256;
const ATTRIBUTE_MR_EXTEND: u32 = 1 << 0;
const ATTRIBUTE_PAGE_AUG: u32 = 1 << 1;
/// More sections than any TDVF has; bounds the work a hostile descriptor can ask for.
const MAX_SECTIONS: u32 = 64;

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
    let entry = guided_table_entry(image, &TDX_METADATA_OFFSET_GUID)?
        .ok_or("the firmware's GUIDed table has no TDX metadata entry (not a TDVF build?)")?;
    let offset = entry
        .get(entry.len().saturating_sub(4)..)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
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
    table.chunks_exact(32).enumerate().map(|(i, raw)| section(image, i, raw)).collect()
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
            if s.attributes & ATTRIBUTE_PAGE_AUG == 0 {
                h.update(operation_block(b"MEM.PAGE.ADD", gpa));
            }
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

/// The data of the entry with `guid` in OVMF's GUIDed table, which ends 32 bytes before
/// the image does: `[table length: u16][footer GUID]`, preceded by entries each ending in
/// `[entry length: u16][GUID]` (the lengths count the trailers), read back to front.
fn guided_table_entry<'a>(image: &'a [u8], guid: &[u8; 16]) -> Result<Option<&'a [u8]>, String> {
    let footer_end = image.len().checked_sub(BYTES_AFTER_TABLE).ok_or("the image is too small")?;
    let footer = footer_end.checked_sub(ENTRY_TRAILER).ok_or("the image is too small")?;
    if image[footer + 2..footer_end] != TABLE_FOOTER_GUID {
        return Err("the firmware has no OVMF GUIDed table (not an OVMF/TDVF image?)".into());
    }
    let table_len = usize::from(u16::from_le_bytes([image[footer], image[footer + 1]]));
    let entries_len = table_len
        .checked_sub(ENTRY_TRAILER)
        .filter(|&n| n <= footer)
        .ok_or_else(|| format!("the GUIDed table's length {table_len} does not fit the image"))?;
    let start = footer - entries_len;
    let mut end = footer;
    while end > start {
        let trailer = end.checked_sub(ENTRY_TRAILER).filter(|&t| t >= start);
        let trailer = trailer.ok_or("a GUIDed table entry is cut off")?;
        let len = usize::from(u16::from_le_bytes([image[trailer], image[trailer + 1]]));
        if len < ENTRY_TRAILER || len > end - start {
            return Err(format!("a GUIDed table entry has length {len}"));
        }
        if image[trailer + 2..end] == guid[..] {
            return Ok(Some(&image[end - len..trailer]));
        }
        end -= len;
    }
    Ok(None)
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}
