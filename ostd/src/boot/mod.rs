//! From the firmware's hand-off to the kernel's `main`.
//!
//! `entry.S` takes either boot path (PVH or the 64-bit EFI handover of the Linux boot
//! protocol) to [`ostd_boot_entry`], which turns what the firmware left into one
//! [`BootInfo`] and brings up the rest of OSTD in order.

mod cmdline;
mod efi;
mod info;
mod linux;
mod phys;
mod pvh;

pub use cmdline::{Cmdline, CmdlineArg};
pub use info::{BootInfo, BootProtocol, MemoryKind, MemoryMap, MemoryRegion, PhysRange};

use spin::Once;

core::arch::global_asm!(
    include_str!("entry.S"),
    st_signature = const uefi_raw::table::system::SystemTable::SIGNATURE,
    st_boot_services = const efi::ST_BOOT_SERVICES,
    bs_get_memory_map = const efi::BS_GET_MEMORY_MAP,
    bs_exit_boot_services = const efi::BS_EXIT_BOOT_SERVICES,
    map_buf_size = const efi::MAP_BUF_SIZE,
    exit_record_len = const efi::exit_record::LEN,
    exit_failed_call = const efi::exit_record::FAILED_CALL,
    exit_status = const efi::exit_record::STATUS,
    exit_map_size = const efi::exit_record::MAP_SIZE,
    exit_desc_size = const efi::exit_record::DESC_SIZE,
    exit_map_key = const efi::exit_record::MAP_KEY,
    exit_desc_version = const efi::exit_record::DESC_VERSION,
    exit_map = const efi::exit_record::MAP,
    failed_get_memory_map = const efi::exit_record::GET_MEMORY_MAP,
    failed_exit_boot_services = const efi::exit_record::EXIT_BOOT_SERVICES,
    failed_signature = const efi::exit_record::BAD_SIGNATURE,
    msr_sev_status = const tee_abi::snp::SEV_STATUS_MSR,
    sev_status_snp = const tee_abi::snp::SEV_STATUS_SNP_ACTIVE,
);

static BOOT_INFO: Once<BootInfo> = Once::new();

/// Returns what the boot protocol told the kernel.
///
/// # Panics
/// Before boot has parsed it, which no code outside the boot sequence can observe.
pub fn boot_info() -> &'static BootInfo {
    BOOT_INFO.get().expect("boot info used before boot parsed it")
}

const BOOT_PROTO_PVH: u64 = 1;
const BOOT_PROTO_EFI_HANDOVER: u64 = 2;

/// The first Rust code: called by `entry.S` on the boot stack, higher half mapped.
#[unsafe(no_mangle)]
extern "C" fn ostd_boot_entry(
    protocol: u64,
    arg0: u64,
    arg1: u64,
    arg2: u64,
    load_offset: u64,
    entry_tsc: u64,
) -> ! {
    crate::cpu::init_local();
    // Before the console: under SEV-SNP its port writes need the GHCB this sets up.
    let efi_system_table = (protocol == BOOT_PROTO_EFI_HANDOVER).then_some(arg1);
    crate::tee::early_init(load_offset, efi_system_table);
    crate::console::init();
    let parsed = match protocol {
        BOOT_PROTO_PVH => pvh::parse(arg0, load_offset, entry_tsc),
        BOOT_PROTO_EFI_HANDOVER => efi::take_over(arg0, arg1, arg2, load_offset, entry_tsc),
        other => Err(BootError::UnknownProtocol(other)),
    };
    let info = match parsed {
        Ok(info) => info,
        Err(err) => fatal(err),
    };
    let info = BOOT_INFO.call_once(|| info);
    if info.cmdline.has_flag("quiet") {
        crate::console::set_quiet(true);
    }
    for warning in info.warnings.iter().flatten() {
        log::warn!("boot: {warning}");
    }
    if let Some(e) = &info.initrd_refused {
        log::warn!("boot: ignoring the initrd: {e}");
    }
    crate::cpu::init_bsp();
    crate::trap::init();
    // The platform first: the frame allocator asks it which memory still needs accepting.
    crate::tee::init(info);
    crate::mm::init(info);
    crate::time::init(info);
    crate::bus::init(info);
    crate::iommu::init();
    crate::task::run_first_task(crate::kernel_main_trampoline)
}

/// Why the kernel could not make sense of what the boot loader handed it.
///
/// Field names say which boot structure and which value were wrong.
#[derive(Debug)]
#[allow(missing_docs)]
pub enum BootError {
    /// `entry.S` passed a protocol number this file does not know.
    UnknownProtocol(u64),
    /// The PVH start-info block is missing or has the wrong magic.
    BadPvhStartInfo { paddr: u64, magic: u32 },
    /// A boot structure points outside the memory the boot page tables map.
    OutOfReach { what: &'static str, paddr: u64, len: u64 },
    /// The EFI system table has the wrong signature.
    BadEfiSystemTable { signature: u64 },
    /// An EFI boot service failed.
    Efi { call: &'static str, status: usize },
    /// The Linux boot_params block has no `HdrS` header.
    BadBootParams { magic: u32 },
    /// The firmware reported no usable RAM.
    NoUsableMemory,
}

impl core::fmt::Display for BootError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::UnknownProtocol(p) => write!(f, "unknown boot protocol {p}"),
            Self::BadPvhStartInfo { paddr, magic } => {
                write!(f, "PVH start info at {paddr:#x} has magic {magic:#x}, expected 0x336ec578")
            }
            Self::OutOfReach { what, paddr, len } => {
                write!(
                    f,
                    "{what} at {paddr:#x} (+{len:#x}) is outside the first 4 GiB the boot map \
                     covers"
                )
            }
            Self::BadEfiSystemTable { signature } => {
                write!(f, "EFI system table signature {signature:#x} is not 'IBI SYST'")
            }
            Self::Efi { call, status } => write!(f, "EFI {call} failed with status {status:#x}"),
            Self::BadBootParams { magic } => {
                write!(f, "boot_params header magic {magic:#x} is not 'HdrS'")
            }
            Self::NoUsableMemory => write!(f, "the firmware memory map has no usable RAM"),
        }
    }
}

fn fatal(err: BootError) -> ! {
    crate::early_println!("FATAL: cannot boot: {err}");
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}

/// Returns the address of the EFI configuration table entry `guid` (in EFI's byte order)
/// of `system_table`, if the firmware made one. Boot time only (the first 4 GiB mapped).
pub(crate) fn efi_config_table(system_table: u64, guid: [u8; 16]) -> Option<u64> {
    efi::config_table(system_table, uefi_raw::Guid::from_bytes(guid))
}

/// Copies `N` bytes of firmware memory at `paddr`. Boot time only (the first 4 GiB mapped).
pub(crate) fn read_firmware<const N: usize>(paddr: u64) -> Option<[u8; N]> {
    phys::read_array("firmware memory", paddr).ok()
}

/// Returns the initial ramdisk's bytes, if the loader gave one.
///
/// The initrd's frames are reserved at boot and never handed out or written, so a shared
/// `'static` view of them is sound.
pub fn initrd_bytes() -> Option<&'static [u8]> {
    let range = boot_info().initrd?;
    let start = crate::mm::paddr_to_vaddr(range.start) as *const u8;
    // SAFETY: `BootInfo::set_initrd` took it only inside one usable region below the direct
    // map's end (so it is mapped) and off the kernel image, and reserved it: never handed
    // out, never written, valid for the kernel's lifetime.
    Some(unsafe { core::slice::from_raw_parts(start, range.len() as usize) })
}
