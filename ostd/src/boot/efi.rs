//! The 64-bit EFI handover: what is left after UEFI boot services, and its memory map.
//!
//! `efi_handover64` (entry.S) makes exactly the calls Linux's EFI stub makes for the same
//! purpose: GetMemoryMap, then ExitBootServices with that map's key (retried once if the map
//! changed in between, as the UEFI spec allows), then never calls UEFI again. It makes them
//! in assembly, on the firmware's page tables and stack, because boot services may touch any
//! address the firmware mapped (OVMF's virtio drivers reset their devices through 64-bit BARs
//! in an ExitBootServices notification), while our boot page tables map only the first
//! 4 GiB. It records the outcome in [`exit_record`]; this file reads that record, the map,
//! and the ACPI RSDP from the system table's configuration table, on our page tables.

use uefi_raw::Guid;
use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;

use super::info::{BootInfo, BootProtocol, MemoryKind, MemoryMap, MemoryRegion, PhysRange};
use super::phys::{self, u32_at, u64_at};
use super::{BootError, linux};

const ACPI_20_TABLE_GUID: Guid = uefi_raw::guid!("8868e871-e4f1-11d3-bc22-0080c73c8881");
const ACPI_10_TABLE_GUID: Guid = uefi_raw::guid!("eb9d2d30-2d88-11d3-9a16-0090273fc14d");

/// Room for the firmware's memory map (OVMF's is 4–8 KiB), reserved in entry.S.
pub(super) const MAP_BUF_SIZE: usize = 64 * 1024;
/// The part of a memory descriptor we read (type, physical start, virtual start, pages).
const DESC_READ: usize = 32;

/// Offsets entry.S needs into the firmware's tables.
pub(super) const ST_BOOT_SERVICES: usize = core::mem::offset_of!(SystemTable, boot_services);
pub(super) const BS_GET_MEMORY_MAP: usize = core::mem::offset_of!(BootServices, get_memory_map);
pub(super) const BS_EXIT_BOOT_SERVICES: usize =
    core::mem::offset_of!(BootServices, exit_boot_services);

/// The record `efi_handover64` leaves: eight-byte little-endian slots at these offsets.
pub(super) mod exit_record {
    /// Which call failed: [`NONE`], [`GET_MEMORY_MAP`], [`EXIT_BOOT_SERVICES`] or
    /// [`BAD_SIGNATURE`] (no call was made).
    pub const FAILED_CALL: usize = 0;
    /// The failed call's EFI status, or the system table's signature for [`BAD_SIGNATURE`].
    pub const STATUS: usize = 8;
    /// Bytes of memory map GetMemoryMap wrote.
    pub const MAP_SIZE: usize = 16;
    /// Bytes from one memory descriptor to the next.
    pub const DESC_SIZE: usize = 24;
    /// The map key ExitBootServices took.
    pub const MAP_KEY: usize = 32;
    /// The descriptor version (a u32, in a u64 slot).
    pub const DESC_VERSION: usize = 40;
    /// The physical address of the memory map.
    pub const MAP: usize = 48;
    /// The record's size.
    pub const LEN: usize = 56;

    pub const NONE: u64 = 0;
    pub const GET_MEMORY_MAP: u64 = 1;
    pub const EXIT_BOOT_SERVICES: u64 = 2;
    pub const BAD_SIGNATURE: u64 = 3;
}

/// Builds the boot information once `efi_handover64` has left boot services.
///
/// `exit_record` is the physical address of [`exit_record`]; the system table and
/// `boot_params` are the firmware's handover arguments.
pub(super) fn take_over(
    exit_record: u64,
    system_table: u64,
    boot_params: u64,
    load_offset: u64,
    entry_tsc: u64,
) -> Result<BootInfo, BootError> {
    let (map, map_len, desc_size) = exit_outcome(exit_record)?;
    let params = linux::read(boot_params)?;
    let rsdp_from_efi = rsdp_from_system_table(system_table)?;

    let mut memory = MemoryMap::new();
    for i in 0..map_len / desc_size {
        let desc: [u8; DESC_READ] =
            phys::read_array("EFI memory map", map + (i * desc_size) as u64)?;
        let (ty, start, pages) = (u32_at(&desc, 0), u64_at(&desc, 8), u64_at(&desc, 24));
        let kind = match ty {
            // Loader code/data hold this image, boot_params and the initrd: those are
            // reserved explicitly below, and the rest is free once boot services are gone.
            1..=4 | 7 => MemoryKind::Usable,
            9 => MemoryKind::AcpiReclaimable,
            tee_abi::accept::EFI_UNACCEPTED_MEMORY_TYPE => MemoryKind::Unaccepted,
            _ => MemoryKind::Reserved,
        };
        memory.push(MemoryRegion {
            range: PhysRange { start, end: start.saturating_add(pages.saturating_mul(4096)) },
            kind,
        });
    }
    if memory.usable_bytes() == 0 {
        return Err(BootError::NoUsableMemory);
    }

    let mut info = BootInfo {
        protocol: BootProtocol::EfiHandover,
        cmdline: params.cmdline,
        initrd: None,
        initrd_refused: None,
        memory,
        reserved: [PhysRange::default(); 8],
        rsdp: params.rsdp.or(rsdp_from_efi),
        load_offset,
        entry_tsc,
        warnings: [None; 4],
    };
    info.reserved[0] = PhysRange { start: 0, end: 0x10_0000 };
    info.reserved[1] = info.kernel_image();
    info.reserved[3] = params.self_range;
    if let Some((paddr, len)) = params.initrd {
        info.set_initrd(paddr, len);
    }
    Ok(info)
}

/// Returns (physical address of the memory map, bytes of whole descriptors, descriptor size),
/// or the failure `efi_handover64` recorded.
fn exit_outcome(paddr: u64) -> Result<(u64, usize, usize), BootError> {
    let record: [u8; exit_record::LEN] = phys::read_array("EFI exit record", paddr)?;
    let status = u64_at(&record, exit_record::STATUS);
    let call = match u64_at(&record, exit_record::FAILED_CALL) {
        exit_record::NONE => None,
        exit_record::GET_MEMORY_MAP => Some("GetMemoryMap"),
        exit_record::EXIT_BOOT_SERVICES => Some("ExitBootServices"),
        _ => return Err(BootError::BadEfiSystemTable { signature: status }),
    };
    if let Some(call) = call {
        return Err(BootError::Efi { call, status: status as usize });
    }
    let size = u64_at(&record, exit_record::MAP_SIZE) as usize;
    let desc_size = u64_at(&record, exit_record::DESC_SIZE) as usize;
    if desc_size < 40 || size > MAP_BUF_SIZE {
        return Err(BootError::Efi { call: "GetMemoryMap (descriptor size)", status: desc_size });
    }
    Ok((u64_at(&record, exit_record::MAP), size - size % desc_size, desc_size))
}

/// Returns the ACPI RSDP the firmware's configuration table names, if any.
///
/// Runs after ExitBootServices, which the UEFI spec allows: the system table's header,
/// `NumberOfTableEntries` and `ConfigurationTable` stay valid (UEFI 2.10, section 4.3), as
/// Linux relies on too.
fn rsdp_from_system_table(system_table: u64) -> Result<Option<u64>, BootError> {
    if !in_boot_map::<SystemTable>(system_table, 1) {
        return Err(BootError::OutOfReach {
            what: "EFI system table",
            paddr: system_table,
            len: 0,
        });
    }
    // SAFETY: OVMF passed the system table's address in the handover call; it is identity mapped
    // (checked above to be aligned and below 4 GiB), and it is runtime-services data, which
    // stays after ExitBootServices. Nothing writes it now; we read it through shared references.
    let st = unsafe { &*(system_table as *const SystemTable) };
    if st.header.signature != SystemTable::SIGNATURE {
        return Err(BootError::BadEfiSystemTable { signature: st.header.signature });
    }
    Ok(find_rsdp(st))
}

/// Returns whether `count` values of `T` at `addr` are non-null, aligned for `T`, and inside
/// the first 4 GiB, which the boot page tables identity-map.
fn in_boot_map<T>(addr: u64, count: usize) -> bool {
    let len = (size_of::<T>() as u64).saturating_mul(count as u64);
    addr != 0
        && addr.is_multiple_of(align_of::<T>() as u64)
        && addr.checked_add(len).is_some_and(|end| end <= 4 << 30)
}

fn find_rsdp(st: &SystemTable) -> Option<u64> {
    find_table(st, ACPI_20_TABLE_GUID).or_else(|| find_table(st, ACPI_10_TABLE_GUID))
}

/// Returns the configuration table entry `guid` of the system table at `system_table`.
pub(super) fn config_table(system_table: u64, guid: Guid) -> Option<u64> {
    if !in_boot_map::<SystemTable>(system_table, 1) {
        return None;
    }
    // SAFETY: as in `rsdp_from_system_table`: the firmware's system table, identity mapped
    // (checked aligned and below 4 GiB), runtime-services data nothing writes now.
    let st = unsafe { &*(system_table as *const SystemTable) };
    (st.header.signature == SystemTable::SIGNATURE).then(|| find_table(st, guid)).flatten()
}

fn find_table(st: &SystemTable, guid: Guid) -> Option<u64> {
    let count = st.number_of_configuration_table_entries.min(256);
    if !in_boot_map::<uefi_raw::table::configuration::ConfigurationTable>(
        st.configuration_table as u64,
        count,
    ) {
        return None;
    }
    // SAFETY: the firmware's configuration table holds `count` entries (bounded to a sane
    // number), is aligned and in the identity-mapped first 4 GiB (checked), and stays valid after
    // ExitBootServices (UEFI 2.10, section 4.3); we copy two fields out of each entry.
    let tables = unsafe { core::slice::from_raw_parts(st.configuration_table, count) };
    tables.iter().find(|t| t.vendor_guid == guid).map(|t| t.vendor_table as u64)
}
