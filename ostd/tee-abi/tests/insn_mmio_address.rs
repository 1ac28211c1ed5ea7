//! The linear address of an MMIO instruction's memory operand, as SEV-SNP's #VC handler
//! computes it for a nested page fault (which names no address). Bytes encoded by hand from
//! the Intel SDM (ModRM/SIB tables, RIP-relative addressing), addresses worked out the same
//! way.
#![forbid(unsafe_code)]

use tee_abi::insn::{DecodeError, Gpr, MmioAccess, Regs, decode_mmio_with_address};

fn regs_with(values: &[(Gpr, u64)], rip: u64) -> Regs {
    let mut regs = Regs { gprs: [0; 16], rip, rflags: 2 };
    for &(gpr, value) in values {
        regs.gprs[gpr as usize] = value;
    }
    regs
}

#[track_caller]
fn address(bytes: &[u8], regs: &Regs) -> u64 {
    match decode_mmio_with_address(bytes, regs) {
        Ok((_, address)) => address,
        Err(e) => panic!("{bytes:02x?}: {e}"),
    }
}

#[test]
fn base_plus_displacement() {
    // mov eax, [rdi+0x10]: 8B /r, ModRM 01 000 111, disp8 0x10.
    let regs = regs_with(&[(Gpr::Rdi, 0xffff_c000_0000_1000)], 0);
    assert_eq!(address(&[0x8b, 0x47, 0x10], &regs), 0xffff_c000_0000_1010);
}

#[test]
fn base_index_scale_displacement() {
    // mov [rbx+rcx*4+8], dl: 88 /r, ModRM 01 010 100, SIB 10 001 011, disp8 8.
    let regs = regs_with(&[(Gpr::Rbx, 0x1000), (Gpr::Rcx, 3), (Gpr::Rdx, 0xaa)], 0);
    let (insn, address) = decode_mmio_with_address(&[0x88, 0x54, 0x8b, 0x08], &regs).unwrap();
    assert_eq!(address, 0x1000 + 3 * 4 + 8);
    assert!(matches!(insn.access, MmioAccess::Write(_)));
}

#[test]
fn rip_relative_counts_from_the_next_instruction() {
    // mov [rip+0x100], eax: 89 /r, ModRM 00 000 101, disp32 0x100; six bytes long.
    let regs = regs_with(&[], 0xffff_ffff_8010_0000);
    assert_eq!(address(&[0x89, 0x05, 0x00, 0x01, 0x00, 0x00], &regs), 0xffff_ffff_8010_0106);
}

#[test]
fn a_32_bit_register_base_uses_its_low_half() {
    // mov eax, [r8d]: 67 41 8B 00 (address-size override, REX.B, ModRM 00 000 000).
    let regs = regs_with(&[(Gpr::R8, 0x1234_0000_5678)], 0);
    assert_eq!(address(&[0x67, 0x41, 0x8b, 0x00], &regs), 0x5678);
}

#[test]
fn fs_and_gs_overrides_are_refused() {
    let regs = regs_with(&[], 0);
    // mov eax, fs:[rax] and gs:[rax]: 64/65 8B 00.
    for prefix in [0x64, 0x65] {
        assert_eq!(
            decode_mmio_with_address(&[prefix, 0x8b, 0x00], &regs).map(|(_, a)| a),
            Err(DecodeError::SegmentOverride)
        );
    }
    // ds: and es: have base 0 in 64-bit mode: accepted.
    assert_eq!(address(&[0x3e, 0x8b, 0x00], &regs_with(&[(Gpr::Rax, 0x40)], 0)), 0x40);
}
