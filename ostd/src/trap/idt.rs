//! The interrupt descriptor table: 256 interrupt gates, each to a stub in `entry.S`,
//! each on an IST stack.

use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

use crate::cpu::KERNEL_CS;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: spin::Once<Idt> = spin::Once::new();

const STUB_SIZE: u64 = 16;
const INTERRUPT_GATE: u8 = 0x8e;
/// Gates user code may invoke with `int n`: #BP (int3), #OF (into) and 0x80 (the i386
/// syscall gate, which Linux keeps open to 64-bit code too), as on Linux.
const USER_GATE: u8 = 0xee;

pub(super) fn init() {
    unsafe extern "C" {
        static ostd_trap_stubs: u8;
    }
    let stubs = &raw const ostd_trap_stubs as u64;
    let idt = IDT.call_once(|| {
        let mut idt = Idt([Gate::default(); 256]);
        for (vector, gate) in idt.0.iter_mut().enumerate() {
            let handler = stubs + vector as u64 * STUB_SIZE;
            let ist = match vector {
                2 | 18 => crate::cpu::IST_NMI,
                8 => crate::cpu::IST_DOUBLE_FAULT,
                _ => crate::cpu::IST_TRAMPOLINE,
            };
            *gate = Gate {
                offset_low: handler as u16,
                selector: KERNEL_CS,
                ist: ist as u8,
                type_attr: if matches!(vector, 3 | 4)
                    || vector == usize::from(super::irq::LEGACY_SYSCALL_VECTOR)
                {
                    USER_GATE
                } else {
                    INTERRUPT_GATE
                },
                offset_mid: (handler >> 16) as u16,
                offset_high: (handler >> 32) as u32,
                reserved: 0,
            };
        }
        idt
    });
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT lives in a static forever, and every gate points at a stub in
    // entry.S that handles its vector on a valid IST stack (set up by cpu::init_bsp).
    unsafe { lidt(&pointer) };
}
