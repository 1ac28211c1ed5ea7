//! TDG.VP.VMCALL: requests to the (untrusted) VMM, and reading its answers.
//!
//! GHCI spec, "TDG.VP.VMCALL Interface": TDCALL leaf 0 with RCX = the bitmap of GPRs the
//! TD exposes to the VMM (every other GPR is saved and cleared by the module), R10 = 0 for
//! a standard GHCI call, R11 = the sub-function, R12..R15 its operands. On return RAX is
//! the *module's* status (non-zero only if the TDCALL itself was malformed), R10 the VMM's
//! return code, R11..R15 its outputs.
//!
//! Everything the VMM returns is attacker-controlled. The decoders here cut each value to
//! the width the guest asked for (an 8-bit IN gets 8 bits even if the VMM sets 64) so that
//! nothing past the requested access leaks into guest registers.

use super::error::TdxError;
use super::gpa::{Gpa, PAGE_SIZE_4K, SharedBit};
use super::status::TdxStatus;
use super::tdcall::TdcallLeaf;

/// R10 = 0: a GHCI-defined sub-function (non-zero R10 is VMM-specific, e.g. KVM hypercalls).
pub const TDVMCALL_STANDARD: u64 = 0;

/// RCX for every call built here: R10..R15 exposed (bits 10-15), the same fixed mask
/// `tdx-guest` passes. Linux also exposes RBX, RSI, RDI, RDX, R8 and R9 (mask 0xFFCC) for
/// ReportFatalError's message; this crate's calls never use those, so they stay hidden.
pub const TDVMCALL_EXPOSED_GPRS: u64 = 0xFC00;

/// GHCI sub-function numbers (R11). The instruction-emulation ones equal the VMX exit
/// reason of the instruction they stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum VmcallSubfunction {
    /// Instruction.CPUID.
    Cpuid = 10,
    /// Instruction.HLT.
    Hlt = 12,
    /// Instruction.IO.
    Io = 30,
    /// Instruction.RDMSR.
    Rdmsr = 31,
    /// Instruction.WRMSR.
    Wrmsr = 32,
    /// #VE.RequestMMIO.
    RequestMmio = 48,
    /// GetTdVmCallInfo.
    GetTdVmCallInfo = 0x10000,
    /// MapGPA.
    MapGpa = 0x10001,
    /// GetQuote.
    GetQuote = 0x10002,
    /// ReportFatalError.
    ReportFatalError = 0x10003,
    /// SetupEventNotifyInterrupt.
    SetupEventNotifyInterrupt = 0x10004,
}

/// The VMM's return code in R10 (GHCI spec, "TDG.VP.VMCALL return codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmcallStatus(u64);

/// TDG.VP.VMCALL_SUCCESS.
pub const TDVMCALL_SUCCESS: u64 = 0;
/// TDG.VP.VMCALL_RETRY: only MapGPA, with R11 = where to resume.
pub const TDVMCALL_RETRY: u64 = 1;
/// TDG.VP.VMCALL_INVALID_OPERAND.
pub const TDVMCALL_INVALID_OPERAND: u64 = 0x8000_0000_0000_0000;
/// TDG.VP.VMCALL_GPA_INUSE: MapGPA of a range already mapped as requested.
pub const TDVMCALL_GPA_INUSE: u64 = 0x8000_0000_0000_0001;
/// TDG.VP.VMCALL_ALIGN_ERROR.
pub const TDVMCALL_ALIGN_ERROR: u64 = 0x8000_0000_0000_0002;

/// The named return codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmcallStatusKind {
    /// Success.
    Success,
    /// Retry (MapGPA).
    Retry,
    /// Invalid operand.
    InvalidOperand,
    /// GPA in use.
    GpaInUse,
    /// Alignment error.
    AlignError,
    /// Anything else the VMM made up.
    Other,
}

impl VmcallStatus {
    /// Wraps R10.
    pub const fn from_raw(r10: u64) -> Self {
        Self(r10)
    }

    /// R10 as returned.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The named code.
    pub const fn kind(self) -> VmcallStatusKind {
        match self.0 {
            TDVMCALL_SUCCESS => VmcallStatusKind::Success,
            TDVMCALL_RETRY => VmcallStatusKind::Retry,
            TDVMCALL_INVALID_OPERAND => VmcallStatusKind::InvalidOperand,
            TDVMCALL_GPA_INUSE => VmcallStatusKind::GpaInUse,
            TDVMCALL_ALIGN_ERROR => VmcallStatusKind::AlignError,
            _ => VmcallStatusKind::Other,
        }
    }
}

/// The registers of one TDG.VP.VMCALL, in and out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TdvmcallRegs {
    /// TDCALL leaf 0 (in); the module's completion status (out).
    pub rax: u64,
    /// The exposed-GPR bitmap (in).
    pub rcx: u64,
    /// 0 for standard (in); the VMM's return code (out).
    pub r10: u64,
    /// Sub-function (in); first output (out).
    pub r11: u64,
    /// Operand / output.
    pub r12: u64,
    /// Operand / output.
    pub r13: u64,
    /// Operand / output.
    pub r14: u64,
    /// Operand / output.
    pub r15: u64,
}

impl TdvmcallRegs {
    /// A standard GHCI call of `subfunction` with operands R12..R15.
    pub const fn new(
        subfunction: VmcallSubfunction,
        r12: u64,
        r13: u64,
        r14: u64,
        r15: u64,
    ) -> Self {
        Self {
            rax: TdcallLeaf::VpVmcall as u64,
            rcx: TDVMCALL_EXPOSED_GPRS,
            r10: TDVMCALL_STANDARD,
            r11: subfunction as u64,
            r12,
            r13,
            r14,
            r15,
        }
    }

    /// R10 read as the VMM's return code (meaningful on the output registers).
    pub const fn status(&self) -> VmcallStatus {
        VmcallStatus::from_raw(self.r10)
    }

    /// Ok if both the module (RAX) and the VMM (R10) report success. A module failure
    /// means the TDCALL itself was malformed; Linux treats it as fatal.
    pub fn check_success(&self, subfunction: VmcallSubfunction) -> Result<(), TdxError> {
        if self.rax != 0 {
            return Err(TdxError::Tdcall {
                leaf: TdcallLeaf::VpVmcall,
                status: TdxStatus::from_raw(self.rax),
            });
        }
        if self.r10 != TDVMCALL_SUCCESS {
            return Err(TdxError::Vmcall { subfunction, status: self.status() });
        }
        Ok(())
    }
}

/// What Instruction.CPUID returns: R12..R15 = EAX, EBX, ECX, EDX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

/// Instruction.CPUID: R12 = leaf (EAX), R13 = sub-leaf (ECX).
pub const fn cpuid(leaf: u32, subleaf: u32) -> TdvmcallRegs {
    TdvmcallRegs::new(VmcallSubfunction::Cpuid, leaf as u64, subleaf as u64, 0, 0)
}

/// Decodes Instruction.CPUID, keeping the low 32 bits of each register as CPUID would.
pub fn decode_cpuid(out: &TdvmcallRegs) -> Result<CpuidResult, TdxError> {
    out.check_success(VmcallSubfunction::Cpuid)?;
    Ok(CpuidResult {
        eax: out.r12 as u32,
        ebx: out.r13 as u32,
        ecx: out.r14 as u32,
        edx: out.r15 as u32,
    })
}

/// Instruction.HLT: R12 = 1 if interrupts are blocked (RFLAGS.IF clear), so that the VMM
/// does not wake the VCPU for an interrupt it cannot take.
pub const fn hlt(interrupts_blocked: bool) -> TdvmcallRegs {
    TdvmcallRegs::new(VmcallSubfunction::Hlt, interrupts_blocked as u64, 0, 0, 0)
}

/// Width of a port I/O access (GHCI Instruction.IO, R12: 1, 2 or 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoSize {
    /// IN/OUT AL.
    One = 1,
    /// IN/OUT AX.
    Two = 2,
    /// IN/OUT EAX.
    Four = 4,
}

impl IoSize {
    /// From a byte count.
    pub fn from_bytes(bytes: u64) -> Result<Self, TdxError> {
        match bytes {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            4 => Ok(Self::Four),
            _ => Err(TdxError::Unrecognised {
                field: "Instruction.IO R12 (access size)",
                value: bytes,
            }),
        }
    }

    /// The byte count.
    pub const fn bytes(self) -> u64 {
        self as u64
    }

    /// The bits an access of this size carries.
    pub const fn mask(self) -> u64 {
        match self {
            Self::One => 0xff,
            Self::Two => 0xffff,
            Self::Four => 0xffff_ffff,
        }
    }
}

/// GHCI Instruction.IO and #VE.RequestMMIO direction (R13): 0 = read, 1 = write.
const ACCESS_READ: u64 = 0;
/// See [`ACCESS_READ`].
const ACCESS_WRITE: u64 = 1;

/// Instruction.IO read (IN): R12 = size, R13 = 0, R14 = port.
pub const fn io_read(size: IoSize, port: u16) -> TdvmcallRegs {
    TdvmcallRegs::new(VmcallSubfunction::Io, size.bytes(), ACCESS_READ, port as u64, 0)
}

/// The value an IN read, from R11, cut to the access size.
pub fn decode_io_read(size: IoSize, out: &TdvmcallRegs) -> Result<u32, TdxError> {
    out.check_success(VmcallSubfunction::Io)?;
    Ok((out.r11 & size.mask()) as u32)
}

/// Instruction.IO write (OUT): R12 = size, R13 = 1, R14 = port, R15 = the value, cut to
/// the access size so that no stale upper register bits reach the VMM.
pub const fn io_write(size: IoSize, port: u16, value: u32) -> TdvmcallRegs {
    TdvmcallRegs::new(
        VmcallSubfunction::Io,
        size.bytes(),
        ACCESS_WRITE,
        port as u64,
        value as u64 & size.mask(),
    )
}

/// Instruction.RDMSR: R12 = MSR index.
pub const fn rdmsr(msr: u32) -> TdvmcallRegs {
    TdvmcallRegs::new(VmcallSubfunction::Rdmsr, msr as u64, 0, 0, 0)
}

/// The MSR value, from R11 (all 64 bits: an MSR read is 64 bits wide, EDX:EAX).
pub fn decode_rdmsr(out: &TdvmcallRegs) -> Result<u64, TdxError> {
    out.check_success(VmcallSubfunction::Rdmsr)?;
    Ok(out.r11)
}

/// Instruction.WRMSR: R12 = MSR index, R13 = value (EDX:EAX).
pub const fn wrmsr(msr: u32, value: u64) -> TdvmcallRegs {
    TdvmcallRegs::new(VmcallSubfunction::Wrmsr, msr as u64, value, 0, 0)
}

/// Width of an MMIO access (GHCI #VE.RequestMMIO, R12: 1, 2, 4 or 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmioSize {
    /// Byte.
    One = 1,
    /// Word.
    Two = 2,
    /// Doubleword.
    Four = 4,
    /// Quadword.
    Eight = 8,
}

impl MmioSize {
    /// From a byte count.
    pub fn from_bytes(bytes: u64) -> Result<Self, TdxError> {
        match bytes {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            4 => Ok(Self::Four),
            8 => Ok(Self::Eight),
            _ => Err(TdxError::Unrecognised {
                field: "#VE.RequestMMIO R12 (access size)",
                value: bytes,
            }),
        }
    }

    /// The byte count.
    pub const fn bytes(self) -> u64 {
        self as u64
    }

    /// The bits an access of this size carries.
    pub const fn mask(self) -> u64 {
        match self {
            Self::One => 0xff,
            Self::Two => 0xffff,
            Self::Four => 0xffff_ffff,
            Self::Eight => u64::MAX,
        }
    }
}

/// Checks an MMIO target: a shared GPA (private memory is never emulated by the VMM), and
/// an access that stays inside one 4 KiB page (Linux refuses page-splitting MMIO: real
/// MMIO is naturally aligned, and a split access means a bug or a stray load).
fn check_mmio_target(size: MmioSize, gpa: Gpa, shared: SharedBit) -> Result<Gpa, TdxError> {
    const FIELD: &str = "#VE.RequestMMIO R14 (GPA)";
    shared.check_shared(FIELD, gpa)?;
    let offset = gpa.raw() & (PAGE_SIZE_4K - 1);
    if offset + size.bytes() > PAGE_SIZE_4K {
        return Err(TdxError::OutOfRange {
            field: FIELD,
            value: gpa.raw(),
            min: gpa.raw() & !(PAGE_SIZE_4K - 1),
            max: (gpa.raw() | (PAGE_SIZE_4K - 1)) - (size.bytes() - 1),
        });
    }
    Ok(gpa)
}

/// #VE.RequestMMIO read: R12 = size, R13 = 0, R14 = shared GPA.
pub fn mmio_read(size: MmioSize, gpa: Gpa, shared: SharedBit) -> Result<TdvmcallRegs, TdxError> {
    let gpa = check_mmio_target(size, gpa, shared)?;
    Ok(TdvmcallRegs::new(VmcallSubfunction::RequestMmio, size.bytes(), ACCESS_READ, gpa.raw(), 0))
}

/// The value an MMIO read returned in R11, cut to the access size.
pub fn decode_mmio_read(size: MmioSize, out: &TdvmcallRegs) -> Result<u64, TdxError> {
    out.check_success(VmcallSubfunction::RequestMmio)?;
    Ok(out.r11 & size.mask())
}

/// #VE.RequestMMIO write: R12 = size, R13 = 1, R14 = shared GPA, R15 = value (cut to size).
pub fn mmio_write(
    size: MmioSize,
    gpa: Gpa,
    value: u64,
    shared: SharedBit,
) -> Result<TdvmcallRegs, TdxError> {
    let gpa = check_mmio_target(size, gpa, shared)?;
    Ok(TdvmcallRegs::new(
        VmcallSubfunction::RequestMmio,
        size.bytes(),
        ACCESS_WRITE,
        gpa.raw(),
        value & size.mask(),
    ))
}

/// Lowest vector SetupEventNotifyInterrupt accepts: 0..=31 are exceptions.
pub const EVENT_NOTIFY_VECTOR_MIN: u64 = 32;
/// Highest vector.
pub const EVENT_NOTIFY_VECTOR_MAX: u64 = 255;

/// SetupEventNotifyInterrupt: R12 = the vector (32..=255) the VMM raises when, e.g., a
/// GetQuote request completes.
pub fn setup_event_notify_interrupt(vector: u64) -> Result<TdvmcallRegs, TdxError> {
    if !(EVENT_NOTIFY_VECTOR_MIN..=EVENT_NOTIFY_VECTOR_MAX).contains(&vector) {
        return Err(TdxError::OutOfRange {
            field: "SetupEventNotifyInterrupt R12 (vector)",
            value: vector,
            min: EVENT_NOTIFY_VECTOR_MIN,
            max: EVENT_NOTIFY_VECTOR_MAX,
        });
    }
    Ok(TdvmcallRegs::new(VmcallSubfunction::SetupEventNotifyInterrupt, vector, 0, 0, 0))
}
