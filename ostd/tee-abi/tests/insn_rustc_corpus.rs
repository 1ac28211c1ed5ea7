//! The MMIO instructions rustc really emits for OSTD-style volatile accessors
//! (data/insn/rustc_accessors.txt, made by data/insn/gen_rustc_accessors.sh with the kernel's
//! flags) decode to the access each accessor makes. The expected kind and width come from
//! each accessor's source (its name says it); the instruction boundaries and the operand
//! size printed by objdump serve as a second, independent decoder to agree with.
#![forbid(unsafe_code)]

use tee_abi::insn::{
    Extend, MmioAccess, Regs, Width, WriteValue, apply_read, decode_mmio, value_to_write,
};

const DUMP: &str = include_str!("data/insn/rustc_accessors.txt");

/// One instruction as objdump printed it.
struct Line {
    bytes: Vec<u8>,
    asm: String,
}

/// The functions of the dump, in order, with their instructions.
fn functions() -> Vec<(String, Vec<Line>)> {
    let mut functions: Vec<(String, Vec<Line>)> = Vec::new();
    for line in DUMP.lines() {
        if let Some(name) = line.strip_prefix('<').and_then(|rest| rest.strip_suffix(">:")) {
            functions.push((name.to_owned(), Vec::new()));
            continue;
        }
        let Some(rest) = line.strip_prefix('\t') else { continue };
        let (hex, asm) = rest.split_once('\t').unwrap_or((rest, ""));
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|byte| u8::from_str_radix(byte, 16).expect("a hex byte"))
            .collect();
        let (_, instructions) = functions.last_mut().expect("an instruction inside a function");
        match instructions.last_mut() {
            // A line without assembly continues the previous instruction's bytes.
            Some(previous) if asm.is_empty() => previous.bytes.extend(bytes),
            _ => instructions.push(Line { bytes, asm: asm.trim().to_owned() }),
        }
    }
    functions
}

/// Whether objdump shows a data memory operand (not a NOP's or LEA's address).
fn touches_memory(line: &Line) -> bool {
    line.asm.contains(" PTR [") && !line.asm.contains("nop") && !line.asm.starts_with("lea")
}

/// The operand size objdump prints.
fn objdump_width(asm: &str) -> Width {
    for (word, width) in [
        ("BYTE PTR", Width::Byte),
        ("QWORD PTR", Width::Qword),
        ("DWORD PTR", Width::Dword),
        ("WORD PTR", Width::Word),
    ] {
        if asm.contains(word) {
            return width;
        }
    }
    panic!("no operand size in {asm}");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Read,
    Write,
}

/// What each accessor does to device memory, from its source in gen_rustc_accessors.sh:
/// name, kind, width, and (for reads) whether the value is sign-extended; for the
/// constant stores, the constant.
struct Expected {
    name: &'static str,
    kind: Kind,
    width: Width,
    signed: bool,
    constant: Option<u64>,
}

const fn access(name: &'static str, kind: Kind, width: Width) -> Expected {
    Expected { name, kind, width, signed: false, constant: None }
}

const EXPECTED: &[Expected] = &[
    access("read_u8", Kind::Read, Width::Byte),
    access("read_u16", Kind::Read, Width::Word),
    access("read_u32", Kind::Read, Width::Dword),
    access("read_u64", Kind::Read, Width::Qword),
    access("write_u8", Kind::Write, Width::Byte),
    access("write_u16", Kind::Write, Width::Word),
    access("write_u32", Kind::Write, Width::Dword),
    access("write_u64", Kind::Write, Width::Qword),
    Expected { constant: Some(0x5a), ..access("write_const_u8", Kind::Write, Width::Byte) },
    Expected { constant: Some(0x1234), ..access("write_const_u16", Kind::Write, Width::Word) },
    Expected {
        constant: Some(0x8000_0001),
        ..access("write_const_u32", Kind::Write, Width::Dword)
    },
    Expected {
        constant: Some(0xffff_ffff_ffff_fff0),
        ..access("write_const_u64", Kind::Write, Width::Qword)
    },
    access("read_u8_as_u64", Kind::Read, Width::Byte),
    access("read_u16_as_u32", Kind::Read, Width::Word),
    Expected { signed: true, ..access("read_i8_as_i64", Kind::Read, Width::Byte) },
    Expected { signed: true, ..access("read_i16_as_i32", Kind::Read, Width::Word) },
    access("read_static_u32", Kind::Read, Width::Dword),
    access("write_static_u32", Kind::Write, Width::Dword),
];

/// Decodes `line` and checks it against objdump: same length, same operand size.
#[track_caller]
fn decode_agreeing_with_objdump(name: &str, line: &Line) -> MmioAccess {
    let insn = decode_mmio(&line.bytes)
        .unwrap_or_else(|error| panic!("{name}: {} ({:02x?}): {error}", line.asm, line.bytes));
    assert_eq!(usize::from(insn.len.get()), line.bytes.len(), "{name}: {}", line.asm);
    assert_eq!(insn.access.size(), objdump_width(&line.asm), "{name}: {}", line.asm);
    insn.access
}

#[test]
fn every_accessor_decodes_to_its_access() {
    let functions = functions();
    for expected in EXPECTED {
        let (_, lines) = functions
            .iter()
            .find(|(name, _)| name == expected.name)
            .unwrap_or_else(|| panic!("{} is not in the dump", expected.name));
        let memory: Vec<&Line> = lines.iter().filter(|line| touches_memory(line)).collect();
        let [line] = memory[..] else {
            panic!("{}: expected one memory access, found {}", expected.name, memory.len());
        };
        let name = expected.name;
        match (decode_agreeing_with_objdump(name, line), expected.kind) {
            (MmioAccess::Read(read), Kind::Read) => {
                assert_eq!(read.size(), expected.width, "{name}");
                assert!(read.dest().width() >= expected.width, "{name}");
                if expected.signed {
                    assert_eq!(read.extend(), Extend::Sign, "{name}");
                } else {
                    assert_ne!(read.extend(), Extend::Sign, "{name}");
                }
            }
            (MmioAccess::Write(write), Kind::Write) => {
                assert_eq!(write.size(), expected.width, "{name}");
                if let Some(constant) = expected.constant {
                    assert_eq!(write.value(), WriteValue::Immediate(constant), "{name}");
                    assert_eq!(value_to_write(&write, &Regs::default()), constant, "{name}");
                } else {
                    assert!(matches!(write.value(), WriteValue::Register(_)), "{name}");
                }
            }
            (access, kind) => panic!("{name}: expected a {kind:?}, decoded {access:?}"),
        }
    }
}

#[test]
fn a_signed_narrow_read_lands_sign_extended() {
    // read_i8_as_i64 returns its byte sign-extended in RAX: the emulation must match.
    let (_, lines) = functions().into_iter().find(|(name, _)| name == "read_i8_as_i64").unwrap();
    let line = lines.iter().find(|line| touches_memory(line)).unwrap();
    let MmioAccess::Read(read) = decode_agreeing_with_objdump("read_i8_as_i64", line) else {
        panic!("not a read");
    };
    let mut regs = Regs::default();
    apply_read(&read, 0xffff_ff9c, &mut regs); // the host answers -100 with garbage above
    assert_eq!(regs.gpr(read.dest().gpr()) as i64, -100);
}

#[test]
fn the_byte_copy_loop_reads_bytes_from_the_device_and_stores_bytes_to_the_buffer() {
    // IoMem::read_bytes: every memory instruction is a byte load (the device) or a byte store
    // (the caller's buffer), one of each per byte.
    let (_, lines) = functions().into_iter().find(|(name, _)| name == "read_bytes").unwrap();
    let (mut reads, mut writes) = (0, 0);
    for line in lines.iter().filter(|line| touches_memory(line)) {
        match decode_agreeing_with_objdump("read_bytes", line) {
            MmioAccess::Read(read) if read.size() == Width::Byte => reads += 1,
            MmioAccess::Write(write) if write.size() == Width::Byte => writes += 1,
            other => panic!("read_bytes: unexpected {other:?} for {}", line.asm),
        }
    }
    assert!(reads >= 1 && reads == writes, "{reads} reads, {writes} writes");
}

#[test]
fn the_dump_has_no_accessor_the_test_does_not_know() {
    for (name, _) in functions() {
        let known = name == "read_bytes" || EXPECTED.iter().any(|expected| expected.name == name);
        assert!(known, "{name} is in the dump but not in EXPECTED");
    }
}
