//! Traps on the machine: nesting, and the red zone.

use core::sync::atomic::{AtomicU32, Ordering};

use super::TrapFrame;

static DEPTH: AtomicU32 = AtomicU32::new(0);
static MAX_DEPTH: AtomicU32 = AtomicU32::new(0);
static HITS: AtomicU32 = AtomicU32::new(0);

fn nesting_hook(_frame: &mut TrapFrame) {
    let depth = DEPTH.fetch_add(1, Ordering::SeqCst) + 1;
    MAX_DEPTH.fetch_max(depth, Ordering::SeqCst);
    HITS.fetch_add(1, Ordering::SeqCst);
    if depth == 1 {
        // A breakpoint inside the breakpoint handler: the IST stack is in use by nobody
        // by now, because the trampoline already moved this frame off it.
        x86_64::instructions::interrupts::int3();
    }
    DEPTH.fetch_sub(1, Ordering::SeqCst);
}

crate::ktest! {
    fn int3_nested_inside_a_trap_handler_returns() {
        super::set_breakpoint_hook(Some(nesting_hook));
        x86_64::instructions::interrupts::int3();
        super::set_breakpoint_hook(None);
        assert_eq!(HITS.load(Ordering::SeqCst), 2, "both breakpoints were handled");
        assert_eq!(MAX_DEPTH.load(Ordering::SeqCst), 2, "the second ran inside the first");
        assert_eq!(DEPTH.load(Ordering::SeqCst), 0);
    }

    fn red_zone_survives_interrupts() {
        // Write 16 qwords into the 128 bytes below rsp (the red zone), wait with interrupts
        // on until several timer interrupts have come and gone, then count the qwords that
        // changed. The asm uses no stack in between.
        let ticks_addr = crate::time::ticks_counter_addr();
        let clobbered: u64;
        // SAFETY: the asm writes only below rsp (the red zone, which the ABI gives leaf
        // code), reads the tick counter through its address, and restores every register
        // it declares; interrupts are enabled on purpose and restored as they were.
        unsafe {
            core::arch::asm!(
                "pushfq",
                "pop {saved_flags}",
                "mov {i}, 0",
                "2:",
                "lea {v}, [{i} + 0x5a5a0000]",
                "mov [rsp + {i} * 8 - 128], {v}",
                "inc {i}",
                "cmp {i}, 16",
                "jne 2b",
                "mov {start}, [{ticks}]",
                "sti",
                "3:",
                "mov {v}, [{ticks}]",
                "sub {v}, {start}",
                "cmp {v}, 3",
                "jb 3b",
                "cli",
                "mov {count}, 0",
                "mov {i}, 0",
                "4:",
                "lea {v}, [{i} + 0x5a5a0000]",
                "cmp [rsp + {i} * 8 - 128], {v}",
                "je 5f",
                "inc {count}",
                "5:",
                "inc {i}",
                "cmp {i}, 16",
                "jne 4b",
                "push {saved_flags}",
                "popfq",
                ticks = in(reg) ticks_addr,
                i = out(reg) _,
                v = out(reg) _,
                start = out(reg) _,
                saved_flags = out(reg) _,
                count = out(reg) clobbered,
            );
        }
        assert_eq!(
            clobbered, 0,
            "{clobbered} of 16 red-zone qwords were overwritten by interrupts"
        );
    }
}
