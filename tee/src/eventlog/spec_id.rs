//! The Spec ID event: the first entry of every TCG2 crypto-agile log.
//!
//! It is written in the *old* SHA-1 event format (`TCG_PCClientPCREvent`) so that SHA-1-only
//! parsers can skip it, and its data is a `TCG_EfiSpecIDEvent` that announces the crypto-agile
//! format and the digest size of every algorithm the later events use:
//!
//! ```text
//! pcr_index u32 | event_type u32 (EV_NO_ACTION) | sha1 digest [20] | event_size u32 | event:
//!   signature [16] "Spec ID Event03\0" | platform_class u32 | spec_version minor u8, major u8,
//!   errata u8 | uintn_size u8 | number_of_algorithms u32 | { algorithm_id u16, digest_size u16 }*
//!   | vendor_info_size u8 | vendor_info
//! ```
//! The TCG profile puts this event in PCR 0; the CCEL vector (TDVF) puts it in MR index 1.
//! Both are accepted and the index is kept.

use alloc::vec::Vec;

use crate::codec::{Reader, len_u32, prefix_u32, put_u16, put_u32};
use crate::error::{EmitError, ParseError};
use crate::eventlog::{EventType, HashAlg};

/// One `{ algorithm_id, digest_size }` pair from the Spec ID event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmSize {
    /// The hash algorithm.
    pub alg: HashAlg,
    /// Size of its digests in bytes.
    pub digest_size: u16,
}

/// The Spec ID event (`TCG_EfiSpecIDEvent` in a `TCG_PCClientPCREvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIdEvent {
    /// PCR / MR index of the header event (0 per TCG; 1 in the TDVF CCEL).
    pub pcr_index: u32,
    /// The SHA-1 digest field of the header event (zero in practice), kept verbatim.
    pub sha1_digest: [u8; 20],
    /// Platform class (0 client, 1 server).
    pub platform_class: u32,
    /// Spec version, minor part.
    pub spec_version_minor: u8,
    /// Spec version, major part (2 for crypto-agile logs).
    pub spec_version_major: u8,
    /// Spec errata.
    pub spec_errata: u8,
    /// Size of `UINTN` on the platform: 1 for 32-bit, 2 for 64-bit.
    pub uintn_size: u8,
    /// The algorithms later events carry digests for, with their sizes.
    pub algorithms: Vec<AlgorithmSize>,
    /// Vendor-specific data.
    pub vendor_info: Vec<u8>,
}

impl SpecIdEvent {
    /// Most algorithms a log may declare. The TCG sets no number; real logs declare one to
    /// four. The cap keeps per-event work (digest lookups, duplicate checks) constant.
    pub const MAX_ALGORITHMS: u32 = 16;

    /// The 16-byte signature of a crypto-agile log's Spec ID event.
    pub const SIGNATURE: [u8; 16] = *b"Spec ID Event03\0";

    /// Returns the declared digest size of `alg`, if the log uses it.
    pub fn digest_size(&self, alg: HashAlg) -> Option<usize> {
        self.algorithms.iter().find(|a| a.alg == alg).map(|a| usize::from(a.digest_size))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let pcr_index = r.u32("spec_id.pcr_index")?;
        let type_at = r.offset();
        let event_type = EventType(r.u32("spec_id.event_type")?);
        if event_type != EventType::EV_NO_ACTION {
            let reason = "the first event must be EV_NO_ACTION";
            return Err(ParseError::Invalid {
                field: "spec_id.event_type",
                offset: type_at,
                reason,
            });
        }
        let sha1_digest = r.array("spec_id.sha1_digest")?;
        let size = len_u32(r.u32("spec_id.event_size")?);
        let mut e = r.sub(size, "spec_id.event")?;
        let sig_at = e.offset();
        if e.array::<16>("spec_id.signature")? != Self::SIGNATURE {
            let reason = "not \"Spec ID Event03\": not a crypto-agile log";
            return Err(ParseError::Invalid { field: "spec_id.signature", offset: sig_at, reason });
        }
        let platform_class = e.u32("spec_id.platform_class")?;
        let spec_version_minor = e.u8("spec_id.spec_version_minor")?;
        let spec_version_major = e.u8("spec_id.spec_version_major")?;
        let spec_errata = e.u8("spec_id.spec_errata")?;
        let uintn_size = e.u8("spec_id.uintn_size")?;
        let count_at = e.offset();
        let count = e.u32("spec_id.number_of_algorithms")?;
        if count == 0 || count > Self::MAX_ALGORITHMS {
            let reason = "a crypto-agile log declares 1 to 16 algorithms";
            return Err(ParseError::Invalid {
                field: "spec_id.number_of_algorithms",
                offset: count_at,
                reason,
            });
        }
        // No preallocation: `count` is untrusted; each pair consumes 4 bytes or fails.
        let mut algorithms = Vec::new();
        for _ in 0..count {
            let at = e.offset();
            let alg = HashAlg(e.u16("spec_id.algorithm_id")?);
            let digest_size = e.u16("spec_id.digest_size")?;
            if known_size(alg).is_some_and(|s| s != digest_size) {
                let reason = "digest size does not match the algorithm";
                return Err(ParseError::Invalid {
                    field: "spec_id.digest_size",
                    offset: at + 2,
                    reason,
                });
            }
            if algorithms.iter().any(|a: &AlgorithmSize| a.alg == alg) {
                let reason = "algorithm listed twice";
                return Err(ParseError::Invalid {
                    field: "spec_id.algorithm_id",
                    offset: at,
                    reason,
                });
            }
            algorithms.push(AlgorithmSize { alg, digest_size });
        }
        let vendor_len = usize::from(e.u8("spec_id.vendor_info_size")?);
        let vendor_info = e.take(vendor_len, "spec_id.vendor_info")?.to_vec();
        e.finish("spec_id.event")?;
        Ok(Self {
            pcr_index,
            sha1_digest,
            platform_class,
            spec_version_minor,
            spec_version_major,
            spec_errata,
            uintn_size,
            algorithms,
            vendor_info,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EmitError> {
        put_u32(out, self.pcr_index);
        put_u32(out, EventType::EV_NO_ACTION.0);
        out.extend_from_slice(&self.sha1_digest);
        let mut e = Vec::new();
        e.extend_from_slice(&Self::SIGNATURE);
        put_u32(&mut e, self.platform_class);
        e.extend_from_slice(&[
            self.spec_version_minor,
            self.spec_version_major,
            self.spec_errata,
            self.uintn_size,
        ]);
        put_u32(&mut e, prefix_u32("spec_id.algorithms", self.algorithms.len())?);
        for a in &self.algorithms {
            put_u16(&mut e, a.alg.0);
            put_u16(&mut e, a.digest_size);
        }
        let vendor_len = u8::try_from(self.vendor_info.len()).map_err(|_| EmitError::TooLong {
            field: "spec_id.vendor_info",
            len: self.vendor_info.len(),
            max: 255,
        })?;
        e.push(vendor_len);
        e.extend_from_slice(&self.vendor_info);
        put_u32(out, prefix_u32("spec_id.event", e.len())?);
        out.extend_from_slice(&e);
        Ok(())
    }
}

/// Digest sizes of the algorithms this crate knows.
fn known_size(alg: HashAlg) -> Option<u16> {
    match alg {
        HashAlg::SHA1 => Some(20),
        HashAlg::SHA256 | HashAlg::SM3_256 => Some(32),
        HashAlg::SHA384 => Some(48),
        HashAlg::SHA512 => Some(64),
        _ => None,
    }
}
