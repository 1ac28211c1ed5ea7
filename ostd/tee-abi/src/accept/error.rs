//! What can be wrong with an unaccepted-memory description or an acceptance request.

use core::fmt;

/// A firmware description or a request that cannot be used. Each variant names the field
/// and carries the value refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptError {
    /// The copy ends before the field does.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs from the start of the copy.
        needed: u64,
        /// Bytes the copy has.
        available: u64,
    },
    /// The table's version is not 1.
    Version {
        /// The version found.
        value: u32,
    },
    /// A unit size that is not a power of two of at least 4 KiB.
    UnitSize {
        /// The size found.
        value: u64,
    },
    /// An address that must be a multiple of `align` is not.
    Misaligned {
        /// The field.
        field: &'static str,
        /// The value refused.
        value: u64,
        /// The alignment required.
        align: u64,
    },
    /// A sum or product on this value would wrap past `u64::MAX`.
    Overflow {
        /// The field.
        field: &'static str,
        /// The value that made it wrap.
        value: u64,
    },
    /// A range whose end is below its start.
    InvertedRange {
        /// Start.
        start: u64,
        /// End (exclusive).
        end: u64,
    },
    /// A value past the limit this crate accepts (e.g. a bitmap too large to hold).
    TooLarge {
        /// The field.
        field: &'static str,
        /// The value refused.
        value: u64,
        /// The largest value accepted.
        max: u64,
    },
}

impl fmt::Display for AcceptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { field, needed, available } => {
                write!(f, "{field} needs {needed} bytes, the copy has {available}")
            }
            Self::Version { value } => write!(f, "unaccepted-memory table version {value}, not 1"),
            Self::UnitSize { value } => {
                write!(f, "unit size {value:#x} is not a power of two of at least 4 KiB")
            }
            Self::Misaligned { field, value, align } => {
                write!(f, "{field} = {value:#x} is not {align:#x}-aligned")
            }
            Self::Overflow { field, value } => write!(f, "{field} = {value:#x} overflows"),
            Self::InvertedRange { start, end } => {
                write!(f, "range end {end:#x} is below its start {start:#x}")
            }
            Self::TooLarge { field, value, max } => {
                write!(f, "{field} = {value:#x} is larger than {max:#x}")
            }
        }
    }
}

impl core::error::Error for AcceptError {}
