//! Prometheus metrics for the service, rendered in the text exposition format.
//!
//! | metric | labels | counts |
//! |---|---|---|
//! | `attest_http_requests_total` | `route`, `status` | every request |
//! | `attest_http_request_duration_seconds` | `route` | histogram of handling time |
//! | `attest_challenges_total` | `result`, `reason` | `POST /challenge` |
//! | `attest_attestations_total` | `result` (`affirming`, `denied`, `rejected`), `reason` | `POST /attest` |
//! | `attest_resource_requests_total` | `result` (`released`, `rejected`), `reason` | resource reads |
//! | `attest_verify_seconds` | | summary of verification and appraisal time |
//!
//! Attestation refusals and resource refusals are separate metrics: a flood of stolen-token
//! resource requests must not look like failing guests, nor the reverse. `route` is the
//! route template (`/kbs/v0/resource/{repo}/{type}/{tag}`), and `reason` one of the fixed
//! refusal reasons, so label sets stay small.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Which route family an outcome is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// `POST /challenge`.
    Challenge,
    /// `POST /attest`.
    Attestation,
    /// `GET /kbs/v0/resource/..`.
    Resource,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Tables {
    /// (family, result, reason) → count.
    outcomes: BTreeMap<(Family, &'static str, &'static str), u64>,
    /// (route, status) → count.
    http: BTreeMap<(String, u16), u64>,
    /// route → latency histogram.
    latency: BTreeMap<String, Histogram>,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    tables: Mutex<Tables>,
    /// Total verification time, microseconds.
    verify_micros: AtomicU64,
    /// Verifications made.
    verify_count: AtomicU64,
}

impl Metrics {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock leaves counts, not invariants: keep counting.
        self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one outcome of a route family (`reason` is `""` for success).
    pub fn outcome(&self, family: Family, result: &'static str, reason: &'static str) {
        *self.tables().outcomes.entry((family, result, reason)).or_default() += 1;
    }

    /// Counts one HTTP request and its latency.
    pub fn http(&self, route: &str, status: u16, latency: Duration) {
        let mut t = self.tables();
        *t.http.entry((route.to_owned(), status)).or_default() += 1;
        let h = t.latency.entry(route.to_owned()).or_default();
        let secs = latency.as_secs_f64();
        for (bucket, bound) in h.buckets.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// Adds one verification's duration.
    pub fn verified(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.verify_micros.fetch_add(micros, Ordering::Relaxed);
        self.verify_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders every metric.
    pub fn render(&self) -> String {
        let t = self.tables();
        let mut out = String::new();
        for (family, name, help) in [
            (Family::Challenge, "attest_challenges_total", "Challenges, by result and reason."),
            (
                Family::Attestation,
                "attest_attestations_total",
                "Attestations, by result and reason.",
            ),
            (
                Family::Resource,
                "attest_resource_requests_total",
                "Resource requests, by result and reason.",
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((f, result, reason), n) in &t.outcomes {
                if *f == family {
                    let _ = writeln!(out, "{name}{{result=\"{result}\",reason=\"{reason}\"}} {n}");
                }
            }
        }
        let name = "attest_http_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP requests, by route and status.\n# TYPE {name} counter"
        );
        for ((route, status), n) in &t.http {
            let _ = writeln!(out, "{name}{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        let name = "attest_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Request handling time.\n# TYPE {name} histogram");
        for (route, h) in &t.latency {
            for (n, bound) in h.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {:.6}", h.sum);
            let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", h.count);
        }
        let _ = write!(
            out,
            "# HELP attest_verify_seconds Time spent verifying and appraising evidence.\n\
             # TYPE attest_verify_seconds summary\n\
             attest_verify_seconds_sum {:.6}\nattest_verify_seconds_count {}\n",
            self.verify_micros.load(Ordering::Relaxed) as f64 / 1e6,
            self.verify_count.load(Ordering::Relaxed),
        );
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn attestation_and_resource_refusals_are_counted_apart_with_their_reasons() {
        let m = Metrics::default();
        m.outcome(Family::Attestation, "rejected", "nonce_replayed");
        m.outcome(Family::Resource, "rejected", "resource_forbidden");
        m.outcome(Family::Resource, "rejected", "resource_forbidden");
        let text = m.render();
        assert!(text.contains(
            "attest_attestations_total{result=\"rejected\",reason=\"nonce_replayed\"} 1"
        ));
        assert!(text.contains(
            "attest_resource_requests_total{result=\"rejected\",reason=\"resource_forbidden\"} 2"
        ));
        assert!(!text.contains("attest_attestations_total{result=\"rejected\",reason=\"resource"));
    }

    #[test]
    fn latency_lands_in_every_bucket_at_or_above_it() {
        let m = Metrics::default();
        m.http("/attest", 200, Duration::from_millis(30));
        let text = m.render();
        let b = "attest_http_request_duration_seconds_bucket{route=\"/attest\",le=";
        assert!(text.contains(&format!("{b}\"0.025\"}} 0")), "{text}");
        assert!(text.contains(&format!("{b}\"0.05\"}} 1")), "{text}");
        assert!(text.contains(&format!("{b}\"+Inf\"}} 1")), "{text}");
        assert!(text.contains("attest_http_requests_total{route=\"/attest\",status=\"200\"} 1"));
    }
}
