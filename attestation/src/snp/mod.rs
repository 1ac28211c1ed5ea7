//! AMD SEV-SNP: certificates, the built-in AMD roots, report verification, and Trustee's
//! SNP evidence JSON.

mod cert;
mod crl;
mod roots;
mod source;
mod trustee;
mod verify;

pub use cert::{AmdCert, CertError};
pub use crl::AmdCrl;
pub use roots::{AmdRoots, builtin_roots};
pub use source::{certs_from_path, certs_from_table, crls_from_path, crls_from_table};
pub use trustee::{TrusteeError, TrusteeSnpEvidence};
pub use verify::{
    Signer, SnpError, VerifiedSnpReport, verify_snp_report, verify_snp_report_with_crls,
    verify_with_roots,
};
