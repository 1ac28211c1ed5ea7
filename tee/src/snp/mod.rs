//! AMD SEV-SNP evidence: the attestation report and the certificate table that comes with it.
//!
//! - [`report`]: the 1184-byte `ATTESTATION_REPORT`, versions 2–5
//!   ([`AttestationReport`] for typed fields); [`report_bytes`]: the checked view
//!   ([`ReportBytes`]) that exposes the signed byte range.
//! - [`tcb`]: `TCB_VERSION` words and their per-generation layouts (Milan/Genoa vs Turin).
//! - [`policy`]: guest policy, platform info and key info bit fields.
//! - [`signature`]: the little-endian ECDSA P-384 signature block.
//! - [`cert_table`]: the GUID-indexed certificate table (ARK, ASK, VCEK, VLEK, CRL).
//!
//! Nothing here checks a signature or certificate; that is the verifier's job.

pub mod cert_table;
pub mod policy;
pub mod report;
pub mod report_bytes;
pub mod signature;
pub mod tcb;

pub use cert_table::{CertKind, CertTable, CertTableEntry};
pub use policy::{GuestPolicy, KeyInfo, PlatformInfo, SigningKey};
pub use report::{AttestationReport, Cpuid, FirmwareVersion};
pub use report_bytes::ReportBytes;
pub use signature::EcdsaP384Signature;
pub use tcb::{Generation, TcbLayout, TcbParts, TcbVersion};
