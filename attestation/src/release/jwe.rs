//! Sealing a resource to the guest's key: JWE with `"alg": "ECDH-ES"`, `"enc": "A256GCM"`,
//! in the flattened JSON serialization (RFC 7516 §7.2.2), which is how Trustee KBS answers
//! a resource request.
//!
//! ```text
//! epk          = a fresh P-256 key pair for this one response (ring)
//! Z            = ECDH(epk.private, tee-pubkey)                   x-coordinate, 32 bytes
//! CEK          = Concat KDF(Z, "A256GCM", apu = apv = empty, 256 bits)   RFC 7518 §4.6.2
//! protected    = BASE64URL({"alg":"ECDH-ES","enc":"A256GCM","epk":<JWK>})
//! ciphertext, tag = AES-256-GCM(CEK, iv = 12 random bytes, aad = ASCII(protected))
//! response     = {"protected", "iv", "ciphertext", "tag"}
//! ```
//! With direct key agreement there is no encrypted key, and RFC 7516 §7.2.1 says the
//! `encrypted_key` member is then absent. The recipient recomputes Z from its private key
//! and `epk`. [`open_jwe`] is that recipient, for the development tools and the tests; it
//! uses the `p256` crate because `ring` has no static-key ECDH.

use std::fmt;

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{ECDH_P256, EphemeralPrivateKey, UnparsedPublicKey, agree_ephemeral};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde_json::{Value, json};

use super::tee_key::TeePubKey;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const ENC: &str = "A256GCM";

/// Why a JWE could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JweError {
    /// The OS random-number generator failed (no ephemeral key or IV).
    NoRandomness,
    /// The recipient key is not a point on P-256.
    BadRecipientKey,
    /// A member is missing or malformed; names it.
    Malformed(&'static str),
    /// The header names an algorithm other than ECDH-ES + A256GCM.
    Unsupported,
    /// The tag does not verify: another key, or the JWE was changed.
    Decrypt,
}

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRandomness => f.write_str("the OS random-number generator failed"),
            Self::BadRecipientKey => f.write_str("tee-pubkey is not a point on P-256"),
            Self::Malformed(m) => write!(f, "JWE member \"{m}\" is missing or malformed"),
            Self::Unsupported => {
                f.write_str("JWE is not \"alg\": \"ECDH-ES\", \"enc\": \"A256GCM\"")
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
pub fn concat_kdf(z: &[u8], alg: &str, apu: &[u8], apv: &[u8], keydatalen: u32) -> Vec<u8> {
    let mut other = Vec::new();
    for field in [alg.as_bytes(), apu, apv] {
        other.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        other.extend_from_slice(field);
    }
    other.extend_from_slice(&keydatalen.to_be_bytes());
    let mut out = Vec::new();
    let mut counter = 1u32;
    while out.len() * 8 < keydatalen as usize {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(z);
        ctx.update(&other);
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(keydatalen as usize / 8);
    out
}

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
    let cek = agree_ephemeral(eph, &UnparsedPublicKey::new(&ECDH_P256, recipient.sec1()), |z| {
        concat_kdf(z, ENC, b"", b"", 256)
    })
    .map_err(|_| JweError::BadRecipientKey)?;
    let mut epk_jwk = epk.to_jwk();
    epk_jwk.as_object_mut().map(|o| o.remove("alg"));
    let header = json!({"alg": "ECDH-ES", "enc": ENC, "epk": epk_jwk});
    let protected = B64URL.encode(header.to_string());
    let mut iv = [0u8; 12];
    rng.fill(&mut iv).map_err(|_| JweError::NoRandomness)?;
    let key = aead_key(&cek)?;
    let mut ciphertext = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut ciphertext,
        )
        .map_err(|_| JweError::Decrypt)?;
    Ok(json!({
        "protected": protected,
        "iv": B64URL.encode(iv),
        "ciphertext": B64URL.encode(&ciphertext),
        "tag": B64URL.encode(tag.as_ref()),
    }))
}

fn aead_key(cek: &[u8]) -> Result<LessSafeKey, JweError> {
    UnboundKey::new(&AES_256_GCM, cek).map(LessSafeKey::new).map_err(|_| JweError::Decrypt)
}

/// Decrypts a JWE made by [`seal_jwe`] with the recipient's P-256 private scalar.
///
/// # Errors
/// [`JweError`] naming the malformed member, or [`JweError::Decrypt`] for the wrong key.
pub fn open_jwe(jwe: &Value, private_key: &p256::SecretKey) -> Result<Vec<u8>, JweError> {
    let member = |m: &'static str| -> Result<Vec<u8>, JweError> {
        let text = jwe[m].as_str().ok_or(JweError::Malformed(m))?;
        B64URL.decode(text).map_err(|_| JweError::Malformed(m))
    };
    let protected = jwe["protected"].as_str().ok_or(JweError::Malformed("protected"))?;
    let header: Value = serde_json::from_slice(&member("protected")?)
        .map_err(|_| JweError::Malformed("protected"))?;
    if header["alg"] != "ECDH-ES" || header["enc"] != ENC {
        return Err(JweError::Unsupported);
    }
    let epk = TeePubKey::from_jwk(&header["epk"]).map_err(|_| JweError::Malformed("epk"))?;
    let epk =
        p256::PublicKey::from_sec1_bytes(epk.sec1()).map_err(|_| JweError::Malformed("epk"))?;
    let z = p256::ecdh::diffie_hellman(private_key.to_nonzero_scalar(), epk.as_affine());
    let cek = concat_kdf(z.raw_secret_bytes(), ENC, b"", b"", 256);
    let iv: [u8; 12] = member("iv")?.try_into().map_err(|_| JweError::Malformed("iv"))?;
    let mut in_out = member("ciphertext")?;
    in_out.extend_from_slice(&member("tag")?);
    let plain = aead_key(&cek)?
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| JweError::Decrypt)?;
    Ok(plain.to_vec())
}

/// Generates a guest key pair (development tools and tests): the private scalar and the
/// public key.
///
/// # Errors
/// [`JweError::NoRandomness`].
pub fn generate_guest_key() -> Result<(p256::SecretKey, TeePubKey), JweError> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    let rng = SystemRandom::new();
    loop {
        let mut d = [0u8; 32];
        rng.fill(&mut d).map_err(|_| JweError::NoRandomness)?;
        // A scalar of zero or ≥ the group order (probability ~2^-32) is drawn again.
        let Ok(secret) = p256::SecretKey::from_slice(&d) else { continue };
        let point = secret.public_key().to_encoded_point(false);
        let point: [u8; 65] = point.as_bytes().try_into().map_err(|_| JweError::NoRandomness)?;
        let public = TeePubKey::from_sec1(point).ok_or(JweError::NoRandomness)?;
        return Ok((secret, public));
    }
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
    fn a_sealed_secret_opens_with_the_guest_key_and_not_with_another() {
        let (guest, public) = generate_guest_key().unwrap();
        let (thief, _) = generate_guest_key().unwrap();
        let jwe = seal_jwe(b"the secret", &public).unwrap();
        assert!(jwe.get("encrypted_key").is_none());
        assert_eq!(open_jwe(&jwe, &guest).unwrap(), b"the secret");
        assert_eq!(open_jwe(&jwe, &thief), Err(JweError::Decrypt));
    }

    #[test]
    fn a_changed_ciphertext_or_header_does_not_open() {
        let (guest, public) = generate_guest_key().unwrap();
        let jwe = seal_jwe(b"the secret", &public).unwrap();
        let mut c = jwe.clone();
        let mut ct = b64(c["ciphertext"].as_str().unwrap());
        ct[0] ^= 1;
        c["ciphertext"] = json!(B64URL.encode(ct));
        assert_eq!(open_jwe(&c, &guest), Err(JweError::Decrypt));
        let mut h = jwe;
        let header = String::from_utf8(b64(h["protected"].as_str().unwrap())).unwrap();
        h["protected"] = json!(B64URL.encode(header.replace("A256GCM", "A128GCM")));
        assert_eq!(open_jwe(&h, &guest), Err(JweError::Unsupported));
    }

    #[test]
    fn a_recipient_key_off_the_curve_is_refused() {
        let off = TeePubKey::from_sec1([4; 65]).unwrap();
        assert_eq!(seal_jwe(b"x", &off), Err(JweError::BadRecipientKey));
    }
}
