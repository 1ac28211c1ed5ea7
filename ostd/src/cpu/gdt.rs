//! The GDT and TSS.
//!
//! Selector order is fixed by SYSCALL/SYSRET: kernel code, kernel data, then user data and
//! user code, so that STAR can name both pairs. Every IDT vector runs on an IST stack (see
//! `trap`), so the TSS's job is to hold those stacks.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::segmentation::SegmentSelector;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::tss::TaskStateSegment;
use spin::Once;

/// Kernel code selector.
pub(crate) const KERNEL_CS: u16 = 0x08;
/// User data selector (RPL 3).
pub(crate) const USER_SS: u16 = 0x18 | 3;
/// User code selector (RPL 3).
pub(crate) const USER_CS: u16 = 0x20 | 3;

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
static GDT: Once<GlobalDescriptorTable> = Once::new();

pub(super) fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for (slot, stack) in [IST_TRAMPOLINE, IST_NMI, IST_DOUBLE_FAULT].into_iter().enumerate() {
            // SAFETY: only the address of the static is taken, never a reference.
            let base = unsafe { &raw mut IST_STACKS[slot] } as u64;
            tss.interrupt_stack_table[usize::from(stack - 1)] = VirtAddr::new(base + IST_STACK_SIZE as u64);
        }
        tss
    });
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        gdt.append(Descriptor::tss_segment(tss));
        gdt
    });
    gdt.load();
    // SAFETY: the selectors name the descriptors appended above, in that order: 0x08 kernel
    // code, 0x10 kernel data, 0x28 the TSS (which lives in a static forever).
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CS));
        SS::set_reg(SegmentSelector(0x10));
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(SegmentSelector(0x28));
    }
    // No LDT. LDTR must still be loaded: until `lldt` runs, it keeps its reset state (base 0,
    // limit 0xffff), and a user selector with TI set (`mov $7, %ds`, `lret` to one) would read
    // descriptors from linear address 0, a user page that a program could fill with a call
    // gate into ring 0. With a null LDTR such a selector takes #GP, as on Linux.
    // SAFETY: a null selector in LDTR only makes LDT selectors invalid; the kernel and user
    // code use GDT selectors only.
    unsafe { core::arch::asm!("lldt {0:x}", in(reg) 0u16, options(nostack, preserves_flags)) };
}
