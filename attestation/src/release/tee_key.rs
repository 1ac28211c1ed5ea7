//! The guest's public key, as the runtime data carries it.
//!
//! Runtime data is bound into the evidence (`report_data = SHA-512(nonce ‖ runtime_data)`),
//! so a key found there is the key of the TEE that made the evidence. Two shapes are
//! recognised, both JSON:
//! - a JWK: `{"kty": "EC", "crv": "P-256", "x": <base64url>, "y": <base64url>}`;
//! - Trustee KBS's runtime data, `{"nonce": .., "tee-pubkey": <that JWK>}`.
//!
//! Runtime data in any other shape is still bound and still appears in the token, but names
//! no key, and no resource is released to such a token. Only P-256 is accepted (RSA
//! `tee-pubkey`s, which KBS also allows, are not).

use std::fmt;

use base64::Engine as _;
use serde_json::{Value, json};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A P-256 public key, as the 65-byte uncompressed SEC1 point `04 ‖ x ‖ y`.
///
/// # Invariants
/// The point is 65 bytes starting with `04`. Whether it is on the curve is checked when it
/// is used (`ring` refuses the key agreement otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeePubKey([u8; 65]);

/// Why runtime data or a `tee-pubkey` claim does not give a usable key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TeeKeyError {
    /// The JWK is not `"kty": "EC"` with `"crv": "P-256"`.
    Unsupported {
        /// The `kty` and `crv` found.
        found: String,
    },
    /// `x` or `y` is missing, not base64url, or not 32 bytes.
    Coordinate(&'static str),
}

impl fmt::Display for TeeKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported { found } => {
                write!(
                    f,
                    "tee-pubkey is {found}; only \"kty\": \"EC\", \"crv\": \"P-256\" is accepted"
                )
            }
            Self::Coordinate(c) => {
                write!(f, "tee-pubkey \"{c}\" is missing or not 32 bytes of base64url")
            }
        }
    }
}

impl std::error::Error for TeeKeyError {}

impl TeePubKey {
    /// Returns the key the runtime data names, `Ok(None)` if it names none (see the module
    /// doc for the shapes).
    ///
    /// # Errors
    /// [`TeeKeyError`] if the runtime data names a key that cannot be used.
    pub fn from_runtime_data(runtime_data: &[u8]) -> Result<Option<Self>, TeeKeyError> {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(runtime_data) else {
            return Ok(None);
        };
        if let Some(jwk) = obj.get("tee-pubkey") {
            return Self::from_jwk(jwk).map(Some);
        }
        if obj.contains_key("kty") {
            return Self::from_jwk(&Value::Object(obj)).map(Some);
        }
        Ok(None)
    }

    /// Reads an EC P-256 JWK.
    ///
    /// # Errors
    /// [`TeeKeyError`] naming the member that is wrong.
    pub fn from_jwk(jwk: &Value) -> Result<Self, TeeKeyError> {
        if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
            return Err(TeeKeyError::Unsupported {
                found: format!("\"kty\": {}, \"crv\": {}", jwk["kty"], jwk["crv"]),
            });
        }
        let coord = |name: &'static str| -> Result<[u8; 32], TeeKeyError> {
            let text = jwk[name].as_str().ok_or(TeeKeyError::Coordinate(name))?;
            let bytes = B64URL.decode(text).map_err(|_| TeeKeyError::Coordinate(name))?;
            bytes.try_into().map_err(|_| TeeKeyError::Coordinate(name))
        };
        let mut point = [0u8; 65];
        point[0] = 4;
        point[1..33].copy_from_slice(&coord("x")?);
        point[33..].copy_from_slice(&coord("y")?);
        Ok(Self(point))
    }

    /// Returns the key from an uncompressed SEC1 point.
    pub fn from_sec1(point: [u8; 65]) -> Option<Self> {
        (point[0] == 4).then_some(Self(point))
    }

    /// Returns the uncompressed SEC1 point.
    pub fn sec1(&self) -> &[u8; 65] {
        &self.0
    }

    /// Returns the key as a JWK (the token's `tee-pubkey` claim).
    pub fn to_jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "alg": attest_client::jwe::ALG,
               "x": B64URL.encode(&self.0[1..33]), "y": B64URL.encode(&self.0[33..])})
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn point() -> [u8; 65] {
        let mut p = [7u8; 65];
        p[0] = 4;
        p
    }

    #[test]
    fn a_jwk_and_kbs_runtime_data_give_the_same_key_and_round_trip() {
        let key = TeePubKey::from_sec1(point()).unwrap();
        let jwk = key.to_jwk();
        let kbs = json!({"nonce": "n", "tee-pubkey": jwk}).to_string();
        assert_eq!(TeePubKey::from_runtime_data(jwk.to_string().as_bytes()), Ok(Some(key.clone())));
        assert_eq!(TeePubKey::from_runtime_data(kbs.as_bytes()), Ok(Some(key)));
    }

    #[test]
    fn runtime_data_that_is_not_json_names_no_key() {
        assert_eq!(TeePubKey::from_runtime_data(b"guest key"), Ok(None));
        assert_eq!(TeePubKey::from_runtime_data(br#"{"other": 1}"#), Ok(None));
    }

    #[test]
    fn an_rsa_key_or_a_short_coordinate_is_refused_naming_it() {
        let rsa = br#"{"tee-pubkey": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}"#;
        assert!(matches!(TeePubKey::from_runtime_data(rsa), Err(TeeKeyError::Unsupported { .. })));
        let short = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
        assert_eq!(TeePubKey::from_jwk(&short), Err(TeeKeyError::Coordinate("x")));
    }
}
