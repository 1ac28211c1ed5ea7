//! Sealing a resource to the guest's key: JWE with `"alg": "ECDH-ES+A256KW"`,
//! `"enc": "A256GCM"`, in the flattened JSON serialization (RFC 7516 §7.2.2), which is how
//! Trustee's KBS answers a resource request for an EC `tee-pubkey`.
//!
//! ```text
//! epk           = a fresh P-256 key pair for this one response (ring)
//! Z             = ECDH(epk.private, tee-pubkey)                  x-coordinate, 32 bytes
//! KEK           = Concat KDF(Z, "ECDH-ES+A256KW", apu = apv = empty, 256 bits)  RFC 7518 §4.6.2
//! CEK           = 32 random bytes
//! encrypted_key = AES key wrap(KEK, CEK)                         RFC 3394
//! protected     = BASE64URL({"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":<JWK>})
//! ciphertext, tag = AES-256-GCM(CEK, iv = 12 random bytes, aad = ASCII(protected))
//! response      = {"protected", "encrypted_key", "iv", "ciphertext", "tag"}
//! ```
//! The recipient is `attest_client::jwe::GuestKey::open`, in the guest's client; the key
//! derivation ([`concat_kdf`]) is that crate's, so both ends derive the same key. Why key
//! wrapping rather than direct agreement: see that module.

use std::fmt;

pub use attest_client::jwe::{ALG, ENC, concat_kdf};
use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde_json::{Value, json};

use super::tee_key::TeePubKey;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a JWE could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JweError {
    /// The OS random-number generator failed (no ephemeral key, CEK or IV).
    NoRandomness,
    /// The recipient key is not a point on P-256.
    BadRecipientKey,
    /// Key wrapping or AES-GCM refused its input (a 32-byte key and a plaintext under
    /// 64 GiB never are).
    Encrypt,
    /// Opening failed (the development tools and tests): the recipient's reason.
    Open(attest_client::jwe::JweError),
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRandomness => f.write_str("the OS random-number generator failed"),
            Self::BadRecipientKey => f.write_str("tee-pubkey is not a point on P-256"),
            Self::Encrypt => f.write_str("the resource could not be encrypted"),
            Self::Open(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for JweError {}

/// Encrypts `plaintext` to `recipient` (see the module doc).
///
/// # Errors
/// [`JweError::NoRandomness`] or [`JweError::BadRecipientKey`].
pub fn seal_jwe(plaintext: &[u8], recipient: &TeePubKey) -> Result<Value, JweError> {
    let rng = SystemRandom::new();
    let eph =
        EphemeralPrivateKey::generate(&ECDH_P256, &rng).map_err(|_| JweError::NoRandomness)?;
    let epk = eph.compute_public_key().map_err(|_| JweError::NoRandomness)?;
    let epk = TeePubKey::from_sec1(epk.as_ref().try_into().map_err(|_| JweError::NoRandomness)?)
        .ok_or(JweError::NoRandomness)?;
    let kek = agree_ephemeral(eph, &UnparsedPublicKey::new(&ECDH_P256, recipient.sec1()), |z| {
        concat_kdf(z, ALG, b"", b"", 256)
    })
    .map_err(|_| JweError::BadRecipientKey)?;
    let kek: [u8; 32] = kek.try_into().map_err(|_| JweError::BadRecipientKey)?;
    let mut cek = [0u8; 32];
    rng.fill(&mut cek).map_err(|_| JweError::NoRandomness)?;
    let mut encrypted_key = [0u8; 40];
    aes_kw::KekAes256::from(kek).wrap(&cek, &mut encrypted_key).map_err(|_| JweError::Encrypt)?;
    let mut epk_jwk = epk.to_jwk();
    epk_jwk.as_object_mut().map(|o| o.remove("alg"));
    let header = json!({"alg": ALG, "enc": ENC, "epk": epk_jwk});
    // Keys sorted: Trustee's client does not use the received `protected` as the AAD but
    // re-serializes the parsed header (`ProtectedHeader::generate_aad`), which sorts them.
    let protected = B64URL.encode(attest_client::kbs::canonical_json(&header));
    let mut iv = [0u8; 12];
    rng.fill(&mut iv).map_err(|_| JweError::NoRandomness)?;
    let key =
        UnboundKey::new(&AES_256_GCM, &cek).map(LessSafeKey::new).map_err(|_| JweError::Encrypt)?;
    let mut ciphertext = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut ciphertext,
        )
        .map_err(|_| JweError::Encrypt)?;
    Ok(json!({
        "protected": protected,
        "encrypted_key": B64URL.encode(encrypted_key),
        "iv": B64URL.encode(iv),
        "ciphertext": B64URL.encode(&ciphertext),
        "tag": B64URL.encode(tag.as_ref()),
    }))
}

/// Decrypts a JWE made by [`seal_jwe`] with the recipient's P-256 private key (the
/// development tools and tests; the guest's client calls `GuestKey::open` itself).
///
/// # Errors
/// [`JweError::Open`] naming the malformed member, or saying it does not decrypt.
pub fn open_jwe(jwe: &Value, private_key: &p256::SecretKey) -> Result<Vec<u8>, JweError> {
    attest_client::jwe::GuestKey::from_secret(private_key.clone()).open(jwe).map_err(JweError::Open)
}

/// Generates a guest key pair (development tools and tests): the private key and the public
/// key.
///
/// # Errors
/// Never today (the key comes from the OS generator, which panics rather than fails); kept
/// fallible for the callers' sake.
pub fn generate_guest_key() -> Result<(p256::SecretKey, TeePubKey), JweError> {
    let key = attest_client::jwe::GuestKey::generate();
    let public = TeePubKey::from_sec1(key.public_sec1()).ok_or(JweError::BadRecipientKey)?;
    Ok((key.secret().clone(), public))
}

#[cfg(test)]
mod test {
    use super::*;
    use attest_client::jwe::JweError as OpenError;

    fn b64(s: &str) -> Vec<u8> {
        B64URL.decode(s).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_the_guest_key_and_not_with_another() {
        let (guest, public) = generate_guest_key().unwrap();
        let (thief, _) = generate_guest_key().unwrap();
        let jwe = seal_jwe(b"the secret", &public).unwrap();
        assert_eq!(b64(jwe["encrypted_key"].as_str().unwrap()).len(), 40);
        assert_eq!(open_jwe(&jwe, &guest).unwrap(), b"the secret");
        assert_eq!(open_jwe(&jwe, &thief), Err(JweError::Open(OpenError::Decrypt)));
    }

    #[test]
    fn the_response_parses_as_trustees_kbs_types_response() {
        let (_, public) = generate_guest_key().unwrap();
        let jwe = seal_jwe(b"the secret", &public).unwrap();
        let parsed: kbs_types::Response = serde_json::from_value(jwe).unwrap();
        assert_eq!(parsed.protected.alg, ALG);
        assert_eq!(parsed.protected.enc, ENC);
        assert!(parsed.protected.other_fields.contains_key("epk"));
        assert_eq!(parsed.encrypted_key.len(), 40);
    }

    #[test]
    fn a_changed_ciphertext_wrapped_key_or_header_does_not_open() {
        let (guest, public) = generate_guest_key().unwrap();
        let jwe = seal_jwe(b"the secret", &public).unwrap();
        for member in ["ciphertext", "encrypted_key"] {
            let mut c = jwe.clone();
            let mut bytes = b64(c[member].as_str().unwrap());
            bytes[0] ^= 1;
            c[member] = json!(B64URL.encode(bytes));
            assert_eq!(open_jwe(&c, &guest), Err(JweError::Open(OpenError::Decrypt)), "{member}");
        }
        let mut h = jwe;
        let header = String::from_utf8(b64(h["protected"].as_str().unwrap())).unwrap();
        h["protected"] = json!(B64URL.encode(header.replace("A256GCM", "A128GCM")));
        assert!(matches!(open_jwe(&h, &guest), Err(JweError::Open(OpenError::Unsupported(_)))));
    }

    #[test]
    fn a_recipient_key_off_the_curve_is_refused() {
        let off = TeePubKey::from_sec1([4; 65]).unwrap();
        assert_eq!(seal_jwe(b"x", &off), Err(JweError::BadRecipientKey));
    }
}
