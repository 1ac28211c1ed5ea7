//! The simulated TEE playing SEV-SNP (`tee=sim sim.registers=none`): its report in SNP's
//! ATTESTATION_REPORT layout (SNP firmware ABI, table "ATTESTATION_REPORT Structure",
//! version 2, 0x4A0 bytes), signed as the PSP signs one (ECDSA P-384 with SHA-384 over bytes
//! 0x000..0x2A0, r and s little-endian in 72-byte fields) but with a published development
//! key instead of a VCEK.
//!
//! Tools written for `/dev/sev-guest` (`snpguest`, go-sev-guest) read these reports as they
//! read a real one, and the verifier parses them with the same code as real SNP evidence
//! (`tee::snp`), checking the signature against this key where it would check a VCEK chain,
//! and only when told to accept simulated evidence. Anyone can forge one (the key is
//! `dev/sim-snp-dev-key.pk8`, see `dev/README.md`).
//!
//! The fields a sim sets (all others are zero):
//!
//! ```text
//! offset size field
//! 0x000  4    version: 2
//! 0x008  8    policy: bit 17 (reserved, must be 1), bit 16 (SMT allowed), bit 19 if debug
//! 0x030  4    vmpl: the VMPL the caller asked for (0 to 3)
//! 0x034  4    signature_algo: 1 (ECDSA P-384 with SHA-384)
//! 0x048  4    key_info: 0 (signed by the "VCEK", chip key not masked)
//! 0x050  64   report_data
//! 0x090  48   measurement: the simulated launch measurement
//! 0x1A0  64   chip_id: SHA-512 of "cocoon simulated SEV-SNP chip" ([`CHIP_ID_INPUT`]);
//!             not zero, as zero means "masked" to readers of version-2 reports (`sev`
//!             then refuses to tell the CPU generation), and not Turin's 8-byte form
//! 0x2A0  72   signature r, little-endian, zero-extended
//! 0x2E8  72   signature s, likewise; 368 reserved zero bytes follow
//! ```

use p384::ecdsa::signature::Signer;
use p384::ecdsa::{Signature, SigningKey};
use p384::pkcs8::DecodePrivateKey;

/// The development key that signs SNP-layout sim reports (PKCS#8 DER, P-384), published on
/// purpose.
pub const DEV_KEY_PKCS8: &[u8] = include_bytes!("../dev/sim-snp-dev-key.pk8");

/// Bytes in an attestation report.
pub const REPORT_LEN: usize = 0x4A0;
/// The bytes the signature covers: `0..SIGNED_LEN`.
pub const SIGNED_LEN: usize = 0x2A0;
/// The report version written.
pub const VERSION: u32 = 2;
/// `signature_algo` for ECDSA P-384 with SHA-384.
pub const SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;
/// The highest VMPL.
pub const MAX_VMPL: u32 = 3;

/// What the sim's chip_id is the SHA-512 of.
pub const CHIP_ID_INPUT: &[u8] = b"cocoon simulated SEV-SNP chip";

/// Policy bit 16: SMT may be enabled.
const POLICY_SMT: u64 = 1 << 16;
/// Policy bit 17: reserved, must be one.
const POLICY_RESERVED_ONE: u64 = 1 << 17;
/// Policy bit 19: the guest may be debugged (its memory is then the host's to read).
const POLICY_DEBUG: u64 = 1 << 19;

/// What an SNP-layout sim report says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnpLayoutBody {
    /// The simulated launch measurement.
    pub measurement: [u8; 48],
    /// The 64 bytes the caller bound into the report.
    pub report_data: [u8; 64],
    /// The VMPL the report was requested at (0 to [`MAX_VMPL`]).
    pub vmpl: u32,
    /// Whether the simulated guest runs in debug mode.
    pub debug: bool,
}

impl SnpLayoutBody {
    /// Returns the report, signed with the development key; `None` for a VMPL above
    /// [`MAX_VMPL`] (the PSP refuses such a request).
    pub fn sign(&self) -> Option<alloc::vec::Vec<u8>> {
        if self.vmpl > MAX_VMPL {
            return None;
        }
        let mut report = alloc::vec![0u8; REPORT_LEN];
        let mut put = |at: usize, bytes: &[u8]| report[at..at + bytes.len()].copy_from_slice(bytes);
        put(0x000, &VERSION.to_le_bytes());
        let debug = if self.debug { POLICY_DEBUG } else { 0 };
        put(0x008, &(POLICY_RESERVED_ONE | POLICY_SMT | debug).to_le_bytes());
        put(0x030, &self.vmpl.to_le_bytes());
        put(0x034, &SIG_ALGO_ECDSA_P384_SHA384.to_le_bytes());
        put(0x050, &self.report_data);
        put(0x090, &self.measurement);
        put(0x1A0, &<sha2::Sha512 as sha2::Digest>::digest(CHIP_ID_INPUT));
        let signature: Signature = dev_key().sign(&report[..SIGNED_LEN]);
        let (r, s) = signature.split_bytes();
        for (field, big_endian) in [(SIGNED_LEN, r), (SIGNED_LEN + 72, s)] {
            for (i, byte) in big_endian.iter().rev().enumerate() {
                report[field + i] = *byte;
            }
        }
        Some(report)
    }
}

/// Returns the development signing key.
pub fn dev_key() -> SigningKey {
    // The key is a constant of this crate and its test checks it parses: a failure here is
    // a build defect, not input.
    SigningKey::from_pkcs8_der(DEV_KEY_PKCS8)
        .expect("dev/sim-snp-dev-key.pk8 is a P-384 PKCS#8 key")
}

#[cfg(test)]
mod tests {
    use p384::ecdsa::VerifyingKey;
    use p384::ecdsa::signature::Verifier;

    use super::*;

    fn body(vmpl: u32, debug: bool) -> SnpLayoutBody {
        SnpLayoutBody { measurement: [7; 48], report_data: [9; 64], vmpl, debug }
    }

    #[test]
    fn the_report_parses_as_snp_and_says_what_the_sim_put_in() {
        let bytes = body(2, true).sign().unwrap();
        let view = tee::snp::ReportBytes::new_checked(&bytes[..]).unwrap();
        let report = tee::snp::AttestationReport::parse(&view).unwrap();
        assert_eq!(report.version, VERSION);
        assert_eq!((report.report_data, report.measurement), ([9; 64], [7; 48]));
        assert_eq!((report.vmpl, report.signature_algo), (2, SIG_ALGO_ECDSA_P384_SHA384));
        assert!(report.policy.debug_allowed() && report.policy.smt_allowed());
        assert_eq!(report.key_info.signing_key(), tee::snp::SigningKey::Vcek);
        let chip_id = <sha2::Sha512 as sha2::Digest>::digest(CHIP_ID_INPUT);
        assert_eq!(report.chip_id[..], chip_id[..]);
        assert!(report.chip_id[8..].iter().any(|&b| b != 0), "not Turin's 8-byte form");
        let plain = tee::snp::AttestationReport::from_bytes(&body(0, false).sign().unwrap());
        assert!(!plain.unwrap().policy.debug_allowed());
    }

    #[test]
    fn the_signature_verifies_with_the_dev_public_key_over_the_signed_range() {
        let bytes = body(0, false).sign().unwrap();
        let report = tee::snp::AttestationReport::from_bytes(&bytes).unwrap();
        let (r, s) = (report.signature.r_be().unwrap(), report.signature.s_be().unwrap());
        let signature = Signature::from_scalars(r, s).unwrap();
        let key = VerifyingKey::from(&dev_key());
        assert!(key.verify(&bytes[..SIGNED_LEN], &signature).is_ok());
        let mut changed = bytes.clone();
        changed[0x50] ^= 1;
        assert!(key.verify(&changed[..SIGNED_LEN], &signature).is_err());
        assert!(report.signature.reserved.iter().all(|&b| b == 0));
    }

    #[test]
    fn a_vmpl_above_3_gets_no_report() {
        assert!(body(4, false).sign().is_none());
        assert!(body(MAX_VMPL, false).sign().is_some());
    }
}
