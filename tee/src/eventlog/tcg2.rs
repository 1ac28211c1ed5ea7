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

use crate::codec::{len_u32, prefix_u32, put_u16, put_u32, Reader};
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
        let count = r.u32("event.digest_count")?;
        // No preallocation: `count` is untrusted; each digest consumes bytes or fails.
        let mut digests = Vec::new();
        for _ in 0..count {
            let at = r.offset();
            let alg = HashAlg(r.u16("event.digest.algorithm_id")?);
            let Some(size) = spec.digest_size(alg) else {
                let reason = "algorithm not declared in the Spec ID event";
                return Err(ParseError::Invalid { field: "event.digest.algorithm_id", offset: at, reason });
            };
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
