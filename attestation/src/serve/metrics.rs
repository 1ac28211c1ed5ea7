//! Prometheus counters for the service, rendered in the text exposition format.

use std::sync::atomic::{AtomicU64, Ordering};

/// Request counters (monotonic).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Challenges issued.
    pub challenges: AtomicU64,
    /// Attestations affirmed.
    pub affirming: AtomicU64,
    /// Attestations denied after verification or appraisal.
    pub denied: AtomicU64,
    /// Requests refused before verification (4xx).
    pub rejected: AtomicU64,
    /// Resources released.
    pub resources: AtomicU64,
    /// Total verification time, microseconds.
    pub verify_micros: AtomicU64,
}

impl Metrics {
    /// Adds one to `counter`.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Renders every counter.
    pub fn render(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let verified = g(&self.affirming) + g(&self.denied);
        format!(
            "# HELP attest_challenges_total Challenges issued.\n# TYPE attest_challenges_total \
             counter\n\
             attest_challenges_total {}\n\
             # HELP attest_requests_total Attestation requests by outcome.\n# TYPE \
             attest_requests_total counter\n\
             attest_requests_total{{result=\"affirming\"}} {}\n\
             attest_requests_total{{result=\"denied\"}} {}\n\
             attest_requests_total{{result=\"rejected\"}} {}\n\
             # HELP attest_resources_released_total Resources released to valid tokens.\n# TYPE \
             attest_resources_released_total counter\n\
             attest_resources_released_total {}\n\
             # HELP attest_verify_seconds Time spent verifying and appraising evidence.\n# TYPE \
             attest_verify_seconds summary\n\
             attest_verify_seconds_sum {:.6}\nattest_verify_seconds_count {}\n",
            g(&self.challenges),
            g(&self.affirming),
            g(&self.denied),
            g(&self.rejected),
            g(&self.resources),
            g(&self.verify_micros) as f64 / 1e6,
            verified,
        )
    }
}
