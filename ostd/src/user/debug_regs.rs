//! The x86 debug registers for user code: the hardware breakpoints and watchpoints a tracer
//! sets with PTRACE_POKEUSER (gdb's `watch` uses them).
//!
//! They are armed only while the task runs in user mode: [`arm`] loads them just before the
//! entry to user mode and [`disarm`] clears DR7 as soon as the CPU is back, so that the
//! kernel's own accesses (which may touch a watched user address while copying to or from
//! user memory) never trap. A task whose DR7 enables nothing costs nothing.

/// DR6 reads with these bits set when nothing is to report (Linux's DR6_RESERVED).
pub const DR6_RESERVED: u64 = 0xffff_0ff0;
/// DR6: the trap came from single-stepping (the trap flag).
pub const DR6_SINGLE_STEP: u64 = 1 << 14;
/// DR7 bits that this module loads: the local and global enables (bits 0-7) and each
/// slot's access type and length (bits 16-31). General detect (bit 13), which would make
/// the kernel's own accesses to DR7 trap, is never loaded.
const DR7_LOADABLE: u64 = 0xffff_00ff;
/// RFLAGS.RF: the instruction at rip runs once without its instruction breakpoint firing.
const RFLAGS_RESUME: u64 = 1 << 16;

/// The debug registers a task's user code runs with.
///
/// # Invariants
/// None are needed for soundness: [`arm`] loads only user addresses and sanitises the
/// control word, whatever the kernel put here.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(C)]
pub struct DebugRegisters {
    /// DR0-DR3: the four breakpoint addresses.
    pub addr: [u64; 4],
    /// DR7 as the tracer wrote it: which slots are enabled (either of bits 2i, 2i+1), for
    /// which access (bits 16+4i..18+4i: 0 execute, 1 write, 3 read or write) and length
    /// (bits 18+4i..20+4i: 0 one byte, 1 two, 3 four, 2 eight).
    pub control: u64,
}

impl DebugRegisters {
    /// Whether slot `i` (0..4) is enabled.
    pub fn enabled(&self, i: usize) -> bool {
        (self.control >> (2 * i)) & 3 != 0
    }

    /// Slot `i`'s access type (0 execute, 1 write, 2 I/O, 3 read or write).
    pub fn access(&self, i: usize) -> u64 {
        (self.control >> (16 + 4 * i)) & 3
    }

    /// The DR7 value to load: enabled slots with a memory access type, at user addresses
    /// (an I/O slot, which needs CR4.DE, or one at a kernel address stays off).
    fn hardware_control(&self) -> u64 {
        let mut dr7 = self.control & DR7_LOADABLE;
        for i in 0..4 {
            if self.access(i) == 2 || self.addr[i] >= crate::mm::USER_END {
                dr7 &= !(3 << (2 * i));
            }
        }
        if dr7 & 0xff == 0 { 0 } else { dr7 }
    }
}

/// Loads `regs` into DR0-DR3 and DR7 if they enable anything; returns whether they did
/// (then [`disarm`] must run on the way back, before any other kernel code).
pub(super) fn arm(regs: &DebugRegisters) -> bool {
    // Nearly every entry to user mode has no slot enabled: one test, not the slot walk.
    if regs.control & 0xff == 0 {
        return false;
    }
    let dr7 = regs.hardware_control();
    if dr7 == 0 {
        return false;
    }
    let [a0, a1, a2, a3] = regs.addr;
    // Enabled slots hold user addresses (checked in `hardware_control`); `disarm` clears DR7
    // before any kernel code that may touch user memory runs.
    // SAFETY: loading debug registers changes no memory and no Rust-visible state, and DR7
    // leaves general detect off, so no kernel instruction traps on them.
    unsafe {
        core::arch::asm!(
            "mov dr0, {a0}",
            "mov dr1, {a1}",
            "mov dr2, {a2}",
            "mov dr3, {a3}",
            "mov dr7, {dr7}",
            a0 = in(reg) a0,
            a1 = in(reg) a1,
            a2 = in(reg) a2,
            a3 = in(reg) a3,
            dr7 = in(reg) dr7,
            options(nostack, preserves_flags),
        );
    }
    true
}

/// Turns the user's breakpoints off (DR7 = 0).
pub(super) fn disarm() {
    // SAFETY: clearing DR7 only turns breakpoints off.
    unsafe { core::arch::asm!("mov dr7, {}", in(reg) 0u64, options(nostack, preserves_flags)) };
}

/// After a debug exception from user mode: reads DR6 and resets it (its bits are sticky),
/// and returns what the kernel reports, in positive polarity: the single-step bit and the
/// bits of the enabled slots that fired. An instruction breakpoint that fired gets RF set in
/// `rflags`, so that the instruction runs when the task resumes, as Linux does.
pub(super) fn take_status(regs: &DebugRegisters, rflags: &mut u64) -> u64 {
    let raw: u64;
    // SAFETY: reading and resetting DR6 changes no memory; DR6 only records debug traps.
    unsafe {
        core::arch::asm!(
            "mov {raw}, dr6",
            "mov dr6, {reset}",
            raw = out(reg) raw,
            reset = in(reg) DR6_RESERVED,
            options(nostack, preserves_flags),
        );
    }
    let fired = raw ^ DR6_RESERVED;
    let mut status = fired & DR6_SINGLE_STEP;
    let armed = regs.hardware_control();
    for i in 0..4 {
        if fired & (1 << i) != 0 && (armed >> (2 * i)) & 3 != 0 {
            status |= 1 << i;
            if regs.access(i) == 0 {
                *rflags |= RFLAGS_RESUME;
            }
        }
    }
    status
}
