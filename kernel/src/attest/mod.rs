//! Attestation in the guest: evidence from this machine's TEE, checked and typed with the
//! verifier's own formats (`tee`), and measured boot (`measure`). Linux's attestation interfaces (configfs-tsm,
//! `/dev/tdx_guest`, `/dev/sev-guest`) will be built on it.

pub mod ccel;
pub mod evidence;
pub mod guest_dev;
pub mod measure;
pub mod registers;
pub mod tsm;
