//! The SEV-SNP `ATTESTATION_REPORT` (SEV-SNP Firmware ABI, "ATTESTATION_REPORT Structure"):
//! 1184 bytes, of which bytes `0..0x2A0` are signed and `0x2A0..0x4A0` hold the signature.
//!
//! ```text
//! 0x000 version  guest_svn  policy  family_id  image_id  vmpl  signature_algo  current_tcb
//! 0x040 platform_info  key_info  reserved  report_data  measurement  host_data
//! 0x0E0 id_key_digest  author_key_digest  report_id  report_id_ma  reported_tcb
//! 0x188 cpuid_fam_id cpuid_mod_id cpuid_step (v3+; reserved in v2)  reserved
//! 0x1A0 chip_id  committed_tcb  current/committed version  launch_tcb
//! 0x1F8 launch_mit_vector current_mit_vector (v5+; reserved before)  reserved
//! 0x2A0 signature
//! ```
//! Versions 2 to 5 are accepted; other versions are [`ParseError::Unsupported`]. (Version 6,
//! ABI 1.59, puts extended TCB fields in the reserved area; it is not implemented yet.)
//! Fields that only newer versions define are stored whatever the version, so every byte
//! survives a round trip; the version-aware accessors ([`AttestationReport::cpuid`],
//! [`AttestationReport::mit_vectors`]) say whether they mean anything.

use alloc::vec::Vec;

use crate::codec::{Reader, put_u32, put_u64};
use crate::error::ParseError;
use crate::snp::{
    EcdsaP384Signature, Generation, GuestPolicy, KeyInfo, PlatformInfo, ReportBytes, TcbLayout,
    TcbVersion,
};

/// The CPUID identity a version 3+ report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cpuid {
    /// Combined family (base + extended), e.g. 0x19.
    pub family: u8,
    /// Combined model (base + extended), e.g. 0x11.
    pub model: u8,
    /// Stepping.
    pub stepping: u8,
}

/// A firmware version triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FirmwareVersion {
    /// Build number.
    pub build: u8,
    /// Minor version.
    pub minor: u8,
    /// Major version.
    pub major: u8,
    /// The reserved byte that follows, kept verbatim.
    pub reserved: u8,
}

/// A parsed SNP attestation report; every byte of the input is in exactly one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationReport {
    /// Report format version (2..=5).
    pub version: u32,
    /// Guest SVN from the ID block.
    pub guest_svn: u32,
    /// Guest policy set at launch.
    pub policy: GuestPolicy,
    /// Family ID from the ID block.
    pub family_id: [u8; 16],
    /// Image ID from the ID block.
    pub image_id: [u8; 16],
    /// VMPL the report was requested at.
    pub vmpl: u32,
    /// Signature algorithm; 1 is ECDSA P-384 with SHA-384.
    pub signature_algo: u32,
    /// Current TCB of the platform.
    pub current_tcb: TcbVersion,
    /// Platform state flags.
    pub platform_info: PlatformInfo,
    /// Author key, chip-key masking and signing key flags.
    pub key_info: KeyInfo,
    /// Reserved bytes 0x4C..0x50, kept verbatim.
    pub reserved0: [u8; 4],
    /// The 64 bytes the guest asked to bind into the report.
    pub report_data: [u8; 64],
    /// Launch measurement of the guest.
    pub measurement: [u8; 48],
    /// Data the host supplied at launch.
    pub host_data: [u8; 32],
    /// SHA-384 of the ID key that signed the ID block.
    pub id_key_digest: [u8; 48],
    /// SHA-384 of the author key that certified the ID key.
    pub author_key_digest: [u8; 48],
    /// Report ID of this guest.
    pub report_id: [u8; 32],
    /// Report ID of the guest's migration agent.
    pub report_id_ma: [u8; 32],
    /// TCB the signing key was derived from.
    pub reported_tcb: TcbVersion,
    /// Bytes 0x188..0x18B: CPUID family, model, stepping in v3+; reserved in v2.
    pub cpuid_raw: [u8; 3],
    /// Reserved bytes 0x18B..0x1A0, kept verbatim.
    pub reserved1: [u8; 21],
    /// Chip identifier, or zero if the host masks it.
    pub chip_id: [u8; 64],
    /// Committed TCB (anti-rollback floor).
    pub committed_tcb: TcbVersion,
    /// Version of the running firmware.
    pub current_version: FirmwareVersion,
    /// Version of the committed firmware.
    pub committed_version: FirmwareVersion,
    /// Current TCB when the guest was launched.
    pub launch_tcb: TcbVersion,
    /// Bytes 0x1F8..0x200: launch mitigation vector in v5+; reserved before.
    pub launch_mit_vector_raw: u64,
    /// Bytes 0x200..0x208: current mitigation vector in v5+; reserved before.
    pub current_mit_vector_raw: u64,
    /// Reserved bytes 0x208..0x2A0, kept verbatim.
    pub reserved2: [u8; 152],
    /// The signature block.
    pub signature: EcdsaP384Signature,
}

impl AttestationReport {
    /// Size of a report in bytes.
    pub const LEN: usize = 0x4A0;
    /// Oldest report version this crate parses.
    pub const MIN_VERSION: u32 = 2;
    /// Newest report version this crate parses.
    pub const MAX_VERSION: u32 = 5;
    /// `signature_algo` value of ECDSA P-384 with SHA-384.
    pub const SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;

    /// Parses a checked report.
    ///
    /// # Errors
    /// None in practice: the view is already checked. Kept for a uniform signature.
    pub fn parse<B: AsRef<[u8]>>(bytes: &ReportBytes<B>) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes.as_bytes());
        let rep = Self {
            version: r.u32("version")?,
            guest_svn: r.u32("guest_svn")?,
            policy: GuestPolicy(r.u64("policy")?),
            family_id: r.array("family_id")?,
            image_id: r.array("image_id")?,
            vmpl: r.u32("vmpl")?,
            signature_algo: r.u32("signature_algo")?,
            current_tcb: TcbVersion(r.u64("current_tcb")?),
            platform_info: PlatformInfo(r.u64("platform_info")?),
            key_info: KeyInfo(r.u32("key_info")?),
            reserved0: r.array("reserved0")?,
            report_data: r.array("report_data")?,
            measurement: r.array("measurement")?,
            host_data: r.array("host_data")?,
            id_key_digest: r.array("id_key_digest")?,
            author_key_digest: r.array("author_key_digest")?,
            report_id: r.array("report_id")?,
            report_id_ma: r.array("report_id_ma")?,
            reported_tcb: TcbVersion(r.u64("reported_tcb")?),
            cpuid_raw: r.array("cpuid")?,
            reserved1: r.array("reserved1")?,
            chip_id: r.array("chip_id")?,
            committed_tcb: TcbVersion(r.u64("committed_tcb")?),
            current_version: read_version(&mut r, "current_version")?,
            committed_version: read_version(&mut r, "committed_version")?,
            launch_tcb: TcbVersion(r.u64("launch_tcb")?),
            launch_mit_vector_raw: r.u64("launch_mit_vector")?,
            current_mit_vector_raw: r.u64("current_mit_vector")?,
            reserved2: r.array("reserved2")?,
            signature: EcdsaP384Signature {
                r: r.array("signature.r")?,
                s: r.array("signature.s")?,
                reserved: r.array("signature.reserved")?,
            },
        };
        r.finish("report")?;
        Ok(rep)
    }

    /// Checks and parses a report in one step.
    ///
    /// # Errors
    /// As [`ReportBytes::new_checked`].
    pub fn from_bytes(buf: &[u8]) -> Result<Self, ParseError> {
        Self::parse(&ReportBytes::new_checked(buf)?)
    }

    /// Serializes the report into its 1184 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed_bytes();
        let s = &self.signature;
        for part in [&s.r[..], &s.s, &s.reserved] {
            out.extend_from_slice(part);
        }
        out
    }

    /// Serializes bytes `0..0x2A0`, the part the signature covers.
    ///
    /// Prefer [`ReportBytes::signed_bytes`] on the received buffer when verifying.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        put_u32(&mut out, self.version);
        put_u32(&mut out, self.guest_svn);
        put_u64(&mut out, self.policy.0);
        out.extend_from_slice(&self.family_id);
        out.extend_from_slice(&self.image_id);
        put_u32(&mut out, self.vmpl);
        put_u32(&mut out, self.signature_algo);
        put_u64(&mut out, self.current_tcb.0);
        put_u64(&mut out, self.platform_info.0);
        put_u32(&mut out, self.key_info.0);
        for part in [&self.reserved0[..], &self.report_data, &self.measurement, &self.host_data] {
            out.extend_from_slice(part);
        }
        for part in
            [&self.id_key_digest[..], &self.author_key_digest, &self.report_id, &self.report_id_ma]
        {
            out.extend_from_slice(part);
        }
        put_u64(&mut out, self.reported_tcb.0);
        for part in [&self.cpuid_raw[..], &self.reserved1, &self.chip_id] {
            out.extend_from_slice(part);
        }
        put_u64(&mut out, self.committed_tcb.0);
        for v in [self.current_version, self.committed_version] {
            out.extend_from_slice(&[v.build, v.minor, v.major, v.reserved]);
        }
        put_u64(&mut out, self.launch_tcb.0);
        put_u64(&mut out, self.launch_mit_vector_raw);
        put_u64(&mut out, self.current_mit_vector_raw);
        out.extend_from_slice(&self.reserved2);
        out
    }

    /// Returns the CPUID identity, which only version 3 and later reports carry.
    pub fn cpuid(&self) -> Option<Cpuid> {
        (self.version >= 3).then(|| {
            let [family, model, stepping] = self.cpuid_raw;
            Cpuid { family, model, stepping }
        })
    }

    /// Returns the processor generation, if the report says (version 3+ with a known CPUID).
    pub fn generation(&self) -> Option<Generation> {
        self.cpuid().and_then(|c| Generation::from_cpuid(c.family, c.model))
    }

    /// Returns the layout of this report's TCB words, if the report determines it.
    ///
    /// Version 2 reports are legacy (pre-Turin firmware). For version 3+, the CPUID family
    /// decides: 0x19 is legacy, 0x1A is Turin; any other family returns `None`.
    pub fn tcb_layout(&self) -> Option<TcbLayout> {
        match self.cpuid() {
            None => Some(TcbLayout::Legacy),
            Some(Cpuid { family: 0x19, .. }) => Some(TcbLayout::Legacy),
            Some(Cpuid { family: 0x1A, .. }) => Some(TcbLayout::Turin),
            Some(_) => None,
        }
    }

    /// Returns `(launch, current)` mitigation vectors, which only version 5+ reports carry.
    pub fn mit_vectors(&self) -> Option<(u64, u64)> {
        (self.version >= 5).then_some((self.launch_mit_vector_raw, self.current_mit_vector_raw))
    }
}

fn read_version(r: &mut Reader<'_>, field: &'static str) -> Result<FirmwareVersion, ParseError> {
    let [build, minor, major, reserved] = r.array(field)?;
    Ok(FirmwareVersion { build, minor, major, reserved })
}

#[cfg(test)]
mod test {
    use super::*;

    fn report(version: u32) -> Vec<u8> {
        let mut b = alloc::vec![0u8; AttestationReport::LEN];
        b[..4].copy_from_slice(&version.to_le_bytes());
        b
    }

    #[test]
    fn version_1_and_6_are_unsupported() {
        for v in [1, 6] {
            assert_eq!(
                AttestationReport::from_bytes(&report(v)),
                Err(ParseError::Unsupported { field: "version", offset: 0, value: v.into() })
            );
        }
    }

    #[test]
    fn report_one_byte_short_is_truncated() {
        let b = report(2);
        assert_eq!(
            AttestationReport::from_bytes(&b[..1183]),
            Err(ParseError::Truncated { field: "report", offset: 0, need: 1184, got: 1183 })
        );
    }

    #[test]
    fn v2_report_has_no_cpuid_even_if_the_bytes_are_set() {
        let mut b = report(2);
        b[0x188] = 0x19;
        let rep = AttestationReport::from_bytes(&b).unwrap();
        assert_eq!(rep.cpuid(), None);
        assert_eq!(rep.tcb_layout(), Some(TcbLayout::Legacy));
        assert_eq!(rep.to_bytes(), b);
    }

    #[test]
    fn v5_turin_report_exposes_mit_vectors_and_turin_layout() {
        let mut b = report(5);
        b[0x188..0x18B].copy_from_slice(&[0x1A, 0x02, 0x00]);
        b[0x1F8] = 0x0F;
        b[0x200] = 0x07;
        let rep = AttestationReport::from_bytes(&b).unwrap();
        assert_eq!(rep.generation(), Some(Generation::Turin));
        assert_eq!(rep.tcb_layout(), Some(TcbLayout::Turin));
        assert_eq!(rep.mit_vectors(), Some((0x0F, 0x07)));
        assert_eq!(rep.to_bytes(), b);
    }

    #[test]
    fn signed_bytes_stop_at_0x2a0() {
        let b = report(3);
        let view = ReportBytes::new_checked(&b[..]).unwrap();
        assert_eq!(view.signed_bytes().len(), 0x2A0);
        assert_eq!(view.signature_bytes().len(), 512);
    }
}
