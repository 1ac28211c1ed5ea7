//! What a #VE (virtualization exception) asks the guest to emulate.
//!
//! In a TD, instructions the TDX module will not let the VMM see directly (CPUID leaves
//! outside the module's table, HLT, port I/O, most MSRs) and accesses to shared memory
//! the VMM has not mapped (MMIO) raise #VE inside the guest. The handler reads why with
//! TDG.VP.VEINFO.GET (`tdcall::decode_veinfo`), then emulates by asking the VMM through
//! TDG.VP.VMCALL. This module turns the VEINFO into the emulation to perform, refusing the
//! cases that must not be emulated. Exit reasons are VMX basic exit reasons (Intel SDM
//! vol. 3, appendix C); the set handled and refused follows Linux's
//! `virt_exception_kernel()`/`virt_exception_user()` (arch/x86/coco/tdx/tdx.c).

use super::error::TdxError;
use super::gpa::{Gpa, SharedBit};
use super::tdcall::VeInfo;
use super::tdvmcall::IoSize;

/// The VMX exit reasons a TD can see as #VE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitReason {
    /// CPUID.
    Cpuid = 10,
    /// HLT.
    Hlt = 12,
    /// RDPMC.
    Rdpmc = 15,
    /// VMCALL.
    Vmcall = 18,
    /// IN/OUT/INS/OUTS.
    Io = 30,
    /// RDMSR.
    Rdmsr = 31,
    /// WRMSR.
    Wrmsr = 32,
    /// MWAIT.
    Mwait = 36,
    /// MONITOR.
    Monitor = 39,
    /// EPT violation: an access to a GPA with no (or the wrong) mapping.
    EptViolation = 48,
    /// WBINVD.
    Wbinvd = 54,
}

impl ExitReason {
    /// Decodes RCX\[31:0\] of TDG.VP.VEINFO.GET.
    pub fn from_raw(reason: u32) -> Result<Self, TdxError> {
        Ok(match reason {
            10 => Self::Cpuid,
            12 => Self::Hlt,
            15 => Self::Rdpmc,
            18 => Self::Vmcall,
            30 => Self::Io,
            31 => Self::Rdmsr,
            32 => Self::Wrmsr,
            36 => Self::Mwait,
            39 => Self::Monitor,
            48 => Self::EptViolation,
            54 => Self::Wbinvd,
            _ => {
                return Err(TdxError::Unrecognised {
                    field: "TDG.VP.VEINFO.GET RCX[31:0] (exit reason)",
                    value: u64::from(reason),
                });
            }
        })
    }
}

/// Direction of a port I/O access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoDirection {
    /// IN: the VMM supplies the value.
    In,
    /// OUT: the guest supplies the value.
    Out,
}

/// The exit qualification of an I/O instruction (Intel SDM vol. 3, "Exit Qualification
/// for I/O Instructions"): bits 2:0 size - 1, bit 3 direction (1 = IN), bit 4 string,
/// bit 5 REP prefix, bit 6 operand encoding (1 = immediate port), bits 31:16 port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoQualification {
    /// Access size.
    pub size: IoSize,
    /// IN or OUT.
    pub direction: IoDirection,
    /// INS/OUTS.
    pub string: bool,
    /// REP-prefixed.
    pub rep: bool,
    /// The port came from an immediate, not DX.
    pub immediate_port: bool,
    /// The port.
    pub port: u16,
}

impl IoQualification {
    /// Decodes the exit qualification. Size codes 2 and 4..=7 mean nothing and are refused.
    pub fn decode(exit_qualification: u64) -> Result<Self, TdxError> {
        let size = match exit_qualification & 0b111 {
            0 => IoSize::One,
            1 => IoSize::Two,
            3 => IoSize::Four,
            code => {
                return Err(TdxError::Unrecognised {
                    field: "I/O exit qualification bits 2:0 (size)",
                    value: code,
                });
            }
        };
        let bit = |n: u32| exit_qualification & (1 << n) != 0;
        Ok(Self {
            size,
            direction: if bit(3) { IoDirection::In } else { IoDirection::Out },
            string: bit(4),
            rep: bit(5),
            immediate_port: bit(6),
            port: (exit_qualification >> 16) as u16,
        })
    }
}

/// Where the #VE was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VeOrigin {
    /// CPL 0.
    Kernel,
    /// CPL 3: only CPUID is emulated for user space, as in Linux.
    User,
}

/// The emulation a #VE calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VeAction {
    /// CPUID: forward to the VMM only if [`cpuid_leaf_goes_to_vmm`], else answer zeros.
    Cpuid,
    /// HLT: `TDG.VP.VMCALL<Instruction.HLT>`.
    Hlt,
    /// IN/OUT (never string I/O): `TDG.VP.VMCALL<Instruction.IO>`.
    Io(IoQualification),
    /// RDMSR: `TDG.VP.VMCALL<Instruction.RDMSR>`.
    Rdmsr,
    /// WRMSR: `TDG.VP.VMCALL<Instruction.WRMSR>`.
    Wrmsr,
    /// MMIO to this shared GPA: decode the instruction at RIP for size, direction and
    /// length, then `TDG.VP.VMCALL<#VE.RequestMMIO>`.
    Mmio {
        /// The shared GPA accessed.
        gpa: Gpa,
    },
}

/// A #VE ready to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VeEmulation {
    /// What to do.
    pub action: VeAction,
    /// How far to advance RIP afterwards, from VEINFO, checked to be 1..=15. `None` for
    /// MMIO, whose VEINFO length is undefined (an EPT violation is not an instruction
    /// exit): the instruction decoder supplies it.
    pub instruction_len: Option<u8>,
}

/// The longest x86 instruction.
pub const MAX_INSTRUCTION_LEN: u32 = 15;

/// Whether a CPUID leaf is forwarded to the VMM. Only the hypervisor range
/// 0x4000_0000..=0x4FFF_FFFF is the VMM's to answer; the TDX module answers the rest itself,
/// so a #VE for another leaf is answered with zeros, as a CPU does for an unsupported leaf
/// (Linux `handle_cpuid()`), rather than letting the VMM invent CPU features.
pub const fn cpuid_leaf_goes_to_vmm(leaf: u32) -> bool {
    leaf >= 0x4000_0000 && leaf <= 0x4FFF_FFFF
}

/// Turns TDG.VP.VEINFO.GET's answer into the emulation to perform.
///
/// Errors: an exit reason the TDX module does not raise #VE for; an EPT violation on a
/// private GPA ([`TdxError::PrivateMemoryVe`]: never emulate, treat as fatal); string I/O,
/// MONITOR/MWAIT, WBINVD, RDPMC and VMCALL ([`TdxError::NotEmulated`]); anything but CPUID
/// from user space; an instruction length outside 1..=15.
pub fn classify(
    info: &VeInfo,
    origin: VeOrigin,
    shared: SharedBit,
) -> Result<VeEmulation, TdxError> {
    let reason = ExitReason::from_raw(info.exit_reason)?;
    let refuse = |why| TdxError::NotEmulated { exit_reason: info.exit_reason, why };
    if origin == VeOrigin::User && reason != ExitReason::Cpuid {
        return Err(refuse("only CPUID is emulated for user space"));
    }
    let action = match reason {
        ExitReason::Cpuid => VeAction::Cpuid,
        ExitReason::Hlt => VeAction::Hlt,
        ExitReason::Rdmsr => VeAction::Rdmsr,
        ExitReason::Wrmsr => VeAction::Wrmsr,
        ExitReason::Io => {
            let io = IoQualification::decode(info.exit_qualification)?;
            if io.string {
                return Err(refuse("string I/O (INS/OUTS) is not emulated"));
            }
            VeAction::Io(io)
        }
        ExitReason::EptViolation => {
            let gpa = info.guest_physical_address;
            if !shared.is_shared(gpa) {
                return Err(TdxError::PrivateMemoryVe { gpa: gpa.raw() });
            }
            shared.check_shared("TDG.VP.VEINFO.GET R9 (GPA)", gpa)?;
            return Ok(VeEmulation { action: VeAction::Mmio { gpa }, instruction_len: None });
        }
        ExitReason::Monitor | ExitReason::Mwait => {
            return Err(refuse("MONITOR/MWAIT are not available in a TD"));
        }
        ExitReason::Wbinvd => return Err(refuse("WBINVD is not emulated")),
        ExitReason::Rdpmc => return Err(refuse("RDPMC is not emulated")),
        ExitReason::Vmcall => return Err(refuse("VMCALL is not a TD hypercall")),
    };
    let len = info.instruction_length;
    if !(1..=MAX_INSTRUCTION_LEN).contains(&len) {
        return Err(TdxError::OutOfRange {
            field: "TDG.VP.VEINFO.GET R10[31:0] (instruction length)",
            value: u64::from(len),
            min: 1,
            max: u64::from(MAX_INSTRUCTION_LEN),
        });
    }
    Ok(VeEmulation { action, instruction_len: Some(len as u8) })
}
