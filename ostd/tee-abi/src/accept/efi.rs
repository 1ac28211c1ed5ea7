//! Reading firmware's descriptions of unaccepted memory: Linux's EFI configuration table
//! and the UEFI memory map.

use alloc::vec::Vec;

use super::error::AcceptError;
use super::map::{MAX_BITMAP_BYTES, UnacceptedMap, check_unit_size};

/// `LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID`, d5d1de3c-105c-44f9-9ea9-bcef98120031 (Linux
/// `include/linux/efi.h`), as its 16 bytes lie in an EFI configuration table entry: the
/// first three fields little-endian, the last eight bytes as written.
pub const LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID: [u8; 16] = [
    0x3c, 0xde, 0xd1, 0xd5, 0x5c, 0x10, 0xf9, 0x44, 0x9e, 0xa9, 0xbc, 0xef, 0x98, 0x12, 0x00, 0x31,
];

/// The only table version (`struct efi_unaccepted_memory.version`).
pub const UNACCEPTED_TABLE_VERSION: u32 = 1;

/// Bytes before the bitmap: version u32 @0, unit_size u32 @4, phys_base u64 @8,
/// size u64 @16 (the bitmap's length in bytes), bitmap @24.
pub const UNACCEPTED_TABLE_HEADER_LEN: usize = 24;

/// EfiUnacceptedMemoryType in the UEFI memory map (UEFI 2.9+, `EFI_MEMORY_TYPE` 15).
pub const EFI_UNACCEPTED_MEMORY_TYPE: u32 = 15;

/// The UEFI 2.x EFI_MEMORY_DESCRIPTOR layout: Type u32 @0, padding, PhysicalStart u64 @8,
/// VirtualStart u64 @16, NumberOfPages u64 @24, Attribute u64 @32. Firmware may use a
/// larger stride (`DescriptorSize`), never a smaller one.
pub const EFI_MEMORY_DESCRIPTOR_MIN_SIZE: usize = 40;

/// EFI pages are 4 KiB whatever the CPU's page size.
const EFI_PAGE_SIZE: u64 = 0x1000;

fn read_u32(copy: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&copy[at..at + 4]);
    u32::from_le_bytes(bytes)
}

fn read_u64(copy: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&copy[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Parses a private copy of the unaccepted-memory configuration table.
///
/// Checks: the header fits; version 1; unit size a power of two of at least 4 KiB;
/// `phys_base` unit-aligned (Linux rounds it down to the unit when it builds the table);
/// the bitmap no larger than [`MAX_BITMAP_BYTES`]; the copy holds all `size` bytes the
/// header claims; and the span the bitmap covers does not wrap the address space. Bytes in
/// the copy past the bitmap are ignored.
pub fn parse_unaccepted_table(copy: &[u8]) -> Result<UnacceptedMap, AcceptError> {
    let available = copy.len() as u64;
    if copy.len() < UNACCEPTED_TABLE_HEADER_LEN {
        return Err(AcceptError::Truncated {
            field: "unaccepted table header",
            needed: UNACCEPTED_TABLE_HEADER_LEN as u64,
            available,
        });
    }
    let version = read_u32(copy, 0);
    if version != UNACCEPTED_TABLE_VERSION {
        return Err(AcceptError::Version { value: version });
    }
    let unit_size = check_unit_size(u64::from(read_u32(copy, 4)))?;
    let phys_base = read_u64(copy, 8);
    if !phys_base.is_multiple_of(unit_size) {
        return Err(AcceptError::Misaligned {
            field: "unaccepted table phys_base",
            value: phys_base,
            align: unit_size,
        });
    }
    let size = read_u64(copy, 16);
    if size > MAX_BITMAP_BYTES {
        return Err(AcceptError::TooLarge {
            field: "unaccepted table size",
            value: size,
            max: MAX_BITMAP_BYTES,
        });
    }
    // Cannot wrap: size is at most MAX_BITMAP_BYTES.
    let needed = UNACCEPTED_TABLE_HEADER_LEN as u64 + size;
    if needed > available {
        return Err(AcceptError::Truncated { field: "unaccepted table bitmap", needed, available });
    }
    UnacceptedMap::from_bitmap_bytes(
        phys_base,
        unit_size,
        &copy[UNACCEPTED_TABLE_HEADER_LEN..needed as usize],
    )
}

/// The `[start, end)` ranges of EfiUnacceptedMemoryType entries in a copy of the UEFI
/// memory map, `descriptor_size` bytes apart (the `DescriptorSize` GetMemoryMap returned).
/// Refused: a stride below 40 bytes, a map that is not a whole number of descriptors, an
/// unaccepted entry whose PhysicalStart is not 4 KiB aligned, and one whose page count or
/// end wraps the address space.
pub fn unaccepted_ranges(
    map: &[u8],
    descriptor_size: usize,
) -> Result<Vec<(u64, u64)>, AcceptError> {
    if descriptor_size < EFI_MEMORY_DESCRIPTOR_MIN_SIZE {
        return Err(AcceptError::Truncated {
            field: "EFI memory descriptor (DescriptorSize)",
            needed: EFI_MEMORY_DESCRIPTOR_MIN_SIZE as u64,
            available: descriptor_size as u64,
        });
    }
    if !map.len().is_multiple_of(descriptor_size) {
        return Err(AcceptError::Truncated {
            field: "EFI memory map: last descriptor",
            needed: map.len().next_multiple_of(descriptor_size) as u64,
            available: map.len() as u64,
        });
    }
    let mut ranges = Vec::new();
    for descriptor in map.chunks_exact(descriptor_size) {
        if read_u32(descriptor, 0) != EFI_UNACCEPTED_MEMORY_TYPE {
            continue;
        }
        let start = read_u64(descriptor, 8);
        if !start.is_multiple_of(EFI_PAGE_SIZE) {
            return Err(AcceptError::Misaligned {
                field: "EFI memory descriptor PhysicalStart",
                value: start,
                align: EFI_PAGE_SIZE,
            });
        }
        let pages = read_u64(descriptor, 24);
        let end = pages.checked_mul(EFI_PAGE_SIZE).and_then(|len| start.checked_add(len)).ok_or(
            AcceptError::Overflow { field: "EFI memory descriptor NumberOfPages", value: pages },
        )?;
        ranges.push((start, end));
    }
    Ok(ranges)
}
