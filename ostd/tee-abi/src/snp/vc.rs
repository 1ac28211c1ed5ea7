//! What the #VC handler does with an exit: the decision, apart from the doing.
//!
//! A #VC's error code is the exit code (GHCB spec §4.1, the "Non-Automatic Exit" events);
//! unlike TDX's #VE it comes with no instruction length and, for a nested page fault, no
//! address, so the handler decodes the instruction at RIP: [`check_instruction`] makes sure
//! the bytes are the instruction the exit claims (anything else means the context is not
//! what it seems) and gives its length.
//!
//! Emulated, as Linux does (arch/x86/coco/sev/vc-handle.c): CPUID (from the CPUID page),
//! port I/O, RDMSR/WRMSR, MMIO (a nested page fault on memory the host marked as MMIO),
//! RDTSC/RDTSCP and WBINVD. From user mode only CPUID, RDTSC and RDTSCP, which touch
//! registers alone. VMMCALL is refused: nothing here makes hypercalls, so one is a bug.

use core::fmt;

use crate::insn::{DecodeError, InsnLen, Mnemonic, decode_instruction};

/// Where the #VC came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcOrigin {
    /// Kernel code.
    Kernel,
    /// A user program.
    User,
}

/// What to do for an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcAction {
    /// Answer CPUID from the CPUID page (asking the host only for per-vCPU fields).
    Cpuid,
    /// Port I/O through the GHCB (the instruction is decoded by `insn::decode_port_io`).
    Ioio,
    /// RDMSR or WRMSR through the GHCB (which one: the instruction).
    Msr,
    /// MMIO through the GHCB: the nested page fault's instruction, decoded for its address.
    Mmio,
    /// RDTSC through the GHCB.
    Rdtsc,
    /// RDTSCP through the GHCB.
    Rdtscp,
    /// WBINVD through the GHCB.
    Wbinvd,
}

/// The exit codes of the exits above, as the #VC error code carries them.
pub mod exit {
    /// RDTSC.
    pub const RDTSC: u64 = 0x6e;
    /// CPUID.
    pub const CPUID: u64 = 0x72;
    /// Port I/O.
    pub const IOIO: u64 = 0x7b;
    /// RDMSR/WRMSR.
    pub const MSR: u64 = 0x7c;
    /// VMMCALL.
    pub const VMMCALL: u64 = 0x81;
    /// RDTSCP.
    pub const RDTSCP: u64 = 0x87;
    /// WBINVD.
    pub const WBINVD: u64 = 0x89;
    /// Nested page fault.
    pub const NPF: u64 = 0x400;
}

/// Why an exit is not emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcError {
    /// An exit code with no emulation here (VMMCALL, DR7 access, ...).
    Unhandled {
        /// The error code.
        exit_code: u64,
    },
    /// An exit user mode may not have emulated.
    NotFromUser {
        /// The error code.
        exit_code: u64,
    },
    /// The bytes at RIP do not decode.
    Decode(DecodeError),
    /// The bytes at RIP are another instruction than the exit says.
    WrongInstruction {
        /// The exit code.
        exit_code: u64,
        /// What the bytes are.
        found: Mnemonic,
    },
}

impl fmt::Display for VcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unhandled { exit_code } => write!(f, "exit code {exit_code:#x} is not emulated"),
            Self::NotFromUser { exit_code } => {
                write!(f, "exit code {exit_code:#x} is not emulated for user mode")
            }
            Self::Decode(e) => write!(f, "the instruction at RIP: {e}"),
            Self::WrongInstruction { exit_code, found } => {
                write!(f, "exit code {exit_code:#x} came from a {found:?} instruction")
            }
        }
    }
}

/// Decides what to do for the #VC with `error_code`, from `origin`.
pub fn classify(error_code: u64, origin: VcOrigin) -> Result<VcAction, VcError> {
    let action = match error_code {
        exit::CPUID => VcAction::Cpuid,
        exit::RDTSC => VcAction::Rdtsc,
        exit::RDTSCP => VcAction::Rdtscp,
        exit::IOIO => VcAction::Ioio,
        exit::MSR => VcAction::Msr,
        exit::NPF => VcAction::Mmio,
        exit::WBINVD => VcAction::Wbinvd,
        exit_code => return Err(VcError::Unhandled { exit_code }),
    };
    let user_may = matches!(action, VcAction::Cpuid | VcAction::Rdtsc | VcAction::Rdtscp);
    if origin == VcOrigin::User && !user_may {
        return Err(VcError::NotFromUser { exit_code: error_code });
    }
    Ok(action)
}

/// Which MSR instruction an MSR exit came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrAccess {
    /// RDMSR (0F 32).
    Read,
    /// WRMSR (0F 30).
    Write,
}

/// The instruction behind a register-only exit, checked against the exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcInsn {
    /// Its length (prefixes included).
    pub len: InsnLen,
    /// For an MSR exit, which access.
    pub msr: Option<MsrAccess>,
}

/// Decodes the bytes at RIP for a CPUID, RDTSC, RDTSCP, WBINVD or MSR exit, and checks they
/// are that instruction. (Port I/O and MMIO have their own decoders in `insn`.)
pub fn check_instruction(action: VcAction, bytes: &[u8]) -> Result<VcInsn, VcError> {
    let (mnemonic, len) = decode_instruction(bytes).map_err(VcError::Decode)?;
    let (expected, exit_code): (&[Mnemonic], u64) = match action {
        VcAction::Cpuid => (&[Mnemonic::Cpuid], exit::CPUID),
        VcAction::Rdtsc => (&[Mnemonic::Rdtsc], exit::RDTSC),
        VcAction::Rdtscp => (&[Mnemonic::Rdtscp], exit::RDTSCP),
        VcAction::Wbinvd => (&[Mnemonic::Wbinvd], exit::WBINVD),
        VcAction::Msr => (&[Mnemonic::Rdmsr, Mnemonic::Wrmsr], exit::MSR),
        VcAction::Ioio => (&[], exit::IOIO),
        VcAction::Mmio => (&[], exit::NPF),
    };
    if !expected.contains(&mnemonic) {
        return Err(VcError::WrongInstruction { exit_code, found: mnemonic });
    }
    let msr = match mnemonic {
        Mnemonic::Rdmsr => Some(MsrAccess::Read),
        Mnemonic::Wrmsr => Some(MsrAccess::Write),
        _ => None,
    };
    Ok(VcInsn { len, msr })
}
