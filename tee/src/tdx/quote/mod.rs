//! TDX quotes, versions 4 and 5 (Intel TDX DCAP Quoting Library API, appendix A).
//!
//! A quote is what a remote verifier receives: the TD's report body, signed by the
//! Quoting Enclave's attestation key, plus the certification data that chains that key to
//! Intel (QE report signed by the PCK key, and the PCK certificate chain).
//!
//! Usage, for untrusted input:
//! 1. [`QuoteBytes::new_checked`] parses the structure and records where the signed ranges
//!    are ([`QuoteBytes::signed_bytes`], [`QuoteBytes::qe_report_bytes`]);
//! 2. [`Quote::parse`] gives the typed fields.
//!
//! Nothing here checks a signature or a certificate; that is the verifier's job.
//!
//! Parts, one file each: [`QuoteHeader`], [`QuoteBody`] ([`TdReportBody10`],
//! [`TdReportBody15`]), [`QuoteSignatureData`], [`CertificationData`] /
//! [`QeReportCertData`], and the QE's [`EnclaveReport`].

mod body;
mod bytes;
mod certification;
mod enclave_report;
mod header;
mod repr;
mod signature;

pub use body::{QuoteBody, TdReportBody10, TdReportBody15};
pub use bytes::QuoteBytes;
pub use certification::{CertificationData, QeReportCertData};
pub use enclave_report::EnclaveReport;
pub use header::QuoteHeader;
pub use repr::Quote;
pub use signature::QuoteSignatureData;
