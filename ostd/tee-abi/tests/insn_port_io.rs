//! Port I/O: hand-encoded IN/OUT/INS/OUTS (Intel SDM vol. 2), the check against the exit's
//! claim, and the register effects of single and string I/O, all expected values written by
//! hand.
#![forbid(unsafe_code)]

use tee_abi::insn::{
    AddrSize, DecodeError, Gpr, IoDirection, Mnemonic, PortIn, PortIo, PortIoExit, PortIoInsn,
    PortIoMismatch, PortOperand, PortOut, RFLAGS_DF, Regs, Segment, StringForm, StringIo,
    StringProgress, Width, decode_port_io,
};

use IoDirection::{In, Out};
use Width::{Byte, Dword, Qword, Word};

#[track_caller]
fn decoded(bytes: &[u8]) -> PortIoInsn {
    match decode_port_io(bytes) {
        Ok(insn) => insn,
        Err(error) => panic!("{bytes:02x?}: {error}"),
    }
}

/// Direction, size, port operand, string form and length of the decoded `bytes`.
#[track_caller]
fn expect(
    bytes: &[u8],
    direction: IoDirection,
    size: Width,
    port: PortOperand,
    string: Option<StringForm>,
    len: u8,
) {
    let insn = decoded(bytes);
    assert_eq!(
        (insn.direction, insn.size, insn.port, insn.string, insn.len.get()),
        (direction, size, port, string, len),
        "{bytes:02x?}"
    );
}

const fn form(rep: bool, addr_size: AddrSize, segment: Segment) -> Option<StringForm> {
    Some(StringForm { rep, addr_size, segment })
}

#[test]
fn in_and_out_with_an_immediate_port() {
    use PortOperand::Immediate;
    expect(&[0xe4, 0x60], In, Byte, Immediate(0x60), None, 2);
    expect(&[0x66, 0xe5, 0x71], In, Word, Immediate(0x71), None, 3);
    expect(&[0xe5, 0x71], In, Dword, Immediate(0x71), None, 2);
    expect(&[0xe6, 0x80], Out, Byte, Immediate(0x80), None, 2);
    expect(&[0x66, 0xe7, 0xff], Out, Word, Immediate(0xff), None, 3);
    expect(&[0xe7, 0x80], Out, Dword, Immediate(0x80), None, 2);
}

#[test]
fn in_and_out_through_dx() {
    use PortOperand::Dx;
    expect(&[0xec], In, Byte, Dx, None, 1);
    expect(&[0x66, 0xed], In, Word, Dx, None, 2);
    expect(&[0xed], In, Dword, Dx, None, 1);
    expect(&[0xee], Out, Byte, Dx, None, 1);
    expect(&[0x66, 0xef], Out, Word, Dx, None, 2);
    expect(&[0xef], Out, Dword, Dx, None, 1);
}

#[test]
fn rex_w_does_not_widen_and_rep_on_a_single_transfer_is_ignored() {
    // Port I/O is at most 32 bits wide: REX.W is ignored.
    expect(&[0x48, 0xed], In, Dword, PortOperand::Dx, None, 2);
    expect(&[0xf3, 0xe4, 0x60], In, Byte, PortOperand::Immediate(0x60), None, 3);
}

#[test]
fn string_forms() {
    use AddrSize::{A32, A64};
    use PortOperand::Dx;
    expect(&[0x6c], In, Byte, Dx, form(false, A64, Segment::Es), 1);
    expect(&[0xf3, 0x6d], In, Dword, Dx, form(true, A64, Segment::Es), 2);
    expect(&[0x66, 0xf3, 0x6d], In, Word, Dx, form(true, A64, Segment::Es), 3);
    expect(&[0xf3, 0x66, 0x6d], In, Word, Dx, form(true, A64, Segment::Es), 3);
    expect(&[0x67, 0xf3, 0x6c], In, Byte, Dx, form(true, A32, Segment::Es), 3);
    expect(&[0x6e], Out, Byte, Dx, form(false, A64, Segment::Ds), 1);
    expect(&[0xf3, 0x6f], Out, Dword, Dx, form(true, A64, Segment::Ds), 2);
    // OUTS's source segment can be overridden; INS's ES cannot.
    expect(&[0x65, 0xf3, 0x6f], Out, Dword, Dx, form(true, A64, Segment::Gs), 3);
    expect(&[0x64, 0x6e], Out, Byte, Dx, form(false, A64, Segment::Fs), 2);
    expect(&[0x65, 0x6c], In, Byte, Dx, form(false, A64, Segment::Es), 2);
}

#[test]
fn other_instructions_are_refused() {
    expect_err(&[0xf2, 0x6c], DecodeError::Unsupported { mnemonic: Mnemonic::Insb });
    expect_err(&[0x8b, 0x07], DecodeError::Unsupported { mnemonic: Mnemonic::Mov });
    expect_err(&[0xa4], DecodeError::Unsupported { mnemonic: Mnemonic::Movsb });
    expect_err(&[0xe4], DecodeError::Truncated { available: 1 });
    expect_err(&[0x66], DecodeError::Truncated { available: 1 });
    expect_err(&[], DecodeError::Truncated { available: 0 });
    expect_err(&[0xf0, 0xec], DecodeError::Invalid); // LOCK IN
}

#[track_caller]
fn expect_err(bytes: &[u8], error: DecodeError) {
    assert_eq!(decode_port_io(bytes), Err(error), "{bytes:02x?}");
}

fn regs_with_dx(rdx: u64) -> Regs {
    let mut regs = Regs::default();
    regs.set_gpr(Gpr::Rdx, rdx);
    regs
}

/// `in al, dx` with DX = 0x3f8 (the upper bits of RDX are not part of the port).
fn in_al_dx() -> (PortIoInsn, Regs) {
    (decoded(&[0xec]), regs_with_dx(0xffff_ffff_0000_03f8))
}

const TRUE_EXIT: PortIoExit =
    PortIoExit { port: 0x3f8, size: Byte, direction: In, string: false, rep: false };

#[test]
fn a_truthful_exit_passes() {
    let (insn, regs) = in_al_dx();
    assert_eq!(insn.expected_exit(&regs), TRUE_EXIT);
    assert_eq!(insn.check(&TRUE_EXIT, &regs), Ok(PortIo::In(PortIn { port: 0x3f8, size: Byte })));
    let out = decoded(&[0xe7, 0x80]);
    let exit = PortIoExit { port: 0x80, size: Dword, direction: Out, string: false, rep: false };
    // An immediate port does not look at DX.
    assert_eq!(out.check(&exit, &regs), Ok(PortIo::Out(PortOut { port: 0x80, size: Dword })));
}

#[test]
fn a_lying_exit_is_caught_and_named() {
    let (insn, regs) = in_al_dx();
    let lie = |exit: PortIoExit| insn.check(&exit, &regs);
    assert_eq!(
        lie(PortIoExit { port: 0x3f9, ..TRUE_EXIT }),
        Err(PortIoMismatch::Port { insn: 0x3f8, exit: 0x3f9 })
    );
    assert_eq!(
        lie(PortIoExit { size: Dword, ..TRUE_EXIT }),
        Err(PortIoMismatch::Size { insn: Byte, exit: Dword })
    );
    assert_eq!(
        lie(PortIoExit { size: Qword, ..TRUE_EXIT }),
        Err(PortIoMismatch::Size { insn: Byte, exit: Qword })
    );
    assert_eq!(
        lie(PortIoExit { direction: Out, ..TRUE_EXIT }),
        Err(PortIoMismatch::Direction { insn: In, exit: Out })
    );
    assert_eq!(
        lie(PortIoExit { string: true, ..TRUE_EXIT }),
        Err(PortIoMismatch::String { insn: false, exit: true })
    );
    assert_eq!(
        lie(PortIoExit { rep: true, ..TRUE_EXIT }),
        Err(PortIoMismatch::Rep { insn: false, exit: true })
    );
    let insb = decoded(&[0x6c]);
    let claim = PortIoExit { string: false, ..TRUE_EXIT };
    assert_eq!(insb.check(&claim, &regs), Err(PortIoMismatch::String { insn: true, exit: false }));
    let message = PortIoMismatch::Port { insn: 0x3f8, exit: 0x3f9 }.to_string();
    assert_eq!(message, "port I/O exit claims port 1017, the instruction has 1016");
}

const OLD: u64 = 0x1111_1111_1111_1111;

fn rax_after_in(size: Width, answer: u64) -> u64 {
    let mut regs = Regs::default();
    regs.set_gpr(Gpr::Rax, OLD);
    PortIn { port: 0x60, size }.apply(answer, &mut regs);
    regs.gpr(Gpr::Rax)
}

#[test]
fn in_writes_al_ax_eax_with_x86_rules() {
    assert_eq!(rax_after_in(Byte, 0xffff_ff42), 0x1111_1111_1111_1142);
    assert_eq!(rax_after_in(Word, 0xffff_ff42), 0x1111_1111_1111_ff42);
    assert_eq!(rax_after_in(Dword, 0xdead_beef_cafe_f00d), 0x0000_0000_cafe_f00d);
}

#[test]
fn out_sends_al_ax_eax() {
    let mut regs = Regs::default();
    regs.set_gpr(Gpr::Rax, 0x1122_3344_5566_7788);
    assert_eq!(PortOut { port: 0x80, size: Byte }.value(&regs), 0x88);
    assert_eq!(PortOut { port: 0x80, size: Word }.value(&regs), 0x7788);
    assert_eq!(PortOut { port: 0x80, size: Dword }.value(&regs), 0x5566_7788);
}

/// The string operation `bytes` decodes to, with DX = 0x1f0 and `regs`' other registers.
fn string_io(bytes: &[u8], regs: &Regs) -> StringIo {
    match decoded(bytes).operation(regs) {
        PortIo::String(string) => string,
        other => panic!("{bytes:02x?}: not a string operation: {other:?}"),
    }
}

fn offsets(batch: &tee_abi::insn::StringBatch) -> Vec<u64> {
    (0..batch.count()).map(|i| batch.element_offset(i).unwrap()).collect()
}

#[test]
fn rep_insw_in_two_batches() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, 5);
    regs.set_gpr(Gpr::Rdi, 0x1000);
    regs.rip = 0x4000;
    let insw = string_io(&[0x66, 0xf3, 0x6d], &regs);
    assert_eq!((insw.port(), insw.size(), insw.direction()), (0x1f0, Word, In));
    assert_eq!(insw.remaining(&regs), 5);

    let batch = insw.next_batch(&regs, 3);
    assert_eq!(offsets(&batch), [0x1000, 0x1002, 0x1004]);
    assert_eq!(batch.element_offset(3), None);
    assert_eq!(batch.total_bytes(), Some(6));
    assert_eq!(insw.complete(batch, &mut regs), StringProgress::Again);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.gpr(Gpr::Rcx), regs.rip), (0x1006, 2, 0x4000));

    let batch = insw.next_batch(&regs, 3);
    assert_eq!(offsets(&batch), [0x1006, 0x1008]);
    assert_eq!(insw.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.gpr(Gpr::Rcx), regs.rip), (0x100a, 0, 0x4003));
}

#[test]
fn rep_outsb_steps_down_when_df_is_set() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, 3);
    regs.set_gpr(Gpr::Rsi, 0x2000);
    regs.set_gpr(Gpr::Rdi, 0x9999);
    regs.rflags = RFLAGS_DF | 0x2;
    let outsb = string_io(&[0xf3, 0x6e], &regs);
    let batch = outsb.next_batch(&regs, 10);
    assert_eq!(offsets(&batch), [0x2000, 0x1fff, 0x1ffe]);
    assert_eq!(outsb.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!((regs.gpr(Gpr::Rsi), regs.gpr(Gpr::Rcx), regs.rip), (0x1ffd, 0, 2));
    assert_eq!(regs.gpr(Gpr::Rdi), 0x9999, "OUTS leaves RDI alone");
}

#[test]
fn a32_uses_ecx_and_edi_wraps_at_4_gib_and_clears_the_upper_halves() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, 0xffff_ffff_0000_0002);
    regs.set_gpr(Gpr::Rdi, 0xdead_0000_ffff_fffc);
    let insd = string_io(&[0x67, 0xf3, 0x6d], &regs);
    assert_eq!(insd.addr_size(), AddrSize::A32);
    assert_eq!(insd.remaining(&regs), 2);
    let batch = insd.next_batch(&regs, 100);
    assert_eq!(offsets(&batch), [0xffff_fffc, 0]);
    assert_eq!(insd.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.gpr(Gpr::Rcx), regs.rip), (4, 0, 3));
}

#[test]
fn a32_stepping_down_wraps_below_zero() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, 3);
    regs.set_gpr(Gpr::Rdi, 0x7777_7777_0000_0002);
    regs.rflags = RFLAGS_DF;
    let insw = string_io(&[0x66, 0x67, 0xf3, 0x6d], &regs);
    let batch = insw.next_batch(&regs, 3);
    assert_eq!(offsets(&batch), [2, 0, 0xffff_fffe]);
    assert_eq!(insw.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!(regs.gpr(Gpr::Rdi), 0xffff_fffc);
}

#[test]
fn rep_with_rcx_zero_moves_nothing_and_retires() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rdi, 0x1000);
    let insb = string_io(&[0xf3, 0x6c], &regs);
    assert_eq!(insb.remaining(&regs), 0);
    let batch = insb.next_batch(&regs, 16);
    assert_eq!(batch.count(), 0);
    assert_eq!(insb.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.gpr(Gpr::Rcx), regs.rip), (0x1000, 0, 2));
}

#[test]
fn without_rep_one_element_moves_and_rcx_is_untouched() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, 7);
    regs.set_gpr(Gpr::Rdi, 0x1000);
    let insb = string_io(&[0x6c], &regs);
    assert!(!insb.rep());
    assert_eq!(insb.remaining(&regs), 1);
    // A zero-sized batch makes no progress.
    let empty = insb.next_batch(&regs, 0);
    assert_eq!(insb.complete(empty, &mut regs), StringProgress::Again);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.rip), (0x1000, 0));
    let batch = insb.next_batch(&regs, 8);
    assert_eq!(offsets(&batch), [0x1000]);
    assert_eq!(insb.complete(batch, &mut regs), StringProgress::Done);
    assert_eq!((regs.gpr(Gpr::Rdi), regs.gpr(Gpr::Rcx), regs.rip), (0x1001, 7, 1));
}

#[test]
fn huge_counts_are_capped_by_the_batch_limit() {
    let mut regs = regs_with_dx(0x1f0);
    regs.set_gpr(Gpr::Rcx, u64::MAX);
    regs.set_gpr(Gpr::Rsi, u64::MAX - 3);
    let outsd = string_io(&[0xf3, 0x6f], &regs);
    let batch = outsd.next_batch(&regs, 4);
    assert_eq!(batch.total_bytes(), Some(16));
    // A64 wraps at 2^64.
    assert_eq!(offsets(&batch), [u64::MAX - 3, 0, 4, 8]);
    assert_eq!(outsd.complete(batch, &mut regs), StringProgress::Again);
    assert_eq!((regs.gpr(Gpr::Rsi), regs.gpr(Gpr::Rcx)), (12, u64::MAX - 4));
    let all = outsd.next_batch(&regs, u64::MAX);
    assert_eq!(all.total_bytes(), None);
}

#[test]
fn a_string_exit_checks_and_carries_the_form() {
    let regs = regs_with_dx(0x1f0);
    let exit = PortIoExit { port: 0x1f0, size: Word, direction: In, string: true, rep: true };
    let Ok(PortIo::String(insw)) = decoded(&[0x66, 0xf3, 0x6d]).check(&exit, &regs) else {
        panic!("not a string operation");
    };
    assert_eq!((insw.rep(), insw.addr_size(), insw.segment()), (true, AddrSize::A64, Segment::Es));
    let outsw = decoded(&[0x66, 0x6f]);
    let claim = PortIoExit { direction: Out, rep: true, ..exit };
    assert_eq!(outsw.check(&claim, &regs), Err(PortIoMismatch::Rep { insn: false, exit: true }));
}
