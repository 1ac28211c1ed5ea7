//! Everything a request handler needs, loaded once at start-up and shared read-only.

use std::path::PathBuf;

use crate::appraisal::{Policy, ReferenceValues};
use crate::release::ResourcePolicy;
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
    /// Which tokens may read which resource path (`--resource-policy`); `None` releases
    /// nothing.
    pub resource_policy: Option<ResourcePolicy>,
    /// Token lifetime in seconds.
    pub token_lifetime: u64,
    /// The time certificates, CRLs and collateral are checked at (`--at`, for demos against
    /// old vectors); `None` is the wall clock. Never used for nonces, tokens or the replay
    /// set: a pinned clock there would make every token expired on issue and fill the
    /// replay set for good.
    pub verify_at: Option<VerificationTime>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
}

impl AppState {
    /// Returns the time to check certificate, CRL and collateral validity at.
    pub fn verify_time(&self) -> VerificationTime {
        self.verify_at.unwrap_or_else(VerificationTime::now)
    }

    /// Returns the wall-clock time, for nonce and token lifetimes and the replay set.
    pub fn clock(&self) -> VerificationTime {
        VerificationTime::now()
    }
}
