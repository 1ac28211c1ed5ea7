//! Memory: physical frames, the kernel heap, page tables, and user address spaces.
//!
//! Virtual layout (x86-64, 4-level paging):
//! ```text
//! 0x0000_0000_0000_0000 ..= 0x0000_7fff_ffff_ffff   user space (one VmSpace per process)
//! 0xffff_8000_0000_0000 ..                           direct map of RAM (PML4 slot 256)
//! 0xffff_c000_0000_0000 ..                           device and firmware memory, uncached
//!                                                    (slots 384.., up to 64)
//! 0xffff_e000_0000_0000 ..                           kernel stacks with guard pages (slot 448)
//! 0xffff_ffff_8000_0000 ..                           the kernel image (slot 511)
//! ```
//! Kernel-half PML4 slots are created once at boot and never change, so every address space
//! shares them by copying the PML4 entries. The direct map is one slot, so it reaches RAM
//! below 512 GiB only; the I/O window has as many slots as the CPU's physical-address width
//! needs, up to 64 (32 TiB), so a 64-bit BAR far above RAM still maps. `phys_bounds` holds the
//! (pure, host-tested) arithmetic that keeps every window inside its slot, off RAM the
//! kernel owns and off the kernel image.

mod frame;
mod frame_alloc;
mod frame_ref;
mod heap;
mod io_mem;
mod kspace;
mod kstack;
mod page_table;
mod phys_bounds;
mod pt_index;
mod user_copy;
mod vm_space;

pub mod dma;

pub use frame::{Frame, Segment};
pub use frame_alloc::{FrameStats, frame_stats, unaccepted_bytes};
pub use heap::{heap_stats, heap_trim};
pub use io_mem::IoMem;
pub(crate) use kspace::{
    device_paddr_of, flush_cache_lines, kernel_text, read_kernel_text, set_direct_map_visibility,
};
pub(crate) use kstack::in_area as in_kernel_stack_area;
pub(crate) use kstack::{KSTACK_AREA, KernelStack};
pub use page_table::PageFlags;
pub(crate) use page_table::{Visibility, set_visibility_bits};
pub use phys_bounds::{PhysSpan, WindowError, WindowPurpose};
pub(crate) use phys_bounds::{RegionUse, check_loaded};
pub use vm_space::{PageFaultInfo, VmError, VmSpace};

pub use page_table::PageAccess;
pub use vm_space::{PageFaultHandler, deactivate_user_space};

/// A physical address.
pub type Paddr = u64;
/// A virtual address.
pub type Vaddr = u64;

/// The size of a base page.
pub const PAGE_SIZE: usize = 4096;
/// Where the direct map of physical memory begins.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Where uncached device and firmware mappings begin.
pub(crate) const IO_OFFSET: u64 = 0xffff_c000_0000_0000;
/// Where the kernel image is linked (plus its physical link address).
pub(crate) const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// The first address above user space.
pub const USER_END: Vaddr = 0x0000_8000_0000_0000;

/// Returns the direct-map virtual address of a physical address in RAM.
pub fn paddr_to_vaddr(paddr: Paddr) -> Vaddr {
    PHYS_OFFSET + paddr
}

/// Returns the link-time physical range of the kernel image (before the load offset).
pub(crate) fn kernel_image_link_range() -> (u64, u64) {
    unsafe extern "C" {
        static __image_lma_start: u8;
        static __image_end: u8;
    }
    let (start, end) = (&raw const __image_lma_start as u64, &raw const __image_end as u64);
    (start, end - KERNEL_VMA)
}

/// Offers a kernel-mode fault on a user address to the active address space.
pub(crate) fn vm_space_fault(info: &PageFaultInfo) -> bool {
    vm_space::handle_kernel_fault_on_user(info)
}

/// If `rip` is a user-copy instruction, returns where to resume after an unfixable fault.
pub(crate) fn user_copy_fixup(rip: u64) -> Option<u64> {
    user_copy::fixup_for(rip)
}

/// Brings up frames, the heap and the kernel page table, in that order.
pub(crate) fn init(info: &crate::boot::BootInfo) {
    frame_alloc::init(info);
    heap::init();
    kspace::init(info);
    frame_alloc::lift_early_limit();
    frame_alloc::add_unaccepted(info);
}
