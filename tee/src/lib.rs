//! What both sides of attestation must agree on: TEE report and quote layouts, event logs,
//! and the simulated TEE's formats.
//!
//! `no_std` so the guest kernel can produce the very structures the verifier parses; the
//! `std` feature adds conveniences for host users.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
extern crate std;
