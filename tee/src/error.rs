//! Errors shared by every parser and serializer in this crate.
//!
//! Two enums, kept apart on purpose (as rustls keeps `ApiMisuse` apart from peer errors):
//! - [`ParseError`]: the *bytes* are wrong. Every variant names the field and the absolute
//!   byte offset (from the start of the outermost structure being parsed), so a log line is
//!   enough to find the bad byte in a hex dump.
//! - [`EmitError`]: the *caller* built a value that cannot be serialized, e.g. a QE
//!   authentication blob longer than its `u16` length prefix. Never caused by untrusted input.

use core::fmt;

/// Why a byte string was rejected as evidence of a given format.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ends before `field` is complete: `need` bytes were required at `offset`
    /// but only `got` remain.
    Truncated {
        /// The field that could not be read.
        field: &'static str,
        /// Absolute offset of the field's first byte.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes that were left.
        got: usize,
    },
    /// A version, type or algorithm field holds a value this crate does not implement.
    Unsupported {
        /// The field holding the value.
        field: &'static str,
        /// Absolute offset of the field.
        offset: usize,
        /// The value found, widened to `u64`.
        value: u64,
    },
    /// A field holds a value its format forbids.
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Absolute offset of the field.
        offset: usize,
        /// What rule the value breaks.
        reason: &'static str,
    },
    /// Bytes remain after a structure that must fill its container exactly.
    TrailingData {
        /// The container whose declared size was not used up.
        field: &'static str,
        /// Absolute offset of the first unexpected byte.
        offset: usize,
        /// How many unexpected bytes there are.
        len: usize,
    },
}

impl ParseError {
    /// Returns the name of the field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Truncated { field, .. }
            | Self::Unsupported { field, .. }
            | Self::Invalid { field, .. }
            | Self::TrailingData { field, .. } => field,
        }
    }

    /// Returns the absolute byte offset the error is about.
    pub fn offset(&self) -> usize {
        match self {
            Self::Truncated { offset, .. }
            | Self::Unsupported { offset, .. }
            | Self::Invalid { offset, .. }
            | Self::TrailingData { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset, need, got } => {
                write!(f, "truncated {field} at offset {offset}: need {need} bytes, got {got}")
            }
            Self::Unsupported { field, offset, value } => {
                write!(f, "unsupported {field} {value:#x} at offset {offset}")
            }
            Self::Invalid { field, offset, reason } => {
                write!(f, "invalid {field} at offset {offset}: {reason}")
            }
            Self::TrailingData { field, offset, len } => {
                write!(f, "{len} unexpected bytes after {field} at offset {offset}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}

/// Why a value built by the caller cannot be serialized.
///
/// These errors are never caused by parsed input: everything [`ParseError`] lets through
/// serializes again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// A variable-length field is longer than its length prefix can express.
    TooLong {
        /// The field that is too long.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The largest length the format allows.
        max: usize,
    },
    /// Two parts of the value contradict each other.
    Inconsistent {
        /// The field that does not fit the rest.
        field: &'static str,
        /// Which rule is broken.
        reason: &'static str,
    },
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { field, len, max } => {
                write!(f, "{field} is {len} bytes long; the format allows at most {max}")
            }
            Self::Inconsistent { field, reason } => write!(f, "inconsistent {field}: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EmitError {}
