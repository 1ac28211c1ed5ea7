//! The attestation verifier: evidence in, an explained verdict and a signed token out.
//!
//! # Layers
//! - [`time`]: the pinned instant every check is made at (no wall clock in the library).
//! - [`tdx`]: TDX quotes, verified with `dcap-qvl` against local DCAP collateral.
//! - [`snp`]: SNP reports, verified against VCEK/VLEK chains to the built-in AMD roots.
//! - [`eventlog`]: CC event log replay against a verified quote's RTMRs.
//! - [`sim`]: simulated evidence signed by a published development key (opt-in only).
//! - [`evidence`]: recognising raw quotes, raw reports, configfs-tsm JSON, Trustee SNP JSON
//!   and evidence JSON.
//! - [`verifier`]: one entry point, evidence in, [`verifier::VerifiedEvidence`] out.
//! - [`appraisal`]: policy and reference values → a [`appraisal::Verdict`] of claims.
//! - [`token`]: EAR claims in ES256 JWTs (`ring`), JWKS, stateless nonces.
//! - [`release`]: the resource policy, and resources sealed (JWE) to the guest's key.
//! - [`serve`]: the HTTP service (axum): challenge, attest, jwks, resource, metrics.
//! - [`cli`]: `attest verify`, with its exit codes.
//! - [`binding`]: the report-data construction that binds a nonce and runtime data.
//! - [`x509`]: certificate rules checked here rather than trusted to the libraries.
//!
//! Parsing is `tee`'s job; this crate adds only signatures, chains, times and policy.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod appraisal;
pub mod binding;
pub mod cli;
pub mod eventlog;
pub mod evidence;
pub mod release;
pub mod serve;
pub mod sim;
pub mod snp;
pub mod tdx;
pub mod time;
pub mod token;
pub mod verifier;
pub mod x509;
