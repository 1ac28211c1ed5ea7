//! Stateless challenge nonces: each carries its own expiry and MAC.
//!
//! ```text
//! nonce = base64url_nopad(
//!     0x01 ‖ expiry: u64 BE ‖ random: 16 B ‖ HMAC-SHA256(key, first 25 B)[..16]
//! )
//! ```
//! Always 41 bytes, so always 55 characters: the binding `SHA-512(nonce ‖ runtime_data)`
//! (see [`crate::binding`]) cannot shift bytes between the two parts.
//!
//! Any replica that has the MAC key can check a nonce without a shared store. Reuse is
//! caught by a **bounded in-memory set per replica**: a nonce is remembered from first use
//! until it expires, then forgotten (it would be rejected as expired anyway). When the set is
//! full of unexpired nonces, new nonces are refused (fail closed) rather than admitted
//! unchecked.
//!
//! # Across replicas
//! Each replica keeps its own set, so within its lifetime one nonce could be used once per
//! replica if requests for it reach different replicas. Keep lifetimes short (default 300 s),
//! route a client's challenge and attest to one replica (session affinity) if that matters,
//! and note that replaying captured evidence only yields a token bound to the original
//! runtime data (the guest's key), which the replayer cannot use.
//!
//! # Randomness
//! The 16 random bytes are what make a nonce unpredictable; the MAC only proves who issued
//! it. If the OS random-number generator fails, [`NonceIssuer::issue`] returns
//! [`NoRandomness`] and no nonce is issued at all: a predictable nonce would let evidence be
//! made before the challenge.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::time::VerificationTime;

const VERSION: u8 = 1;
const RAW_LEN: usize = 41;
const MAC_LEN: usize = 16;

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceError {
    /// Not a nonce this service issues (length, encoding or version).
    Malformed,
    /// The MAC does not verify: not issued with this key.
    BadMac,
    /// Past its expiry.
    Expired {
        /// When it expired.
        expired_at: VerificationTime,
    },
    /// Already used.
    Replayed,
    /// The replay set is full of unexpired nonces; try again later.
    ReplayCacheFull,
}

impl fmt::Display for NonceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("nonce is not one this service issues"),
            Self::BadMac => f.write_str("nonce MAC does not verify"),
            Self::Expired { expired_at } => write!(f, "nonce expired at {expired_at}"),
            Self::Replayed => f.write_str("nonce was already used"),
            Self::ReplayCacheFull => f.write_str("replay cache full; retry later"),
        }
    }
}

impl std::error::Error for NonceError {}

/// The OS random-number generator failed, so no unpredictable nonce can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRandomness;

impl fmt::Display for NoRandomness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the OS random-number generator failed; no nonce issued")
    }
}

impl std::error::Error for NoRandomness {}

/// Where the random part of a nonce comes from: the OS, or (in tests) a source that fails.
/// `ring`'s `SecureRandom` is sealed, so a failing source needs a trait of our own.
trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]) -> Result<(), NoRandomness>;
}

struct OsEntropy(SystemRandom);

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), NoRandomness> {
        self.0.fill(buf).map_err(|_| NoRandomness)
    }
}

/// Issues and checks nonces.
pub struct NonceIssuer {
    key: hmac::Key,
    lifetime_secs: u64,
    capacity: usize,
    entropy: Box<dyn Entropy>,
    /// Random part → expiry of every nonce used and not yet expired.
    seen: Mutex<HashMap<[u8; 16], u64>>,
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NonceIssuer(lifetime {} s, capacity {})", self.lifetime_secs, self.capacity)
    }
}

impl NonceIssuer {
    /// Returns an issuer with a MAC key (share it between replicas), a lifetime and the
    /// maximum number of unexpired used nonces this replica remembers.
    pub fn new(key: &[u8], lifetime_secs: u64, capacity: usize) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            lifetime_secs,
            capacity,
            entropy: Box::new(OsEntropy(SystemRandom::new())),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Returns how long an issued nonce stays valid, in seconds.
    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs
    }

    /// Issues a nonce valid until `now + lifetime`.
    ///
    /// # Errors
    /// [`NoRandomness`] if the OS random-number generator fails (see the module doc).
    pub fn issue(&self, now: VerificationTime) -> Result<String, NoRandomness> {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1..9].copy_from_slice(&now.plus_secs(self.lifetime_secs).unix().to_be_bytes());
        self.entropy.fill(&mut raw[9..25])?;
        let tag = hmac::sign(&self.key, &raw[..25]);
        raw[25..].copy_from_slice(&tag.as_ref()[..MAC_LEN]);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
    }

    /// Checks a nonce and marks it used.
    ///
    /// # Errors
    /// [`NonceError`] saying why it is refused.
    pub fn consume(&self, nonce: &str, now: VerificationTime) -> Result<(), NonceError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(nonce)
            .map_err(|_| NonceError::Malformed)?;
        let raw: [u8; RAW_LEN] = raw.try_into().map_err(|_| NonceError::Malformed)?;
        if raw[0] != VERSION {
            return Err(NonceError::Malformed);
        }
        let tag = hmac::sign(&self.key, &raw[..25]);
        let mac_ok =
            tag.as_ref()[..MAC_LEN].iter().zip(&raw[25..]).fold(0, |a, (x, y)| a | (x ^ y)) == 0;
        if !mac_ok {
            return Err(NonceError::BadMac);
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&raw[1..9]);
        let expiry = u64::from_be_bytes(expiry);
        if now.unix() > expiry {
            return Err(NonceError::Expired { expired_at: VerificationTime::from_unix(expiry) });
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw[9..25]);
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains_key(&id) {
            return Err(NonceError::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, exp| *exp >= now.unix());
            if seen.len() >= self.capacity {
                return Err(NonceError::ReplayCacheFull);
            }
        }
        seen.insert(id, expiry);
        Ok(())
    }
}

#[cfg(test)]
impl NonceIssuer {
    /// Returns an issuer whose random-number generator always fails.
    pub(crate) fn with_failing_rng(key: &[u8]) -> Self {
        struct Broken;
        impl Entropy for Broken {
            fn fill(&self, _: &mut [u8]) -> Result<(), NoRandomness> {
                Err(NoRandomness)
            }
        }
        Self { entropy: Box::new(Broken), ..Self::new(key, 300, 10) }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    const T0: VerificationTime = VerificationTime::from_unix(1_750_000_000);

    #[test]
    fn a_fresh_nonce_is_accepted_once_then_rejected_as_replayed() {
        let n = NonceIssuer::new(b"k", 300, 10);
        let nonce = n.issue(T0).unwrap();
        assert_eq!(nonce.len(), 55);
        assert_eq!(n.consume(&nonce, T0.plus_secs(10)), Ok(()));
        assert_eq!(n.consume(&nonce, T0.plus_secs(11)), Err(NonceError::Replayed));
    }

    #[test]
    fn a_nonce_past_its_lifetime_is_rejected_as_expired() {
        let n = NonceIssuer::new(b"k", 300, 10);
        let e = n.consume(&n.issue(T0).unwrap(), T0.plus_secs(301)).unwrap_err();
        assert!(matches!(e, NonceError::Expired { .. }));
    }

    #[test]
    fn another_replicas_nonce_with_the_same_key_is_accepted_and_a_foreign_one_is_not() {
        let a = NonceIssuer::new(b"shared", 300, 10);
        let b = NonceIssuer::new(b"shared", 300, 10);
        let c = NonceIssuer::new(b"other", 300, 10);
        let nonce = a.issue(T0).unwrap();
        assert_eq!(c.consume(&nonce, T0), Err(NonceError::BadMac));
        assert_eq!(b.consume(&nonce, T0), Ok(()));
    }

    #[test]
    fn a_full_replay_set_fails_closed_until_entries_expire() {
        let n = NonceIssuer::new(b"k", 300, 2);
        for _ in 0..2 {
            n.consume(&n.issue(T0).unwrap(), T0).unwrap();
        }
        assert_eq!(n.consume(&n.issue(T0).unwrap(), T0), Err(NonceError::ReplayCacheFull));
        let later = T0.plus_secs(400);
        assert_eq!(n.consume(&n.issue(later).unwrap(), later), Ok(()));
    }

    #[test]
    fn a_changed_nonce_is_rejected() {
        let n = NonceIssuer::new(b"k", 300, 10);
        let mut nonce = n.issue(T0).unwrap().into_bytes();
        nonce[20] = if nonce[20] == b'A' { b'B' } else { b'A' };
        let e = n.consume(std::str::from_utf8(&nonce).unwrap(), T0).unwrap_err();
        assert!(matches!(e, NonceError::BadMac | NonceError::Malformed), "{e}");
        assert_eq!(n.consume("short", T0), Err(NonceError::Malformed));
    }

    #[test]
    fn a_failing_random_number_generator_issues_no_nonce() {
        let n = NonceIssuer::with_failing_rng(b"k");
        assert_eq!(n.issue(T0), Err(NoRandomness));
    }
}
