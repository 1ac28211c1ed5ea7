//! What can go wrong when building a TDX request or reading its answer.
//!
//! Every variant names the field it is about and carries the value that was refused, so
//! that a log line says which register or header field the TDX module or the VMM got wrong
//! without a debugger.

use core::fmt;

use super::status::TdxStatus;
use super::tdcall::TdcallLeaf;
use super::tdvmcall::{VmcallStatus, VmcallSubfunction};

/// A request that cannot be built, or an answer that cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdxError {
    /// A value that must be a multiple of `align` is not.
    Misaligned {
        /// The register or field.
        field: &'static str,
        /// The value refused.
        value: u64,
        /// The alignment the interface requires, in bytes.
        align: u64,
    },
    /// A value outside the inclusive range `min..=max` that the interface allows.
    OutOfRange {
        /// The register or field.
        field: &'static str,
        /// The value refused.
        value: u64,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A value that names nothing the interface defines (a GPAW other than 48 or 52, an
    /// access size of 3, a status code with no meaning).
    Unrecognised {
        /// The register or field.
        field: &'static str,
        /// The value refused.
        value: u64,
    },
    /// A GPA whose shared bit is not what the operation needs (MMIO and GetQuote buffers
    /// are shared, pages to accept are private), or that has bits set above the GPA width.
    WrongSharing {
        /// The register or field.
        field: &'static str,
        /// The GPA refused.
        gpa: u64,
        /// Whether the operation needs the shared bit set.
        want_shared: bool,
    },
    /// An arithmetic step on a host-supplied or caller-supplied value would wrap.
    Overflow {
        /// The register or field.
        field: &'static str,
        /// The value that made the sum wrap.
        value: u64,
    },
    /// The TDX module refused a TDCALL (TDX Module ABI spec, "Completion Status Codes").
    Tdcall {
        /// The leaf that was called.
        leaf: TdcallLeaf,
        /// RAX as the module returned it.
        status: TdxStatus,
    },
    /// The VMM refused a TDG.VP.VMCALL (GHCI spec, "TDG.VP.VMCALL return codes", in R10).
    Vmcall {
        /// The sub-function that was called.
        subfunction: VmcallSubfunction,
        /// R10 as the VMM returned it.
        status: VmcallStatus,
    },
    /// MapGPA kept asking to be retried at the same GPA.
    NoProgress {
        /// The GPA the VMM kept returning in R11.
        gpa: u64,
        /// How many answers in a row made no progress.
        attempts: u32,
    },
    /// An EPT-violation #VE on a private GPA. Private memory never takes #VE once SEPT #VE
    /// is disabled, so this is either a host attack or a kernel bug; Linux panics here.
    /// It must not be emulated: emulating it would hand a private access to the VMM.
    PrivateMemoryVe {
        /// The faulting GPA (shared bit clear).
        gpa: u64,
    },
    /// A #VE the guest recognises but will not emulate (string I/O, MWAIT, WBINVD...).
    NotEmulated {
        /// The VMX exit reason from TDG.VP.VEINFO.GET.
        exit_reason: u32,
        /// Why it is refused.
        why: &'static str,
    },
    /// The quote service answered with an error status in the GetQuote buffer header.
    QuoteFailed {
        /// The status field as the VMM wrote it.
        status: u64,
    },
}

impl fmt::Display for TdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Misaligned { field, value, align } => {
                write!(f, "{field} = {value:#x} is not {align:#x}-aligned")
            }
            Self::OutOfRange { field, value, min, max } => {
                write!(f, "{field} = {value:#x} is outside {min:#x}..={max:#x}")
            }
            Self::Unrecognised { field, value } => write!(f, "{field} = {value:#x} is not defined"),
            Self::WrongSharing { field, gpa, want_shared } => {
                let want = if want_shared { "shared" } else { "private" };
                write!(f, "{field} = {gpa:#x} is not a {want} GPA inside the GPA width")
            }
            Self::Overflow { field, value } => write!(f, "{field} = {value:#x} overflows"),
            Self::Tdcall { leaf, status } => {
                write!(f, "TDCALL {leaf:?} failed with status {:#018x}", status.raw())
            }
            Self::Vmcall { subfunction, status } => {
                write!(f, "TDG.VP.VMCALL {subfunction:?} failed with R10 = {:#018x}", status.raw())
            }
            Self::NoProgress { gpa, attempts } => {
                write!(f, "MapGPA made no progress at {gpa:#x} after {attempts} retries")
            }
            Self::PrivateMemoryVe { gpa } => write!(f, "EPT-violation #VE on private GPA {gpa:#x}"),
            Self::NotEmulated { exit_reason, why } => {
                write!(f, "#VE exit reason {exit_reason} is not emulated: {why}")
            }
            Self::QuoteFailed { status } => write!(f, "GetQuote status {status:#018x}"),
        }
    }
}

impl core::error::Error for TdxError {}
