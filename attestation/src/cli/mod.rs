//! The `attest` command line, as library code so the binary stays thin.
//!
//! # Exit codes of `attest verify`
//! | code | meaning |
//! |---|---|
//! | 0 | [`EXIT_AFFIRMING`]: verified, and every appraisal claim passed |
//! | 1 | [`EXIT_DENIED`]: recognised evidence that failed verification (signature, chain, expiry, TCB level) or appraisal (policy, reference values, binding) |
//! | 2 | [`EXIT_BAD_INPUT`]: unusable input: unreadable or unrecognised evidence (including truncated reports), a bad policy, reference values, collateral or certificate file, a bad `--at`, or bad arguments (clap also exits 2) |
//!
//! `attest serve` exits 2 if its configuration cannot be loaded, 1 if it cannot bind.

mod dev;
mod dev_tls;
mod inputs;
mod serve;
mod verify;

pub use dev::{
    GuestKeyArgs, OpenJweArgs, SimEvidenceArgs, run_guest_key, run_open_jwe, run_sim_evidence,
};
pub use dev_tls::{DevPki, DevTlsArgs, dev_pki, run_dev_tls, write_pki};
pub use serve::{ServeArgs, run_serve};
pub use verify::{VerifyArgs, run_verify, verify_to_verdict};

/// Exit code: affirming.
pub const EXIT_AFFIRMING: i32 = 0;
/// Exit code: denied.
pub const EXIT_DENIED: i32 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
