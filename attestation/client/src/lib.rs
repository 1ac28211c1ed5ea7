//! The guest side of attestation: `cocoon-attest`, a static program in the guest image that
//! walks the KBS protocol ([`kbs`]) with the verifier, binding its evidence to a fresh key
//! ([`binding`]) through Linux's configfs-tsm ([`tsm`]), and opens the resource the
//! verifier seals to that key ([`jwe`]), over TLS to a verifier whose CA the image
//! carries ([`tls`]).
//!
//! The verifier (`attestation`) uses the same [`binding`], [`kbs::runtime_data_bytes`] and
//! [`jwe::concat_kdf`], so the two ends cannot drift apart.

#![forbid(unsafe_code)]

pub mod binding;
pub mod jwe;
pub mod kbs;
pub mod tls;
pub mod tsm;
