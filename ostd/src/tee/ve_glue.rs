//! Hands a #VE (vector 20, TDX) or a #VC (vector 29, SEV-SNP) from the trap paths to the
//! platform's handler, with the interrupted context's registers in the form `tee_abi::insn`
//! works on, and the instruction bytes at RIP (kernel text, or a copy of user memory).

use tee_abi::insn::Regs;
use tee_abi::tdx::ve::VeOrigin;

use crate::trap::TrapFrame;
use crate::user::UserContext;

/// The #VE vector.
pub(crate) const VE_VECTOR: u64 = 20;
/// The #VC vector.
pub(crate) const VC_VECTOR: u64 = 29;

/// Emulates a #VC taken in kernel mode; one that cannot be emulated is a kernel bug (or a
/// hostile host) and panics, naming why.
pub(crate) fn handle_vc_kernel(frame: &mut TrapFrame) {
    use tee_abi::snp::vc::VcOrigin;
    let mut regs = regs_of(frame);
    let result = match kernel_text_at(frame.rip) {
        Some(bytes) => {
            super::snp::vc::handle(&mut regs, frame.error_code, VcOrigin::Kernel, &bytes)
        }
        None => Err(super::snp::vc::VcError::NoInstruction(frame.rip)),
    };
    if let Err(e) = result {
        panic!(
            "#VC (exit {:#x}) in kernel at rip {:#x} cannot be emulated: {e}",
            frame.error_code, frame.rip
        );
    }
    write_back(&regs, frame);
}

/// Emulates a #VC taken in user mode (CPUID, RDTSC, RDTSCP only), reading the instruction
/// with `read_user`; returns whether it was, so that the program goes on. Otherwise the
/// kernel sees the exception.
pub(crate) fn handle_vc_user(
    ctx: &mut UserContext,
    read_user: impl Fn(u64, &mut [u8]) -> bool,
) -> bool {
    use tee_abi::snp::vc::VcOrigin;
    if super::platform() != super::Platform::SevSnp {
        return false;
    }
    // The instruction may end near a page boundary: take what can be read, the decoder
    // refuses one cut short.
    let mut bytes = [0u8; tee_abi::insn::MAX_INSN_LEN];
    let Some(len) = (1..=bytes.len()).rev().find(|&n| read_user(ctx.rip, &mut bytes[..n])) else {
        return false;
    };
    let mut regs = user_regs(ctx);
    if super::snp::vc::handle(&mut regs, ctx.error_code, VcOrigin::User, &bytes[..len]).is_err() {
        return false;
    }
    // User-mode emulation touches RAX, RBX, RCX and RDX only, and moves RIP.
    let [rax, rcx, rdx, rbx, ..] = regs.gprs;
    (ctx.rax, ctx.rcx, ctx.rdx, ctx.rbx, ctx.rip) = (rax, rcx, rdx, rbx, regs.rip);
    true
}

/// Copies the (up to) 15 bytes of kernel text at `rip`, or `None` outside the kernel's text
/// (instructions are emulated for kernel code only from its text, which cannot change).
pub(crate) fn kernel_text_at(rip: u64) -> Option<[u8; tee_abi::insn::MAX_INSN_LEN]> {
    let text = crate::mm::kernel_text();
    if rip < text.start || rip >= text.end {
        return None;
    }
    let mut bytes = [0u8; tee_abi::insn::MAX_INSN_LEN];
    // Bytes past the text's end read as zeros: the decoder stops at the instruction's end,
    // and one that would run past the text is refused as truncated.
    let available = (text.end - rip).min(bytes.len() as u64) as usize;
    crate::mm::read_kernel_text(rip, &mut bytes[..available]);
    Some(bytes)
}

fn user_regs(c: &UserContext) -> Regs {
    Regs {
        gprs: [
            c.rax, c.rcx, c.rdx, c.rbx, c.rsp, c.rbp, c.rsi, c.rdi, c.r8, c.r9, c.r10, c.r11,
            c.r12, c.r13, c.r14, c.r15,
        ],
        rip: c.rip,
        rflags: c.rflags,
    }
}

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
    let mut regs = user_regs(ctx);
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
