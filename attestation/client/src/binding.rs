//! What the 64 bytes of report data hold, for a nonce and runtime data.
//!
//! ```text
//! report_data[0..64] = SHA-512( nonce ‖ runtime_data )                      this project's binding
//! report_data[0..64] = SHA-384( R₃ ) ‖ 16 zero bytes                        Trustee's, KBS route only
//! ```
//! - `nonce` is the challenge nonce exactly as issued: the UTF-8 bytes of the string, with no
//!   decoding. The service's nonces all have one length, so the concatenation is unambiguous.
//! - `runtime_data` is whatever the guest binds alongside, raw bytes. Over the KBS protocol
//!   it is [`crate::kbs::runtime_data_bytes`]: the JSON `{"nonce", "tee-pubkey"}`.
//! - `R₃` is how Trustee's attesters and KBS build it for protocol 0.4.0
//!   ([`crate::kbs::trustee_runtime_data_bytes`]: those two members and
//!   `"additional-evidence"`). It carries the nonce itself, so that form binds the nonce too.
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
/// SHA-384, zero-padded to the field's 64 bytes). Pass it `R₃` (see the module doc).
pub fn trustee_report_data(runtime_data: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..48].copy_from_slice(&Sha384::digest(runtime_data));
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn trustees_form_is_sha384_of_the_bytes_then_zeros() {
        // From the shell, independently: printf 'abc' | sha384sum
        let want = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                    8086072ba1e7cc2358baeca134c825a7";
        let got = trustee_report_data(b"abc");
        assert_eq!(hex_of(&got[..48]), want);
        assert!(got[48..].iter().all(|&b| b == 0));
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
