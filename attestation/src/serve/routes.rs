//! HTTP handlers. Every refusal is a 4xx with
//! `{"error": <machine-readable reason>, "detail": <text>}`.
//!
//! | route | KBS alias | does |
//! |---|---|---|
//! | `POST /challenge` | `POST /kbs/v0/auth` | issues a nonce |
//! | `POST /attest` | `POST /kbs/v0/attest` | evidence JSON in, token out |
//! | `GET /jwks` | | the token-signing key |
//! | `GET /kbs/v0/resource/{repo}/{type}/{tag}` | same | releases a resource, sealed to the token's key ([`super::resource`]) |
//! | `GET /healthz`, `GET /metrics`, `GET /openapi.json` | | health, Prometheus, the API document |
//!
//! Reasons: `unsupported_media_type` (415: the body is not `application/json`),
//! `malformed_json`, `unknown_tee`, `body_too_large`, `bad_evidence`, `nonce_missing`,
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

use crate::appraisal::{Claim, Status, appraise, denied_unverified};
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
    let now = state.clock();
    let nonce = match state.nonces.issue(now) {
        Ok(n) => n,
        Err(e) => {
            // Never fall back to a predictable nonce: evidence could be made in advance.
            tracing::error!("POST /challenge: {e}");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "no_randomness", e.to_string());
        }
    };
    let resp = Json(json!({
        "nonce": nonce,
        "expires_at": now.plus_secs(state.nonces.lifetime_secs()).to_string(),
        "extra-params": {"binding": "report_data = SHA-512(nonce || runtime_data)"}
    }))
    .into_response();
    Outcome::new("issued", "").attach(resp)
}

/// `POST /attest`: verifies and appraises evidence JSON; 200 with a token if affirming.
pub async fn attest(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return not_json(&headers);
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", e.body_text());
        }
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "malformed_json", e.body_text());
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "malformed_json", e.to_string());
        }
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
    let now = state.clock();
    let Some(nonce) = doc.nonce.clone() else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "nonce_missing",
            "evidence JSON must carry the challenge nonce",
        );
    };
    if let Err(e) = state.nonces.consume(&nonce, now) {
        let reason = match e {
            NonceError::Expired { .. } => "nonce_expired",
            NonceError::Replayed => "nonce_replayed",
            NonceError::ReplayCacheFull => {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string());
            }
            _ => "nonce_invalid",
        };
        return refuse(StatusCode::UNAUTHORIZED, reason, e.to_string());
    }
    let evidence = match Evidence::from_doc(&doc) {
        Ok(e) => e,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "bad_evidence", e.to_string());
        }
    };
    // A key the runtime data names must be usable: resources are released only sealed to it.
    let tee_pubkey = match TeePubKey::from_runtime_data(&evidence.runtime_data) {
        Ok(k) => k,
        Err(e) => {
            return refuse(StatusCode::BAD_REQUEST, "bad_evidence", format!("runtime_data: {e}"));
        }
    };
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
            return refuse(StatusCode::BAD_REQUEST, "bad_evidence", malformed);
        }
        Err(e) => {
            tracing::error!("POST /attest: verification task failed: {e}");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "verification task failed",
            );
        }
    };
    let tee = tee_name(doc.tee);
    if verdict.status == Status::Denied {
        let resp = (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "denied", "detail": "evidence denied", "verdict": verdict})),
        )
            .into_response();
        return Outcome::new("denied", "denied").tee(tee).attach(resp);
    }
    let mut claims = ear_claims(&verdict, Some(&nonce), &runtime_data, now, state.token_lifetime);
    if let Some(key) = &tee_pubkey {
        // As KBS's token does: the key resources for this token are sealed to.
        claims["tee-pubkey"] = key.to_jwk();
    }
    match state.signer.sign(&claims) {
        Ok(token) => {
            let resp = Json(json!({"token": token, "verdict": verdict})).into_response();
            Outcome::new("affirming", "").tee(tee).kid(state.signer.kid()).attach(resp)
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
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
