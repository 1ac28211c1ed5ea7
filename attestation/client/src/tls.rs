//! Whom the client trusts to be the verifier: the CA certificates it carries in its
//! measured image, and nothing else (no system or web roots).
//!
//! The resource is sealed to a key that never leaves the guest, so nobody else can read it;
//! but without authenticating the verifier, a host that controls the network could answer in
//! its place and seal a secret of its own choosing to that same key. Checking the server's
//! certificate against a CA that is part of the image closes that: the CA file is measured
//! with the image, so the reference values that release secrets also pin whom the guest
//! believes.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Builds a TLS client configuration that trusts exactly the CA certificates in `pem`.
///
/// # Errors
/// A message saying what is wrong with the PEM: unparsable, no certificate, or a certificate
/// rustls cannot use as a root.
pub fn trusting(pem: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| format!("a certificate is no usable CA: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_saying_so() {
        assert!(trusting(b"").unwrap_err().contains("no PEM certificate"));
        assert!(trusting(b"hello").unwrap_err().contains("no PEM certificate"));
        let garbage = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(trusting(garbage).is_err());
        let not_der = b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(trusting(not_der).unwrap_err().contains("no usable CA"));
    }
}
