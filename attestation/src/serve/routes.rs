//! HTTP handlers. Every refusal is a 4xx with
//! `{"error": <machine-readable reason>, "detail": <text>}`.
//!
//! | route | KBS alias | does |
//! |---|---|---|
//! | `POST /challenge` | `POST /kbs/v0/auth` | issues a nonce |
//! | `POST /attest` | `POST /kbs/v0/attest` | evidence JSON in, token out |
//! | `GET /jwks` | | the token-signing key |
//! | `GET /kbs/v0/resource/{repo}/{type}/{tag}` | same | releases a resource to a valid, affirming token |
//! | `GET /healthz`, `GET /metrics`, `GET /openapi.json` | | health, Prometheus, the API document |
//!
//! Reasons: `unsupported_media_type` (415: the body is not `application/json`), `malformed_json`, `unknown_tee`, `body_too_large`, `bad_evidence`,
//! `nonce_missing`, `nonce_invalid`, `nonce_expired`, `nonce_replayed`, `busy`, `denied`,
//! `token_missing`, `token_invalid`, `token_expired`, `token_not_affirming`,
//! `resource_not_found`; and, as 500, `no_randomness` (the OS random-number generator failed:
//! no nonce is issued) and `internal`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::appraisal::{Claim, Status, appraise, denied_unverified};
use crate::evidence::{Evidence, EvidenceDoc};
use crate::serve::metrics::Metrics;
use crate::serve::state::AppState;
use crate::token::{NonceError, TokenError, ear_claims, ear_status};
use crate::verifier::{VerifyOptions, verify_evidence};

type Shared = State<Arc<AppState>>;

/// The checked-in OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

fn refuse(state: &AppState, code: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    Metrics::inc(&state.metrics.rejected);
    (code, Json(json!({"error": error, "detail": detail.into()}))).into_response()
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

fn not_json(state: &AppState, headers: &HeaderMap) -> Response {
    let got = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let detail = match got {
        Some(t) => format!("Content-Type is {t:?}; send application/json"),
        None => "no Content-Type; send application/json".to_owned(),
    };
    refuse(state, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", detail)
}

/// `POST /challenge`: returns a fresh nonce and when it expires. The body (a KBS `Request`)
/// is optional and unread, but if there is one it must be declared JSON.
pub async fn challenge(State(state): Shared, headers: HeaderMap, body: Bytes) -> Response {
    if !body.is_empty() && !is_json(&headers) {
        return not_json(&state, &headers);
    }
    Metrics::inc(&state.metrics.challenges);
    let now = state.clock();
    let nonce = match state.nonces.issue(now) {
        Ok(n) => n,
        Err(e) => {
            // Never fall back to a predictable nonce: evidence could be made in advance.
            eprintln!("attest serve: POST /challenge: {e}");
            return refuse(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_randomness",
                e.to_string(),
            );
        }
    };
    Json(json!({
        "nonce": nonce,
        "expires_at": now.plus_secs(state.nonces.lifetime_secs()).to_string(),
        "extra-params": {"binding": "report_data = SHA-512(nonce || runtime_data)"}
    }))
    .into_response()
}

/// `POST /attest`: verifies and appraises evidence JSON; 200 with a token if affirming.
pub async fn attest(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return not_json(&state, &headers);
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(&state, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", e.body_text());
        }
        Err(e) => {
            return refuse(&state, StatusCode::BAD_REQUEST, "malformed_json", e.body_text());
        }
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return refuse(&state, StatusCode::BAD_REQUEST, "malformed_json", e.to_string());
        }
    };
    let unknown = |detail: String| refuse(&state, StatusCode::BAD_REQUEST, "unknown_tee", detail);
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
            return refuse(&state, StatusCode::BAD_REQUEST, "malformed_json", e.to_string());
        }
    };
    let now = state.clock();
    let Some(nonce) = doc.nonce.clone() else {
        return refuse(
            &state,
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
                return refuse(&state, StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string());
            }
            _ => "nonce_invalid",
        };
        return refuse(&state, StatusCode::UNAUTHORIZED, reason, e.to_string());
    }
    let evidence = match Evidence::from_doc(&doc) {
        Ok(e) => e,
        Err(e) => {
            return refuse(&state, StatusCode::BAD_REQUEST, "bad_evidence", e.to_string());
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
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.verify_micros.fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
    let (verdict, runtime_data) = match verdict {
        Ok(Ok(v)) => v,
        Ok(Err(malformed)) => {
            return refuse(&state, StatusCode::BAD_REQUEST, "bad_evidence", malformed);
        }
        Err(e) => {
            eprintln!("attest serve: POST /attest: verification task failed: {e}");
            return refuse(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "verification task failed",
            );
        }
    };
    if verdict.status == Status::Denied {
        Metrics::inc(&state.metrics.denied);
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "denied", "detail": "evidence denied", "verdict": verdict})),
        )
            .into_response();
    }
    Metrics::inc(&state.metrics.affirming);
    let claims = ear_claims(&verdict, Some(&nonce), &runtime_data, now, state.token_lifetime);
    match state.signer.sign(&claims) {
        Ok(token) => Json(json!({"token": token, "verdict": verdict})).into_response(),
        Err(e) => refuse(&state, StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
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

/// `GET /kbs/v0/resource/{repo}/{type}/{tag}` with `Authorization: Bearer <token>`.
pub async fn resource(
    State(state): Shared,
    Path((repo, kind, tag)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return refuse(
            &state,
            StatusCode::UNAUTHORIZED,
            "token_missing",
            "Authorization: Bearer <token> required",
        );
    };
    let claims = match state.signer.verify(token.trim(), state.clock()) {
        Ok(c) => c,
        Err(TokenError::Expired) => {
            return refuse(&state, StatusCode::UNAUTHORIZED, "token_expired", "token expired");
        }
        Err(e) => {
            return refuse(&state, StatusCode::UNAUTHORIZED, "token_invalid", e.to_string());
        }
    };
    let detail = match ear_status(&claims) {
        Some(("affirming", simulated)) if !simulated || state.allow_sim => None,
        Some(("affirming", _)) => {
            Some("the token is for simulated evidence and --allow-sim is off".to_owned())
        }
        Some((status, _)) => Some(format!("\"ear.status\" is \"{status}\", not \"affirming\"")),
        None => Some("the token has no \"submods\" entry with an \"ear.status\"".to_owned()),
    };
    if let Some(detail) = detail {
        return refuse(&state, StatusCode::FORBIDDEN, "token_not_affirming", detail);
    }
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !s.starts_with('.')
    };
    let path = state
        .resource_dir
        .as_ref()
        .filter(|_| safe(&repo) && safe(&kind) && safe(&tag))
        .map(|d| d.join(&repo).join(&kind).join(&tag));
    match path.and_then(|p| std::fs::read(p).ok()) {
        Some(bytes) => {
            Metrics::inc(&state.metrics.resources);
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        None => refuse(
            &state,
            StatusCode::NOT_FOUND,
            "resource_not_found",
            format!("no resource {repo}/{kind}/{tag}"),
        ),
    }
}
