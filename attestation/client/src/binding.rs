//! What the 64 bytes of report data hold, for a nonce and runtime data.
//!
//! ```text
//! report_data[0..64] = SHA-512( nonce ‖ runtime_data )                      this project's binding
//! report_data[0..64] = SHA-384( runtime_data ) ‖ 16 zero bytes              Trustee's, KBS route only
//! ```
//! - `nonce` is the challenge nonce exactly as issued: the UTF-8 bytes of the string, with no
//!   decoding. The service's nonces all have one length, so the concatenation is unambiguous.
//! - `runtime_data` is whatever the guest binds alongside, raw bytes. Over the KBS protocol
//!   it is [`crate::kbs::runtime_data_bytes`]: the JSON `{"nonce", "tee-pubkey"}`, which
//!   carries the nonce itself, so Trustee's form binds the nonce too.
//! - SHA-512 because TDX `REPORTDATA` and SNP `REPORT_DATA` are both exactly 64 bytes, so the
//!   digest fills the field with nothing left to define.

use sha2::{Digest, Sha384, Sha512};

/// Returns the report data this project's binding asks for.
pub fn expected_report_data(nonce: &[u8], runtime_data: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(nonce);
    h.update(runtime_data);
    h.finalize().into()
}

/// Returns the report data a Trustee attester makes for `runtime_data` (its default hash,
/// SHA-384, zero-padded to the field's 64 bytes).
pub fn trustee_report_data(runtime_data: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..48].copy_from_slice(&Sha384::digest(runtime_data));
    out
}

/// Returns `true` if `report_data` equals `want`, comparing every byte (the digest is not
/// secret, but this costs nothing).
pub fn equal(report_data: &[u8; 64], want: &[u8; 64]) -> bool {
    want.iter().zip(report_data).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
