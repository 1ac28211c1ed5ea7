//! Hands a #VE (vector 20, TDX only) from the trap paths to the TDX handler, with the
//! interrupted context's registers in the form `tee_abi::insn` works on.

use tee_abi::insn::Regs;
use tee_abi::tdx::ve::VeOrigin;

use crate::trap::TrapFrame;
use crate::user::UserContext;

/// The #VE vector.
pub(crate) const VE_VECTOR: u64 = 20;

/// Emulates a #VE taken in kernel mode; one that cannot be emulated is a kernel bug (or a
/// hostile VMM) and panics, naming why.
pub(crate) fn handle_kernel(frame: &mut TrapFrame) {
    let mut regs = regs_of(frame);
    if let Err(e) = super::tdx::ve::handle(&mut regs, VeOrigin::Kernel) {
        panic!("#VE in kernel at rip {:#x} cannot be emulated: {e}", frame.rip);
    }
    write_back(&regs, frame);
}

/// The frame's registers, in `tee_abi::insn`'s encoding order.
fn regs_of(f: &TrapFrame) -> Regs {
    Regs {
        gprs: [
            f.rax, f.rcx, f.rdx, f.rbx, f.rsp, f.rbp, f.rsi, f.rdi, f.r8, f.r9, f.r10, f.r11,
            f.r12, f.r13, f.r14, f.r15,
        ],
        rip: f.rip,
        rflags: f.rflags,
    }
}

/// Writes the emulation's results back into the frame (RSP and RFLAGS are not results).
fn write_back(regs: &Regs, frame: &mut TrapFrame) {
    let [rax, rcx, rdx, rbx, _rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15] = regs.gprs;
    (frame.rax, frame.rcx, frame.rdx, frame.rbx, frame.rbp, frame.rsi, frame.rdi) =
        (rax, rcx, rdx, rbx, rbp, rsi, rdi);
    (frame.r8, frame.r9, frame.r10, frame.r11, frame.r12, frame.r13, frame.r14, frame.r15) =
        (r8, r9, r10, r11, r12, r13, r14, r15);
    frame.rip = regs.rip;
}

/// Emulates a #VE taken in user mode (only CPUID is); returns whether it was, so that the
/// user's program goes on. Otherwise the kernel sees the exception.
pub(crate) fn handle_user(ctx: &mut UserContext) -> bool {
    if super::platform() != super::Platform::Tdx {
        return false;
    }
    let c = &*ctx;
    let mut regs = Regs {
        gprs: [
            c.rax, c.rcx, c.rdx, c.rbx, c.rsp, c.rbp, c.rsi, c.rdi, c.r8, c.r9, c.r10, c.r11,
            c.r12, c.r13, c.r14, c.r15,
        ],
        rip: c.rip,
        rflags: c.rflags,
    };
    if super::tdx::ve::handle(&mut regs, VeOrigin::User).is_err() {
        return false;
    }
    // User-mode emulation is CPUID only: it writes RAX, RBX, RCX and RDX, and moves RIP.
    let [rax, rcx, rdx, rbx, ..] = regs.gprs;
    (ctx.rax, ctx.rcx, ctx.rdx, ctx.rbx, ctx.rip) = (rax, rcx, rdx, rbx, regs.rip);
    true
}

crate::ktest! {
    fn trap_frame_registers_meet_the_decoder_s_encoding_order() {
        use tee_abi::insn::Gpr;
        let mut frame = TrapFrame {
            rax: 0, rcx: 1, rdx: 2, rbx: 3, rsp: 4, rbp: 5, rsi: 6, rdi: 7, r8: 8, r9: 9,
            r10: 10, r11: 11, r12: 12, r13: 13, r14: 14, r15: 15, rip: 100, rflags: 2,
            vector: 20, error_code: 0, cs: 8, ss: 16,
        };
        let regs = regs_of(&frame);
        for (n, gpr) in [
            Gpr::Rax, Gpr::Rcx, Gpr::Rdx, Gpr::Rbx, Gpr::Rsp, Gpr::Rbp, Gpr::Rsi, Gpr::Rdi,
            Gpr::R8, Gpr::R9, Gpr::R10, Gpr::R11, Gpr::R12, Gpr::R13, Gpr::R14, Gpr::R15,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(regs.gpr(gpr), n as u64, "{gpr:?}");
        }
        let mut changed = regs;
        for (i, value) in changed.gprs.iter_mut().enumerate() {
            *value = 1000 + i as u64;
        }
        changed.rip = 104;
        write_back(&changed, &mut frame);
        assert_eq!((frame.rax, frame.rbx, frame.rdi, frame.r15, frame.rip), (1000, 1003, 1007, 1015, 104));
        assert_eq!(frame.rsp, 4, "RSP is not an emulation result");
    }
}
