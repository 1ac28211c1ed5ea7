//! Tokens: EAR-style claims in ES256 JWTs, and the stateless nonces that challenges carry.

pub mod ear;
pub mod jwt;
pub mod nonce;

pub use ear::{EAR_PROFILE, ear_claims, ear_status};
pub use jwt::{TokenError, TokenSigner};
pub use nonce::{NoRandomness, NonceError, NonceIssuer};
