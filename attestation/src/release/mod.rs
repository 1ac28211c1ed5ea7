//! Releasing resources: who may read which path, and sealing each secret to the guest's key.
//!
//! A resource request carries a token; the token carries the guest's public key (`tee-pubkey`,
//! taken from the runtime data the evidence bound). The service answers only if the
//! [`ResourcePolicy`] lets that token's claims read that path, and then only with a JWE
//! that the holder of the matching private key can open. A stolen token, or a token won by
//! replaying someone else's evidence, therefore yields ciphertext only.
//!
//! - [`tee_key`]: the guest's P-256 public key, from runtime data, as a JWK.
//! - [`jwe`]: ECDH-ES + A256GCM, JWE flattened JSON (RFC 7516/7518), as Trustee KBS answers.
//! - [`policy`]: the resource policy (which verdicts and claims may read which path).

pub mod jwe;
pub mod policy;
pub mod tee_key;

pub use jwe::{JweError, open_jwe, seal_jwe};
pub use policy::{PolicyError, ResourcePolicy};
pub use tee_key::{TeeKeyError, TeePubKey};
