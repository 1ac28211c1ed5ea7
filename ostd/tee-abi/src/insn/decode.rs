//! Decoding one instruction from untrusted bytes with iced-x86, and the errors that can say.
//!
//! Both MMIO and port I/O start here: the bytes at RIP are decoded as 64-bit code, and every
//! way that can fail (too few bytes, an invalid encoding, an instruction we do not emulate)
//! becomes a [`DecodeError`] rather than a panic.

use core::fmt;

use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction, Mnemonic, Register};

use super::regs::{Gpr, HighByte, RegOperand, Regs, Width};

/// The architectural limit on an x86 instruction's length (Intel SDM vol. 2, 2.1); a longer
/// one raises #GP, so the handler never needs to copy more than this from RIP.
pub const MAX_INSN_LEN: usize = 15;

/// Why the bytes at RIP could not be turned into an access this crate emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the instruction does: `available` bytes were given (fewer than
    /// [`MAX_INSN_LEN`]). The handler copied too little, or the page after RIP is unmapped.
    Truncated {
        /// How many bytes were given.
        available: usize,
    },
    /// The bytes are no valid 64-bit instruction (this includes one longer than
    /// [`MAX_INSN_LEN`] bytes, and a LOCK prefix on an instruction that does not allow it):
    /// the CPU would have raised #UD or #GP, not an exit, so the context is not what it seems.
    Invalid,
    /// A valid instruction that this crate does not emulate for this kind of exit (an ALU
    /// operation on memory, a VEX-encoded move, a moffs MOV, ...). EVEX (AVX-512) encodings
    /// are not decoded at all and come back as [`DecodeError::Invalid`].
    Unsupported {
        /// What the instruction is.
        mnemonic: Mnemonic,
    },
    /// A string instruction (MOVS, STOS, LODS, ...) touched MMIO. Linux's TDX guest refuses
    /// these too: the kernel's MMIO accessors never emit them, so one means MMIO was reached
    /// by a plain memory copy, which is a bug to report, not to emulate.
    StringInstruction {
        /// Which one.
        mnemonic: Mnemonic,
    },
    /// The instruction is a supported MOV but with a register where the memory operand
    /// belongs, so it cannot have caused an MMIO exit.
    NoMemoryOperand,
    /// The instruction names a register this crate has no slot for (never expected for the
    /// forms accepted; kept so the mapping can fail without a panic).
    UnexpectedRegister,
    /// The memory operand has an FS or GS override, whose base the address computation
    /// does not know (OSTD's MMIO accessors never use one).
    SegmentOverride,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { available } => {
                write!(f, "instruction truncated: only {available} bytes available")
            }
            DecodeError::Invalid => f.write_str("invalid instruction"),
            DecodeError::Unsupported { mnemonic } => {
                write!(f, "instruction {mnemonic:?} is not emulated")
            }
            DecodeError::StringInstruction { mnemonic } => {
                write!(f, "string instruction {mnemonic:?} on MMIO is not emulated")
            }
            DecodeError::NoMemoryOperand => f.write_str("instruction has no memory operand"),
            DecodeError::UnexpectedRegister => {
                f.write_str("instruction names an unexpected register")
            }
            DecodeError::SegmentOverride => {
                f.write_str("the memory operand has an FS or GS override")
            }
        }
    }
}

/// The length of a decoded instruction, 1..=15 bytes: how far RIP moves once it is emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsnLen(u8);

impl InsnLen {
    /// The length in bytes.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Moves RIP past the instruction, as retiring it would.
    pub const fn advance_rip(self, regs: &mut Regs) {
        regs.rip = regs.rip.wrapping_add(self.0 as u64);
    }
}

/// Decodes the instruction at the start of `bytes` as 64-bit code. Bytes past
/// [`MAX_INSN_LEN`] are ignored (no instruction reaches them), as are bytes past the end
/// of the instruction.
pub(crate) fn decode_64(bytes: &[u8]) -> Result<(Instruction, InsnLen), DecodeError> {
    let bytes = bytes.get(..MAX_INSN_LEN).unwrap_or(bytes);
    let mut decoder = Decoder::new(64, bytes, DecoderOptions::NONE);
    let instruction = decoder.decode();
    match decoder.last_error() {
        DecoderError::None => {}
        // With all 15 bytes there, running out means the instruction is longer than any
        // the CPU executes.
        DecoderError::NoMoreBytes if bytes.len() < MAX_INSN_LEN => {
            return Err(DecodeError::Truncated { available: bytes.len() });
        }
        _ => return Err(DecodeError::Invalid),
    }
    if instruction.is_invalid() {
        return Err(DecodeError::Invalid);
    }
    match u8::try_from(instruction.len()) {
        Ok(len @ 1..=15) => Ok((instruction, InsnLen(len))),
        _ => Err(DecodeError::Invalid),
    }
}

/// Decodes the instruction at the start of `bytes` and returns what it is and its length
/// (for exits that touch registers only, whose emulation needs nothing more).
pub fn decode_instruction(bytes: &[u8]) -> Result<(Mnemonic, InsnLen), DecodeError> {
    decode_64(bytes).map(|(instruction, len)| (instruction.mnemonic(), len))
}

/// The register operand iced-x86 calls `register`, if it is a general-purpose register.
pub(crate) fn reg_operand(register: Register) -> Result<RegOperand, DecodeError> {
    // iced-x86 numbers its registers in runs of the same width and encoding order
    // (AL, CL, DL, BL, AH, CH, DH, BH, SPL, ..., R15L, AX, ..., R15W, EAX, ..., RAX, ..., R15);
    // the offset into the right run is the encoding number.
    let n = register as usize;
    let offset_in =
        |first: Register, len: usize| n.checked_sub(first as usize).filter(|&offset| offset < len);
    let (index, width) = if let Some(i) = offset_in(Register::AL, 4) {
        (i, Width::Byte)
    } else if let Some(i) = offset_in(Register::AH, 4) {
        let high = [HighByte::Ah, HighByte::Ch, HighByte::Dh, HighByte::Bh];
        return high.get(i).map(|&h| RegOperand::High(h)).ok_or(DecodeError::UnexpectedRegister);
    } else if let Some(i) = offset_in(Register::SPL, 12) {
        // SPL is encoding number 4: AL..BL took 0..4.
        (i + 4, Width::Byte)
    } else if let Some(i) = offset_in(Register::AX, 16) {
        (i, Width::Word)
    } else if let Some(i) = offset_in(Register::EAX, 16) {
        (i, Width::Dword)
    } else if let Some(i) = offset_in(Register::RAX, 16) {
        (i, Width::Qword)
    } else {
        return Err(DecodeError::UnexpectedRegister);
    };
    Gpr::from_index(index)
        .map(|gpr| RegOperand::Low { gpr, width })
        .ok_or(DecodeError::UnexpectedRegister)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gpr_register_maps_to_its_encoding_number() {
        use Register as R;
        let cases = [
            (R::AL, RegOperand::Low { gpr: Gpr::Rax, width: Width::Byte }),
            (R::BL, RegOperand::Low { gpr: Gpr::Rbx, width: Width::Byte }),
            (R::AH, RegOperand::High(HighByte::Ah)),
            (R::BH, RegOperand::High(HighByte::Bh)),
            (R::SPL, RegOperand::Low { gpr: Gpr::Rsp, width: Width::Byte }),
            (R::DIL, RegOperand::Low { gpr: Gpr::Rdi, width: Width::Byte }),
            (R::R8L, RegOperand::Low { gpr: Gpr::R8, width: Width::Byte }),
            (R::R15L, RegOperand::Low { gpr: Gpr::R15, width: Width::Byte }),
            (R::AX, RegOperand::Low { gpr: Gpr::Rax, width: Width::Word }),
            (R::R15W, RegOperand::Low { gpr: Gpr::R15, width: Width::Word }),
            (R::ESP, RegOperand::Low { gpr: Gpr::Rsp, width: Width::Dword }),
            (R::R12D, RegOperand::Low { gpr: Gpr::R12, width: Width::Dword }),
            (R::RDI, RegOperand::Low { gpr: Gpr::Rdi, width: Width::Qword }),
            (R::R15, RegOperand::Low { gpr: Gpr::R15, width: Width::Qword }),
        ];
        for (register, expected) in cases {
            assert_eq!(reg_operand(register), Ok(expected), "{register:?}");
        }
    }

    #[test]
    fn other_registers_do_not_map() {
        for register in [Register::None, Register::RIP, Register::ES, Register::XMM0, Register::CR0]
        {
            assert_eq!(reg_operand(register), Err(DecodeError::UnexpectedRegister), "{register:?}");
        }
    }
}
