//! The #VE handler: what the TDX module would not let through, emulated by asking the VMM.
//!
//! TDG.VP.VEINFO.GET says why; `tee_abi::tdx::ve::classify` decides what to emulate (and
//! refuses what must not be: an EPT violation on private memory, string I/O, anything but
//! CPUID from user mode); the emulation is a TDG.VP.VMCALL whose answer `tee-abi` checks and
//! cuts to size; RIP then moves past the instruction. MMIO decodes the kernel instruction at
//! RIP with `tee_abi::insn` (OSTD's own accessors are plain moves, which it decodes).
//!
//! Not run here: QEMU TCG raises no #VE.

use tee_abi::insn::{self as mmio, DecodeError, Gpr, MmioAccess, RegOperand, Regs, Width};
use tee_abi::tdx::error::TdxError;
use tee_abi::tdx::tdcall::{self, TdcallLeaf};
use tee_abi::tdx::tdvmcall::{self, IoSize, MmioSize};
use tee_abi::tdx::ve::{IoDirection, VeAction, VeOrigin, cpuid_leaf_goes_to_vmm};

use super::{info, run, vmcall};

/// Why a #VE could not be emulated.
#[derive(Debug)]
pub(crate) enum VeError {
    /// The TDX module or the VMM refused, or the exit is one that must not be emulated.
    Tdx(TdxError),
    /// The MMIO instruction could not be decoded or is not one that is emulated.
    Decode(DecodeError),
    /// The faulting instruction is not in the kernel's text.
    RipOutsideText(u64),
}

impl core::fmt::Display for VeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Tdx(e) => write!(f, "{e}"),
            Self::Decode(e) => write!(f, "the MMIO instruction: {e}"),
            Self::RipOutsideText(rip) => write!(f, "MMIO from {rip:#x}, outside the kernel text"),
        }
    }
}

impl From<TdxError> for VeError {
    fn from(e: TdxError) -> Self {
        Self::Tdx(e)
    }
}

/// Emulates the instruction behind the #VE just taken, on `regs` (the interrupted context's
/// registers, RIP at the instruction), and moves RIP past it.
pub(crate) fn handle(regs: &mut Regs, origin: VeOrigin) -> Result<(), VeError> {
    let out = run(tdcall::vp_veinfo_get());
    out.check_success(TdcallLeaf::VpVeinfoGet)?;
    let veinfo = tdcall::decode_veinfo(&out)?;
    let shared = info()?.shared_bit();
    let ve = tee_abi::tdx::ve::classify(&veinfo, origin, shared)?;
    match ve.action {
        VeAction::Cpuid => cpuid(regs)?,
        VeAction::Hlt => {
            // Interrupts were on at the HLT unless RFLAGS.IF says otherwise (bit 9).
            let blocked = regs.rflags & (1 << 9) == 0;
            vmcall(tdvmcall::hlt(blocked)).check_success(tdvmcall::VmcallSubfunction::Hlt)?;
        }
        VeAction::Rdmsr => {
            let msr = regs.gpr(Gpr::Rcx) as u32;
            let value = tdvmcall::decode_rdmsr(&vmcall(tdvmcall::rdmsr(msr)))?;
            set32(regs, Gpr::Rax, value);
            set32(regs, Gpr::Rdx, value >> 32);
        }
        VeAction::Wrmsr => {
            let msr = regs.gpr(Gpr::Rcx) as u32;
            let value = (regs.gpr(Gpr::Rdx) << 32) | (regs.gpr(Gpr::Rax) & 0xffff_ffff);
            vmcall(tdvmcall::wrmsr(msr, value))
                .check_success(tdvmcall::VmcallSubfunction::Wrmsr)?;
        }
        VeAction::Io(io) => {
            let operand = RegOperand::Low { gpr: Gpr::Rax, width: io_width(io.size) };
            match io.direction {
                IoDirection::In => {
                    let value = tdvmcall::decode_io_read(
                        io.size,
                        &vmcall(tdvmcall::io_read(io.size, io.port)),
                    )?;
                    regs.write(operand, u64::from(value));
                }
                IoDirection::Out => {
                    let value = regs.read(operand) as u32;
                    let out = vmcall(tdvmcall::io_write(io.size, io.port, value));
                    out.check_success(tdvmcall::VmcallSubfunction::Io)?;
                }
            }
        }
        VeAction::Mmio { gpa } => return mmio(regs, gpa),
    }
    // `classify` gives a length for every action but MMIO, checked to be 1..=15.
    regs.rip = regs.rip.wrapping_add(u64::from(ve.instruction_len.unwrap_or(0)));
    Ok(())
}

/// CPUID: the hypervisor range goes to the VMM; other leaves the TDX module did not answer
/// read as zeros, as on a CPU without them.
fn cpuid(regs: &mut Regs) -> Result<(), VeError> {
    let (leaf, subleaf) = (regs.gpr(Gpr::Rax) as u32, regs.gpr(Gpr::Rcx) as u32);
    let answer = if cpuid_leaf_goes_to_vmm(leaf) {
        tdvmcall::decode_cpuid(&vmcall(tdvmcall::cpuid(leaf, subleaf)))?
    } else {
        tdvmcall::CpuidResult { eax: 0, ebx: 0, ecx: 0, edx: 0 }
    };
    set32(regs, Gpr::Rax, u64::from(answer.eax));
    set32(regs, Gpr::Rbx, u64::from(answer.ebx));
    set32(regs, Gpr::Rcx, u64::from(answer.ecx));
    set32(regs, Gpr::Rdx, u64::from(answer.edx));
    Ok(())
}

/// Writes a 32-bit result as the instruction would: the upper half of the register cleared.
fn set32(regs: &mut Regs, gpr: Gpr, value: u64) {
    regs.write(RegOperand::Low { gpr, width: Width::Dword }, value);
}

fn io_width(size: IoSize) -> Width {
    match size {
        IoSize::One => Width::Byte,
        IoSize::Two => Width::Word,
        IoSize::Four => Width::Dword,
    }
}

/// MMIO from kernel code: decode the instruction at RIP, ask the VMM, apply the answer.
fn mmio(regs: &mut Regs, gpa: tee_abi::tdx::gpa::Gpa) -> Result<(), VeError> {
    let bytes =
        crate::tee::ve_glue::kernel_text_at(regs.rip).ok_or(VeError::RipOutsideText(regs.rip))?;
    let insn = mmio::decode_mmio(&bytes).map_err(VeError::Decode)?;
    let shared = info()?.shared_bit();
    let size = match insn.access.size() {
        Width::Byte => MmioSize::One,
        Width::Word => MmioSize::Two,
        Width::Dword => MmioSize::Four,
        Width::Qword => MmioSize::Eight,
    };
    match insn.access {
        MmioAccess::Read(read) => {
            let out = vmcall(tdvmcall::mmio_read(size, gpa, shared)?);
            let value = tdvmcall::decode_mmio_read(size, &out)?;
            mmio::apply_read(&read, value, regs);
        }
        MmioAccess::Write(write) => {
            let value = mmio::value_to_write(&write, regs);
            let out = vmcall(tdvmcall::mmio_write(size, gpa, value, shared)?);
            out.check_success(tdvmcall::VmcallSubfunction::RequestMmio)?;
        }
    }
    insn.len.advance_rip(regs);
    Ok(())
}
