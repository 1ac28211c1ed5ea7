//! The built-in AMD roots: ARK, ASK and ASVK for Milan, Genoa and Turin.
//!
//! They are compiled in from `attestation/roots/` (provenance in its README). The ARK is the
//! trust anchor; the ASK signs VCEKs and the ASVK signs VLEKs, each signed by the ARK. An ARK
//! or ASK that arrives with the evidence is never trusted for itself: it is only compared
//! with these.

use std::sync::OnceLock;

use tee::snp::Generation;

use crate::snp::cert::{AmdCert, CertError};

/// The CA certificates of one processor generation, with their links already checked.
///
/// # Invariants
/// The ARK signs itself, the ASK and the ASVK ([`AmdRoots::new`] checks this once, so each
/// report verification only checks the ASK/ASVK → VCEK/VLEK link).
#[derive(Debug, Clone)]
#[allow(
    clippy::manual_non_exhaustive,
    reason = "the private `_linked` field, not `#[non_exhaustive]`, keeps construction in `new`"
)]
pub struct AmdRoots {
    /// The generation these roots belong to.
    pub generation: Generation,
    /// The AMD Root Key (self-signed).
    pub ark: AmdCert,
    /// The AMD SEV Signing Key (signs VCEKs).
    pub ask: AmdCert,
    /// The AMD SEV VLEK Signing Key (signs VLEKs).
    pub asvk: AmdCert,
    _linked: (),
}

impl AmdRoots {
    /// Checks that `ark` signs itself, `ask` and `asvk`, and returns the set.
    ///
    /// # Errors
    /// [`CertError::AlgorithmMismatch`] or [`CertError::BadSignature`] naming the certificate
    /// or link that failed.
    pub fn new(
        generation: Generation,
        ark: AmdCert,
        ask: AmdCert,
        asvk: AmdCert,
    ) -> Result<Self, CertError> {
        ark.check_signed(&ark)?;
        ark.check_signed(&ask)?;
        ark.check_signed(&asvk)?;
        Ok(Self { generation, ark, ask, asvk, _linked: () })
    }
}

/// Generation, ARK PEM, ASK PEM, ASVK PEM.
type RootPems = (Generation, &'static [u8], &'static [u8], &'static [u8]);

const PEMS: [RootPems; 3] = [
    (
        Generation::Milan,
        include_bytes!("../../roots/amd-milan-ark.pem"),
        include_bytes!("../../roots/amd-milan-ask.pem"),
        include_bytes!("../../roots/amd-milan-asvk.pem"),
    ),
    (
        Generation::Genoa,
        include_bytes!("../../roots/amd-genoa-ark.pem"),
        include_bytes!("../../roots/amd-genoa-ask.pem"),
        include_bytes!("../../roots/amd-genoa-asvk.pem"),
    ),
    (
        Generation::Turin,
        include_bytes!("../../roots/amd-turin-ark.pem"),
        include_bytes!("../../roots/amd-turin-ask.pem"),
        include_bytes!("../../roots/amd-turin-asvk.pem"),
    ),
];

/// Returns the built-in roots for every generation (parsed once).
pub fn builtin_roots() -> &'static [AmdRoots] {
    static ROOTS: OnceLock<Vec<AmdRoots>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        PEMS.iter()
            .filter_map(|(generation, ark, ask, asvk)| {
                let name = generation.name();
                AmdRoots::new(
                    *generation,
                    AmdCert::parse(ark, &format!("built-in {name} ARK")).ok()?,
                    AmdCert::parse(ask, &format!("built-in {name} ASK")).ok()?,
                    AmdCert::parse(asvk, &format!("built-in {name} ASVK")).ok()?,
                )
                .ok()
            })
            .collect()
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_builtin_generation_parses_and_self_chains() {
        let roots = builtin_roots();
        assert_eq!(roots.len(), 3);
        for r in roots {
            r.ark.check_signed(&r.ark).unwrap();
            r.ark.check_signed(&r.ask).unwrap();
            r.ark.check_signed(&r.asvk).unwrap();
        }
    }

    #[test]
    fn milan_ark_does_not_sign_the_genoa_ask() {
        let roots = builtin_roots();
        assert!(roots[0].ark.check_signed(&roots[1].ask).is_err());
        let (milan, genoa) = (&roots[0], &roots[1]);
        let mixed = AmdRoots::new(
            Generation::Milan,
            milan.ark.clone(),
            genoa.ask.clone(),
            milan.asvk.clone(),
        );
        assert!(matches!(mixed, Err(CertError::BadSignature { .. })));
    }
}
