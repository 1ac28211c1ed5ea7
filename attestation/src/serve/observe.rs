//! One structured log line and the metrics for every request.
//!
//! Handlers say how a request ended by attaching an [`Outcome`] to the response; the
//! [`observe`] middleware, wrapped around every route, times the request, logs
//! `route, status, outcome, reason, latency_ms, tee, kid` with `tracing`, and counts it in
//! [`Metrics`](super::Metrics). A handler that attaches nothing is logged as `ok` (or
//! `error` for a 5xx) and counted only in the HTTP metrics.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::serve::metrics::Family;
use crate::serve::state::AppState;

/// How a request ended, attached to its response by the handler.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// `affirming`, `denied`, `rejected`, `released`, `issued` or `error`.
    pub result: &'static str,
    /// The refusal reason (`nonce_replayed`, ...), empty on success.
    pub reason: &'static str,
    /// The TEE the evidence or token is for.
    pub tee: Option<&'static str>,
    /// The token-signing key id, when a token was issued or checked.
    pub kid: Option<String>,
}

impl Outcome {
    /// Returns an outcome with no TEE or key id.
    pub fn new(result: &'static str, reason: &'static str) -> Self {
        Self { result, reason, ..Self::default() }
    }

    /// Returns this outcome with the TEE named.
    pub fn tee(mut self, tee: &'static str) -> Self {
        self.tee = Some(tee);
        self
    }

    /// Returns this outcome with the key id named.
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// Attaches this outcome to `resp`.
    pub fn attach(self, mut resp: Response) -> Response {
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Returns the family a route belongs to.
fn family_of(route: &str) -> Option<Family> {
    match route {
        "/challenge" | "/kbs/v0/auth" => Some(Family::Challenge),
        "/attest" | "/kbs/v0/attest" => Some(Family::Attestation),
        r if r.starts_with("/kbs/v0/resource/") => Some(Family::Resource),
        _ => None,
    }
}

/// The middleware: runs the handler, then logs and counts the request.
pub async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let resp = next.run(req).await;
    let latency = started.elapsed();
    let status = resp.status().as_u16();
    let outcome = resp.extensions().get::<Outcome>().cloned().unwrap_or_else(|| {
        // Refusals axum makes itself (405, 404 for an unknown route) carry no outcome.
        let result = if status >= 500 {
            "error"
        } else if status >= 400 {
            "rejected"
        } else {
            "ok"
        };
        Outcome::new(result, "")
    });
    if let Some(family) = family_of(&route) {
        state.metrics.outcome(family, outcome.result, outcome.reason);
    }
    state.metrics.http(&route, status, latency);
    let latency_ms = latency.as_secs_f64() * 1e3;
    let (tee, kid) = (outcome.tee.unwrap_or(""), outcome.kid.as_deref().unwrap_or(""));
    if status >= 500 {
        tracing::error!(%method, route, status, outcome = outcome.result, reason = outcome.reason, latency_ms, tee, kid, "request");
    } else {
        tracing::info!(%method, route, status, outcome = outcome.result, reason = outcome.reason, latency_ms, tee, kid, "request");
    }
    resp
}
