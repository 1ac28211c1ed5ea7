//! A hand-made corpus of MMIO instructions. Every byte string was encoded by hand from the
//! Intel SDM (vol. 2: opcode maps, ModRM/SIB tables, REX, prefixes), and its expected
//! access, destination and length written down the same way, not taken from a decoder.
#![forbid(unsafe_code)]

use tee_abi::insn::{
    DecodeError, Extend, Gpr, HighByte, MAX_INSN_LEN, MmioAccess, MmioInsn, Mnemonic, RegOperand,
    Regs, Width, WriteValue, apply_read, decode_mmio, value_to_write,
};

use Width::{Byte, Dword, Qword, Word};

const fn low(gpr: Gpr, width: Width) -> RegOperand {
    RegOperand::Low { gpr, width }
}

const EAX: RegOperand = low(Gpr::Rax, Dword);
const AX: RegOperand = low(Gpr::Rax, Word);
const AL: RegOperand = low(Gpr::Rax, Byte);
const RAX: RegOperand = low(Gpr::Rax, Qword);

#[track_caller]
fn decoded(bytes: &[u8]) -> MmioInsn {
    match decode_mmio(bytes) {
        Ok(insn) => insn,
        Err(error) => panic!("{bytes:02x?}: {error}"),
    }
}

#[track_caller]
fn expect_read(bytes: &[u8], size: Width, dest: RegOperand, extend: Extend, len: u8) {
    let insn = decoded(bytes);
    let MmioAccess::Read(read) = insn.access else {
        panic!("{bytes:02x?}: expected a read, got {:?}", insn.access);
    };
    assert_eq!((read.size(), read.dest(), read.extend()), (size, dest, extend), "{bytes:02x?}");
    assert_eq!(insn.len.get(), len, "{bytes:02x?}: length");
    assert_eq!(insn.access.size(), size);
}

#[track_caller]
fn expect_write(bytes: &[u8], size: Width, value: WriteValue, len: u8) {
    let insn = decoded(bytes);
    let MmioAccess::Write(write) = insn.access else {
        panic!("{bytes:02x?}: expected a write, got {:?}", insn.access);
    };
    assert_eq!((write.size(), write.value()), (size, value), "{bytes:02x?}");
    assert_eq!(insn.len.get(), len, "{bytes:02x?}: length");
}

#[track_caller]
fn expect_err(bytes: &[u8], error: DecodeError) {
    assert_eq!(decode_mmio(bytes), Err(error), "{bytes:02x?}");
}

fn unsupported(mnemonic: Mnemonic) -> DecodeError {
    DecodeError::Unsupported { mnemonic }
}

#[test]
fn mov_loads_take_their_size_from_opcode_66_and_rex_w() {
    expect_read(&[0x8a, 0x07], Byte, AL, Extend::None, 2); // mov al, [rdi]
    expect_read(&[0x8b, 0x07], Dword, EAX, Extend::None, 2); // mov eax, [rdi]
    expect_read(&[0x66, 0x8b, 0x07], Word, AX, Extend::None, 3); // mov ax, [rdi]
    expect_read(&[0x48, 0x8b, 0x07], Qword, RAX, Extend::None, 3); // mov rax, [rdi]
    // REX.W takes precedence over 66.
    expect_read(&[0x66, 0x48, 0x8b, 0x07], Qword, RAX, Extend::None, 4);
}

#[test]
fn high_byte_registers_only_without_rex() {
    // ModRM 0x27: reg 100 is AH without REX, SPL with any REX.
    expect_read(&[0x8a, 0x27], Byte, RegOperand::High(HighByte::Ah), Extend::None, 2);
    expect_read(&[0x40, 0x8a, 0x27], Byte, low(Gpr::Rsp, Byte), Extend::None, 3);
    // ModRM 0x3f: reg 111 is BH, DIL with REX.
    expect_read(&[0x8a, 0x3f], Byte, RegOperand::High(HighByte::Bh), Extend::None, 2);
    expect_read(&[0x40, 0x8a, 0x3f], Byte, low(Gpr::Rdi, Byte), Extend::None, 3);
    expect_write(&[0x88, 0x2f], Byte, WriteValue::Register(RegOperand::High(HighByte::Ch)), 2);
    expect_write(&[0x88, 0x37], Byte, WriteValue::Register(RegOperand::High(HighByte::Dh)), 2);
    expect_write(&[0x40, 0x88, 0x37], Byte, WriteValue::Register(low(Gpr::Rsi, Byte)), 3);
}

#[test]
fn rex_r_extends_the_register_rex_b_and_x_only_the_address() {
    expect_read(&[0x4c, 0x8b, 0x07], Qword, low(Gpr::R8, Qword), Extend::None, 3); // mov r8, [rdi]
    expect_read(&[0x44, 0x8b, 0x3f], Dword, low(Gpr::R15, Dword), Extend::None, 3); // r15d
    expect_read(&[0x44, 0x8a, 0x17], Byte, low(Gpr::R10, Byte), Extend::None, 3); // r10b
    expect_read(&[0x41, 0x8b, 0x00], Dword, EAX, Extend::None, 3); // mov eax, [r8]
    expect_read(&[0x42, 0x8b, 0x04, 0xc0], Dword, EAX, Extend::None, 4); // [rax+r8*8]
    expect_read(&[0x47, 0x8b, 0x1c, 0x39], Dword, low(Gpr::R11, Dword), Extend::None, 4); // r11d, [r9+r15]
}

#[test]
fn every_addressing_form_decodes() {
    // [rip+disp32]
    expect_read(&[0x8b, 0x05, 0x78, 0x56, 0x34, 0x12], Dword, EAX, Extend::None, 6);
    // [rbx+rcx*4] (SIB 0x8b: scale 4, index rcx, base rbx)
    expect_read(&[0x8b, 0x04, 0x8b], Dword, EAX, Extend::None, 3);
    // [rdi+disp8], [rdi+disp32]
    expect_read(&[0x8b, 0x47, 0x10], Dword, EAX, Extend::None, 3);
    expect_read(&[0x8b, 0x87, 0x00, 0x10, 0x00, 0x00], Dword, EAX, Extend::None, 6);
    // [disp32] through a SIB with no base and no index
    expect_read(&[0x8b, 0x04, 0x25, 0x00, 0x00, 0xf0, 0xff], Dword, EAX, Extend::None, 7);
    // [rbp+0]: rbp as base needs a displacement
    expect_read(&[0x8b, 0x45, 0x00], Dword, EAX, Extend::None, 3);
    // [r13+0] likewise, [r12] needs a SIB
    expect_read(&[0x41, 0x8b, 0x45, 0x00], Dword, EAX, Extend::None, 4);
    expect_read(&[0x41, 0x8b, 0x04, 0x24], Dword, EAX, Extend::None, 4);
    // [rax+rcx*8+disp32]
    expect_read(&[0x48, 0x8b, 0x84, 0xc8, 0x44, 0x33, 0x22, 0x11], Qword, RAX, Extend::None, 8);
}

#[test]
fn segment_overrides_and_address_size_change_no_access() {
    // gs: mov eax, [0]
    expect_read(&[0x65, 0x8b, 0x04, 0x25, 0, 0, 0, 0], Dword, EAX, Extend::None, 8);
    expect_read(&[0x64, 0x48, 0x8b, 0x00], Qword, RAX, Extend::None, 4); // fs: mov rax, [rax]
    for segment in [0x26, 0x2e, 0x36, 0x3e] {
        expect_read(&[segment, 0x8b, 0x07], Dword, EAX, Extend::None, 3);
    }
    expect_read(&[0x67, 0x8b, 0x07], Dword, EAX, Extend::None, 3); // mov eax, [edi]
    // 66 67 gs REX.B: mov ax, gs:[r12d+8]
    expect_read(&[0x66, 0x67, 0x65, 0x41, 0x8b, 0x44, 0x24, 0x08], Word, AX, Extend::None, 8);
    expect_write(&[0x67, 0x89, 0x07], Dword, WriteValue::Register(EAX), 3);
}

#[test]
fn movzx_and_movsx_widen_8_and_16_bits() {
    expect_read(&[0x0f, 0xb6, 0x07], Byte, EAX, Extend::Zero, 3);
    expect_read(&[0x66, 0x0f, 0xb6, 0x07], Byte, AX, Extend::Zero, 4);
    expect_read(&[0x48, 0x0f, 0xb6, 0x07], Byte, RAX, Extend::Zero, 4);
    expect_read(&[0x0f, 0xb7, 0x07], Word, EAX, Extend::Zero, 3);
    expect_read(&[0x48, 0x0f, 0xb7, 0x07], Word, RAX, Extend::Zero, 4);
    expect_read(&[0x0f, 0xbe, 0x07], Byte, EAX, Extend::Sign, 3);
    expect_read(&[0x66, 0x0f, 0xbe, 0x07], Byte, AX, Extend::Sign, 4);
    expect_read(&[0x48, 0x0f, 0xbe, 0x07], Byte, RAX, Extend::Sign, 4);
    expect_read(&[0x0f, 0xbf, 0x07], Word, EAX, Extend::Sign, 3);
    // REX.W+R: movsx r9, word [rdi]
    expect_read(&[0x4c, 0x0f, 0xbf, 0x0f], Word, low(Gpr::R9, Qword), Extend::Sign, 4);
    // 16-bit destination from a 16-bit source is a plain load.
    expect_read(&[0x66, 0x0f, 0xb7, 0x07], Word, AX, Extend::None, 4);
    expect_read(&[0x66, 0x0f, 0xbf, 0x07], Word, AX, Extend::None, 4);
    // ModRM reg 100 is ESP here: MOVZX has no high-byte destination.
    expect_read(&[0x0f, 0xb6, 0x27], Byte, low(Gpr::Rsp, Dword), Extend::Zero, 3);
}

#[test]
fn mov_stores_from_registers() {
    expect_write(&[0x88, 0x07], Byte, WriteValue::Register(AL), 2);
    expect_write(&[0x89, 0x07], Dword, WriteValue::Register(EAX), 2);
    expect_write(&[0x66, 0x89, 0x07], Word, WriteValue::Register(AX), 3);
    expect_write(&[0x48, 0x89, 0x07], Qword, WriteValue::Register(RAX), 3);
    expect_write(&[0x44, 0x88, 0x07], Byte, WriteValue::Register(low(Gpr::R8, Byte)), 3);
    // mov [rsp], r15
    expect_write(&[0x4c, 0x89, 0x3c, 0x24], Qword, WriteValue::Register(low(Gpr::R15, Qword)), 4);
}

#[test]
fn mov_stores_of_immediates() {
    use WriteValue::Immediate;
    expect_write(&[0xc6, 0x07, 0xab], Byte, Immediate(0xab), 3);
    expect_write(&[0x66, 0xc7, 0x07, 0x34, 0x12], Word, Immediate(0x1234), 5);
    expect_write(&[0x66, 0xc7, 0x07, 0xff, 0xff], Word, Immediate(0xffff), 5);
    expect_write(&[0xc7, 0x07, 0x78, 0x56, 0x34, 0x12], Dword, Immediate(0x1234_5678), 6);
    expect_write(&[0xc7, 0x07, 0x00, 0x00, 0x00, 0x80], Dword, Immediate(0x8000_0000), 6);
    // REX.W: the imm32 is sign-extended to 64 bits.
    let negative = [0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80];
    expect_write(&negative, Qword, Immediate(0xffff_ffff_8000_0000), 7);
    expect_write(&[0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f], Qword, Immediate(0x7fff_ffff), 7);
    // mov dword [rip+disp32], imm32: the displacement comes before the immediate.
    let rip_relative = [0xc7, 0x05, 0xdd, 0xcc, 0xbb, 0xaa, 0x78, 0x56, 0x34, 0x12];
    expect_write(&rip_relative, Dword, Immediate(0x1234_5678), 10);
    // mov byte [rdi+16], 0
    expect_write(&[0xc6, 0x47, 0x10, 0x00], Byte, Immediate(0), 4);
}

#[test]
fn rep_prefixes_are_ignored_where_they_are_hints_and_change_meaning_elsewhere() {
    // F3 on a store to memory is XRELEASE, a hint the CPU executes as a plain store.
    expect_write(&[0xf3, 0x89, 0x07], Dword, WriteValue::Register(EAX), 3);
    // F2 on a load has no meaning and is ignored.
    expect_read(&[0xf2, 0x8b, 0x07], Dword, EAX, Extend::None, 3);
    // F3 0F B8 is POPCNT, F3 0F BC is TZCNT: not MOVZX-family, not emulated.
    expect_err(&[0xf3, 0x0f, 0xb8, 0x07], unsupported(Mnemonic::Popcnt));
    expect_err(&[0xf3, 0x0f, 0xbc, 0x07], unsupported(Mnemonic::Tzcnt));
}

#[test]
fn lock_is_refused() {
    // LOCK on MOV is #UD.
    expect_err(&[0xf0, 0x89, 0x07], DecodeError::Invalid);
    expect_err(&[0xf0, 0x8b, 0x07], DecodeError::Invalid);
    // LOCK ADD is valid but not an emulated access.
    expect_err(&[0xf0, 0x01, 0x07], unsupported(Mnemonic::Add));
}

#[test]
fn other_memory_instructions_are_unsupported() {
    expect_err(&[0x01, 0x07], unsupported(Mnemonic::Add)); // add [rdi], eax
    expect_err(&[0x83, 0x07, 0x01], unsupported(Mnemonic::Add)); // add dword [rdi], 1
    expect_err(&[0x85, 0x07], unsupported(Mnemonic::Test));
    expect_err(&[0x87, 0x07], unsupported(Mnemonic::Xchg));
    expect_err(&[0xff, 0x07], unsupported(Mnemonic::Inc));
    expect_err(&[0x48, 0x63, 0x07], unsupported(Mnemonic::Movsxd));
    expect_err(&[0x0f, 0x38, 0xf0, 0x07], unsupported(Mnemonic::Movbe));
    expect_err(&[0x0f, 0xc3, 0x07], unsupported(Mnemonic::Movnti));
    expect_err(&[0x0f, 0x10, 0x07], unsupported(Mnemonic::Movups));
    expect_err(&[0x66, 0x0f, 0x6f, 0x07], unsupported(Mnemonic::Movdqa));
    expect_err(&[0x8e, 0x1f], unsupported(Mnemonic::Mov)); // mov ds, [rdi]
    // mov eax, [moffs64]: Linux does not emulate the moffs forms either.
    expect_err(&[0xa1, 0, 0, 0, 0, 0, 0, 0, 0], unsupported(Mnemonic::Mov));
    expect_err(&[0x0f, 0x0b], unsupported(Mnemonic::Ud2));
}

#[test]
fn vex_and_evex_moves_are_refused() {
    // VEX.256.F3.0F 6F: vmovdqu ymm0, [rdi]
    expect_err(&[0xc5, 0xfe, 0x6f, 0x07], unsupported(Mnemonic::Vmovdqu));
    // EVEX.512.F3.0F.W0 6F: vmovdqu32 zmm0, [rdi]. The decoder is built without EVEX
    // support (Cargo.toml), so it is refused as invalid rather than by name.
    expect_err(&[0x62, 0xf1, 0x7e, 0x48, 0x6f, 0x07], DecodeError::Invalid);
}

#[test]
fn string_moves_are_refused_by_name() {
    let string = |mnemonic| DecodeError::StringInstruction { mnemonic };
    expect_err(&[0xa4], string(Mnemonic::Movsb));
    expect_err(&[0xf3, 0xa5], string(Mnemonic::Movsd));
    expect_err(&[0x48, 0xa5], string(Mnemonic::Movsq));
    expect_err(&[0xaa], string(Mnemonic::Stosb));
    expect_err(&[0xf3, 0x48, 0xab], string(Mnemonic::Stosq));
    expect_err(&[0xac], string(Mnemonic::Lodsb));
    expect_err(&[0xa6], string(Mnemonic::Cmpsb));
    expect_err(&[0x6c], string(Mnemonic::Insb));
}

#[test]
fn register_forms_have_no_memory_operand() {
    expect_err(&[0x8b, 0xc1], DecodeError::NoMemoryOperand); // mov eax, ecx
    expect_err(&[0x89, 0xc8], DecodeError::NoMemoryOperand); // mov eax, ecx (89 form)
    expect_err(&[0xc7, 0xc0, 1, 0, 0, 0], DecodeError::NoMemoryOperand); // mov eax, 1
    expect_err(&[0x0f, 0xb6, 0xc1], DecodeError::NoMemoryOperand); // movzx eax, cl
    expect_err(&[0xb8, 1, 0, 0, 0], unsupported(Mnemonic::Mov)); // B8: mov eax, imm32
}

#[test]
fn invalid_encodings() {
    // push es: not in 64-bit mode. (iced-x86 reports a lone 06 as truncated: with too few
    // bytes it says so before it says invalid, and either is an error.)
    expect_err(&[0x06, 0x90, 0x90], DecodeError::Invalid);
    expect_err(&[0xc6, 0x0f, 0x00], DecodeError::Invalid); // C6 /1 is undefined
}

#[test]
fn truncated_bytes_are_an_error() {
    expect_err(&[], DecodeError::Truncated { available: 0 });
    expect_err(&[0x48], DecodeError::Truncated { available: 1 });
    expect_err(&[0x0f], DecodeError::Truncated { available: 1 });
    expect_err(&[0x8b], DecodeError::Truncated { available: 1 });
    expect_err(&[0x8b, 0x87, 0x00, 0x10, 0x00], DecodeError::Truncated { available: 5 });
    expect_err(&[0xc7, 0x07, 0x78, 0x56, 0x34], DecodeError::Truncated { available: 5 });
    expect_err(&[0x8b, 0x04], DecodeError::Truncated { available: 2 }); // SIB missing
}

/// `mov qword [rax+rcx*8+0x11223344], -1` behind three ignored segment prefixes: exactly
/// 15 bytes.
const LONGEST: [u8; 15] =
    [0x2e, 0x3e, 0x26, 0x48, 0xc7, 0x84, 0xc8, 0x44, 0x33, 0x22, 0x11, 0xff, 0xff, 0xff, 0xff];

#[test]
fn fifteen_bytes_is_the_limit() {
    assert_eq!(LONGEST.len(), MAX_INSN_LEN);
    expect_write(&LONGEST, Qword, WriteValue::Immediate(u64::MAX), 15);
    // One byte short.
    expect_err(&LONGEST[..14], DecodeError::Truncated { available: 14 });
    // One more prefix makes 16 bytes: #GP on hardware, invalid here.
    let mut sixteen = vec![0x3e];
    sixteen.extend_from_slice(&LONGEST);
    expect_err(&sixteen, DecodeError::Invalid);
    expect_err(&sixteen[..15], DecodeError::Invalid);
}

#[test]
fn bytes_after_the_instruction_are_ignored() {
    expect_read(&[0x8b, 0x07, 0x90, 0x90, 0xcc], Dword, EAX, Extend::None, 2);
    let mut long = vec![0x8b, 0x07];
    long.resize(40, 0x90);
    expect_read(&long, Dword, EAX, Extend::None, 2);
}

/// Applies the host's `answer` to the read decoded from `bytes`, starting from `rax`.
fn after_read(bytes: &[u8], rax: u64, answer: u64) -> u64 {
    let MmioAccess::Read(read) = decoded(bytes).access else { panic!("not a read") };
    let mut regs = Regs::default();
    regs.set_gpr(Gpr::Rax, rax);
    apply_read(&read, answer, &mut regs);
    regs.gpr(Gpr::Rax)
}

const OLD: u64 = 0x1111_1111_1111_1111;

#[test]
fn applying_a_read_drops_the_hosts_extra_bits_then_extends() {
    // movzx eax, byte: only the low byte counts, and EAX clears RAX's top.
    assert_eq!(after_read(&[0x0f, 0xb6, 0x07], u64::MAX, 0x1234_5680), 0x80);
    // movsx rax, byte
    assert_eq!(after_read(&[0x48, 0x0f, 0xbe, 0x07], OLD, 0xffff_ff7f), 0x7f);
    assert_eq!(after_read(&[0x48, 0x0f, 0xbe, 0x07], OLD, 0x80), 0xffff_ffff_ffff_ff80);
    // movsx eax, word: sign-extends to 32 bits, then zero-extends to 64.
    assert_eq!(after_read(&[0x0f, 0xbf, 0x07], OLD, 0x8001), 0x0000_0000_ffff_8001);
    // movsx ax, byte: the top 48 bits stay.
    assert_eq!(after_read(&[0x66, 0x0f, 0xbe, 0x07], OLD, 0x80), 0x1111_1111_1111_ff80);
    // movzx rax, word
    assert_eq!(after_read(&[0x48, 0x0f, 0xb7, 0x07], OLD, 0xffff_ffff), 0xffff);
    // mov al / mov ah / mov ax keep the rest.
    assert_eq!(after_read(&[0x8a, 0x07], OLD, 0xabcd), 0x1111_1111_1111_11cd);
    assert_eq!(after_read(&[0x8a, 0x27], OLD, 0xffab), 0x1111_1111_1111_ab11);
    assert_eq!(after_read(&[0x66, 0x8b, 0x07], OLD, 0xdead_beef), 0x1111_1111_1111_beef);
    // mov eax: garbage above 32 bits is dropped and RAX's top cleared.
    assert_eq!(after_read(&[0x8b, 0x07], OLD, 0xdead_beef_0000_0001), 1);
    assert_eq!(after_read(&[0x48, 0x8b, 0x07], OLD, u64::MAX), u64::MAX);
}

#[test]
fn applying_a_read_touches_only_the_destination() {
    let MmioAccess::Read(read) = decoded(&[0x44, 0x8b, 0x3f]).access else { panic!() };
    let mut regs = Regs { gprs: [OLD; 16], rip: 0x1000, rflags: 0x202 };
    apply_read(&read, 0x42, &mut regs);
    let mut expected = Regs { gprs: [OLD; 16], rip: 0x1000, rflags: 0x202 };
    expected.set_gpr(Gpr::R15, 0x42);
    assert_eq!(regs, expected);
}

/// The value the write decoded from `bytes` sends, with every register holding `fill` and
/// RAX holding `rax`.
fn written(bytes: &[u8], rax: u64) -> u64 {
    let MmioAccess::Write(write) = decoded(bytes).access else { panic!("not a write") };
    let mut regs = Regs { gprs: [0xeeee_eeee_eeee_eeee; 16], ..Regs::default() };
    regs.set_gpr(Gpr::Rax, rax);
    value_to_write(&write, &regs)
}

#[test]
fn the_value_written_is_the_sources_bytes_only() {
    let rax = 0xffff_ffff_1234_5678;
    assert_eq!(written(&[0x88, 0x07], rax), 0x78); // al
    assert_eq!(written(&[0x88, 0x27], rax), 0x56); // ah
    assert_eq!(written(&[0x66, 0x89, 0x07], rax), 0x5678); // ax
    assert_eq!(written(&[0x89, 0x07], rax), 0x1234_5678); // eax
    assert_eq!(written(&[0x48, 0x89, 0x07], rax), rax); // rax
    assert_eq!(written(&[0x44, 0x89, 0x07], rax), 0xeeee_eeee); // r8d
    assert_eq!(written(&[0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff], rax), 0xffff_ffff_ffff_fffe);
    assert_eq!(written(&[0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff], rax), 0xffff_fffe);
}

#[test]
fn retiring_moves_rip_by_the_length() {
    let insn = decoded(&[0x8b, 0x05, 0x78, 0x56, 0x34, 0x12]);
    let mut regs = Regs { rip: 0xffff_ffff_8000_0ffc, ..Regs::default() };
    insn.len.advance_rip(&mut regs);
    assert_eq!(regs.rip, 0xffff_ffff_8000_1002);
}
