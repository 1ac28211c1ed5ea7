//! Port I/O: decoding IN/OUT/INS/OUTS, checking the exit's claim against the instruction,
//! and the register effects of a single IN or OUT.
//!
//! The exit information (TDX: the #VE exit qualification; SNP: the IOIO exit information)
//! already says port, size, direction and whether it is a string or REP form. The bytes at
//! RIP say the same thing independently, so the handler decodes them and calls
//! [`PortIoInsn::check`]: if the two disagree, something lied (or the code changed under
//! us), and the error names the field. The string forms' iteration lives in
//! [`string_io`](super::string_io).

use core::fmt;

use iced_x86::{Code, Instruction, OpKind, Register};

use super::decode::{DecodeError, InsnLen, decode_64};
use super::regs::{Gpr, RegOperand, Regs, Width};
use super::string_io::{AddrSize, Segment, StringIo};

/// Which way the data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoDirection {
    /// From the port to the guest (IN, INS).
    In,
    /// From the guest to the port (OUT, OUTS).
    Out,
}

/// Where the instruction takes its port number from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortOperand {
    /// An 8-bit immediate (E4..E7).
    Immediate(u8),
    /// DX (EC..EF and the string forms).
    Dx,
}

/// The string form of a port instruction (INS, OUTS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringForm {
    /// With a REP (F3) prefix: repeat RCX (or ECX) times.
    pub rep: bool,
    /// Whether RCX/RSI/RDI or ECX/ESI/EDI are used (the 67 prefix).
    pub addr_size: AddrSize,
    /// The segment of the memory operand: ES for INS (fixed), DS or an override for OUTS.
    pub segment: Segment,
}

/// A decoded port I/O instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortIoInsn {
    /// In or out.
    pub direction: IoDirection,
    /// 1, 2 or 4 bytes per element (never 8: REX.W does not widen port I/O).
    pub size: Width,
    /// Where the port number comes from.
    pub port: PortOperand,
    /// Set for INS and OUTS.
    pub string: Option<StringForm>,
    /// The instruction's length in bytes.
    pub len: InsnLen,
}

/// What an exit's information says about a port access, as the TDX or SNP code parsed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortIoExit {
    /// The port number.
    pub port: u16,
    /// The element size.
    pub size: Width,
    /// In or out.
    pub direction: IoDirection,
    /// A string instruction (INS/OUTS).
    pub string: bool,
    /// With a REP prefix.
    pub rep: bool,
}

/// Which field of the exit's information disagrees with the instruction, and the two values
/// (`insn` decoded from the bytes at RIP, `exit` claimed by the exit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "every variant's fields are the two values that disagree")]
pub enum PortIoMismatch {
    /// The port number.
    Port { insn: u16, exit: u16 },
    /// The element size.
    Size { insn: Width, exit: Width },
    /// The direction.
    Direction { insn: IoDirection, exit: IoDirection },
    /// Whether it is a string instruction.
    String { insn: bool, exit: bool },
    /// Whether it has a REP prefix.
    Rep { insn: bool, exit: bool },
}

impl fmt::Display for PortIoMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, insn, exit): (&str, &dyn fmt::Debug, &dyn fmt::Debug) = match self {
            PortIoMismatch::Port { insn, exit } => ("port", insn, exit),
            PortIoMismatch::Size { insn, exit } => ("size", insn, exit),
            PortIoMismatch::Direction { insn, exit } => ("direction", insn, exit),
            PortIoMismatch::String { insn, exit } => ("string", insn, exit),
            PortIoMismatch::Rep { insn, exit } => ("rep", insn, exit),
        };
        write!(f, "port I/O exit claims {field} {exit:?}, the instruction has {insn:?}")
    }
}

/// A single IN: port to AL, AX or EAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortIn {
    /// The port number.
    pub port: u16,
    /// 1, 2 or 4 bytes.
    pub size: Width,
}

impl PortIn {
    /// Puts the host's answer into AL, AX or EAX: the low `size` bytes of `host_value`
    /// (the rest is dropped); EAX zero-extends into RAX, AL and AX keep the other bits.
    /// RIP is not moved: that is [`InsnLen::advance_rip`].
    pub fn apply(&self, host_value: u64, regs: &mut Regs) {
        regs.write(accumulator(self.size), host_value);
    }
}

/// A single OUT: AL, AX or EAX to a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortOut {
    /// The port number.
    pub port: u16,
    /// 1, 2 or 4 bytes.
    pub size: Width,
}

impl PortOut {
    /// The value sent: AL, AX or EAX, zero-extended.
    pub fn value(&self, regs: &Regs) -> u32 {
        // The accumulator is at most 4 bytes wide here, so this never truncates.
        regs.read(accumulator(self.size)) as u32
    }
}

/// A port access, checked against the exit's claim: what the handler performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortIo {
    /// IN: ask the host, then [`PortIn::apply`].
    In(PortIn),
    /// OUT: send [`PortOut::value`].
    Out(PortOut),
    /// INS or OUTS, one element or REP: see [`StringIo`].
    String(StringIo),
}

/// AL, AX or EAX.
const fn accumulator(size: Width) -> RegOperand {
    RegOperand::Low { gpr: Gpr::Rax, width: size }
}

/// Decodes the instruction at the start of `bytes` (64-bit code) as port I/O.
///
/// # Errors
/// The bytes end too early or are not a valid instruction; or it is no IN, OUT, INS or OUTS
/// ([`DecodeError::Unsupported`]), or an INS/OUTS with REPNE (F2), which the SDM leaves
/// undefined for them ([`DecodeError::Unsupported`] too).
pub fn decode_port_io(bytes: &[u8]) -> Result<PortIoInsn, DecodeError> {
    use Code as C;
    use IoDirection::{In, Out};
    let (instruction, len) = decode_64(bytes)?;
    // iced-x86 keeps IN's immediate port in operand 1 and OUT's in operand 0.
    let imm = |index| match instruction.op_kind(index) {
        OpKind::Immediate8 => Ok(PortOperand::Immediate(instruction.immediate8())),
        _ => Err(DecodeError::Invalid),
    };
    let single =
        |direction, size, port| Ok(PortIoInsn { direction, size, port, string: None, len });
    let string = |direction, size| {
        let form = string_form(&instruction, direction)?;
        Ok(PortIoInsn { direction, size, port: PortOperand::Dx, string: Some(form), len })
    };
    match instruction.code() {
        C::In_AL_imm8 => single(In, Width::Byte, imm(1)?),
        C::In_AX_imm8 => single(In, Width::Word, imm(1)?),
        C::In_EAX_imm8 => single(In, Width::Dword, imm(1)?),
        C::In_AL_DX => single(In, Width::Byte, PortOperand::Dx),
        C::In_AX_DX => single(In, Width::Word, PortOperand::Dx),
        C::In_EAX_DX => single(In, Width::Dword, PortOperand::Dx),
        C::Out_imm8_AL => single(Out, Width::Byte, imm(0)?),
        C::Out_imm8_AX => single(Out, Width::Word, imm(0)?),
        C::Out_imm8_EAX => single(Out, Width::Dword, imm(0)?),
        C::Out_DX_AL => single(Out, Width::Byte, PortOperand::Dx),
        C::Out_DX_AX => single(Out, Width::Word, PortOperand::Dx),
        C::Out_DX_EAX => single(Out, Width::Dword, PortOperand::Dx),
        C::Insb_m8_DX => string(In, Width::Byte),
        C::Insw_m16_DX => string(In, Width::Word),
        C::Insd_m32_DX => string(In, Width::Dword),
        C::Outsb_DX_m8 => string(Out, Width::Byte),
        C::Outsw_DX_m16 => string(Out, Width::Word),
        C::Outsd_DX_m32 => string(Out, Width::Dword),
        _ => Err(DecodeError::Unsupported { mnemonic: instruction.mnemonic() }),
    }
}

/// The REP prefix, address size and segment of an INS or OUTS.
fn string_form(
    instruction: &Instruction,
    direction: IoDirection,
) -> Result<StringForm, DecodeError> {
    if instruction.has_repne_prefix() {
        return Err(DecodeError::Unsupported { mnemonic: instruction.mnemonic() });
    }
    // INS's memory operand is operand 0 (ES:rDI), OUTS's is operand 1 (seg:rSI).
    let memory = match direction {
        IoDirection::In => instruction.op_kind(0),
        IoDirection::Out => instruction.op_kind(1),
    };
    let addr_size = match memory {
        OpKind::MemoryESRDI | OpKind::MemorySegRSI => AddrSize::A64,
        OpKind::MemoryESEDI | OpKind::MemorySegESI => AddrSize::A32,
        _ => return Err(DecodeError::Invalid),
    };
    // ES:rDI cannot be overridden (iced-x86's `memory_segment` describes the seg:rSI
    // operand, so it is asked only for OUTS).
    let segment = match direction {
        IoDirection::In => Register::ES,
        IoDirection::Out => instruction.memory_segment(),
    };
    let segment = match segment {
        Register::ES => Segment::Es,
        Register::CS => Segment::Cs,
        Register::SS => Segment::Ss,
        Register::DS => Segment::Ds,
        Register::FS => Segment::Fs,
        Register::GS => Segment::Gs,
        _ => return Err(DecodeError::UnexpectedRegister),
    };
    Ok(StringForm { rep: instruction.has_rep_prefix(), addr_size, segment })
}

impl PortIoInsn {
    /// The port number: the immediate, or DX from `regs`.
    pub fn port_number(&self, regs: &Regs) -> u16 {
        match self.port {
            PortOperand::Immediate(port) => port.into(),
            // DX is 16 bits wide, so this never truncates.
            PortOperand::Dx => {
                regs.read(RegOperand::Low { gpr: Gpr::Rdx, width: Width::Word }) as u16
            }
        }
    }

    /// What a truthful exit would say about this instruction, with these registers. The SNP
    /// handler, which has to tell the hypervisor itself, builds its IOIO exit information
    /// from this.
    pub fn expected_exit(&self, regs: &Regs) -> PortIoExit {
        PortIoExit {
            port: self.port_number(regs),
            size: self.size,
            direction: self.direction,
            string: self.string.is_some(),
            rep: self.string.is_some_and(|form| form.rep),
        }
    }

    /// Checks `exit` against the instruction and, if they agree, says what to perform.
    ///
    /// # Errors
    /// The first field (port, size, direction, string, rep) that differs.
    pub fn check(&self, exit: &PortIoExit, regs: &Regs) -> Result<PortIo, PortIoMismatch> {
        let insn = self.expected_exit(regs);
        if insn.port != exit.port {
            return Err(PortIoMismatch::Port { insn: insn.port, exit: exit.port });
        }
        if insn.size != exit.size {
            return Err(PortIoMismatch::Size { insn: insn.size, exit: exit.size });
        }
        if insn.direction != exit.direction {
            return Err(PortIoMismatch::Direction { insn: insn.direction, exit: exit.direction });
        }
        if insn.string != exit.string {
            return Err(PortIoMismatch::String { insn: insn.string, exit: exit.string });
        }
        if insn.rep != exit.rep {
            return Err(PortIoMismatch::Rep { insn: insn.rep, exit: exit.rep });
        }
        Ok(self.operation(regs))
    }

    /// What to perform, trusting the instruction alone.
    pub fn operation(&self, regs: &Regs) -> PortIo {
        let port = self.port_number(regs);
        match (self.string, self.direction) {
            (None, IoDirection::In) => PortIo::In(PortIn { port, size: self.size }),
            (None, IoDirection::Out) => PortIo::Out(PortOut { port, size: self.size }),
            (Some(form), direction) => {
                PortIo::String(StringIo::new(port, self.size, direction, form, self.len))
            }
        }
    }
}
