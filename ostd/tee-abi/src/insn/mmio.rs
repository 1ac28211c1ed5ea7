//! Which access an MMIO instruction makes, and how the host's answer lands in the registers.
//!
//! The exit gives the guest-physical address, so the memory operand's addressing (RIP-
//! relative, SIB, segment override, displacement) is decoded but never evaluated here: only
//! its presence, the access's size and the register or immediate on the other side matter.
//!
//! The instructions emulated are those Linux's TDX and SEV guests emulate
//! (`insn_decode_mmio` in `arch/x86/lib/insn-eval.c`), which are what compiled volatile
//! accesses use:
//! - `MOV r/m, reg` (88, 89) and `MOV r/m, imm` (C6, C7): writes;
//! - `MOV reg, r/m` (8A, 8B): reads;
//! - `MOVZX` (0F B6, 0F B7) and `MOVSX` (0F BE, 0F BF): reads that extend.
//!
//! String moves are refused ([`DecodeError::StringInstruction`]), as Linux's TDX guest
//! does; so is anything else ([`DecodeError::Unsupported`]).

use iced_x86::{Code, Instruction, OpKind, Register};

use super::decode::{DecodeError, InsnLen, decode_64, reg_operand};
use super::regs::{RegOperand, Regs, Width};

/// How a read widens the value it loads into its destination register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extend {
    /// The destination is as wide as the access (MOV).
    None,
    /// Zero-extend to the destination's width (MOVZX).
    Zero,
    /// Sign-extend to the destination's width (MOVSX).
    Sign,
}

/// A load from MMIO into a register.
///
/// Built only by [`decode_mmio`], so `size`, `dest` and `extend` always agree:
/// with [`Extend::None`] the destination is exactly `size` wide, otherwise wider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioRead {
    size: Width,
    dest: RegOperand,
    extend: Extend,
}

impl MmioRead {
    /// How many bytes are read from the device.
    pub const fn size(&self) -> Width {
        self.size
    }

    /// The register the value goes to; its width is the width extended to.
    pub const fn dest(&self) -> RegOperand {
        self.dest
    }

    /// How the value is widened to the destination.
    pub const fn extend(&self) -> Extend {
        self.extend
    }
}

/// Where the value of an MMIO store comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteValue {
    /// A register, as wide as the access.
    Register(RegOperand),
    /// An immediate, already widened as the CPU widens it (sign-extended from 32 bits for a
    /// 64-bit store), with no bits set above the access's size.
    Immediate(u64),
}

/// A store to MMIO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioWrite {
    size: Width,
    value: WriteValue,
}

impl MmioWrite {
    /// How many bytes are written to the device.
    pub const fn size(&self) -> Width {
        self.size
    }

    /// Where the value comes from.
    pub const fn value(&self) -> WriteValue {
        self.value
    }
}

/// The access an MMIO instruction makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioAccess {
    /// A load: ask the host for `size` bytes, then [`apply_read`].
    Read(MmioRead),
    /// A store: send the host [`value_to_write`].
    Write(MmioWrite),
}

impl MmioAccess {
    /// How many bytes the access moves.
    pub const fn size(&self) -> Width {
        match self {
            MmioAccess::Read(read) => read.size,
            MmioAccess::Write(write) => write.size,
        }
    }
}

/// A decoded MMIO instruction: its access, and how far RIP moves once it is emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmioInsn {
    /// What the instruction does to memory.
    pub access: MmioAccess,
    /// Its length in bytes.
    pub len: InsnLen,
}

/// Decodes the instruction at the start of `bytes` (64-bit code, up to
/// [`MAX_INSN_LEN`](super::MAX_INSN_LEN) bytes looked at) as an MMIO access.
///
/// # Errors
/// The bytes end too early, are not a valid instruction, or are one that is not emulated
/// (see the module documentation), or a supported MOV whose "memory" operand is a register.
pub fn decode_mmio(bytes: &[u8]) -> Result<MmioInsn, DecodeError> {
    let (instruction, len) = decode_64(bytes)?;
    let access = access_of(&instruction)?;
    Ok(MmioInsn { access, len })
}

/// Decodes the MMIO instruction at the start of `bytes` and computes the linear address of
/// its memory operand from `regs` (`rip` at the instruction): what an SEV-SNP #VC for a
/// nested page fault leaves the guest to find out, since that exit names no address.
///
/// Only DS, ES, SS and CS (whose base is 0 in 64-bit mode) are accepted: an FS or GS
/// override would need the segment base, and OSTD's accessors never use one.
///
/// # Errors
/// As [`decode_mmio`]; [`DecodeError::SegmentOverride`] for FS or GS.
pub fn decode_mmio_with_address(bytes: &[u8], regs: &Regs) -> Result<(MmioInsn, u64), DecodeError> {
    let (instruction, len) = decode_64(bytes)?;
    let access = access_of(&instruction)?;
    let memory_operand = (0..instruction.op_count())
        .find(|&op| instruction.op_kind(op) == OpKind::Memory)
        .ok_or(DecodeError::NoMemoryOperand)?;
    if matches!(instruction.memory_segment(), Register::FS | Register::GS) {
        return Err(DecodeError::SegmentOverride);
    }
    let address = if instruction.is_ip_rel_memory_operand() {
        // The decoder ran at IP 0, so iced's displacement is the next instruction's offset
        // plus disp32: adding RIP makes it the real target.
        regs.rip.wrapping_add(instruction.memory_displacement64())
    } else {
        instruction
            .virtual_address(memory_operand, 0, |register, _, _| match register {
                Register::DS | Register::ES | Register::SS | Register::CS => Some(0),
                other => reg_operand(other).ok().map(|operand| regs.read(operand)),
            })
            .ok_or(DecodeError::UnexpectedRegister)?
    };
    Ok((MmioInsn { access, len }, address))
}

fn access_of(instruction: &Instruction) -> Result<MmioAccess, DecodeError> {
    use Code as C;
    let read = |size, extend| read_access(instruction, size, extend);
    let write_reg = |size| write_from_register(instruction, size);
    match instruction.code() {
        C::Mov_r8_rm8 => read(Width::Byte, Extend::None),
        C::Mov_r16_rm16 => read(Width::Word, Extend::None),
        C::Mov_r32_rm32 => read(Width::Dword, Extend::None),
        C::Mov_r64_rm64 => read(Width::Qword, Extend::None),
        C::Movzx_r16_rm8 | C::Movzx_r32_rm8 | C::Movzx_r64_rm8 => read(Width::Byte, Extend::Zero),
        C::Movzx_r16_rm16 | C::Movzx_r32_rm16 | C::Movzx_r64_rm16 => {
            read(Width::Word, Extend::Zero)
        }
        C::Movsx_r16_rm8 | C::Movsx_r32_rm8 | C::Movsx_r64_rm8 => read(Width::Byte, Extend::Sign),
        C::Movsx_r16_rm16 | C::Movsx_r32_rm16 | C::Movsx_r64_rm16 => {
            read(Width::Word, Extend::Sign)
        }
        C::Mov_rm8_r8 => write_reg(Width::Byte),
        C::Mov_rm16_r16 => write_reg(Width::Word),
        C::Mov_rm32_r32 => write_reg(Width::Dword),
        C::Mov_rm64_r64 => write_reg(Width::Qword),
        C::Mov_rm8_imm8 => {
            write_immediate(instruction, Width::Byte, instruction.immediate8().into())
        }
        C::Mov_rm16_imm16 => {
            write_immediate(instruction, Width::Word, instruction.immediate16().into())
        }
        C::Mov_rm32_imm32 => {
            write_immediate(instruction, Width::Dword, instruction.immediate32().into())
        }
        // C7 with REX.W: the CPU sign-extends the 32-bit immediate to 64 bits.
        C::Mov_rm64_imm32 => {
            write_immediate(instruction, Width::Qword, instruction.immediate32to64() as u64)
        }
        _ if is_string_instruction(instruction) => {
            Err(DecodeError::StringInstruction { mnemonic: instruction.mnemonic() })
        }
        _ => Err(DecodeError::Unsupported { mnemonic: instruction.mnemonic() }),
    }
}

/// MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS: the instructions whose memory operand is the
/// implicit seg:rSI or ES:rDI.
fn is_string_instruction(instruction: &Instruction) -> bool {
    instruction.op_kinds().any(|kind| {
        matches!(
            kind,
            OpKind::MemorySegSI
                | OpKind::MemorySegESI
                | OpKind::MemorySegRSI
                | OpKind::MemoryESDI
                | OpKind::MemoryESEDI
                | OpKind::MemoryESRDI
        )
    })
}

/// Checks that operand `index` is the memory operand.
fn require_memory(instruction: &Instruction, index: u32) -> Result<(), DecodeError> {
    if instruction.op_kind(index) == OpKind::Memory {
        Ok(())
    } else {
        Err(DecodeError::NoMemoryOperand)
    }
}

/// Register operand `index`, checked to be `width` wide.
fn register(
    instruction: &Instruction,
    index: u32,
    width: Width,
) -> Result<RegOperand, DecodeError> {
    if instruction.op_kind(index) != OpKind::Register {
        return Err(DecodeError::UnexpectedRegister);
    }
    let operand = reg_operand(instruction.op_register(index))?;
    if operand.width() == width { Ok(operand) } else { Err(DecodeError::UnexpectedRegister) }
}

/// Reads are `reg <- mem`: operand 0 is the register, operand 1 the memory.
fn read_access(
    instruction: &Instruction,
    size: Width,
    extend: Extend,
) -> Result<MmioAccess, DecodeError> {
    require_memory(instruction, 1)?;
    if instruction.op_kind(0) != OpKind::Register {
        return Err(DecodeError::UnexpectedRegister);
    }
    let dest = reg_operand(instruction.op_register(0))?;
    // MOVZX/MOVSX with a destination no wider than the source (66 0F B7: `movzx ax, word`)
    // is a plain load.
    let extend = if dest.width() > size { extend } else { Extend::None };
    if dest.width() < size || (extend == Extend::None && dest.width() != size) {
        return Err(DecodeError::UnexpectedRegister);
    }
    Ok(MmioAccess::Read(MmioRead { size, dest, extend }))
}

/// Writes are `mem <- reg`: operand 0 is the memory, operand 1 the register.
fn write_from_register(instruction: &Instruction, size: Width) -> Result<MmioAccess, DecodeError> {
    require_memory(instruction, 0)?;
    let source = register(instruction, 1, size)?;
    Ok(MmioAccess::Write(MmioWrite { size, value: WriteValue::Register(source) }))
}

/// Writes `mem <- imm`: operand 0 is the memory.
fn write_immediate(
    instruction: &Instruction,
    size: Width,
    immediate: u64,
) -> Result<MmioAccess, DecodeError> {
    require_memory(instruction, 0)?;
    Ok(MmioAccess::Write(MmioWrite {
        size,
        value: WriteValue::Immediate(size.truncate(immediate)),
    }))
}

/// Puts the host's answer to `read` into the registers: the low `read.size()` bytes of
/// `host_value` (the host may set the others; they are dropped), extended as the instruction
/// extends, written with the x86 rules for the destination's width (see
/// [`Regs::write`]). RIP is not moved: that is [`InsnLen::advance_rip`].
pub fn apply_read(read: &MmioRead, host_value: u64, regs: &mut Regs) {
    let loaded = read.size.truncate(host_value);
    let widened = match read.extend {
        Extend::None | Extend::Zero => loaded,
        Extend::Sign => read.size.sign_extend(loaded),
    };
    regs.write(read.dest, widened);
}

/// The value `write` stores, in the low `write.size()` bytes (the bits above are zero).
pub fn value_to_write(write: &MmioWrite, regs: &Regs) -> u64 {
    match write.value {
        WriteValue::Register(source) => regs.read(source),
        WriteValue::Immediate(value) => write.size.truncate(value),
    }
}
