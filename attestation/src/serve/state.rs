//! Everything a request handler needs, loaded once at start-up and shared read-only.

use std::path::PathBuf;

use crate::appraisal::{Policy, ReferenceValues};
use crate::serve::metrics::Metrics;
use crate::snp::{AmdCert, AmdCrl};
use crate::tdx::TdxCollateral;
use crate::time::VerificationTime;
use crate::token::{NonceIssuer, TokenSigner};

/// The service's configuration and shared state.
#[derive(Debug)]
pub struct AppState {
    /// Signs tokens; published at `/jwks`.
    pub signer: TokenSigner,
    /// Issues and checks challenge nonces.
    pub nonces: NonceIssuer,
    /// The appraisal policy.
    pub policy: Policy,
    /// Reference values.
    pub refs: ReferenceValues,
    /// DCAP collateral for TDX quotes.
    pub collateral: Option<TdxCollateral>,
    /// A local cache of SNP certificates.
    pub certs: Vec<AmdCert>,
    /// SNP CRLs to check (`*.crl` under `--certs`).
    pub crls: Vec<AmdCrl>,
    /// Whether sim evidence is accepted (`--allow-sim`).
    pub allow_sim: bool,
    /// Directory of releasable resources (`<dir>/<repo>/<type>/<tag>`).
    pub resource_dir: Option<PathBuf>,
    /// Token lifetime in seconds.
    pub token_lifetime: u64,
    /// A pinned clock (`--at`; for demos against old vectors), else the wall clock.
    pub fixed_time: Option<VerificationTime>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
}

impl AppState {
    /// Returns the time to verify at.
    pub fn now(&self) -> VerificationTime {
        self.fixed_time.unwrap_or_else(VerificationTime::now)
    }
}
