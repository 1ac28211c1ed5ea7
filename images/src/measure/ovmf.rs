//! OVMF's GUIDed table, which both confidential launches find their metadata through, and
//! the checks an SEV-SNP firmware must pass before the `sev` crate reads it.
//!
//! The table ends 32 bytes before the image does (the reset vector's bytes follow it):
//! `[table length: u16][footer GUID]`, preceded by entries each ending in
//! `[entry length: u16][GUID]` (the lengths count those trailers), read back to front.
//! Everything here comes from a file the host supplies: each length is checked before use.

/// The table's footer, `96b582de-1fb2-45f7-baea-a366c55a082d`, as stored (the first three
/// fields little-endian).
const TABLE_FOOTER_GUID: [u8; 16] = [
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d,
];
/// The entry holding the SEV metadata's offset from the end of the image,
/// `dc886566-984a-4798-a75e-5585a7bf67cc`.
const SEV_METADATA_OFFSET_GUID: [u8; 16] = [
    0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc,
];
/// The image's last 32 bytes follow the table.
const BYTES_AFTER_TABLE: usize = 32;
/// A table entry's trailer: its length (u16) and GUID.
const ENTRY_TRAILER: usize = 18;
/// The largest firmware taken: it must fit below 4 GiB, where it is mapped, and no OVMF
/// comes near this.
const MAX_FIRMWARE: usize = 64 << 20;
/// SEV metadata: the `ASEV` header (signature, length, version, count), then 12-byte
/// section descriptors (GPA, size, type).
const SEV_METADATA_HEADER: usize = 16;
const SEV_SECTION: usize = 12;
/// A section the VMM fills with the kernel-hashes page (one page).
const SEV_SECTION_KERNEL_HASHES: u32 = 0x10;

/// The data of the entry with `guid`, or `None` if the table has none.
///
/// # Errors
/// No table, or a length that does not fit the image.
pub fn guided_table_entry<'a>(
    image: &'a [u8],
    guid: &[u8; 16],
) -> Result<Option<&'a [u8]>, String> {
    let footer_end = image.len().checked_sub(BYTES_AFTER_TABLE).ok_or("the image is too small")?;
    let footer = footer_end.checked_sub(ENTRY_TRAILER).ok_or("the image is too small")?;
    if image[footer + 2..footer_end] != TABLE_FOOTER_GUID {
        return Err("the firmware has no OVMF GUIDed table (not an OVMF image?)".into());
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

/// Checks what the `sev` crate (8.0.0) takes on trust in an SNP firmware, so that a
/// malformed file is an error here instead of a panic there: whole pages, at most 64 MiB; a
/// well-formed GUIDed table; the SEV metadata entry, its `ASEV` header and descriptors
/// inside the file; kernel-hashes sections of exactly one page.
///
/// # Errors
/// What is wrong, named.
pub fn check_snp_firmware(image: &[u8]) -> Result<(), String> {
    if image.is_empty() || image.len() > MAX_FIRMWARE || !image.len().is_multiple_of(4096) {
        return Err(format!(
            "{} bytes is not an OVMF image (whole 4 KiB pages, at most 64 MiB)",
            image.len()
        ));
    }
    let entry = guided_table_entry(image, &SEV_METADATA_OFFSET_GUID)?
        .ok_or("the firmware's GUIDed table has no SEV metadata entry (not an SEV build?)")?;
    let offset = entry
        .get(..4)
        .map(|b| le32(b, 0))
        .ok_or("the SEV metadata entry is shorter than its 4-byte offset")?;
    // The crate reads the offset as an i32 and subtracts it from the length.
    let at = usize::try_from(offset)
        .ok()
        .filter(|&o| o > 0 && o <= i32::MAX as usize)
        .and_then(|o| image.len().checked_sub(o))
        .ok_or_else(|| format!("the SEV metadata offset {offset:#x} is outside the image"))?;
    let header =
        image.get(at..at + SEV_METADATA_HEADER).ok_or("the SEV metadata header is cut off")?;
    if &header[..4] != b"ASEV" {
        return Err(format!("no ASEV metadata header at {at:#x}"));
    }
    let (length, count) = (le32(header, 4) as usize, le32(header, 12) as usize);
    let sections = length
        .checked_sub(SEV_METADATA_HEADER)
        .filter(|_| at + length <= image.len())
        .and_then(|room| image.get(at + SEV_METADATA_HEADER..at + SEV_METADATA_HEADER + room))
        .ok_or_else(|| format!("the SEV metadata's length {length} does not fit the image"))?;
    if count.checked_mul(SEV_SECTION).is_none_or(|n| n > sections.len()) {
        return Err(format!("the SEV metadata lists {count} sections in {length} bytes"));
    }
    for (i, d) in sections.chunks_exact(SEV_SECTION).take(count).enumerate() {
        if le32(d, 8) == SEV_SECTION_KERNEL_HASHES && le32(d, 4) != 4096 {
            return Err(format!(
                "SEV metadata section {i} (kernel hashes) is {} bytes, not one page",
                le32(d, 4)
            ));
        }
    }
    Ok(())
}

/// The little-endian u32 at `at` of `b` (the caller checked that it fits).
pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
