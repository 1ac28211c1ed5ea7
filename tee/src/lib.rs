//! What both sides of attestation must agree on: TEE report and quote layouts, and event logs.
//!
//! The guest kernel produces these structures and the verifier (`attestation/`) parses them,
//! with this one crate, so the two cannot drift apart. It is `no_std` (with `alloc`) for the
//! kernel; the `std` feature adds the configfs-tsm JSON shape for host users.
//!
//! # Layers
//! - [`tdx`]: Intel TDX — the TDREPORT, and quotes v4/v5 with their certification data.
//! - [`snp`]: AMD SEV-SNP — the attestation report (v2–v5), TCB words, policy bits, and the
//!   certificate table.
//! - [`eventlog`]: the TCG2 crypto-agile event log (the CCEL), the ACPI CCEL table, and
//!   replay into RTMRs.
//! - `tsm` (feature `std`): the JSON form of a Linux configfs-tsm report.
//!
//! # The contract for untrusted bytes (Packet/Repr)
//! Every format follows the same path: raw bytes → checked view → typed value.
//! - `XxxBytes::new_checked(buf)` (e.g. [`tdx::QuoteBytes`], [`snp::ReportBytes`]) checks the
//!   structure, and exposes the byte ranges a signature covers (`signed_bytes()`), taken from
//!   the original buffer. Once it succeeds, no accessor panics.
//! - `Xxx::parse` gives the typed value, which keeps every byte (reserved ones included), so
//!   `to_bytes()` reproduces the input exactly.
//! - Every parser is total: any input yields a value or a [`ParseError`] that names the field
//!   and its absolute byte offset. Nothing indexes untrusted input without a check, nothing
//!   preallocates from an untrusted count, and nothing recurses more than one level.
//!
//! Nothing in this crate checks a signature, a certificate or a policy. The verifier does,
//! over the ranges this crate exposes.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod codec;
pub mod error;
pub mod eventlog;
pub mod guid;
pub mod snp;
pub mod tdx;
/// The simulated TEE's report (the guest's OSTD writes it, with the same crate).
pub use tee_abi::sim;
#[cfg(feature = "std")]
pub mod tsm;

pub use error::{EmitError, ParseError};
pub use guid::Guid;
