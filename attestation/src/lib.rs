//! The attestation verifier: evidence in, an explained verdict and a signed token out.
#![forbid(unsafe_code)]
