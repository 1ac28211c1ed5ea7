//! The instant a verification is made at.
//!
//! Every check that depends on time (certificate validity, collateral `nextUpdate`, CRL
//! `nextUpdate`, nonce and token expiry) takes a [`VerificationTime`] argument instead of
//! reading the clock, so tests pin it (`--at` on the CLI) and never depend on the wall clock.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VerificationTime(u64);

/// Why a time string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeParseError {
    /// The text that was given.
    pub input: String,
    /// What the RFC 3339 parser said.
    pub reason: String,
}

impl fmt::Display for TimeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an RFC 3339 time: {}", self.input, self.reason)
    }
}

impl std::error::Error for TimeParseError {}

impl VerificationTime {
    /// Returns the time `secs` seconds after the Unix epoch.
    pub const fn from_unix(secs: u64) -> Self {
        Self(secs)
    }

    /// Returns the current wall-clock time. Only the CLI and the service call this.
    pub fn now() -> Self {
        let secs = OffsetDateTime::now_utc().unix_timestamp();
        Self(u64::try_from(secs).unwrap_or(0))
    }

    /// Parses an RFC 3339 time such as `2025-07-01T00:00:00Z`.
    ///
    /// # Errors
    /// [`TimeParseError`] if the text is not RFC 3339 or lies before 1970.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeParseError> {
        let err = |reason: String| TimeParseError { input: text.to_owned(), reason };
        let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| err(e.to_string()))?;
        u64::try_from(t.unix_timestamp()).map(Self).map_err(|_| err("before 1970".to_owned()))
    }

    /// Returns seconds since the Unix epoch.
    pub const fn unix(self) -> u64 {
        self.0
    }

    /// Returns this time plus `secs` seconds (saturating).
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }
}

impl fmt::Display for VerificationTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t =
            i64::try_from(self.0).ok().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok());
        match t.and_then(|t| t.format(&Rfc3339).ok()) {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_display() {
        let t = VerificationTime::parse_rfc3339("2025-07-01T12:00:00Z").unwrap();
        assert_eq!(t.unix(), 1_751_371_200);
        assert_eq!(t.to_string(), "2025-07-01T12:00:00Z");
    }

    #[test]
    fn a_date_without_time_is_rejected_naming_the_input() {
        let e = VerificationTime::parse_rfc3339("2025-07-01").unwrap_err();
        assert_eq!(e.input, "2025-07-01");
    }
}
