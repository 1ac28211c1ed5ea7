//! The guest side of Intel TDX and AMD SEV-SNP, as data and decisions.
//!
//! OSTD executes the TEE instructions (TDCALL, VMGEXIT, PVALIDATE) and owns the pages they
//! name; everything around them that is logic lives here, so that it runs and is tested on
//! the host: which leaf, which register holds what, what a status code means, how a GHCB or
//! a page-state-change request is laid out, which instruction faulted and what it meant to
//! do, how a guest message is sealed. Nothing here touches hardware or memory it does not
//! own, and the crate forbids `unsafe`.
//!
//! Everything the host or the firmware hands back (a GHCB, a CPUID page, a response message,
//! a #VE's exit qualification) arrives here as a copy, and is validated before any of it is
//! used as a length, an index or an address.
//!
//! # Modules
//! - [`tdx`]: TDCALL and TDVMCALL leaves and register layouts, the shared bit from GPAW.
//! - [`snp`]: the GHCB and its MSR protocol, page-state change, the CPUID page, guest messages.
//! - [`insn`]: decoding the instruction behind a #VE or #VC (MMIO, port I/O) into the access
//!   it makes, and applying the host's answer to the registers.
//! - [`accept`]: which 2 MiB chunks of firmware-unaccepted memory are accepted yet.
//! - [`sim`]: the simulated TEE's report and measurement-register rule.
//! - [`sim_snp`]: the simulated TEE's report in SEV-SNP's layout, when it plays SNP.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod accept;
pub mod insn;
pub mod sim;
pub mod sim_snp;
pub mod snp;
pub mod tdx;
