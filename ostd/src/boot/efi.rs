//! The 64-bit EFI handover: leave UEFI boot services and keep its memory map.
//!
//! We arrive from `entry.S` on our own stack and page tables (which identity-map the first
//! 4 GiB, so UEFI's code and data stay reachable), with boot services still running.
//! This file makes exactly the calls Linux's EFI stub makes for the same purpose:
//! GetMemoryMap, then ExitBootServices with that map's key (retried once if the map changed
//! in between, as the UEFI spec allows), then never calls UEFI again.

use uefi_raw::table::boot::BootServices;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{Guid, Handle, Status};

use super::info::{BootInfo, BootProtocol, MemoryKind, MemoryMap, MemoryRegion, PhysRange};
use super::phys::{u32_at, u64_at};
use super::{BootError, linux};

const ACPI_20_TABLE_GUID: Guid = uefi_raw::guid!("8868e871-e4f1-11d3-bc22-0080c73c8881");
const ACPI_10_TABLE_GUID: Guid = uefi_raw::guid!("eb9d2d30-2d88-11d3-9a16-0090273fc14d");

/// Room for the firmware's memory map (OVMF's is 4–8 KiB).
const MAP_BUF_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct MapBuffer([u8; MAP_BUF_SIZE]);

static MAP_BUFFER: crate::sync::SpinLock<MapBuffer> =
    crate::sync::SpinLock::new(MapBuffer([0; MAP_BUF_SIZE]));

pub(super) fn take_over(
    image_handle: u64,
    system_table: u64,
    boot_params: u64,
    load_offset: u64,
    entry_tsc: u64,
) -> Result<BootInfo, BootError> {
    let params = linux::read(boot_params)?;
    let mut map_buf = MAP_BUFFER.lock();
    let (rsdp_from_efi, map_len, desc_size) =
        exit_boot_services(image_handle, system_table, &mut map_buf.0)?;

    let mut memory = MemoryMap::new();
    for desc in map_buf.0[..map_len].chunks_exact(desc_size) {
        let (ty, start, pages) = (u32_at(desc, 0), u64_at(desc, 8), u64_at(desc, 24));
        let kind = match ty {
            // Loader code/data hold this image, boot_params and the initrd: those are
            // reserved explicitly below, and the rest is free once boot services are gone.
            1..=4 | 7 => MemoryKind::Usable,
            9 => MemoryKind::AcpiReclaimable,
            _ => MemoryKind::Reserved,
        };
        memory.push(MemoryRegion {
            range: PhysRange { start, end: start.saturating_add(pages.saturating_mul(4096)) },
            kind,
        });
    }
    drop(map_buf);
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

/// Returns (ACPI RSDP from the configuration table, bytes of map, descriptor size).
fn exit_boot_services(
    handle: u64,
    system_table: u64,
    buf: &mut [u8],
) -> Result<(Option<u64>, usize, usize), BootError> {
    if !in_boot_map::<SystemTable>(system_table, 1) {
        return Err(BootError::OutOfReach {
            what: "EFI system table",
            paddr: system_table,
            len: 0,
        });
    }
    // SAFETY: OVMF passed the system table's address in the handover call; it is identity mapped
    // (checked above to be aligned and below 4 GiB) and boot services are still running, so the
    // table and everything it points to are live. We read it through shared references only.
    let st = unsafe { &*(system_table as *const SystemTable) };
    if st.header.signature != SystemTable::SIGNATURE {
        return Err(BootError::BadEfiSystemTable { signature: st.header.signature });
    }
    let rsdp = find_rsdp(st);
    let bs_addr = st.boot_services as u64;
    if !in_boot_map::<BootServices>(bs_addr, 1) {
        return Err(BootError::OutOfReach {
            what: "EFI boot services table",
            paddr: bs_addr,
            len: size_of::<BootServices>() as u64,
        });
    }
    // SAFETY: as above (the table is aligned and below 4 GiB, checked just now); it outlives this
    // function (it dies with ExitBootServices, after which we never touch it again).
    let bs: &BootServices = unsafe { &*st.boot_services };

    for attempt in 0..2 {
        let mut size = buf.len();
        let (mut key, mut desc_size, mut desc_version) = (0usize, 0usize, 0u32);
        // SAFETY: every pointer is to a live local or to `buf`, whose length is `size`;
        // GetMemoryMap writes at most `size` bytes and updates `size`.
        let status = unsafe {
            (bs.get_memory_map)(
                &mut size,
                buf.as_mut_ptr().cast(),
                &mut key,
                &mut desc_size,
                &mut desc_version,
            )
        };
        if status != Status::SUCCESS {
            return Err(BootError::Efi { call: "GetMemoryMap", status: status.0 });
        }
        if desc_size < 40 || size > buf.len() {
            return Err(BootError::Efi {
                call: "GetMemoryMap (descriptor size)",
                status: desc_size,
            });
        }
        // SAFETY: `handle` is the image handle OVMF passed us, and `key` is from the memory map
        // just read. After success, boot services are gone and nothing here calls them again.
        let status = unsafe { (bs.exit_boot_services)(handle as Handle, key) };
        if status == Status::SUCCESS {
            // Firmware may have enabled interrupts inside boot services (EDK2's RestoreTpl
            // does); its handlers are gone now, and ours are not installed yet.
            x86_64::instructions::interrupts::disable();
            return Ok((rsdp, size - size % desc_size, desc_size));
        }
        if attempt == 1 {
            return Err(BootError::Efi { call: "ExitBootServices", status: status.0 });
        }
    }
    unreachable!("the loop returns on its second attempt")
}

/// Returns whether `count` values of `T` at `addr` are non-null, aligned for `T`, and inside
/// the first 4 GiB, which the boot page tables identity-map.
fn in_boot_map<T>(addr: u64, count: usize) -> bool {
    let len = (size_of::<T>() as u64).saturating_mul(count as u64);
    addr != 0
        && addr % align_of::<T>() as u64 == 0
        && addr.checked_add(len).is_some_and(|end| end <= 4 << 30)
}

fn find_rsdp(st: &SystemTable) -> Option<u64> {
    let count = st.number_of_configuration_table_entries.min(256);
    if !in_boot_map::<uefi_raw::table::configuration::ConfigurationTable>(
        st.configuration_table as u64,
        count,
    ) {
        return None;
    }
    // SAFETY: the firmware's configuration table holds `count` entries (bounded to a sane
    // number), is aligned and in the identity-mapped first 4 GiB (checked), and is live during boot
    // services; we copy two fields out of each entry.
    let tables = unsafe { core::slice::from_raw_parts(st.configuration_table, count) };
    let find = |guid| tables.iter().find(|t| t.vendor_guid == guid).map(|t| t.vendor_table as u64);
    find(ACPI_20_TABLE_GUID).or_else(|| find(ACPI_10_TABLE_GUID))
}
