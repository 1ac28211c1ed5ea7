//! Binding evidence to a challenge: what the 64 bytes of report data must hold.
//!
//! # Construction
//! ```text
//! report_data[0..64] = SHA-512( nonce ‖ runtime_data )
//! ```
//! - `nonce` is the challenge nonce exactly as the service issued it: the UTF-8 bytes of the
//!   base64url string returned by `POST /challenge` (or given to the CLI with `--nonce`),
//!   with no decoding. Issued nonces all have the same length (see [`crate::token::nonce`]),
//!   so the concatenation is unambiguous.
//! - `runtime_data` is whatever the guest wants bound alongside (typically a public key it
//!   will use to receive secrets), raw bytes; empty if none.
//! - SHA-512 because both TDX `REPORTDATA` and SNP `REPORT_DATA` are exactly 64 bytes, so the
//!   digest fills the field with nothing left to define.
//!
//! The functions are `attest_client::binding`'s: the guest's client computes the same
//! bytes from the same code. Over the KBS protocol, Trustee's binding is accepted as well
//! ([`trustee_report_data`]; see `crate::serve::kbs`).

pub use attest_client::binding::{expected_report_data, trustee_report_data};

/// Which report-data constructions a piece of evidence may use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Binding {
    /// Only this project's, SHA-512(nonce ‖ runtime_data).
    #[default]
    Cocoon,
    /// That, or Trustee's, SHA-384(R₃) ‖ 16 zero bytes, where R₃ is the KBS message's runtime
    /// data as Trustee hashes it (`attest_client::kbs::trustee_runtime_data_bytes`), whose
    /// nonce the service has checked, so that it binds the nonce too. KBS route only.
    CocoonOrTrustee {
        /// R₃.
        trustee_runtime_data: Vec<u8>,
    },
}

/// Returns `true` if `report_data` binds `nonce` and `runtime_data`.
pub fn binds(report_data: &[u8; 64], nonce: &[u8], runtime_data: &[u8]) -> bool {
    *report_data == expected_report_data(nonce, runtime_data)
}

#[cfg(test)]
mod test {
    use super::*;
    use sha2::{Digest as _, Sha512};

    #[test]
    fn binding_is_sha512_of_nonce_then_runtime_data() {
        let d = expected_report_data(b"abc", b"");
        assert_eq!(hex::encode(&d[..8]), "ddaf35a193617aba");
        assert!(binds(&expected_report_data(b"n", b"key"), b"n", b"key"));
        assert!(!binds(&expected_report_data(b"n", b"key"), b"n", b"kez"));
    }

    /// A 55-character nonce, as the service issues them.
    const KAT_NONCE: &[u8] = b"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCk";
    /// Runtime data that is not text, so no encoding step can hide in the construction.
    const KAT_RUNTIME_DATA: &[u8] = b"\x00\x01\x02\xfe\xffruntime key";
    /// From the shell, independently of this crate:
    /// `printf '%s\x00\x01\x02\xfe\xffruntime key' "$NONCE" | sha512sum`
    const KAT_REPORT_DATA: &str = "a8a1be767eb5fa6481c4a96c2fa4f68db73d63eb52d74ab4f7489eefc6f60e19\
                                              6c342e35f6d7cfbcf5132bccfb9ac2fb0d86276ee64ead4b133272572502494d";

    #[test]
    fn nonce_and_non_empty_runtime_data_give_the_known_answer() {
        assert_eq!(KAT_NONCE.len(), 55);
        let mut concatenated = KAT_NONCE.to_vec();
        concatenated.extend_from_slice(KAT_RUNTIME_DATA);
        let independent: [u8; 64] = Sha512::digest(&concatenated).into();
        assert_eq!(hex::encode(independent), KAT_REPORT_DATA);
        assert_eq!(hex::encode(expected_report_data(KAT_NONCE, KAT_RUNTIME_DATA)), KAT_REPORT_DATA);
        assert!(binds(&independent, KAT_NONCE, KAT_RUNTIME_DATA));
    }

    #[test]
    fn one_changed_bit_of_runtime_data_or_nonce_breaks_the_binding() {
        let kat: [u8; 64] = hex::decode(KAT_REPORT_DATA).unwrap().try_into().unwrap();
        for i in 0..KAT_RUNTIME_DATA.len() {
            let mut rd = KAT_RUNTIME_DATA.to_vec();
            rd[i] ^= 0x01;
            assert!(!binds(&kat, KAT_NONCE, &rd), "runtime data byte {i}");
        }
        let mut nonce = KAT_NONCE.to_vec();
        nonce[54] ^= 0x01;
        assert!(!binds(&kat, &nonce, KAT_RUNTIME_DATA));
        assert!(!binds(&kat, KAT_NONCE, b""), "runtime data is part of the hash");
    }
}
