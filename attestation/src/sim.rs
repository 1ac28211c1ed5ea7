//! Simulated evidence: a report shaped like a TEE's, signed by a published development key.
//!
//! For the simulated TEE the guest kernel offers on hardware without TDX or SNP. Anyone can
//! forge it (the key is in `dev/sim-dev-key.pk8`), so verification is refused unless the
//! caller opts in, and every verdict and token for it says `simulated`.
//!
//! ```text
//! offset size field
//! 0x00   4    magic "SIMR"
//! 0x04   4    version (u32 LE) = 1
//! 0x08   1    debug (0 or 1)
//! 0x09   7    reserved, zero
//! 0x10   48   measurement
//! 0x40   64   report_data
//! 0x80   64   ECDSA P-256/SHA-256 signature over bytes 0x00..0x80, r ‖ s big-endian
//! ```

use std::fmt;
use std::sync::OnceLock;

use ring::signature::{self, EcdsaKeyPair, KeyPair as _};

const DEV_KEY_PKCS8: &[u8] = include_bytes!("../dev/sim-dev-key.pk8");
const MAGIC: &[u8; 4] = b"SIMR";
const SIGNED_LEN: usize = 0x80;

/// Length of a simulated report.
pub const SIM_REPORT_LEN: usize = 0xC0;

/// A simulated report whose signature verified (and whose use was allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::manual_non_exhaustive,
    reason = "the private `_verified` field, not `#[non_exhaustive]`, keeps construction \
              inside this module, where the checks are: the type is the proof"
)]
pub struct VerifiedSimReport {
    /// The simulated launch measurement.
    pub measurement: [u8; 48],
    /// The report data.
    pub report_data: [u8; 64],
    /// Whether the simulated guest runs in debug mode.
    pub debug: bool,
    _verified: (),
}

/// Why a simulated report was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// Simulated evidence was not enabled (`--allow-sim`).
    NotAllowed,
    /// Wrong length.
    Length {
        /// Bytes received.
        got: usize,
    },
    /// A header field is wrong.
    Header {
        /// The field.
        field: &'static str,
    },
    /// The development key did not sign bytes 0x00..0x80.
    BadSignature,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed => {
                f.write_str("simulated evidence is not accepted (start with --allow-sim)")
            }
            Self::Length { got } => write!(f, "sim report is {got} bytes, not {SIM_REPORT_LEN}"),
            Self::Header { field } => write!(f, "sim report field {field} is invalid"),
            Self::BadSignature => {
                f.write_str("sim report signature (bytes 0x00..0x80) does not verify")
            }
        }
    }
}

impl std::error::Error for SimError {}

fn dev_key() -> Option<&'static EcdsaKeyPair> {
    static KEY: OnceLock<Option<EcdsaKeyPair>> = OnceLock::new();
    KEY.get_or_init(|| {
        let rng = ring::rand::SystemRandom::new();
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, DEV_KEY_PKCS8, &rng)
            .ok()
    })
    .as_ref()
}

/// Builds and signs a simulated report with the development key.
pub fn sign_sim_report(measurement: &[u8; 48], report_data: &[u8; 64], debug: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIM_REPORT_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.push(u8::from(debug));
    out.extend_from_slice(&[0; 7]);
    out.extend_from_slice(measurement);
    out.extend_from_slice(report_data);
    let rng = ring::rand::SystemRandom::new();
    if let Some(sig) = dev_key().and_then(|k| k.sign(&rng, &out).ok()) {
        out.extend_from_slice(sig.as_ref());
    }
    out
}

/// Verifies a simulated report; `allowed` must be the operator's explicit opt-in.
///
/// # Errors
/// [`SimError::NotAllowed`] first, then structure and signature errors.
pub fn verify_sim_report(bytes: &[u8], allowed: bool) -> Result<VerifiedSimReport, SimError> {
    if !allowed {
        return Err(SimError::NotAllowed);
    }
    if bytes.len() != SIM_REPORT_LEN {
        return Err(SimError::Length { got: bytes.len() });
    }
    let (signed, sig) = bytes.split_at(SIGNED_LEN);
    if signed.get(0..4) != Some(MAGIC) {
        return Err(SimError::Header { field: "magic" });
    }
    if signed.get(4..8) != Some(&1u32.to_le_bytes()[..]) {
        return Err(SimError::Header { field: "version" });
    }
    let debug = match signed.get(8) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(SimError::Header { field: "debug" }),
    };
    if signed.get(9..16) != Some(&[0u8; 7][..]) {
        return Err(SimError::Header { field: "reserved" });
    }
    let public = dev_key().ok_or(SimError::BadSignature)?.public_key().as_ref();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public)
        .verify(signed, sig)
        .map_err(|_| SimError::BadSignature)?;
    let mut measurement = [0u8; 48];
    let mut report_data = [0u8; 64];
    measurement.copy_from_slice(signed.get(0x10..0x40).unwrap_or(&[0; 48]));
    report_data.copy_from_slice(signed.get(0x40..0x80).unwrap_or(&[0; 64]));
    Ok(VerifiedSimReport { measurement, report_data, debug, _verified: () })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_signed_sim_report_verifies_only_when_allowed() {
        let r = sign_sim_report(&[7; 48], &[9; 64], false);
        assert_eq!(r.len(), SIM_REPORT_LEN);
        assert_eq!(verify_sim_report(&r, false), Err(SimError::NotAllowed));
        let v = verify_sim_report(&r, true).unwrap();
        assert_eq!((v.measurement, v.debug), ([7; 48], false));
    }

    #[test]
    fn every_single_byte_change_in_a_sim_report_is_rejected() {
        let r = sign_sim_report(&[7; 48], &[9; 64], false);
        for i in 0..r.len() {
            let mut m = r.clone();
            m[i] ^= 1;
            assert!(verify_sim_report(&m, true).is_err(), "byte {i}");
        }
    }
}
