//! AMD certificate revocation lists: checked when given, never fetched.
//!
//! AMD's KDS publishes one CRL per generation (`/vcek/v1/<gen>/crl`), signed by the ARK with
//! RSA-PSS-SHA384, listing revoked ASKs/ASVKs. A CRL can arrive in the evidence's certificate
//! table (the CRL GUID) or as a `*.crl` file beside the certificates. Every CRL given must be
//! signed by the anchoring ARK and current at the verification time; a certificate in the
//! chain whose serial it lists is refused.

use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use x509_cert::crl::CertificateList;
use x509_cert::der::{Decode, Encode};

use crate::snp::cert::{AmdCert, CertError};
use crate::time::VerificationTime;

/// A parsed CRL.
#[derive(Debug, Clone)]
pub struct AmdCrl {
    crl: CertificateList,
    source: String,
}

impl AmdCrl {
    /// Parses a DER or PEM CRL; `source` names it in errors.
    ///
    /// # Errors
    /// [`CertError::Malformed`].
    pub fn parse(bytes: &[u8], source: &str) -> Result<Self, CertError> {
        let end = bytes.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        let bytes = bytes.get(..end).unwrap_or_default();
        let crl = if bytes.starts_with(b"-----BEGIN") {
            x509_cert::der::pem::decode_vec(bytes)
                .map_err(|e| e.to_string())
                .and_then(|(_, der)| CertificateList::from_der(&der).map_err(|e| e.to_string()))
        } else {
            CertificateList::from_der(bytes).map_err(|e| e.to_string())
        }
        .map_err(|reason| CertError::Malformed { source: source.to_owned(), reason })?;
        Ok(Self { crl, source: source.to_owned() })
    }

    /// Returns the serial numbers (big-endian bytes) the CRL lists.
    pub fn revoked_serials(&self) -> Vec<Vec<u8>> {
        self.crl
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect()
    }

    /// Checks the CRL's signature under `ark`, its update window at `at`, and that none of
    /// `chain` is listed.
    ///
    /// # Errors
    /// [`CertError::AlgorithmMismatch`] (outer and signed algorithm differ, RFC 5280
    /// §5.1.1.2), [`CertError::BadSignature`] (not signed by `ark`),
    /// [`CertError::OutsideValidity`] (stale or not yet valid), [`CertError::Revoked`].
    pub fn check(
        &self,
        ark: &AmdCert,
        at: VerificationTime,
        chain: &[&AmdCert],
    ) -> Result<(), CertError> {
        crate::x509::check_algorithms(
            &format!("CRL from {}", self.source),
            &self.crl.signature_algorithm,
            &self.crl.tbs_cert_list.signature,
        )
        .map_err(CertError::AlgorithmMismatch)?;
        let bad_sig = |reason: String| CertError::BadSignature {
            issuer: ark.common_name(),
            subject: format!("CRL from {}", self.source),
            reason,
        };
        let key = rsa::RsaPublicKey::from_public_key_der(&ark.spki_der())
            .map_err(|e| bad_sig(format!("ARK key: {e}")))?;
        let tbs = self.crl.tbs_cert_list.to_der().map_err(|e| bad_sig(e.to_string()))?;
        let sig = rsa::pss::Signature::try_from(self.crl.signature.raw_bytes())
            .map_err(|e| bad_sig(e.to_string()))?;
        rsa::pss::VerifyingKey::<sha2::Sha384>::new(key)
            .verify(&tbs, &sig)
            .map_err(|e| bad_sig(e.to_string()))?;
        let secs =
            |t: &x509_cert::time::Time| VerificationTime::from_unix(t.to_unix_duration().as_secs());
        let this_update = secs(&self.crl.tbs_cert_list.this_update);
        let next_update = self
            .crl
            .tbs_cert_list
            .next_update
            .as_ref()
            .map_or(VerificationTime::from_unix(u64::MAX), secs);
        if at < this_update || at > next_update {
            return Err(CertError::OutsideValidity {
                cert: format!("CRL from {}", self.source),
                at,
                not_before: this_update,
                not_after: next_update,
            });
        }
        let revoked = self.revoked_serials();
        for cert in chain {
            if revoked.iter().any(|s| s == cert.serial()) {
                return Err(CertError::Revoked {
                    cert: cert.common_name(),
                    crl: self.source.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::snp::roots::builtin_roots;

    /// `shared/vectors`, or `COCOON_VECTORS` as in `tests/common`.
    fn vectors() -> std::path::PathBuf {
        std::env::var_os("COCOON_VECTORS").map_or_else(
            || {
                std::path::PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/vectors"
                ))
            },
            std::path::PathBuf::from,
        )
    }

    fn intel_pck_crl() -> AmdCrl {
        let path = vectors().join("tdx/go-tdx-guest/pckcrl");
        AmdCrl::parse(&std::fs::read(path).unwrap(), "pckcrl").unwrap()
    }

    #[test]
    fn revoked_serials_are_read_from_a_real_crl() {
        // Intel's PCK CRL stands in for an AMD one: same X.509 CRL structure, many entries.
        assert!(intel_pck_crl().revoked_serials().len() > 10);
    }

    #[test]
    fn a_crl_not_signed_by_the_ark_is_rejected_naming_the_ark() {
        let milan = &builtin_roots()[0];
        let at = VerificationTime::parse_rfc3339("2023-06-20T00:00:00Z").unwrap();
        let e = intel_pck_crl().check(&milan.ark, at, &[&milan.ask]).unwrap_err();
        assert!(
            matches!(&e, CertError::BadSignature { issuer, .. } if issuer == "ARK-Milan"),
            "{e}"
        );
    }

    #[test]
    fn a_crl_whose_outer_algorithm_differs_from_the_signed_one_is_rejected_naming_it() {
        let path = vectors().join("tdx/go-tdx-guest/pckcrl");
        let mut der = std::fs::read(path).unwrap();
        let crl = CertificateList::from_der(&der).unwrap();
        let alg = crl.signature_algorithm.to_der().unwrap();
        let last = der.windows(alg.len()).rposition(|w| w == alg).unwrap() + alg.len() - 1;
        der[last] ^= 0x01; // ecdsa-with-SHA256 (…04 03 02) becomes …04 03 03, outside the TBS
        let edited = AmdCrl::parse(&der, "edited pckcrl").unwrap();
        let milan = &builtin_roots()[0];
        let at = VerificationTime::parse_rfc3339("2023-06-20T00:00:00Z").unwrap();
        let e = edited.check(&milan.ark, at, &[&milan.ask]).unwrap_err();
        assert!(
            matches!(&e, CertError::AlgorithmMismatch(m) if m.cert == "CRL from edited pckcrl")
        );
        assert!(e.to_string().contains("1.2.840.10045.4.3.3] differs"), "{e}");
    }
}
