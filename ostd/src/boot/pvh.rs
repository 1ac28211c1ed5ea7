//! The PVH boot protocol: `hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
//!
//! Layout, all little-endian: magic u32 @0, version u32 @4, flags u32 @8, nr_modules u32 @12,
//! modlist_paddr u64 @16, cmdline_paddr u64 @24, rsdp_paddr u64 @32, and since version 1:
//! memmap_paddr u64 @40, memmap_entries u32 @48. A module is {paddr u64, size u64,
//! cmdline_paddr u64, reserved u64}; a memory-map entry is {addr u64, size u64, type u32, pad u32}.

use super::BootError;
use super::cmdline::Cmdline;
use super::info::{BootInfo, BootProtocol, MemoryKind, MemoryMap, MemoryRegion, PhysRange};
use super::phys::{self, u32_at, u64_at};

const PVH_MAGIC: u32 = 0x336e_c578;
const E820_USABLE: u32 = 1;
const E820_ACPI: u32 = 3;

pub(super) fn parse(
    start_info: u64,
    load_offset: u64,
    entry_tsc: u64,
) -> Result<BootInfo, BootError> {
    let si: [u8; 56] = phys::read_array("PVH start info", start_info)?;
    let magic = u32_at(&si, 0);
    if magic != PVH_MAGIC {
        return Err(BootError::BadPvhStartInfo { paddr: start_info, magic });
    }
    let version = u32_at(&si, 4);

    let cmdline = match u64_at(&si, 24) {
        0 => Cmdline::from_raw(&[]),
        paddr => {
            let mut raw = [0u8; Cmdline::CAPACITY + 1];
            // A command line near the end of the mapped area is read only as far as it goes.
            let len = if super::phys::read("command line", paddr, &mut raw).is_ok() {
                raw.len()
            } else {
                0
            };
            Cmdline::from_raw(&raw[..len])
        }
    };

    let mut memory = MemoryMap::new();
    if version >= 1 && u64_at(&si, 40) != 0 {
        let (table, entries) = (u64_at(&si, 40), u32_at(&si, 48).min(1024));
        for i in 0..u64::from(entries) {
            let entry = table.checked_add(i * 24).ok_or(BootError::OutOfReach {
                what: "PVH memory map",
                paddr: table,
                len: i * 24,
            })?;
            let e: [u8; 24] = phys::read_array("PVH memory map", entry)?;
            let (addr, size, ty) = (u64_at(&e, 0), u64_at(&e, 8), u32_at(&e, 16));
            let kind = match ty {
                E820_USABLE => MemoryKind::Usable,
                E820_ACPI => MemoryKind::AcpiReclaimable,
                _ => MemoryKind::Reserved,
            };
            memory.push(MemoryRegion {
                range: PhysRange { start: addr, end: addr.saturating_add(size) },
                kind,
            });
        }
    }
    if memory.usable_bytes() == 0 {
        return Err(BootError::NoUsableMemory);
    }

    let mut initrd = None;
    if u32_at(&si, 12) > 0 && u64_at(&si, 16) != 0 {
        let module: [u8; 32] = phys::read_array("PVH module list", u64_at(&si, 16))?;
        initrd = Some((u64_at(&module, 0), u64_at(&module, 8)));
    }

    let rsdp = Some(u64_at(&si, 32)).filter(|&p| p != 0);
    let mut info = BootInfo {
        protocol: BootProtocol::Pvh,
        cmdline,
        initrd: None,
        initrd_refused: None,
        memory,
        reserved: [PhysRange::default(); 8],
        rsdp,
        load_offset,
        entry_tsc,
        warnings: [None; 4],
    };
    info.reserved[0] = PhysRange { start: 0, end: 0x10_0000 };
    info.reserved[1] = info.kernel_image();
    if let Some((paddr, len)) = initrd {
        info.set_initrd(paddr, len);
    }
    Ok(info)
}
