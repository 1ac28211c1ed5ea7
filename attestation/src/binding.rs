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
//! The comparison is constant-time in the digest (it is not secret, but this costs nothing).

use sha2::{Digest, Sha512};

/// Returns the 64 bytes a guest must put in its report data for `nonce` and `runtime_data`.
pub fn expected_report_data(nonce: &[u8], runtime_data: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(nonce);
    h.update(runtime_data);
    h.finalize().into()
}

/// Returns `true` if `report_data` binds `nonce` and `runtime_data`.
pub fn binds(report_data: &[u8; 64], nonce: &[u8], runtime_data: &[u8]) -> bool {
    let want = expected_report_data(nonce, runtime_data);
    want.iter().zip(report_data).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn binding_is_sha512_of_nonce_then_runtime_data() {
        let d = expected_report_data(b"abc", b"");
        assert_eq!(hex::encode(&d[..8]), "ddaf35a193617aba");
        assert!(binds(&expected_report_data(b"n", b"key"), b"n", b"key"));
        assert!(!binds(&expected_report_data(b"n", b"key"), b"n", b"kez"));
    }
}
