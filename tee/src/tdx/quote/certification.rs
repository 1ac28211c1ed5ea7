//! Certification data: how a quote proves its attestation key belongs to a genuine QE.
//!
//! Every certification data block is `type u16 | size u32 | data[size]`. Two types get a
//! typed form here:
//! - **type 5**, the PCK certificate chain: PEM text, leaf first, ending at the Intel SGX
//!   Root CA (kept as raw bytes, including any trailing NUL some producers add);
//! - **type 6**, QE report certification data, which is what TDX quotes carry:
//!   ```text
//!   qe_report [384] | qe_report_signature [64] | qe_auth_data_len u16 | qe_auth_data
//!   | inner certification data (normally type 5)
//!   ```
//!   The inner block must fill `size` exactly.
//!
//! Other types (1–4 PPID/PCK forms, 7 platform manifest) are kept as
//! [`CertificationData::Other`]. A type-6 block nested inside another type-6 block is rejected, so
//! an attacker cannot make the recursive parser recurse more than once.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::codec::{Reader, len_u32, prefix_u16, prefix_u32, put_u16, put_u32};
use crate::error::{EmitError, ParseError};
use crate::tdx::quote::EnclaveReport;

/// A certification data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificationData {
    /// Type 5: the PCK leaf certificate and its issuers, PEM-encoded.
    PckCertChain(Vec<u8>),
    /// Type 6: the QE's report, its PCK signature, and the inner certification data.
    QeReport(Box<QeReportCertData>),
    /// Any other type, kept verbatim.
    Other {
        /// The certification data type.
        cert_type: u16,
        /// The data bytes.
        data: Vec<u8>,
    },
}

impl CertificationData {
    /// Type of a PCK certificate chain.
    pub const TYPE_PCK_CERT_CHAIN: u16 = 5;
    /// Type of QE report certification data.
    pub const TYPE_QE_REPORT: u16 = 6;

    /// Returns the type number as it appears on the wire.
    pub fn cert_type(&self) -> u16 {
        match self {
            Self::PckCertChain(_) => Self::TYPE_PCK_CERT_CHAIN,
            Self::QeReport(_) => Self::TYPE_QE_REPORT,
            Self::Other { cert_type, .. } => *cert_type,
        }
    }

    /// Returns the PCK certificate chain (PEM), looking inside type 6 if needed.
    pub fn pck_cert_chain(&self) -> Option<&[u8]> {
        match self {
            Self::PckCertChain(pem) => Some(pem),
            Self::QeReport(qe) => qe.certification.pck_cert_chain(),
            Self::Other { .. } => None,
        }
    }

    /// Returns the QE report certification data, if this is type 6.
    pub fn qe_report(&self) -> Option<&QeReportCertData> {
        match self {
            Self::QeReport(qe) => Some(qe),
            _ => None,
        }
    }

    /// Reads a block; `nested` is true inside a type-6 block.
    pub(crate) fn read(r: &mut Reader<'_>, nested: bool) -> Result<Self, ParseError> {
        let type_at = r.offset();
        let cert_type = r.u16("certification_data_type")?;
        let size = len_u32(r.u32("certification_data_size")?);
        let mut data = r.sub(size, "certification_data")?;
        let parsed = match cert_type {
            Self::TYPE_PCK_CERT_CHAIN => {
                Self::PckCertChain(data.take(size, "pck_cert_chain")?.to_vec())
            }
            Self::TYPE_QE_REPORT if nested => {
                return Err(ParseError::Invalid {
                    field: "certification_data_type",
                    offset: type_at,
                    reason: "QE report certification data nested inside another",
                });
            }
            Self::TYPE_QE_REPORT => Self::QeReport(Box::new(QeReportCertData::read(&mut data)?)),
            _ => Self::Other { cert_type, data: data.take(size, "certification_data")?.to_vec() },
        };
        data.finish("certification_data")?;
        Ok(parsed)
    }

    /// Appends the block.
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        put_u16(out, self.cert_type());
        match self {
            Self::PckCertChain(data) | Self::Other { data, .. } => {
                put_u32(out, prefix_u32("certification_data", data.len())?);
                out.extend_from_slice(data);
            }
            Self::QeReport(qe) => {
                let mut inner = Vec::new();
                qe.write(&mut inner)?;
                put_u32(out, prefix_u32("certification_data", inner.len())?);
                out.extend_from_slice(&inner);
            }
        }
        Ok(())
    }
}

/// Certification data type 6: the QE's own report, signed by the platform's PCK key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeReportCertData {
    /// The Quoting Enclave's report; the PCK key signs its 384 bytes.
    pub qe_report: EnclaveReport,
    /// ECDSA P-256 signature (r ‖ s, big-endian) over the QE report by the PCK key.
    pub qe_report_signature: [u8; 64],
    /// QE authentication data, hashed with the attestation key into the QE report.
    pub qe_auth_data: Vec<u8>,
    /// The inner certification data, normally a type-5 PCK certificate chain.
    pub certification: CertificationData,
}

impl QeReportCertData {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let qe_report = EnclaveReport::read(r)?;
        let qe_report_signature = r.array("qe_report_signature")?;
        let auth_len = usize::from(r.u16("qe_auth_data_len")?);
        let qe_auth_data = r.take(auth_len, "qe_auth_data")?.to_vec();
        let certification = CertificationData::read(r, true)?;
        Ok(Self { qe_report, qe_report_signature, qe_auth_data, certification })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        self.qe_report.write(out);
        out.extend_from_slice(&self.qe_report_signature);
        put_u16(out, prefix_u16("qe_auth_data", self.qe_auth_data.len())?);
        out.extend_from_slice(&self.qe_auth_data);
        self.certification.write(out)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn block(cert_type: u16, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, cert_type);
        put_u32(&mut b, data.len() as u32);
        b.extend_from_slice(data);
        b
    }

    fn qe_block(inner: &[u8]) -> Vec<u8> {
        let mut qe = alloc::vec![0u8; 384 + 64];
        put_u16(&mut qe, 2);
        qe.extend_from_slice(&[0xA1, 0xA2]);
        qe.extend_from_slice(inner);
        block(6, &qe)
    }

    #[test]
    fn type6_wrapping_type5_exposes_the_pem_chain() {
        let b = qe_block(&block(5, b"-----BEGIN CERTIFICATE-----\n"));
        let cd = CertificationData::read(&mut Reader::new(&b), false).unwrap();
        assert_eq!(cd.pck_cert_chain(), Some(&b"-----BEGIN CERTIFICATE-----\n"[..]));
        assert_eq!(cd.qe_report().unwrap().qe_auth_data, [0xA1, 0xA2]);
        let mut out = Vec::new();
        cd.write(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn type6_nested_in_type6_is_rejected() {
        let b = qe_block(&qe_block(&block(5, b"x")));
        assert!(matches!(
            CertificationData::read(&mut Reader::new(&b), false),
            Err(ParseError::Invalid { field: "certification_data_type", offset: 458, .. })
        ));
    }

    #[test]
    fn slack_after_the_inner_block_is_trailing_data() {
        let mut inner = block(5, b"pem");
        inner.push(0);
        let b = qe_block(&inner);
        assert!(matches!(
            CertificationData::read(&mut Reader::new(&b), false),
            Err(ParseError::TrailingData { field: "certification_data", len: 1, .. })
        ));
    }

    #[test]
    fn unknown_type_is_kept_verbatim() {
        let b = block(7, &[1, 2, 3]);
        let cd = CertificationData::read(&mut Reader::new(&b), false).unwrap();
        assert_eq!(cd, CertificationData::Other { cert_type: 7, data: alloc::vec![1, 2, 3] });
    }

    #[test]
    fn qe_auth_data_longer_than_u16_cannot_be_emitted() {
        let cd = CertificationData::QeReport(Box::new(QeReportCertData {
            qe_report: EnclaveReport::parse(&[0; 384]).unwrap(),
            qe_report_signature: [0; 64],
            qe_auth_data: alloc::vec![0; 70_000],
            certification: CertificationData::PckCertChain(Vec::new()),
        }));
        assert_eq!(
            cd.write(&mut Vec::new()),
            Err(EmitError::TooLong { field: "qe_auth_data", len: 70_000, max: 65_535 })
        );
    }
}
