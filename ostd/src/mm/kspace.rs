//! The kernel's half of every address space: the direct map, the I/O window and the image.
//!
//! Built once at boot to replace the coarse boot page tables, with tighter rights:
//! the direct map covers RAM only (not device holes), the image is W^X (text read-execute,
//! rodata read-only, data and bss read-write no-execute), and low memory is unmapped, so a
//! null dereference faults.

use x86_64::structures::paging::PageTableFlags as Hw;

use super::page_table::{self, EntryRef, PageFlags, Visibility, to_hw};
use super::phys_bounds::{IO_WINDOW_SLOTS, PhysSpan, WINDOW_SPAN, io_window_reach};
use super::{IO_OFFSET, KERNEL_VMA, PAGE_SIZE, PHYS_OFFSET, Paddr, Vaddr};
use crate::boot::{BootInfo, MemoryKind};
use crate::sync::SpinLock;

/// The kernel tree's root, written once at boot. Later changes (I/O mappings) go only into
/// the pre-made kernel-half tables, which every address space shares.
static KERNEL_ROOT: SpinLock<Paddr> = SpinLock::new(0);

/// How far the I/O window reaches (see [`io_window_reach`]), set once at boot.
static IO_REACH: spin::Once<u64> = spin::Once::new();

const HUGE: u64 = 2 << 20;
/// PML4 slots of the kernel half that exist from boot, besides the I/O window's: direct
/// map, kernel stacks, image.
const KERNEL_SLOTS: [usize; 3] = [256, super::kstack::KSTACK_PML4_SLOT, 511];
/// The I/O window's first PML4 slot; it takes as many after it as the CPU's physical
/// addresses need, at most [`IO_WINDOW_SLOTS`], which stop short of the kernel stacks.
const IO_SLOT: usize = 384;
const _: () = assert!(IO_OFFSET == 0xffff_0000_0000_0000 | (IO_SLOT as u64) << 39);
const _: () = assert!(IO_SLOT + IO_WINDOW_SLOTS as usize <= super::kstack::KSTACK_PML4_SLOT);

/// Writes back and evicts the cache lines of the `count` frames at `paddr` (through the
/// direct map), as Linux does before a TDX conversion (`tdx_cache_flush_required`): a line
/// cached under the private key must not be written back over the page once it is shared.
pub(crate) fn flush_cache_lines(paddr: Paddr, count: usize) {
    const LINE: usize = 64;
    let base = super::paddr_to_vaddr(paddr);
    for offset in (0..count * PAGE_SIZE).step_by(LINE) {
        // SAFETY: CLFLUSH only writes a line back and evicts it; it changes no memory
        // contents, and the address is in the direct map (RAM the caller's frames hold), so
        // it cannot fault.
        unsafe { core::arch::x86_64::_mm_clflush((base + offset as u64) as *const u8) };
    }
    // SAFETY: a fence orders the flushes before the conversion that follows; no memory effect.
    unsafe { core::arch::x86_64::_mm_mfence() };
}

/// The kernel's text (link addresses), set once at boot.
static TEXT: spin::Once<core::ops::Range<Vaddr>> = spin::Once::new();

/// Returns the kernel's text, by virtual address (empty before boot has mapped it).
pub(crate) fn kernel_text() -> core::ops::Range<Vaddr> {
    TEXT.get().cloned().unwrap_or(0..0)
}

/// Copies kernel text at `va` into `buf` (the #VE handler reads the instruction it emulates).
///
/// # Panics
/// If `va..va + buf.len()` is not inside [`kernel_text`].
pub(crate) fn read_kernel_text(va: Vaddr, buf: &mut [u8]) {
    let text = kernel_text();
    let end = va.checked_add(buf.len() as u64).expect("kernel text range wraps");
    assert!(text.start <= va && end <= text.end, "{va:#x}+{} is not kernel text", buf.len());
    // SAFETY: the range lies inside the kernel's text (checked above), which is mapped
    // read-only from boot on and never changes or unmaps.
    unsafe { core::ptr::copy_nonoverlapping(va as *const u8, buf.as_mut_ptr(), buf.len()) };
}

/// Returns how far the I/O window reaches: device and firmware ranges must end below this.
pub(super) fn io_reach() -> u64 {
    *IO_REACH.get().unwrap_or(&0)
}

pub(super) fn kernel_root() -> Paddr {
    *KERNEL_ROOT.lock()
}

fn oom() -> ! {
    crate::early_println!("FATAL: out of memory while building the kernel page table");
    crate::power::exit_qemu(crate::power::ExitCode::Failure)
}

fn map_one(root: Paddr, va: Vaddr, pa: Paddr, hw: Hw, huge: bool) {
    let table_flags = Hw::PRESENT | Hw::WRITABLE;
    let level = if huge { 2 } else { 1 };
    match page_table::walk(root, va, level, true, table_flags) {
        Ok(Some(entry)) => entry.set(page_table::private_entry(
            pa,
            hw.bits() | if huge { Hw::HUGE_PAGE.bits() } else { 0 },
        )),
        _ => oom(),
    }
}

/// Gives the direct map's entries for the `count` frames at `paddr` the address bits of
/// `visibility` (see [`Visibility`]: TDX's shared bit, SEV-SNP's encryption bit), and flushes
/// them. The frames must be RAM in the direct map.
///
/// All or nothing: the 2 MiB pages over the range are split first, and only when every
/// entry is a 4 KiB one does any bit change; a split that runs out of memory leaves every
/// entry's visibility as it was (the splits made stand: they map the same frames the same
/// way).
pub(crate) fn set_direct_map_visibility(
    paddr: Paddr,
    count: usize,
    visibility: Visibility,
) -> Result<(), page_table::WalkError> {
    let root = KERNEL_ROOT.lock();
    let va_of = |i: u64| PHYS_OFFSET + paddr + i * PAGE_SIZE as u64;
    for i in 0..count as u64 {
        let va = va_of(i);
        match page_table::find_leaf(*root, va) {
            Some((_, 1)) => {}
            Some((entry, 2)) => {
                page_table::split_huge(entry)?;
                page_table::flush(va);
            }
            // The direct map uses 4 KiB and 2 MiB pages only (init); anything else is not RAM.
            _ => return Err(page_table::WalkError::HugePageInTheWay),
        }
    }
    for i in 0..count as u64 {
        let va = va_of(i);
        // Every entry is a present 4 KiB one now (checked above, under the same lock).
        if let Some((entry, 1)) = page_table::find_leaf(*root, va) {
            let bits = page_table::visibility_bits(visibility);
            entry.set((entry.get() & !entry.visibility_bits()) | bits);
            page_table::flush(va);
        }
    }
    Ok(())
}

pub(super) fn init(info: &BootInfo) {
    let root = page_table::alloc_table().unwrap_or_else(|| oom());
    // Every kernel-half slot must exist now: address spaces copy the kernel half once, when
    // they are made. So the I/O window's slots are all made here, enough to reach any
    // physical address the CPU can form (a 64-bit BAR may sit far above RAM: OVMF puts them
    // at 896 GiB and up), one 4 KiB table each.
    let reach = *IO_REACH.call_once(|| io_window_reach(crate::cpu::features().phys_addr_bits));
    let io_slots = IO_SLOT..IO_SLOT + reach.div_ceil(WINDOW_SPAN) as usize;
    for slot in KERNEL_SLOTS.into_iter().chain(io_slots) {
        let table = page_table::alloc_table().unwrap_or_else(|| oom());
        EntryRef::at_root(root, slot)
            .set(page_table::private_entry(table, (Hw::PRESENT | Hw::WRITABLE).bits()));
    }

    // The image's sections, by link address (virtual) and by where they really are (physical).
    unsafe extern "C" {
        static __image_lma_start: u8;
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_end: u8;
        static __image_end: u8;
    }
    let (boot_start, text, text_end, rodata_end, end) = (
        &raw const __image_lma_start as u64 + KERNEL_VMA,
        &raw const __text_start as u64,
        &raw const __text_end as u64,
        &raw const __rodata_end as u64,
        &raw const __image_end as u64,
    );
    TEXT.call_once(|| text..text_end);
    let to_phys = |va: u64| va - KERNEL_VMA + info.load_offset;
    let (read_only_start, read_only_end) = (to_phys(text), to_phys(rodata_end));

    // The direct map: RAM (and reclaimable ACPI) only, plus the first MiB for firmware tables,
    // read-write and no-execute. Its alias of the image's text and rodata is read-only too, so
    // no kernel address can write code or constants (huge pages stop short of that range).
    let rw = to_hw(PageFlags::READ | PageFlags::WRITE);
    let ro = to_hw(PageFlags::READ);
    let map_range = |start: u64, end: u64| {
        // The direct map is one PML4 slot: RAM the map claims past it is left out, so a
        // crafted memory map cannot push the direct map into the I/O window or the image.
        let end = end.min(WINDOW_SPAN);
        let mut pa = start & !(PAGE_SIZE as u64 - 1);
        while pa < end {
            let huge = pa.is_multiple_of(HUGE)
                && pa + HUGE <= end
                && (pa + HUGE <= read_only_start || pa >= read_only_end);
            let hw = if (read_only_start..read_only_end).contains(&pa) { ro } else { rw };
            map_one(root, PHYS_OFFSET + pa, pa, hw, huge);
            pa += if huge { HUGE } else { PAGE_SIZE as u64 };
        }
    };
    map_range(0, 0x10_0000);
    for region in info.memory.regions() {
        if matches!(
            region.kind,
            MemoryKind::Usable | MemoryKind::AcpiReclaimable | MemoryKind::Unaccepted
        ) {
            map_range(region.range.start, region.range.end);
        }
    }

    // The image, section by section: text read-execute, rodata read-only, the rest (the
    // spent boot code and tables, data, bss) read-write; all but text no-execute.
    let mut va = boot_start;
    while va < end {
        let flags = if va >= text && va < text_end {
            PageFlags::READ | PageFlags::EXEC
        } else if va >= text_end && va < rodata_end {
            PageFlags::READ
        } else {
            PageFlags::READ | PageFlags::WRITE
        };
        if Some(va) == crate::tee::boot_shared_page() {
            // SEV-SNP's boot GHCB stays the host's: mapped without the C-bit, as at boot.
            match page_table::walk(root, va, 1, true, Hw::PRESENT | Hw::WRITABLE) {
                Ok(Some(entry)) => entry.set(
                    to_phys(va)
                        | page_table::visibility_bits(Visibility::Shared)
                        | to_hw(flags).bits(),
                ),
                _ => oom(),
            }
        } else {
            map_one(root, va, to_phys(va), to_hw(flags), false);
        }
        va += PAGE_SIZE as u64;
    }

    *KERNEL_ROOT.lock() = root;
    // SAFETY: the new tree maps the image (code, stack in .bss, data) at the same virtual
    // addresses as the boot tables and the direct map over all RAM, so everything in use
    // stays mapped; it lives forever.
    unsafe { page_table::activate(root) };
}

/// Returns the physical address a device mapping of the I/O window at `va` reaches, if `va`
/// is one: uncached and shared (SEV-SNP's #VC handler turns an MMIO instruction's operand
/// into the address the host emulates with this). A private mapping of firmware memory in the
/// window is not one: a host that makes it fault must not see or supply its bytes (Linux's
/// `vc_slow_virt_to_phys` refuses encrypted memory the same way).
pub(crate) fn device_paddr_of(va: Vaddr) -> Option<Paddr> {
    let window = IO_OFFSET..IO_OFFSET.checked_add(io_reach())?;
    if !window.contains(&va) {
        return None;
    }
    let _guard = IO_LOCK.lock();
    let root = kernel_root();
    let (pa, flags) = page_table::translate(root, va)?;
    let shared = page_table::visibility_at(root, va) == Some(Visibility::Shared);
    (flags.contains(PageFlags::UNCACHED) && shared).then_some(pa)
}

/// Copies the kernel half of the root into a new user root.
pub(super) fn copy_kernel_half(user_root: Paddr) {
    let root = kernel_root();
    for slot in 256..512 {
        EntryRef::at_root(user_root, slot).set(EntryRef::at_root(root, slot).get());
    }
}

static IO_LOCK: SpinLock<()> = SpinLock::new(());

/// Maps the physical pages `pages` uncached into the I/O window, with `visibility` (shared for
/// device memory, private for firmware tables), and returns the
/// virtual address of `pages.start()`. Mapping the same range twice is harmless.
///
/// `pages` comes from [`super::phys_bounds::check_window`], so it is page-aligned and below
/// [`io_reach`]: every page lands in one of the I/O window's PML4 slots, made at boot, never
/// in the slots above (the kernel stacks and the image). Returns `None` if that does not
/// hold or page-table memory runs out.
pub(super) fn map_io(pages: PhysSpan, visibility: Visibility) -> Option<Vaddr> {
    if pages.end() > io_reach() || !pages.start().is_multiple_of(PAGE_SIZE as u64) {
        return None;
    }
    let _guard = IO_LOCK.lock();
    let root = kernel_root();
    let hw = to_hw(PageFlags::READ | PageFlags::WRITE | PageFlags::UNCACHED);
    let mut pa = pages.start();
    while pa < pages.end() {
        let va = IO_OFFSET + pa;
        match page_table::walk(root, va, 1, true, Hw::PRESENT | Hw::WRITABLE) {
            Ok(Some(entry)) if !entry.is_present() => {
                entry.set(pa | page_table::visibility_bits(visibility) | hw.bits())
            }
            Ok(Some(_)) => {}
            _ => return None,
        }
        page_table::flush(va);
        pa += PAGE_SIZE as u64;
    }
    Some(IO_OFFSET + pages.start())
}

crate::ktest! {
    fn kernel_page_table_is_w_xor_x_and_leaves_null_unmapped() {
        let root = kernel_root();
        assert!(page_table::translate(root, 0).is_none(), "page zero is mapped");
        let text = kernel_page_table_is_w_xor_x_and_leaves_null_unmapped as *const () as u64;
        let (_, flags) = page_table::translate(root, text).expect("text unmapped");
        assert!(flags.contains(PageFlags::EXEC) && !flags.contains(PageFlags::WRITE));
        static DATA: SpinLock<u32> = SpinLock::new(0);
        let (_, flags) =
            page_table::translate(root, &DATA as *const _ as u64).expect("data unmapped");
        assert!(flags.contains(PageFlags::WRITE) && !flags.contains(PageFlags::EXEC));
        static RODATA: [u8; 4] = *b"ro!!";
        let (_, flags) =
            page_table::translate(root, RODATA.as_ptr() as u64).expect("rodata unmapped");
        assert!(
            !flags.contains(PageFlags::WRITE) && !flags.contains(PageFlags::EXEC),
            "rodata is {flags:?}"
        );
        // The direct map's alias of text is read-only and no-execute; a stack is no-execute.
        let (text_pa, _) = page_table::translate(root, text).unwrap();
        let (_, flags) = page_table::translate(root, super::paddr_to_vaddr(text_pa))
            .expect("text alias unmapped");
        assert_eq!(flags, PageFlags::READ, "the direct map's alias of text");
        let local = 0u64;
        let (_, flags) =
            page_table::translate(root, &local as *const u64 as u64).expect("stack unmapped");
        assert!(
            flags.contains(PageFlags::WRITE) && !flags.contains(PageFlags::EXEC),
            "the stack is {flags:?}"
        );
    }

    fn a_shared_direct_map_entry_splits_its_huge_page_and_comes_back_with_the_contents_intact() {
        // TDX's conversion sets its shared bit this way. Here bit 46 stands in for it: set,
        // it points the frame's entry past RAM, so nothing reads the frame until it is off.
        const SHARED: u64 = 1 << 46;
        let frame = super::Frame::alloc_zeroed().unwrap();
        let neighbour = super::Frame::alloc_zeroed().unwrap();
        frame.write_bytes(100, b"kept");
        neighbour.write_bytes(0, b"next");
        let va = super::paddr_to_vaddr(frame.paddr());
        let saved = (
            page_table::visibility_bits(Visibility::Private),
            page_table::visibility_bits(Visibility::Shared),
        );
        page_table::set_visibility_bits(saved.0, saved.1 | SHARED);
        set_direct_map_visibility(frame.paddr(), 1, Visibility::Shared).unwrap();
        let (entry, level) = page_table::find_leaf(kernel_root(), va).unwrap();
        let shared = entry.get();
        let frame_seen = entry.paddr();
        set_direct_map_visibility(frame.paddr(), 1, Visibility::Private).unwrap();
        page_table::set_visibility_bits(saved.0, saved.1);
        assert_eq!(level, 1, "the entry is a 4 KiB one after the split");
        assert_ne!(shared & SHARED, 0, "the shared bit was set");
        assert_eq!(frame_seen, frame.paddr(), "the entry's frame is read without the bit");
        let (pa, flags) = page_table::translate(kernel_root(), va).unwrap();
        assert_eq!((pa, flags), (frame.paddr(), PageFlags::READ | PageFlags::WRITE));
        let mut got = [0u8; 4];
        frame.read_bytes(100, &mut got);
        assert_eq!(&got, b"kept");
        neighbour.read_bytes(0, &mut got);
        assert_eq!(&got, b"next");
    }

    fn flushing_cache_lines_keeps_the_frames_contents() {
        let frame = super::Frame::alloc_zeroed().unwrap();
        frame.write_bytes(4000, b"line");
        flush_cache_lines(frame.paddr(), 1);
        let mut got = [0u8; 4];
        frame.read_bytes(4000, &mut got);
        assert_eq!(&got, b"line");
    }

    fn direct_map_translates_to_the_physical_address() {
        let frame = super::Frame::alloc_zeroed().unwrap();
        let (pa, _) =
            page_table::translate(kernel_root(), super::paddr_to_vaddr(frame.paddr())).unwrap();
        assert_eq!(pa, frame.paddr());
    }
}
