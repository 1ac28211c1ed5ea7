//! The #VC handler: the exits SEV-SNP hands the guest, emulated through the GHCB.
//!
//! `tee_abi::snp::vc` decides what is emulated and checks that RIP holds the instruction the
//! exit claims (a #VC carries no instruction length, and a nested page fault no address);
//! the GHCB answers are read from a copy, a field only when the host marked it valid. CPUID
//! never reaches the host but for the per-vCPU fields: the CPUID page answers it.
//!
//! Not run here: QEMU TCG raises no #VC.

use tee_abi::insn::{
    self as insn, DecodeError, Gpr, IoDirection as InsnDirection, MmioAccess, PortOperand,
    RegOperand, Regs, Width,
};
use tee_abi::snp::ghcb::{ExitCode, GhcbField, GhcbWriter, IoDirection, IoWidth, IoioExitInfo};
use tee_abi::snp::vc::{MsrAccess, VcAction, VcError as Decision, VcOrigin, check_instruction};

use super::{SnpError, ghcb};

/// Why a #VC could not be emulated.
#[derive(Debug)]
pub(crate) enum VcError {
    /// The exit is not emulated, or RIP holds another instruction.
    Refused(Decision),
    /// The host's answer was refused.
    Host(SnpError),
    /// The MMIO or port instruction could not be decoded or is not emulated.
    Decode(DecodeError),
    /// The instruction bytes could not be read (kernel text only; user memory unreadable).
    NoInstruction(u64),
    /// MMIO at an address that is not device memory the kernel mapped.
    NotMmio(u64),
}

impl core::fmt::Display for VcError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "{e}"),
            Self::Host(e) => write!(f, "{e}"),
            Self::Decode(e) => write!(f, "the instruction: {e}"),
            Self::NoInstruction(rip) => write!(f, "no instruction readable at {rip:#x}"),
            Self::NotMmio(va) => write!(f, "{va:#x} is not mapped device memory"),
        }
    }
}

impl From<tee_abi::snp::ghcb::GhcbError> for VcError {
    fn from(e: tee_abi::snp::ghcb::GhcbError) -> Self {
        Self::Host(SnpError::Ghcb(e))
    }
}

/// Emulates the exit `error_code` on `regs` (RIP at the instruction) and moves RIP past
/// it. `bytes` holds up to 15 bytes from RIP (kernel text, or a copy of user memory).
pub(crate) fn handle(
    regs: &mut Regs,
    error_code: u64,
    origin: VcOrigin,
    bytes: &[u8],
) -> Result<(), VcError> {
    let action = tee_abi::snp::vc::classify(error_code, origin).map_err(VcError::Refused)?;
    match action {
        VcAction::Ioio => return port_io(regs, bytes),
        VcAction::Mmio => return mmio(regs, bytes),
        _ => {}
    }
    let insn = check_instruction(action, bytes).map_err(VcError::Refused)?;
    match action {
        VcAction::Cpuid => {
            let answer = super::cpuid(regs.gpr(Gpr::Rax) as u32, regs.gpr(Gpr::Rcx) as u32)
                .map_err(VcError::Host)?;
            set32(regs, Gpr::Rax, answer.eax.into());
            set32(regs, Gpr::Rbx, answer.ebx.into());
            set32(regs, Gpr::Rcx, answer.ecx.into());
            set32(regs, Gpr::Rdx, answer.edx.into());
        }
        VcAction::Rdtsc | VcAction::Rdtscp => {
            let (exit, rdtscp) = match action {
                VcAction::Rdtscp => (ExitCode::Rdtscp, true),
                _ => (ExitCode::Rdtsc, false),
            };
            let (rax, rdx, rcx) = ghcb::exchange(&GhcbWriter::new(exit, 0, 0), |r| {
                let rcx = if rdtscp { r.get(GhcbField::Rcx)? } else { 0 };
                Ok((r.get(GhcbField::Rax)?, r.get(GhcbField::Rdx)?, rcx))
            })?;
            set32(regs, Gpr::Rax, rax);
            set32(regs, Gpr::Rdx, rdx);
            if rdtscp {
                set32(regs, Gpr::Rcx, rcx);
            }
        }
        VcAction::Wbinvd => ghcb::exchange(&GhcbWriter::new(ExitCode::Wbinvd, 0, 0), |_| Ok(()))?,
        VcAction::Msr => {
            let msr = regs.gpr(Gpr::Rcx) & 0xffff_ffff;
            match insn.msr {
                Some(MsrAccess::Write) => {
                    let mut request = GhcbWriter::new(ExitCode::Msr, 1, 0);
                    request
                        .set(GhcbField::Rcx, msr)
                        .set(GhcbField::Rax, regs.gpr(Gpr::Rax) & 0xffff_ffff)
                        .set(GhcbField::Rdx, regs.gpr(Gpr::Rdx) & 0xffff_ffff);
                    ghcb::exchange(&request, |_| Ok(()))?;
                }
                _ => {
                    let mut request = GhcbWriter::new(ExitCode::Msr, 0, 0);
                    request.set(GhcbField::Rcx, msr);
                    let (rax, rdx) = ghcb::exchange(&request, |r| {
                        Ok((r.get(GhcbField::Rax)?, r.get(GhcbField::Rdx)?))
                    })?;
                    set32(regs, Gpr::Rax, rax);
                    set32(regs, Gpr::Rdx, rdx);
                }
            }
        }
        VcAction::Ioio | VcAction::Mmio => {}
    }
    insn.len.advance_rip(regs);
    Ok(())
}

/// Writes a 32-bit result as the instruction would: the upper half of the register cleared.
fn set32(regs: &mut Regs, gpr: Gpr, value: u64) {
    regs.write(RegOperand::Low { gpr, width: Width::Dword }, value & 0xffff_ffff);
}

fn io_width(size: u8) -> IoWidth {
    match size {
        1 => IoWidth::Bits8,
        2 => IoWidth::Bits16,
        _ => IoWidth::Bits32,
    }
}

fn ioio_info(port: u16, size: u8, direction: IoDirection) -> u64 {
    let info = IoioExitInfo {
        port,
        direction,
        string: false,
        rep: false,
        operand: io_width(size),
        address: IoWidth::Bits64,
        segment: 0,
    };
    // Operand 8/16/32 and address 64 always encode.
    info.encode().unwrap_or(0)
}

/// IN of `size` bytes from `port` through the GHCB.
pub(super) fn port_in(port: u16, size: u8) -> Result<u32, VcError> {
    let request = GhcbWriter::new(ExitCode::Ioio, ioio_info(port, size, IoDirection::In), 0);
    let mut request = request;
    request.set(GhcbField::Rax, 0);
    let rax = ghcb::exchange(&request, |r| r.get(GhcbField::Rax))?;
    let mask = u32::MAX >> (32 - 8 * u32::from(size.clamp(1, 4)));
    Ok(rax as u32 & mask)
}

/// OUT of `size` bytes of `value` to `port` through the GHCB.
pub(super) fn port_out(port: u16, size: u8, value: u32) -> Result<(), VcError> {
    let mut request = GhcbWriter::new(ExitCode::Ioio, ioio_info(port, size, IoDirection::Out), 0);
    request.set(GhcbField::Rax, u64::from(value));
    ghcb::exchange(&request, |_| Ok(()))?;
    Ok(())
}

/// IN or OUT from the instruction at RIP (the string forms are refused: OSTD never emits
/// them, so one means port I/O from somewhere it should not come from).
fn port_io(regs: &mut Regs, bytes: &[u8]) -> Result<(), VcError> {
    let insn = insn::decode_port_io(bytes).map_err(VcError::Decode)?;
    if insn.string.is_some() {
        return Err(VcError::Decode(DecodeError::StringInstruction {
            mnemonic: insn::Mnemonic::Outsb,
        }));
    }
    let port = match insn.port {
        PortOperand::Immediate(port) => u16::from(port),
        PortOperand::Dx => regs.gpr(Gpr::Rdx) as u16,
    };
    let size = match insn.size {
        Width::Byte => 1,
        Width::Word => 2,
        _ => 4,
    };
    let operand = RegOperand::Low { gpr: Gpr::Rax, width: insn.size };
    match insn.direction {
        InsnDirection::In => {
            let value = port_in(port, size)?;
            regs.write(operand, u64::from(value));
        }
        InsnDirection::Out => port_out(port, size, regs.read(operand) as u32)?,
    }
    insn.len.advance_rip(regs);
    Ok(())
}

/// MMIO from kernel code: the instruction's operand address, translated through the kernel
/// page table (it must be a device mapping), then a GHCB MMIO read or write of the bytes.
fn mmio(regs: &mut Regs, bytes: &[u8]) -> Result<(), VcError> {
    let (insn, vaddr) = insn::decode_mmio_with_address(bytes, regs).map_err(VcError::Decode)?;
    let gpa = crate::mm::device_paddr_of(vaddr).ok_or(VcError::NotMmio(vaddr))?;
    let size = match insn.access.size() {
        Width::Byte => 1u64,
        Width::Word => 2,
        Width::Dword => 4,
        Width::Qword => 8,
    };
    let scratch = ghcb::shared_buffer_gpa();
    match insn.access {
        MmioAccess::Read(read) => {
            let mut request = GhcbWriter::new(ExitCode::MmioRead, gpa, size);
            request.set(GhcbField::SwScratch, scratch);
            let value = ghcb::exchange(&request, |r| {
                let mut le = [0u8; 8];
                le[..size as usize].copy_from_slice(&r.shared_buffer()[..size as usize]);
                Ok(u64::from_le_bytes(le))
            })?;
            insn::apply_read(&read, value, regs);
        }
        MmioAccess::Write(write) => {
            let value = insn::value_to_write(&write, regs);
            let mut request = GhcbWriter::new(ExitCode::MmioWrite, gpa, size);
            request.shared_buffer_mut()[..size as usize]
                .copy_from_slice(&value.to_le_bytes()[..size as usize]);
            request.set(GhcbField::SwScratch, scratch);
            ghcb::exchange(&request, |_| Ok(()))?;
        }
    }
    insn.len.advance_rip(regs);
    Ok(())
}
