//! Classic BPF, as seccomp runs it: a program is checked once when it is installed
//! (Linux's `bpf_check_classic`, then `seccomp_check_filter`), so that running it can
//! neither fault, loop nor read outside the 64 bytes of `struct seccomp_data`.
//!
//! Jumps go forward only and stay inside the program, every path ends in a return, a memory
//! cell is stored before it is loaded on every path, and loads read aligned words of the
//! data: the checked program terminates within its length in steps.

use alloc::vec::Vec;

use crate::error::{Errno, SysResult};

/// The most instructions in one program (Linux's BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;
/// The size of `struct seccomp_data`: the bytes a program may load from.
pub const DATA_LEN: u32 = 64;
/// Scratch memory cells (BPF_MEMWORDS).
const MEM_WORDS: u32 = 16;

// Instruction classes and fields (linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
const W: u16 = 0x00;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const XOR: u16 = 0xa0;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// One instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl Insn {
    /// Decodes the 8 bytes of a `struct sock_filter`.
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Self {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// A program that passed the checks; only [`Program::new`] makes one.
#[derive(Debug)]
pub struct Program {
    insns: Vec<Insn>,
}

fn is_conditional_jump(code: u16) -> bool {
    code & 0x07 == JMP && code & 0xf0 != JA
}

impl Program {
    /// Checks `insns` as Linux does before installing a seccomp filter; the length rule
    /// (1 to [`MAX_INSNS`]) is the caller's, checked before anything else.
    ///
    /// # Errors
    /// EINVAL for an instruction seccomp does not allow, a jump out of the program, a
    /// division by a zero constant, a shift of 32 or more, a memory cell out of range or
    /// loaded before it is stored, a load outside the data or unaligned, or a last
    /// instruction that is not a return.
    pub fn new(mut insns: Vec<Insn>) -> SysResult<Self> {
        let len = insns.len();
        for (pc, insn) in insns.iter_mut().enumerate() {
            check_classic(pc, len, insn)?;
        }
        if !matches!(insns.last().map(|i| i.code), Some(c) if c == RET | K || c == RET | A) {
            return Err(Errno::EINVAL);
        }
        check_memory_use(&insns)?;
        for insn in &mut insns {
            restrict_to_seccomp(insn)?;
        }
        Ok(Self { insns })
    }

    /// The number of instructions.
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Runs the program over `data` (a `struct seccomp_data`) and returns its verdict.
    pub fn run(&self, data: &[u8; DATA_LEN as usize]) -> u32 {
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEM_WORDS as usize];
        let mut pc = 0;
        // The checks make every index below valid and every jump land inside the program.
        while let Some(&Insn { code, jt, jf, k }) = self.insns.get(pc) {
            pc += 1;
            let operand = if code & X != 0 { x } else { k };
            match code & 0x07 {
                LD => {
                    a = match code & 0xe0 {
                        ABS => word(data, k),
                        MEM => mem[k as usize],
                        _ => k, // IMM (LEN was rewritten to it)
                    }
                }
                LDX => x = if code & 0xe0 == MEM { mem[k as usize] } else { k },
                ST => mem[k as usize] = a,
                STX => mem[k as usize] = x,
                ALU => {
                    a = match code & 0xf0 {
                        ADD => a.wrapping_add(operand),
                        SUB => a.wrapping_sub(operand),
                        MUL => a.wrapping_mul(operand),
                        // A zero divisor in X ends the program with 0, as Linux's
                        // interpreter does.
                        DIV if operand == 0 => return 0,
                        DIV => a / operand,
                        OR => a | operand,
                        AND => a & operand,
                        LSH => a.wrapping_shl(operand),
                        RSH => a.wrapping_shr(operand),
                        XOR => a ^ operand,
                        _ => a.wrapping_neg(), // NEG
                    }
                }
                JMP => {
                    let taken = match code & 0xf0 {
                        JA => {
                            pc += k as usize;
                            continue;
                        }
                        JEQ => a == operand,
                        JGT => a > operand,
                        JGE => a >= operand,
                        _ => a & operand != 0, // JSET
                    };
                    pc += usize::from(if taken { jt } else { jf });
                }
                RET => return if code & 0x18 == A { a } else { k },
                _ => {
                    if code & 0xf8 == TXA {
                        a = x;
                    } else {
                        x = a;
                    }
                }
            }
        }
        0
    }
}

/// A little-endian word of the data at `offset` (checked: aligned, inside).
fn word(data: &[u8; DATA_LEN as usize], offset: u32) -> u32 {
    let at = offset as usize;
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Linux's `bpf_check_classic` for one instruction.
fn check_classic(pc: usize, len: usize, insn: &Insn) -> SysResult<()> {
    let code = insn.code;
    if !known_opcode(code) {
        return Err(Errno::EINVAL);
    }
    match code {
        c if c == ALU | DIV | K && insn.k == 0 => return Err(Errno::EINVAL),
        c if (c == ALU | LSH | K || c == ALU | RSH | K) && insn.k >= 32 => {
            return Err(Errno::EINVAL);
        }
        c if (c == LD | MEM || c == LDX | MEM || c == ST || c == STX) && insn.k >= MEM_WORDS => {
            return Err(Errno::EINVAL);
        }
        c if c == JMP | JA => {
            if insn.k as usize >= len - pc - 1 {
                return Err(Errno::EINVAL);
            }
        }
        c if is_conditional_jump(c) => {
            if pc + usize::from(insn.jt) + 1 >= len || pc + usize::from(insn.jf) + 1 >= len {
                return Err(Errno::EINVAL);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The opcodes classic BPF knows (Linux's `bpf_opcode_in_insntable` for the classic set).
fn known_opcode(code: u16) -> bool {
    if code > 0xff {
        return false;
    }
    const SIZES: [u16; 3] = [W, 0x08, 0x10]; // W, H, B
    let alu = [ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, 0x90 /* MOD */, XOR];
    match code & 0x07 {
        LD => {
            let mode = code & 0xe0;
            let size = code & 0x18;
            (matches!(mode, ABS | 0x40 /* IND */) && SIZES.contains(&size))
                || code == LD | W | LEN
                || code == LD | IMM
                || code == LD | MEM
        }
        LDX => {
            code == LDX | W | IMM
                || code == LDX | W | MEM
                || code == LDX | W | LEN
                || code == LDX | 0x10 | 0xa0
        } // LDX | B | MSH
        ST | STX => code & 0xf8 == 0,
        ALU => code == ALU | NEG || (alu.contains(&(code & 0xf0)) && code & 0x07 == ALU),
        JMP => {
            code == JMP | JA
                || ([JEQ, JGT, JGE, JSET].contains(&(code & 0xf0)) && code & !0xf8 == JMP)
        }
        RET => code == RET | K || code == RET | A,
        _ => code == MISC | TAX || code == MISC | TXA,
    }
}

/// Linux's `check_load_and_stores`: on every path, a cell is stored before it is loaded.
fn check_memory_use(insns: &[Insn]) -> SysResult<()> {
    let mut masks = alloc::vec![u16::MAX; insns.len()];
    let mut valid: u16 = 0;
    for (pc, insn) in insns.iter().enumerate() {
        valid &= masks[pc];
        match insn.code {
            c if c == ST || c == STX => valid |= 1 << insn.k,
            c if c == LD | MEM || c == LDX | MEM => {
                if valid & (1 << insn.k) == 0 {
                    return Err(Errno::EINVAL);
                }
            }
            c if c == JMP | JA => {
                masks[pc + 1 + insn.k as usize] &= valid;
                valid = u16::MAX;
            }
            c if is_conditional_jump(c) => {
                masks[pc + 1 + usize::from(insn.jt)] &= valid;
                masks[pc + 1 + usize::from(insn.jf)] &= valid;
                valid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Linux's `seccomp_check_filter`: the subset seccomp runs, with the data's length
/// turned into a constant and loads held to aligned words of the data.
fn restrict_to_seccomp(insn: &mut Insn) -> SysResult<()> {
    let code = insn.code;
    if code == LD | W | ABS {
        if insn.k >= DATA_LEN || insn.k & 3 != 0 {
            return Err(Errno::EINVAL);
        }
        return Ok(());
    }
    if code == LD | W | LEN {
        *insn = Insn { code: LD | IMM, k: DATA_LEN, ..*insn };
        return Ok(());
    }
    if code == LDX | W | LEN {
        *insn = Insn { code: LDX | IMM, k: DATA_LEN, ..*insn };
        return Ok(());
    }
    let alu_ok = code & 0x07 == ALU
        && (code == ALU | NEG
            || [ADD, SUB, MUL, DIV, AND, OR, XOR, LSH, RSH].contains(&(code & 0xf0)));
    let allowed = alu_ok
        || code == RET | K
        || code == RET | A
        || code == LD | IMM
        || code == LDX | IMM
        || code == MISC | TAX
        || code == MISC | TXA
        || code == LD | MEM
        || code == LDX | MEM
        || code == ST
        || code == STX
        || code & 0x07 == JMP;
    if allowed { Ok(()) } else { Err(Errno::EINVAL) }
}

ostd::ktest! {
    fn seccomp_bpf_checks_and_runs_programs_as_linux_does() {
        let i = |code: u16, jt: u8, jf: u8, k: u32| Insn { code, jt, jf, k };
        // Allow everything but syscall 39, which gets ERRNO(1).
        let prog = Program::new(alloc::vec![
            i(LD | W | ABS, 0, 0, 0),
            i(JMP | JEQ | K, 0, 1, 39),
            i(RET | K, 0, 0, 0x0005_0001),
            i(RET | K, 0, 0, 0x7fff_0000),
        ])
        .unwrap();
        let mut data = [0u8; 64];
        data[0] = 39;
        assert_eq!(prog.run(&data), 0x0005_0001);
        data[0] = 40;
        assert_eq!(prog.run(&data), 0x7fff_0000);
        // Scratch memory, X, ALU, LEN.
        let prog = Program::new(alloc::vec![
            i(LD | W | LEN, 0, 0, 0),
            i(ST, 0, 0, 3),
            i(LDX | MEM, 0, 0, 3),
            i(ALU | ADD | X, 0, 0, 0),
            i(ALU | RSH | K, 0, 0, 1),
            i(RET | A, 0, 0, 0),
        ])
        .unwrap();
        assert_eq!(prog.run(&data), 64);
        // Division by a zero X ends with 0.
        let prog = Program::new(alloc::vec![i(LDX | W | IMM, 0, 0, 0), i(ALU | DIV | X, 0, 0, 0), i(RET | K, 0, 0, 7)])
            .unwrap();
        assert_eq!(prog.run(&data), 0);
        let bad: [alloc::vec::Vec<Insn>; 8] = [
            alloc::vec![i(LD | W | ABS, 0, 0, 0)],                         // no return
            alloc::vec![i(LD | W | ABS, 0, 0, 64), i(RET | K, 0, 0, 0)],   // past the data
            alloc::vec![i(LD | W | ABS, 0, 0, 2), i(RET | K, 0, 0, 0)],    // unaligned
            alloc::vec![i(LD | 0x10 | ABS, 0, 0, 0), i(RET | K, 0, 0, 0)], // byte load
            alloc::vec![i(JMP | JA, 0, 0, 1), i(RET | K, 0, 0, 0)],        // jumps out
            alloc::vec![i(LD | MEM, 0, 0, 0), i(RET | K, 0, 0, 0)],        // unset cell
            alloc::vec![i(ALU | DIV | K, 0, 0, 0), i(RET | K, 0, 0, 0)],   // by zero
            alloc::vec![i(0xffff, 0, 0, 0), i(RET | K, 0, 0, 0)],          // no such op
        ];
        for prog in bad {
            assert_eq!(Program::new(prog).map(|_| ()), Err(Errno::EINVAL));
        }
    }
}
