//! The TCG2 crypto-agile event log (TCG PC Client Platform Firmware Profile, "Crypto Agile
//! Log Entry Format"), as TDVF writes it into the CCEL and as the kernel appends to it.
//!
//! ```text
//! Spec ID event (old SHA-1 format; see spec_id.rs)
//! TCG_PCR_EVENT2*:  pcr_index u32 | event_type u32 | digest_count u32
//!                   | { algorithm_id u16 | digest[size from the Spec ID event] }*
//!                   | event_size u32 | event[event_size]
//! padding:          0xFF (TDVF fills the log area with 0xFF) or 0x00, to the end of the area
//! ```
//! For a CC event log `pcr_index` is an MR index (see [`super::replay`]). The log ends at the
//! end of the buffer or where the next 8 bytes (pcr_index and event_type) are all 0xFF or all
//! 0x00. [`EventLog::parse`] then insists that everything after is that same padding byte.

use alloc::vec::Vec;

use crate::codec::{Reader, len_u32, prefix_u32, put_u16, put_u32};
use crate::error::{EmitError, ParseError};
use crate::eventlog::{EventType, HashAlg, SpecIdEvent};

/// One digest of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The algorithm.
    pub alg: HashAlg,
    /// The digest, as long as the Spec ID event says this algorithm's digests are.
    pub bytes: Vec<u8>,
}

/// A `TCG_PCR_EVENT2` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrEvent2 {
    /// The PCR (TPM logs) or MR index (CC event logs) the event was extended into.
    pub pcr_index: u32,
    /// What kind of event this is.
    pub event_type: EventType,
    /// One digest per algorithm (normally every algorithm the Spec ID event lists).
    pub digests: Vec<Digest>,
    /// The event data; its meaning depends on `event_type`.
    pub event: Vec<u8>,
}

impl PcrEvent2 {
    /// Returns the digest for `alg`, if the event has one.
    pub fn digest(&self, alg: HashAlg) -> Option<&[u8]> {
        self.digests.iter().find(|d| d.alg == alg).map(|d| &d.bytes[..])
    }

    fn read(r: &mut Reader<'_>, spec: &SpecIdEvent) -> Result<Self, ParseError> {
        let pcr_index = r.u32("event.pcr_index")?;
        let event_type = EventType(r.u32("event.event_type")?);
        let count_at = r.offset();
        let count = r.u32("event.digest_count")?;
        if usize::try_from(count).map_or(true, |c| c > spec.algorithms.len()) {
            let reason = "more digests than the Spec ID event declares algorithms";
            return Err(ParseError::Invalid {
                field: "event.digest_count",
                offset: count_at,
                reason,
            });
        }
        let mut digests: Vec<Digest> = Vec::new();
        for _ in 0..count {
            let at = r.offset();
            let alg = HashAlg(r.u16("event.digest.algorithm_id")?);
            let Some(size) = spec.digest_size(alg) else {
                let reason = "algorithm not declared in the Spec ID event";
                return Err(ParseError::Invalid {
                    field: "event.digest.algorithm_id",
                    offset: at,
                    reason,
                });
            };
            // Two digests for one bank would let two readers see two different measurements.
            if digests.iter().any(|d| d.alg == alg) {
                let reason = "two digests for the same algorithm";
                return Err(ParseError::Invalid {
                    field: "event.digest.algorithm_id",
                    offset: at,
                    reason,
                });
            }
            digests.push(Digest { alg, bytes: r.take(size, "event.digest")?.to_vec() });
        }
        let size = len_u32(r.u32("event.event_size")?);
        let event = r.take(size, "event.event")?.to_vec();
        Ok(Self { pcr_index, event_type, digests, event })
    }

    /// Appends the entry.
    ///
    /// # Errors
    /// [`EmitError::TooLong`] if the event data or digest count overflows a `u32`, or a digest
    /// length does not match `spec`; [`EmitError::Inconsistent`] for an undeclared algorithm.
    pub fn write(&self, spec: &SpecIdEvent, out: &mut Vec<u8>) -> Result<(), EmitError> {
        put_u32(out, self.pcr_index);
        put_u32(out, self.event_type.0);
        put_u32(out, prefix_u32("event.digests", self.digests.len())?);
        for d in &self.digests {
            let Some(size) = spec.digest_size(d.alg) else {
                let reason = "algorithm not declared in the Spec ID event";
                return Err(EmitError::Inconsistent { field: "event.digest.algorithm_id", reason });
            };
            if d.bytes.len() != size {
                let reason = "digest length differs from the Spec ID event's size";
                return Err(EmitError::Inconsistent { field: "event.digest", reason });
            }
            put_u16(out, d.alg.0);
            out.extend_from_slice(&d.bytes);
        }
        put_u32(out, prefix_u32("event.event", self.event.len())?);
        out.extend_from_slice(&self.event);
        Ok(())
    }
}

/// A parsed crypto-agile event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    /// The header event, which declares the digest algorithms.
    pub spec_id: SpecIdEvent,
    /// The events, in log order.
    pub events: Vec<PcrEvent2>,
}

impl EventLog {
    /// Parses a log area: the log, then nothing but padding (all 0xFF or all 0x00).
    ///
    /// # Errors
    /// Any structural error, naming the field and offset; [`ParseError::Invalid`] with field
    /// `event_log.padding` if the bytes after the last event are not uniform padding.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let (log, used) = Self::parse_prefix(buf)?;
        let rest = buf.get(used..).unwrap_or(&[]);
        if let Some(&first) = rest.first()
            && (!matches!(first, 0x00 | 0xFF) || rest.iter().any(|b| *b != first))
        {
            let reason = "bytes after the last event are not uniform 0xFF or 0x00 padding";
            return Err(ParseError::Invalid { field: "event_log.padding", offset: used, reason });
        }
        Ok(log)
    }

    /// Parses the log at the start of `buf` and returns it with the number of bytes it used.
    ///
    /// # Errors
    /// Any structural error, naming the field and offset.
    pub fn parse_prefix(buf: &[u8]) -> Result<(Self, usize), ParseError> {
        let mut r = Reader::new(buf);
        let spec_id = SpecIdEvent::read(&mut r)?;
        let mut events = Vec::new();
        while !at_end(r.rest()) {
            events.push(PcrEvent2::read(&mut r, &spec_id)?);
        }
        Ok((Self { spec_id, events }, r.offset()))
    }

    /// Serializes the log (without padding).
    ///
    /// # Errors
    /// As [`PcrEvent2::write`], for the Spec ID event and every event.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EmitError> {
        let mut out = Vec::new();
        self.spec_id.write(&mut out)?;
        for e in &self.events {
            e.write(&self.spec_id, &mut out)?;
        }
        Ok(out)
    }
}

/// Returns `true` where no further event starts: the buffer is used up, or the next (up to)
/// 8 bytes are uniform 0xFF or 0x00 padding.
fn at_end(rest: &[u8]) -> bool {
    let head = rest.get(..8).unwrap_or(rest);
    match head.first() {
        None => true,
        Some(&b) => matches!(b, 0x00 | 0xFF) && head.iter().all(|x| *x == b),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::eventlog::{AlgorithmSize, replay_rtmrs};
    use alloc::vec;

    fn spec(algs: &[(HashAlg, u16)]) -> SpecIdEvent {
        SpecIdEvent {
            pcr_index: 0,
            sha1_digest: [0; 20],
            platform_class: 0,
            spec_version_minor: 0,
            spec_version_major: 2,
            spec_errata: 0,
            uintn_size: 2,
            algorithms: algs
                .iter()
                .map(|&(alg, digest_size)| AlgorithmSize { alg, digest_size })
                .collect(),
            vendor_info: Vec::new(),
        }
    }

    fn two_bank_log() -> EventLog {
        let event = PcrEvent2 {
            pcr_index: 2,
            event_type: EventType::EV_EFI_BOOT_SERVICES_APPLICATION,
            digests: vec![
                Digest { alg: HashAlg::SHA256, bytes: vec![0x11; 32] },
                Digest { alg: HashAlg::SHA384, bytes: vec![0x22; 48] },
            ],
            event: b"kernel".to_vec(),
        };
        EventLog {
            spec_id: spec(&[(HashAlg::SHA256, 32), (HashAlg::SHA384, 48)]),
            events: vec![event],
        }
    }

    #[test]
    fn event_with_two_digests_round_trips_and_replays_its_sha384() {
        let log = two_bank_log();
        let bytes = log.to_bytes().unwrap();
        assert_eq!(EventLog::parse(&bytes).unwrap(), log);
        let rtmrs = replay_rtmrs(&log).unwrap();
        assert_eq!(rtmrs[1], crate::eventlog::extend_rtmr(&[0; 48], &[0x22; 48]));
        assert_eq!(rtmrs[0], [0; 48]);
    }

    #[test]
    fn zero_padding_after_the_log_is_accepted() {
        let mut bytes = two_bank_log().to_bytes().unwrap();
        bytes.extend_from_slice(&[0; 100]);
        assert_eq!(EventLog::parse(&bytes).unwrap(), two_bank_log());
    }

    #[test]
    fn digest_of_the_wrong_length_cannot_be_emitted() {
        let mut log = two_bank_log();
        log.events[0].digests[0].bytes.pop();
        assert!(matches!(
            log.to_bytes(),
            Err(EmitError::Inconsistent { field: "event.digest", .. })
        ));
    }

    #[test]
    fn first_event_other_than_no_action_is_not_a_crypto_agile_log() {
        let mut bytes = two_bank_log().to_bytes().unwrap();
        bytes[4] = 4; // EV_SEPARATOR
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid { field: "spec_id.event_type", offset: 4, .. })
        ));
    }

    #[test]
    fn sha1_only_log_signature_is_rejected() {
        let mut bytes = two_bank_log().to_bytes().unwrap();
        bytes[32 + 14] = b'2'; // "Spec ID Event02"
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid { field: "spec_id.signature", offset: 32, .. })
        ));
    }

    #[test]
    fn sha384_declared_with_32_byte_digests_is_rejected() {
        let log = EventLog { spec_id: spec(&[(HashAlg::SHA384, 32)]), events: Vec::new() };
        let bytes = log.to_bytes().unwrap();
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid { field: "spec_id.digest_size", offset: 62, .. })
        ));
    }

    #[test]
    fn event_with_two_sha384_digests_is_rejected() {
        let mut log = two_bank_log();
        log.events[0].digests[0] = Digest { alg: HashAlg::SHA384, bytes: vec![0x33; 48] };
        let bytes = log.to_bytes().unwrap();
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid {
                field: "event.digest.algorithm_id",
                reason: "two digests for the same algorithm",
                ..
            })
        ));
    }

    #[test]
    fn event_claiming_more_digests_than_banks_is_rejected() {
        let mut bytes = two_bank_log().to_bytes().unwrap();
        let count_at = bytes.len() - (4 + 6 + 2 + 32 + 2 + 48 + 4);
        bytes[count_at] = 3;
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid { field: "event.digest_count", .. })
        ));
    }

    #[test]
    fn spec_id_without_algorithms_is_rejected() {
        let log = EventLog { spec_id: spec(&[]), events: Vec::new() };
        let bytes = log.to_bytes().unwrap();
        assert!(matches!(
            EventLog::parse(&bytes),
            Err(ParseError::Invalid { field: "spec_id.number_of_algorithms", offset: 56, .. })
        ));
    }
}
