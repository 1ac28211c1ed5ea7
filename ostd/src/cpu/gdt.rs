//! The GDT and TSS.
//!
//! The layout is Linux's (arch/x86/include/asm/segment.h), because user code sees the
//! selectors: `mov %cs` reads 0x33 and `mov %ss` 0x2b, signal frames report them, and a
//! selector a program loads faults (or not) with the same error code as on Linux.
//!
//! | selector | descriptor |
//! |---|---|
//! | 0x08 | empty (Linux: 32-bit kernel code) |
//! | 0x10 | kernel code |
//! | 0x18 | kernel data |
//! | 0x20 | empty (Linux: 32-bit user code, which this kernel does not run) |
//! | 0x28 | user data (0x2b) |
//! | 0x30 | user code (0x33) |
//! | 0x38 | empty |
//! | 0x40 | TSS (two entries) |
//!
//! SYSCALL/SYSRET fix the order of the pairs (kernel code then data; user 32-bit code, data,
//! 64-bit code), so that STAR can name both. Every IDT vector runs on an IST stack (see
//! `trap`), so the TSS's job is to hold those stacks.

use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;

/// Kernel code selector.
pub(crate) const KERNEL_CS: u16 = 0x10;
/// Kernel data selector.
pub(crate) const KERNEL_DS: u16 = 0x18;
/// User data selector (RPL 3); trap/entry.S has its own copy.
pub(crate) const USER_SS: u16 = 0x28 | 3;
/// User code selector (RPL 3); trap/entry.S has its own copy.
pub(crate) const USER_CS: u16 = 0x30 | 3;
/// The TSS selector.
const TSS_SELECTOR: u16 = 0x40;

/// IST slot used by every ordinary vector (the trampoline stack).
pub(crate) const IST_TRAMPOLINE: u16 = 1;
/// IST slot for NMI and machine check.
pub(crate) const IST_NMI: u16 = 2;
/// IST slot for double fault.
pub(crate) const IST_DOUBLE_FAULT: u16 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStack([u8; IST_STACK_SIZE]);

/// The IST stacks. Only the CPU writes them (on trap entry) and only the trampolines read
/// them, both through raw addresses taken once here.
static mut IST_STACKS: [IstStack; 3] = [const { IstStack([0; IST_STACK_SIZE]) }; 3];

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<GlobalDescriptorTable<10>> = Once::new();

pub(super) fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for (slot, stack) in [IST_TRAMPOLINE, IST_NMI, IST_DOUBLE_FAULT].into_iter().enumerate() {
            // SAFETY: only the address of the static is taken, never a reference.
            let base = unsafe { &raw mut IST_STACKS[slot] } as u64;
            tss.interrupt_stack_table[usize::from(stack - 1)] =
                VirtAddr::new(base + IST_STACK_SIZE as u64);
        }
        tss
    });
    let gdt = GDT.call_once(|| {
        let empty = || Descriptor::UserSegment(0);
        let mut gdt = GlobalDescriptorTable::<10>::empty();
        let placed = [
            gdt.append(empty()),
            gdt.append(Descriptor::kernel_code_segment()),
            gdt.append(Descriptor::kernel_data_segment()),
            gdt.append(empty()),
            gdt.append(Descriptor::user_data_segment()),
            gdt.append(Descriptor::user_code_segment()),
            gdt.append(empty()),
            gdt.append(Descriptor::tss_segment(tss)),
        ];
        let want = [0x08, KERNEL_CS, KERNEL_DS, 0x20, USER_SS, USER_CS, 0x38, TSS_SELECTOR];
        assert!(placed.iter().zip(want).all(|(got, want)| got.0 == want), "GDT layout");
        gdt
    });
    gdt.load();
    // SAFETY: the selectors name the descriptors appended above, at the places the assertion
    // checked: kernel code, kernel data, and the TSS (which lives in a static forever).
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(KERNEL_DS));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(SegmentSelector(TSS_SELECTOR));
    }
    // No LDT. LDTR must still be loaded: until `lldt` runs, it keeps its reset state (base 0,
    // limit 0xffff), and a user selector with TI set (`mov $7, %ds`, `lret` to one) would read
    // descriptors from linear address 0, a user page that a program could fill with a call
    // gate into ring 0. With a null LDTR such a selector takes #GP, as on Linux.
    // SAFETY: a null selector in LDTR only makes LDT selectors invalid; the kernel and user
    // code use GDT selectors only.
    unsafe { core::arch::asm!("lldt {0:x}", in(reg) 0u16, options(nostack, preserves_flags)) };
}
