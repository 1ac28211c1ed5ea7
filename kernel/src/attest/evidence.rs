//! Evidence: what the platform returns for 64 bytes of report data, parsed with the types
//! `attest verify` uses, and checked to bind the report data that was asked for.
//!
//! A TDX quote comes back from the host's quoting service through shared memory, and an
//! SNP report through the host-relayed channel to the PSP: a host could hand back another
//! guest's evidence, an old one, or bytes that are no evidence at all. So the bytes are
//! parsed before anyone hands them on, and the report data inside must be the caller's.

use alloc::vec::Vec;

use ostd::tee::{Platform, TeeError};

/// Evidence, as bytes (what a verifier is sent) and as what they say.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made once per attestation request and moved once: boxing buys nothing"
)]
pub enum Evidence {
    /// A TDX quote (version 4 or 5).
    Tdx {
        /// The quote's bytes.
        bytes: Vec<u8>,
        /// The quote, parsed.
        quote: alloc::boxed::Box<tee::tdx::Quote>,
    },
    /// An SNP attestation report, and the certificates the host handed out with it.
    Snp {
        /// The report's bytes.
        bytes: Vec<u8>,
        /// The report, parsed.
        report: alloc::boxed::Box<tee::snp::AttestationReport>,
        /// The host's certificate table (VCEK, ASK, ARK), parsed and re-laid out, if it
        /// gave one. Unverified: the verifier checks the chain and the report's signature.
        certificates: Option<tee::snp::CertTable>,
    },
    /// A simulated report (development only; verifiers refuse it unless told otherwise).
    Sim {
        /// The report's bytes.
        bytes: Vec<u8>,
        /// The report, parsed.
        report: tee::sim::SimReportBody,
    },
}

/// Why no evidence came back.
#[derive(Debug)]
pub enum EvidenceError {
    /// The platform could not produce it (or has no TEE).
    Platform(TeeError),
    /// What came back is not the platform's evidence format.
    Malformed(&'static str),
    /// The evidence binds other report data than was asked for: stale, or someone else's.
    WrongReportData,
}

impl core::fmt::Display for EvidenceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Platform(e) => write!(f, "{e}"),
            Self::Malformed(what) => write!(f, "the platform returned a malformed {what}"),
            Self::WrongReportData => f.write_str("the evidence binds other report data"),
        }
    }
}

impl Evidence {
    /// Returns the report data the evidence binds.
    pub fn report_data(&self) -> &[u8; 64] {
        match self {
            Self::Tdx { quote, .. } => quote.report_data(),
            Self::Snp { report, .. } => &report.report_data,
            Self::Sim { report, .. } => &report.report_data,
        }
    }

    /// Returns the certificate table that came with the evidence (SNP only, when the host
    /// has one).
    pub fn certificates(&self) -> Option<&tee::snp::CertTable> {
        match self {
            Self::Snp { certificates, .. } => certificates.as_ref(),
            Self::Tdx { .. } | Self::Sim { .. } => None,
        }
    }

    /// Returns the evidence's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Tdx { bytes, .. } | Self::Snp { bytes, .. } | Self::Sim { bytes, .. } => bytes,
        }
    }
}

/// Returns the report data the kernel asks the platform for when a program asks for
/// `report_data`: the same where there are runtime registers; where there are none (SEV-SNP,
/// `sim.registers=none`), `report_data` bound with the kernel's event log as it is now
/// (`tee::eventlog::log_bound`). Every path that asks for a report on a program's behalf
/// (configfs-tsm, `/dev/sev-guest`, `/dev/tdx_guest`) goes through here, so no program gets
/// a report over report data of its own choosing there, which would let it vouch for a log
/// it made up.
pub fn requested_report_data(report_data: &[u8; 64]) -> [u8; 64] {
    if ostd::tee::has_runtime_registers() {
        *report_data
    } else {
        tee::eventlog::log_bound_report_data(report_data, &super::measure::log_bytes())
    }
}

/// Asks the platform for evidence binding `report_data`, and checks what comes back.
pub fn collect(report_data: &[u8; 64]) -> Result<Evidence, EvidenceError> {
    collect_at(report_data, 0)
}

/// [`collect`] at privilege level `privlevel` (SEV-SNP's VMPL; 0 elsewhere).
///
/// Where the platform has no runtime registers (SEV-SNP, `sim.registers=none`), the kernel
/// binds its event log into the report: the platform is asked for
/// `tee::eventlog::log_bound_report_data(report_data, log)`, not `report_data` itself (see
/// that module for why and how a verifier checks it).
pub fn collect_at(report_data: &[u8; 64], privlevel: u32) -> Result<Evidence, EvidenceError> {
    let requested = requested_report_data(report_data);
    let report_data = &requested;
    let ostd::tee::Quote { evidence: bytes, certificates } =
        ostd::tee::quote_at(report_data, privlevel).map_err(EvidenceError::Platform)?;
    let evidence = match ostd::tee::platform() {
        Platform::Tdx => {
            let checked = tee::tdx::QuoteBytes::new_checked(&bytes[..])
                .map_err(|_| EvidenceError::Malformed("TDX quote"))?;
            let quote = tee::tdx::Quote::parse(&checked)
                .map_err(|_| EvidenceError::Malformed("TDX quote"))?;
            Evidence::Tdx { bytes, quote: alloc::boxed::Box::new(quote) }
        }
        Platform::SevSnp => snp_evidence(bytes, certificates)?,
        // Playing SNP, the sim reports in SNP's layout (signed with its published key).
        Platform::Sim if ostd::tee::sim_plays_snp() => snp_evidence(bytes, certificates)?,
        Platform::Sim => {
            let report =
                tee::sim::parse(&bytes).map_err(|_| EvidenceError::Malformed("sim report"))?.body;
            Evidence::Sim { bytes, report }
        }
        Platform::None => return Err(EvidenceError::Malformed("report from no TEE")),
    };
    if evidence.report_data() != report_data {
        return Err(EvidenceError::WrongReportData);
    }
    Ok(evidence)
}

/// An SNP report and the host's certificate table, parsed.
fn snp_evidence(bytes: Vec<u8>, certificates: Option<Vec<u8>>) -> Result<Evidence, EvidenceError> {
    let report = tee::snp::AttestationReport::from_bytes(&bytes)
        .map_err(|_| EvidenceError::Malformed("SNP report"))?;
    // The host writes the table: parse it here (bounds, overlaps) so what is handed on is
    // well formed; its contents are the verifier's to judge.
    let certificates = certificates
        .map(|table| tee::snp::CertTable::parse(&table))
        .transpose()
        .map_err(|_| EvidenceError::Malformed("SNP certificate table"))?;
    Ok(Evidence::Snp { bytes, report: alloc::boxed::Box::new(report), certificates })
}

ostd::ktest! {
    fn evidence_binds_the_report_data_asked_for() {
        let data: [u8; 64] = core::array::from_fn(|i| 0xa0 ^ i as u8);
        match ostd::tee::platform() {
            Platform::None => {
                assert!(matches!(
                    collect(&data),
                    Err(EvidenceError::Platform(TeeError::Unsupported { .. }))
                ));
            }
            _ => {
                let evidence = collect(&data).unwrap();
                let registers = ostd::tee::has_runtime_registers();
                let log = super::measure::log_bytes();
                let bound = tee::eventlog::log_bound_report_data(&data, &log);
                assert_eq!(evidence.report_data(), if registers { &data } else { &bound });
                if !matches!(evidence, Evidence::Snp { .. }) {
                    assert!(evidence.certificates().is_none(), "certificates come with SNP only");
                }
                if ostd::tee::sim_plays_snp() {
                    let Evidence::Snp { report, certificates, .. } = &evidence else {
                        panic!("the sim playing SNP gave {evidence:?}");
                    };
                    assert_eq!((report.vmpl, certificates.is_none()), (0, true));
                }
                if let Evidence::Sim { report, .. } = &evidence {
                    let expected = registers.then(|| ostd::tee::measurement_registers().unwrap());
                    assert_eq!(report.registers, expected);
                    assert_eq!(&tee::sim::parse(evidence.bytes()).unwrap().body, report);
                }
            }
        }
    }
}
