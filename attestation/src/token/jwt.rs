//! ES256 JWTs signed with `ring`, and the JWKS that publishes the key.
//!
//! Compact JWS: `b64url(header) . b64url(claims) . b64url(r ‖ s)`, header
//! `{"alg":"ES256","typ":"JWT","kid":<kid>}`. The key id is the first 16 hex digits of
//! SHA-256 over the uncompressed public point, so replicas that share a key share a kid.

use std::fmt;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};

use crate::time::VerificationTime;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    Malformed(&'static str),
    /// The header names another algorithm or key.
    WrongKey,
    /// The signature does not verify.
    BadSignature,
    /// Past `exp`.
    Expired,
    /// The key could not be loaded or used.
    Key(String),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "token malformed: {what}"),
            Self::WrongKey => f.write_str("token header names another algorithm or key"),
            Self::BadSignature => f.write_str("token signature does not verify"),
            Self::Expired => f.write_str("token expired"),
            Self::Key(e) => write!(f, "signing key: {e}"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Says in words why `ring` refused a PKCS#8 key (its own text is a Rust identifier).
fn key_rejected(e: &ring::error::KeyRejected) -> String {
    match e.to_string().as_str() {
        "InvalidEncoding" => "not DER-encoded PKCS#8".to_owned(),
        "WrongAlgorithm" => "a key for another algorithm or curve, not ECDSA P-256".to_owned(),
        "VersionNotSupported" => "a PKCS#8 version other than 1".to_owned(),
        "PublicKeyIsMissing" => "the public key is missing from the PKCS#8".to_owned(),
        other => format!("rejected by ring: {other}"),
    }
}

/// An ES256 signing key with its key id.
pub struct TokenSigner {
    key: EcdsaKeyPair,
    kid: String,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSigner(kid {})", self.kid)
    }
}

impl TokenSigner {
    /// Loads a PKCS#8 v1 P-256 key (as `ring` generates).
    ///
    /// # Errors
    /// [`TokenError::Key`] if `ring` rejects the encoding.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let key =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                .map_err(|e| TokenError::Key(key_rejected(&e)))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = hex::encode(&digest.as_ref()[..8]);
        Ok(Self { key, kid })
    }

    /// Generates a fresh key (for a single replica or tests).
    ///
    /// # Errors
    /// [`TokenError::Key`] if the OS has no randomness.
    pub fn generate() -> Result<Self, TokenError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// Returns the key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Returns the JWKS document (`{"keys": [..]}`) publishing the public key.
    pub fn jwks(&self) -> Value {
        let point = self.key.public_key().as_ref();
        let (x, y) =
            point.get(1..).unwrap_or_default().split_at(32.min(point.len().saturating_sub(1)));
        json!({"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
            "kid": self.kid, "x": B64.encode(x), "y": B64.encode(y)}]})
    }

    /// Signs `claims` as a compact JWS.
    ///
    /// # Errors
    /// [`TokenError::Key`] if signing fails.
    pub fn sign(&self, claims: &Value) -> Result<String, TokenError> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input =
            format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(format!("{input}.{}", B64.encode(sig.as_ref())))
    }

    /// Verifies a token this signer issued and returns its claims, checking `exp` at `now`.
    ///
    /// # Errors
    /// [`TokenError`] naming what is wrong.
    pub fn verify(&self, token: &str, now: VerificationTime) -> Result<Value, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed("not three dot-separated parts"));
        };
        let json = |p: &str, what: &'static str| -> Result<Value, TokenError> {
            let bytes = B64.decode(p).map_err(|_| TokenError::Malformed(what))?;
            serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
        };
        let header = json(h, "header")?;
        if header["alg"] != "ES256" || header["kid"] != self.kid.as_str() {
            return Err(TokenError::WrongKey);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed("signature"))?;
        signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            self.key.public_key().as_ref(),
        )
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| TokenError::BadSignature)?;
        let claims = json(c, "claims")?;
        match claims["exp"].as_u64() {
            Some(exp) if now.unix() <= exp => Ok(claims),
            Some(_) => Err(TokenError::Expired),
            None => Err(TokenError::Malformed("no exp claim")),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_signed_token_verifies_until_exp_and_not_after() {
        let s = TokenSigner::generate().unwrap();
        let t = s.sign(&json!({"exp": 100, "x": 1})).unwrap();
        assert_eq!(s.verify(&t, VerificationTime::from_unix(100)).unwrap()["x"], 1);
        assert_eq!(s.verify(&t, VerificationTime::from_unix(101)), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_with_changed_claims_or_from_another_key_is_rejected() {
        let s = TokenSigner::generate().unwrap();
        let t = s.sign(&json!({"exp": 100, "ear.status": "contraindicated"})).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(r#"{"exp":100,"ear.status":"affirming"}"#),
            parts[2]
        );
        assert_eq!(
            s.verify(&forged, VerificationTime::from_unix(0)),
            Err(TokenError::BadSignature)
        );
        let other = TokenSigner::generate().unwrap();
        assert_eq!(other.verify(&t, VerificationTime::from_unix(0)), Err(TokenError::WrongKey));
    }

    #[test]
    fn jwks_publishes_a_p256_point_under_the_kid() {
        let s = TokenSigner::generate().unwrap();
        let jwks = s.jwks();
        assert_eq!(jwks["keys"][0]["kid"], s.kid());
        assert_eq!(B64.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap().len(), 32);
        assert_eq!(B64.decode(jwks["keys"][0]["y"].as_str().unwrap()).unwrap().len(), 32);
    }
}
