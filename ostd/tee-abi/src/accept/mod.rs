//! Lazy acceptance of the memory the firmware left unaccepted.
//!
//! In a TDX (or SEV-SNP) guest, private memory must be accepted before first use. Firmware
//! accepts only what it needs and describes the rest to the OS, either as EFI memory-map
//! entries of type EfiUnacceptedMemoryType (15, UEFI 2.9+), or, after Linux's EFI stub has
//! run, as the `LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID` configuration table: a bitmap with one
//! bit per unit (2 MiB in Linux) whose set bits are still unaccepted. Accepting everything
//! at boot costs seconds on a large TD, so the kernel accepts a unit when it first hands
//! out memory from it.
//!
//! [`UnacceptedMap`] is that bitmap (1 bit per unit, never a list of ranges, so its size is
//! bounded by the span it covers and not by how fragmented the firmware's map is). Built
//! from the firmware table ([`parse_unaccepted_table`]) or from the memory map
//! ([`unaccepted_ranges`] then [`UnacceptedMap::from_ranges`]), it answers
//! [`UnacceptedMap::take`]: which unit-aligned chunks of a range must be accepted now. It
//! clears their bits as it answers, so each chunk is handed out exactly once; the caller
//! then accepts them (TDX: `tdx::tdcall::mem_page_accept`, largest page level first).
//!
//! The table and the memory map come from firmware, which the guest does not trust with
//! its memory layout any more than it must: every length, count and address in them is
//! checked, and sums that would wrap are errors.

mod efi;
mod error;
mod map;

pub use efi::{
    EFI_MEMORY_DESCRIPTOR_MIN_SIZE, EFI_UNACCEPTED_MEMORY_TYPE,
    LINUX_EFI_UNACCEPTED_MEM_TABLE_GUID, UNACCEPTED_TABLE_HEADER_LEN, UNACCEPTED_TABLE_VERSION,
    parse_unaccepted_table, unaccepted_ranges,
};
pub use error::AcceptError;
pub use map::{AcceptChunk, MAX_BITMAP_BYTES, MIN_UNIT_SIZE, UnacceptedMap};
