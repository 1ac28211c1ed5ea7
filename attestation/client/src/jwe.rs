//! The resource JWE, as Trustee's KBS seals a resource to an EC `tee-pubkey`:
//! `"alg": "ECDH-ES+A256KW"`, `"enc": "A256GCM"`, in the flattened JSON serialization
//! (RFC 7516 §7.2.2).
//!
//! ```text
//! epk           = the sender's fresh P-256 key pair, its public half in the protected header
//! Z             = ECDH(epk, guest key)                    x-coordinate, 32 bytes
//! KEK           = Concat KDF(Z, "ECDH-ES+A256KW", apu = apv = empty, 256 bits)  RFC 7518 §4.6.2
//! encrypted_key = AES key wrap(KEK, CEK)                  RFC 3394, 40 bytes for a 32-byte CEK
//! ciphertext, tag = AES-256-GCM(CEK, iv, aad = ASCII(protected))
//! ```
//! Key wrapping (rather than `"alg": "ECDH-ES"`, where Z derives the CEK directly) is what
//! Trustee uses for EC keys, and it gives the JWE a non-empty `encrypted_key`, which
//! Trustee's `kbs_types::Response` requires (RFC 7516 §7.2.1 wants the member absent when the
//! key is empty, so direct agreement could not satisfy both).
//!
//! [`GuestKey`] is the recipient: the guest's private key, and the opening. The sender is the
//! verifier's `release::jwe`, which uses [`concat_kdf`] and [`ALG`] from here so both sides
//! derive the same key.

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key-management algorithm.
pub const ALG: &str = "ECDH-ES+A256KW";
/// The content-encryption algorithm.
pub const ENC: &str = "A256GCM";

/// Why a JWE could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JweError {
    /// A member is missing or malformed; names it.
    Malformed(&'static str),
    /// The header names an algorithm other than [`ALG`] + [`ENC`], or a parameter this
    /// opener does not implement; says which.
    Unsupported(String),
    /// The wrapped key or the tag does not verify: another key, or the JWE was changed.
    Decrypt,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "JWE member \"{m}\" is missing or malformed"),
            Self::Unsupported(found) => {
                write!(f, "JWE is {found}; only \"alg\": \"{ALG}\", \"enc\": \"{ENC}\" is opened")
            }
            Self::Decrypt => {
                f.write_str("JWE does not decrypt with this key (wrong key or altered)")
            }
        }
    }
}

impl std::error::Error for JweError {}

/// Derives `keydatalen` bits from the shared secret `z` (RFC 7518 §4.6.2: NIST SP 800-56A
/// Concat KDF with SHA-256; AlgorithmID, PartyUInfo and PartyVInfo each length-prefixed).
///
/// # Panics
/// Never for the lengths JWE uses; a field longer than 4 GiB would not fit its prefix.
pub fn concat_kdf(z: &[u8], alg: &str, apu: &[u8], apv: &[u8], keydatalen: u32) -> Vec<u8> {
    let mut other = Vec::new();
    for field in [alg.as_bytes(), apu, apv] {
        let len = u32::try_from(field.len()).expect("a JWE KDF field fits in 4 GiB");
        other.extend_from_slice(&len.to_be_bytes());
        other.extend_from_slice(field);
    }
    other.extend_from_slice(&keydatalen.to_be_bytes());
    let mut out = Vec::new();
    let mut counter = 1u32;
    while out.len() * 8 < keydatalen as usize {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        h.update(&other);
        out.extend_from_slice(&h.finalize());
        counter += 1;
    }
    out.truncate(keydatalen as usize / 8);
    out
}

/// The guest's P-256 key pair: its public half goes into the runtime data (and so into the
/// evidence); resources come back sealed to it.
pub struct GuestKey(p256::SecretKey);

impl GuestKey {
    /// Draws a fresh key from the OS random-number generator (`getrandom(2)`).
    pub fn generate() -> Self {
        Self(p256::SecretKey::random(&mut rand_core::OsRng))
    }

    /// Wraps an existing private key (the development tools keep one in a file).
    pub fn from_secret(secret: p256::SecretKey) -> Self {
        Self(secret)
    }

    /// Returns the private key.
    pub fn secret(&self) -> &p256::SecretKey {
        &self.0
    }

    /// Returns the public key as the uncompressed SEC1 point `04 ‖ x ‖ y`.
    pub fn public_sec1(&self) -> [u8; 65] {
        let point = self.0.public_key().to_encoded_point(false);
        let mut out = [0u8; 65];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// Returns the public key as KBS's `tee-pubkey`.
    pub fn tee_pubkey(&self) -> kbs_types::TeePubKey {
        let point = self.public_sec1();
        kbs_types::TeePubKey::EC {
            crv: "P-256".into(),
            alg: ALG.into(),
            x: B64URL.encode(&point[1..33]),
            y: B64URL.encode(&point[33..]),
        }
    }

    /// Opens a resource JWE (the flattened JSON object, as received: the AAD is its
    /// `protected` member exactly as sent).
    ///
    /// # Errors
    /// [`JweError`] naming the malformed member, the unsupported algorithm, or
    /// [`JweError::Decrypt`] if it was sealed to another key or changed.
    pub fn open(&self, jwe: &Value) -> Result<Vec<u8>, JweError> {
        let member = |m: &'static str| -> Result<Vec<u8>, JweError> {
            let text = jwe[m].as_str().ok_or(JweError::Malformed(m))?;
            B64URL.decode(text).map_err(|_| JweError::Malformed(m))
        };
        let protected = jwe["protected"].as_str().ok_or(JweError::Malformed("protected"))?;
        let header: Value = serde_json::from_slice(&member("protected")?)
            .map_err(|_| JweError::Malformed("protected"))?;
        // Parameters that would change the derivation or the plaintext's meaning (RFC 7516
        // §4.1.11 `crit`, §4.1.3 `zip`; RFC 7518 §4.6.1 `apu`/`apv`) are not implemented, so a
        // JWE that uses them is refused rather than misread.
        if let Some(p) = ["crit", "zip", "apu", "apv"].into_iter().find(|p| header.get(p).is_some())
        {
            return Err(JweError::Unsupported(format!("header parameter \"{p}\"")));
        }
        if header["alg"] != ALG || header["enc"] != ENC {
            return Err(JweError::Unsupported(format!(
                "\"alg\": {}, \"enc\": {}",
                header["alg"], header["enc"]
            )));
        }
        let epk = ec_point(&header["epk"]).ok_or(JweError::Malformed("epk"))?;
        let epk = p256::PublicKey::from_sec1_bytes(&epk).map_err(|_| JweError::Malformed("epk"))?;
        let z = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), epk.as_affine());
        let kek: [u8; 32] = concat_kdf(z.raw_secret_bytes(), ALG, b"", b"", 256)
            .try_into()
            .map_err(|_| JweError::Decrypt)?;
        let wrapped = member("encrypted_key")?;
        let cek =
            aes_kw::KekAes256::from(kek).unwrap_vec(&wrapped).map_err(|_| JweError::Decrypt)?;
        let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|_| JweError::Decrypt)?;
        let iv: [u8; 12] = member("iv")?.try_into().map_err(|_| JweError::Malformed("iv"))?;
        let tag = member("tag")?;
        if tag.len() != 16 {
            return Err(JweError::Malformed("tag"));
        }
        let mut sealed = member("ciphertext")?;
        sealed.extend_from_slice(&tag);
        cipher
            .decrypt(&Nonce::from(iv), Payload { msg: &sealed, aad: protected.as_bytes() })
            .map_err(|_| JweError::Decrypt)
    }
}

/// Reads an EC P-256 JWK into an uncompressed SEC1 point, `None` if it is not one.
pub fn ec_point(jwk: &Value) -> Option<[u8; 65]> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return None;
    }
    let coord = |name: &str| -> Option<Vec<u8>> {
        let bytes = B64URL.decode(jwk[name].as_str()?).ok()?;
        (bytes.len() == 32).then_some(bytes)
    };
    let mut point = [0u8; 65];
    point[0] = 4;
    point[1..33].copy_from_slice(&coord("x")?);
    point[33..].copy_from_slice(&coord("y")?);
    Some(point)
}

#[cfg(test)]
mod test {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        B64URL.decode(s).unwrap()
    }

    #[test]
    fn concat_kdf_matches_rfc_7518_appendix_c() {
        // Bob's static key and Alice's ephemeral public key from RFC 7518 Appendix C.
        let bob = p256::SecretKey::from_slice(&b64("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"))
            .unwrap();
        let mut alice = vec![4u8];
        alice.extend(b64("gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"));
        alice.extend(b64("SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"));
        let alice = p256::PublicKey::from_sec1_bytes(&alice).unwrap();
        let z = p256::ecdh::diffie_hellman(bob.to_nonzero_scalar(), alice.as_affine());
        let key = concat_kdf(z.raw_secret_bytes(), "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(B64URL.encode(key), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn the_tee_pubkey_round_trips_through_its_jwk() {
        let key = GuestKey::generate();
        let jwk = serde_json::to_value(key.tee_pubkey()).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["alg"], ALG);
        assert_eq!(ec_point(&jwk), Some(key.public_sec1()));
        assert_eq!(ec_point(&serde_json::json!({"kty": "RSA"})), None);
    }

    #[test]
    fn a_jwe_with_another_algorithm_or_a_missing_member_is_named() {
        let key = GuestKey::generate();
        let header = B64URL.encode(r#"{"alg":"ECDH-ES","enc":"A256GCM"}"#);
        let jwe = serde_json::json!({"protected": header});
        assert!(matches!(key.open(&jwe), Err(JweError::Unsupported(_))));
        let header = B64URL.encode(r#"{"alg":"ECDH-ES+A256KW","enc":"A256GCM"}"#);
        let jwe = serde_json::json!({"protected": header});
        assert_eq!(key.open(&jwe), Err(JweError::Malformed("epk")));
    }
}
