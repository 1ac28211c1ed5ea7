//! `GET /kbs/v0/resource/{repo}/{type}/{tag}`: a resource, sealed to the token's key.
//!
//! In order, each refusal with its reason (as KBS: 401 unauthenticated, 403 not allowed,
//! 404 absent; the policy is asked before the disk, so a refused token learns nothing about
//! which paths exist):
//! 1. `Authorization: Bearer <token>` (or the `kbs-session-id` cookie that
//!    `POST /kbs/v0/attest` set) missing → 401 `token_missing`; not ours or altered →
//!    401 `token_invalid`; past `exp` → 401 `token_expired`;
//! 2. not affirming (or simulated while `--allow-sim` is off) → 403 `token_not_affirming`;
//! 3. no `tee-pubkey` claim (the evidence's runtime data named no key) → 403 `no_tee_pubkey`;
//! 4. no rule of the resource policy lets these claims read this path → 403
//!    `resource_forbidden`;
//! 5. no such file under `--resource-dir` → 404 `resource_not_found`.
//!
//! Otherwise 200 with a JWE (`application/jose+json`, see [`crate::release::jwe`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::release::{TeePubKey, seal_jwe};
use crate::serve::kbs::SESSION_COOKIE;
use crate::serve::observe::Outcome;
use crate::serve::routes::{Shared, refuse};
use crate::token::{TokenError, ear_status};

/// Returns the token a request presents: `Authorization: Bearer`, else the KBS session
/// cookie.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
    })
}

/// `GET /kbs/v0/resource/{repo}/{type}/{tag}` with `Authorization: Bearer <token>`.
pub async fn resource(
    State(state): Shared,
    Path((repo, kind, tag)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = presented_token(&headers) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "token_missing",
            "Authorization: Bearer <token> (or the kbs-session-id cookie) required",
        );
    };
    let claims = match state.signer.verify(token.trim(), state.clock()) {
        Ok(c) => c,
        Err(TokenError::Expired) => {
            return refuse(StatusCode::UNAUTHORIZED, "token_expired", "token expired");
        }
        Err(e) => {
            return refuse(StatusCode::UNAUTHORIZED, "token_invalid", e.to_string());
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
        return refuse(StatusCode::FORBIDDEN, "token_not_affirming", detail);
    }
    let Some(key) = claims.get("tee-pubkey").and_then(|k| TeePubKey::from_jwk(k).ok()) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "no_tee_pubkey",
            "the evidence's runtime_data named no P-256 tee-pubkey, and resources are released \
             only sealed to one",
        );
    };
    let path = format!("{repo}/{kind}/{tag}");
    let allowed =
        state.resource_policy.as_ref().and_then(|p| p.allows(&claims, [&repo, &kind, &tag]));
    if allowed.is_none() {
        return refuse(
            StatusCode::FORBIDDEN,
            "resource_forbidden",
            format!("no rule of the resource policy lets this token read {path}"),
        );
    }
    let safe = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !s.starts_with('.')
    };
    let file = state
        .resource_dir
        .as_ref()
        .filter(|_| safe(&repo) && safe(&kind) && safe(&tag))
        .map(|d| d.join(&repo).join(&kind).join(&tag));
    let Some(bytes) = file.and_then(|p| std::fs::read(p).ok()) else {
        return refuse(StatusCode::NOT_FOUND, "resource_not_found", format!("no resource {path}"));
    };
    match seal_jwe(&bytes, &key) {
        Ok(jwe) => {
            let resp =
                ([(header::CONTENT_TYPE, "application/jose+json")], Json(jwe)).into_response();
            let tee = match ear_status(&claims).map(|_| &claims["submods"]) {
                Some(s) if s.get("tdx").is_some() => "tdx",
                Some(s) if s.get("snp").is_some() => "snp",
                Some(s) if s.get("sim").is_some() => "sim",
                _ => "",
            };
            Outcome::new("released", "").tee(tee).kid(state.signer.kid()).attach(resp)
        }
        Err(e) => {
            tracing::error!("GET /kbs/v0/resource/{path}: {e}");
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            refuse(status, "internal", format!("sealing the resource failed: {e}"))
        }
    }
}
