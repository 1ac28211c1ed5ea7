//! Simulated evidence: a report shaped like a TEE's, signed by a published development key.
//!
//! For the simulated TEE the guest kernel offers on hardware without TDX or SNP. Anyone can
//! forge it (the key is `ostd/tee-abi/dev/sim-dev-key.pk8`), so verification is refused
//! unless the caller opts in, and every verdict and token for it says `simulated`.
//!
//! The layouts are the guest's: [`tee_abi::sim`]'s (version 1, and version 2 with four
//! measurement registers), and SNP's ATTESTATION_REPORT when the sim plays SEV-SNP
//! ([`tee_abi::sim_snp`], parsed with `tee::snp` as real SNP evidence is). Signatures are
//! checked here with `ring`, an ECDSA implementation other than the guest's.

use std::fmt;
use std::sync::OnceLock;

use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use tee_abi::sim::{DEV_KEY_PKCS8, SimFormatError, SimReportBody};

/// Length of a simulated report without measurement registers (version 1).
pub const SIM_REPORT_LEN: usize = tee_abi::sim::V1_LEN;

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
    /// The four measurement registers (a version-2 report), in index order.
    pub registers: Option<[[u8; 48]; 4]>,
    /// Whether the simulated guest runs in debug mode.
    pub debug: bool,
    /// The VMPL of an SNP-layout report (the sim playing SEV-SNP); `None` for the sim's own
    /// layout, which has no privilege levels.
    pub vmpl: Option<u32>,
    _verified: (),
}

/// Why a simulated report was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// Simulated evidence was not enabled (`--allow-sim`).
    NotAllowed,
    /// The bytes are not a sim report (length, version or a header field).
    Format(SimFormatError),
    /// The bytes are an SNP-layout sim report that does not parse, or whose header says
    /// something the sim never signs (the field is named).
    SnpLayout(String),
    /// The development key did not sign the report.
    BadSignature,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed => {
                f.write_str("simulated evidence is not accepted (start with --allow-sim)")
            }
            Self::Format(e) => e.fmt(f),
            Self::SnpLayout(e) => write!(f, "SNP-layout sim report: {e}"),
            Self::BadSignature => {
                f.write_str("sim report signature (everything before it) does not verify")
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

/// Builds and signs a simulated report (version 1: no registers) with the development key.
pub fn sign_sim_report(measurement: &[u8; 48], report_data: &[u8; 64], debug: bool) -> Vec<u8> {
    SimReportBody { measurement: *measurement, report_data: *report_data, registers: None, debug }
        .sign()
}

/// Verifies a simulated report of either version; `allowed` must be the operator's explicit
/// opt-in.
///
/// # Errors
/// [`SimError::NotAllowed`] first, then structure and signature errors.
pub fn verify_sim_report(bytes: &[u8], allowed: bool) -> Result<VerifiedSimReport, SimError> {
    if !allowed {
        return Err(SimError::NotAllowed);
    }
    if bytes.len() == tee_abi::sim_snp::REPORT_LEN {
        return verify_snp_layout(bytes);
    }
    let parsed = tee_abi::sim::parse(bytes).map_err(SimError::Format)?;
    let public = dev_key().ok_or(SimError::BadSignature)?.public_key().as_ref();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public)
        .verify(parsed.signed, parsed.signature)
        .map_err(|_| SimError::BadSignature)?;
    let SimReportBody { measurement, report_data, registers, debug } = parsed.body;
    Ok(VerifiedSimReport { measurement, report_data, registers, debug, vmpl: None, _verified: () })
}

/// Verifies a report in SNP's layout (the sim playing SEV-SNP, [`tee_abi::sim_snp`]): parsed
/// as real SNP evidence is, its signature checked with `ring` against the development P-384
/// key where a real one's is checked against a VCEK.
fn verify_snp_layout(bytes: &[u8]) -> Result<VerifiedSimReport, SimError> {
    use tee::snp::{AttestationReport, ReportBytes, SigningKey};
    let layout = |e: &dyn fmt::Display| SimError::SnpLayout(e.to_string());
    let view = ReportBytes::new_checked(bytes).map_err(|e| layout(&e))?;
    let report = AttestationReport::parse(&view).map_err(|e| layout(&e))?;
    if report.signature_algo != AttestationReport::SIG_ALGO_ECDSA_P384_SHA384 {
        return Err(layout(&format_args!("signature_algo {}", report.signature_algo)));
    }
    if report.key_info.signing_key() != SigningKey::Vcek {
        return Err(layout(&"key_info names a key other than the VCEK the sim stands in for"));
    }
    let (Some(r), Some(s)) = (report.signature.r_be(), report.signature.s_be()) else {
        return Err(SimError::BadSignature);
    };
    let fixed = [r, s].concat();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, snp_layout_public_key())
        .verify(view.signed_bytes(), &fixed)
        .map_err(|_| SimError::BadSignature)?;
    Ok(VerifiedSimReport {
        measurement: report.measurement,
        report_data: report.report_data,
        registers: None,
        debug: report.policy.debug_allowed(),
        vmpl: Some(report.vmpl),
        _verified: (),
    })
}

/// The SNP-layout development key's public half, uncompressed SEC1.
fn snp_layout_public_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = tee_abi::sim_snp::dev_key();
        key.verifying_key().to_encoded_point(false).as_bytes().to_vec()
    })
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
        let v1 = sign_sim_report(&[7; 48], &[9; 64], false);
        let v2 = SimReportBody {
            measurement: [7; 48],
            report_data: [9; 64],
            registers: Some([[1; 48], [2; 48], [3; 48], [4; 48]]),
            debug: true,
        }
        .sign();
        for r in [v1, v2] {
            assert!(verify_sim_report(&r, true).is_ok());
            for i in 0..r.len() {
                let mut m = r.clone();
                m[i] ^= 1;
                assert!(verify_sim_report(&m, true).is_err(), "byte {i} of {}", r.len());
            }
        }
    }

    #[test]
    fn an_snp_layout_report_verifies_and_every_single_byte_change_in_what_is_signed_fails() {
        let body = tee_abi::sim_snp::SnpLayoutBody {
            measurement: [5; 48],
            report_data: [6; 64],
            vmpl: 1,
            debug: true,
        };
        let r = body.sign().unwrap();
        assert_eq!(verify_sim_report(&r, false), Err(SimError::NotAllowed));
        let v = verify_sim_report(&r, true).unwrap();
        assert_eq!(
            (v.measurement, v.report_data, v.registers, v.debug),
            ([5; 48], [6; 64], None, true)
        );
        // Every byte up to the end of s (the reserved tail after it is not signed, on SNP too).
        for i in 0..0x2A0 + 144 {
            let mut m = r.clone();
            m[i] ^= 1;
            assert!(verify_sim_report(&m, true).is_err(), "byte {i:#x}");
        }
        assert!(matches!(verify_sim_report(&r[..0x49f], true), Err(SimError::Format(_))));
    }

    #[test]
    fn a_version_2_report_signed_by_the_guest_code_verifies_here_with_its_registers() {
        let registers = [[1; 48], [2; 48], [3; 48], [4; 48]];
        let body = SimReportBody {
            measurement: [5; 48],
            report_data: [6; 64],
            registers: Some(registers),
            debug: false,
        };
        let v = verify_sim_report(&body.sign(), true).unwrap();
        assert_eq!((v.registers, v.report_data), (Some(registers), [6; 64]));
    }
}
