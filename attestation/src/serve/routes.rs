//! HTTP handlers. Every refusal is a 4xx with
//! `{"error": <machine-readable reason>, "detail": <text>}`.
//!
//! | route | KBS protocol ([`super::kbs`]) | does |
//! |---|---|---|
//! | `POST /challenge` | `POST /kbs/v0/auth` (a KBS `Request`) | issues a nonce |
//! | `POST /attest` | `POST /kbs/v0/attest` (a KBS `Attestation`) | evidence JSON in, token out |
//! | `GET /jwks` | | the token-signing key |
//! | `GET /kbs/v0/resource/{repo}/{type}/{tag}` | same | releases a resource, sealed to the token's key ([`super::resource`]) |
//! | `GET /healthz`, `GET /metrics`, `GET /openapi.json` | | health, Prometheus, the API document |
//!
//! Reasons: `unsupported_media_type` (415: the body is not `application/json`),
//! `malformed_json`, `unsupported_version` (KBS), `unknown_tee`, `body_too_large`, `bad_evidence`, `nonce_missing`,
//! `nonce_invalid`, `nonce_expired`, `nonce_replayed`, `busy`, `denied`; for resources
//! `token_missing`, `token_invalid`, `token_expired`, `token_not_affirming`, `no_tee_pubkey`,
//! `resource_forbidden`, `resource_not_found`; and, as 500, `no_randomness` (the OS
//! random-number generator failed: no nonce is issued) and `internal`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::appraisal::{Claim, Status, Verdict, appraise, denied_unverified};
use crate::evidence::TeeKind;
use crate::evidence::{Evidence, EvidenceDoc};
use crate::release::TeePubKey;
use crate::serve::observe::Outcome;
use crate::serve::state::AppState;
use crate::token::{NonceError, ear_claims};
use crate::verifier::{VerifyOptions, verify_evidence};

pub(super) type Shared = State<Arc<AppState>>;

/// The checked-in OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Returns the refusal `{"error": reason, "detail": detail}` with its [`Outcome`] attached
/// (the middleware logs and counts it).
pub(super) fn refuse(
    code: StatusCode,
    reason: &'static str,
    detail: impl Into<String>,
) -> Response {
    let result = if code.is_server_error() { "error" } else { "rejected" };
    let resp = (code, Json(json!({"error": reason, "detail": detail.into()}))).into_response();
    Outcome::new(result, reason).attach(resp)
}

/// Returns the `ear` submodule name of a TEE, for logs.
fn tee_name(tee: TeeKind) -> &'static str {
    match tee {
        TeeKind::Tdx => "tdx",
        TeeKind::Snp => "snp",
        TeeKind::Sim => "sim",
    }
}

/// Returns `true` if `Content-Type` is `application/json`, parameters (`; charset=utf-8`)
/// allowed.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn not_json(headers: &HeaderMap) -> Response {
    let got = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let detail = match got {
        Some(t) => format!("Content-Type is {t:?}; send application/json"),
        None => "no Content-Type; send application/json".to_owned(),
    };
    refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail)
}

/// `POST /challenge`: returns a fresh nonce and when it expires. The body (a KBS `Request`)
/// is optional and unread, but if there is one it must be declared JSON.
pub async fn challenge(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if !body.is_empty() && !is_json(&headers) {
        return not_json(&headers);
    }
    let (nonce, expires_at) = match issue_nonce(&state) {
        Ok(issued) => issued,
        Err(refusal) => return refusal,
    };
    let resp = Json(json!({
        "nonce": nonce,
        "expires_at": expires_at,
        "extra-params": {"binding": "report_data = SHA-512(nonce || runtime_data)"}
    }))
    .into_response();
    Outcome::new("issued", "").attach(resp)
}

/// Mints a nonce; returns it and when it expires (RFC 3339), or the refusal.
#[allow(clippy::result_large_err, reason = "the error is the HTTP reply itself, sent at once")]
pub(super) fn issue_nonce(state: &AppState) -> Result<(String, String), Response> {
    let now = state.clock();
    match state.nonces.issue(now) {
        Ok(n) => Ok((n, now.plus_secs(state.nonces.lifetime_secs()).to_string())),
        Err(e) => {
            // Never fall back to a predictable nonce: evidence could be made in advance.
            tracing::error!("issuing a nonce: {e}");
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "no_randomness", e.to_string()))
        }
    }
}

/// Accepts `nonce` once: issued here, unexpired, first use; or returns the refusal.
#[allow(clippy::result_large_err, reason = "the error is the HTTP reply itself, sent at once")]
pub(super) fn consume_nonce(state: &AppState, nonce: &str) -> Result<(), Response> {
    let Err(e) = state.nonces.consume(nonce, state.clock()) else { return Ok(()) };
    let reason = match e {
        NonceError::Expired { .. } => "nonce_expired",
        NonceError::Replayed => "nonce_replayed",
        NonceError::ReplayCacheFull => {
            return Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()));
        }
        _ => "nonce_invalid",
    };
    Err(refuse(StatusCode::UNAUTHORIZED, reason, e.to_string()))
}

/// Reads a JSON request body, or returns the refusal (415 not JSON, 413, 400).
#[allow(clippy::result_large_err, reason = "the error is the HTTP reply itself, sent at once")]
pub(super) fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, Response> {
    if !is_json(headers) {
        return Err(not_json(headers));
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", e.body_text()));
        }
        Err(e) => return Err(refuse(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())),
    };
    serde_json::from_slice(&body)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))
}

/// `POST /attest`: verifies and appraises evidence JSON; 200 with a token if affirming.
pub async fn attest(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let value = match json_body(&headers, body) {
        Ok(v) => v,
        Err(refusal) => return refusal,
    };
    let unknown = |detail: String| refuse(StatusCode::BAD_REQUEST, "unknown_tee", detail);
    match value.get("tee") {
        Some(Value::String(t)) if matches!(t.as_str(), "tdx" | "snp" | "sim") => {}
        Some(other) => {
            return unknown(format!("\"tee\": {other} is not \"tdx\", \"snp\" or \"sim\""));
        }
        None => return unknown("no \"tee\" field (\"tdx\", \"snp\" or \"sim\")".to_owned()),
    }
    let doc: EvidenceDoc = match serde_json::from_value(value) {
        Ok(d) => d,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "malformed_json", e.to_string());
        }
    };
    let Some(nonce) = doc.nonce.clone() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "nonce_missing",
            "evidence JSON must carry the challenge nonce",
        );
    };
    if let Err(refusal) = consume_nonce(&state, &nonce) {
        return refusal;
    }
    let evidence = match Evidence::from_doc(&doc) {
        Ok(e) => e,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "bad_evidence", e.to_string());
        }
    };
    match verify_and_sign(state, evidence, nonce).await {
        Ok(affirmed) => {
            let resp =
                Json(json!({"token": affirmed.token, "verdict": affirmed.verdict})).into_response();
            affirmed.outcome.attach(resp)
        }
        Err(refusal) => refusal,
    }
}

/// What an affirming attestation gives.
pub(super) struct Affirmed {
    /// The signed token.
    pub token: String,
    /// The verdict it carries.
    pub verdict: Verdict,
    /// For the request log.
    pub outcome: Outcome,
}

/// Verifies and appraises `evidence` (whose `nonce` has been consumed) and signs a token;
/// or returns the refusal (400 malformed, 403 denied with the verdict).
pub(super) async fn verify_and_sign(
    state: Arc<AppState>,
    evidence: Evidence,
    nonce: String,
) -> Result<Affirmed, Response> {
    // A key the runtime data names must be usable: resources are released only sealed to it.
    let tee_pubkey = TeePubKey::from_runtime_data(&evidence.runtime_data).map_err(|e| {
        refuse(StatusCode::BAD_REQUEST, "bad_evidence", format!("runtime_data: {e}"))
    })?;
    let tee = tee_name(evidence.tee);
    let now = state.clock();
    let started = Instant::now();
    let st = Arc::clone(&state);
    let at = state.verify_time();
    let verdict = tokio::task::spawn_blocking(move || {
        let opts = VerifyOptions {
            collateral: st.collateral.as_ref(),
            extra_certs: &st.certs,
            extra_crls: &st.crls,
            at,
            allow_sim: st.allow_sim,
        };
        let mut verdict = match verify_evidence(&evidence, opts) {
            Ok(v) => appraise(&v, &evidence, &st.policy, &st.refs, at),
            // Not evidence at all (truncated, bad header): a 400, as the CLI's exit 2.
            Err(e) if e.is_malformed() => return Err(e.to_string()),
            Err(e) => denied_unverified(Some(&evidence), &e, at),
        };
        verdict.push(Claim::new(
            "nonce",
            "issued by this service, unexpired, first use",
            "fresh",
            true,
        ));
        Ok((verdict, evidence.runtime_data))
    })
    .await;
    state.metrics.verified(started.elapsed());
    let (verdict, runtime_data) = match verdict {
        Ok(Ok(v)) => v,
        Ok(Err(malformed)) => {
            return Err(refuse(StatusCode::BAD_REQUEST, "bad_evidence", malformed));
        }
        Err(e) => {
            tracing::error!("verification task failed: {e}");
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return Err(refuse(status, "internal", "verification task failed"));
        }
    };
    if verdict.status == Status::Denied {
        let resp = (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "denied", "detail": "evidence denied", "verdict": verdict})),
        )
            .into_response();
        return Err(Outcome::new("denied", "denied").tee(tee).attach(resp));
    }
    let mut claims = ear_claims(&verdict, Some(&nonce), &runtime_data, now, state.token_lifetime);
    if let Some(key) = &tee_pubkey {
        // As KBS's token does: the key resources for this token are sealed to.
        claims["tee-pubkey"] = key.to_jwk();
    }
    match state.signer.sign(&claims) {
        Ok(token) => {
            let outcome = Outcome::new("affirming", "").tee(tee).kid(state.signer.kid());
            Ok(Affirmed { token, verdict, outcome })
        }
        Err(e) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())),
    }
}

/// `GET /jwks`.
pub async fn jwks(State(state): Shared) -> Response {
    Json(state.signer.jwks()).into_response()
}

/// `GET /healthz`.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /metrics`.
pub async fn metrics(State(state): Shared) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
