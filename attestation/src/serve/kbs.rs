//! The KBS protocol's request and attestation steps, as Trustee's KBS takes them (protocol
//! 0.4.0, `kbs_types`' messages; the resource step is [`super::resource`]):
//!
//! - `POST /kbs/v0/auth` takes a `Request{version, tee, extra-params}` and answers a
//!   `Challenge{nonce, extra-params}` (plus `expires_at`). The version must be 0.4.x; the
//!   TEE `tdx`, `snp`, or `sample` (the development TEE, for which this service takes its
//!   simulated evidence, under `--allow-sim` only). An empty body is taken as a request too,
//!   as `/challenge`. The TEE named here is not held against the evidence (no session is
//!   kept); the evidence names its own.
//! - `POST /kbs/v0/attest` takes an `Attestation{runtime-data{nonce, tee-pubkey},
//!   tee-evidence{primary_evidence, additional_evidence}}`. `runtime-data.nonce` is the
//!   challenge (checked as `/attest` checks it); `primary_evidence` is any evidence this
//!   service reads (its own evidence JSON, configfs-tsm JSON, Trustee's SNP JSON); the
//!   runtime data it binds is [`attest_client::kbs::runtime_data_bytes`] of the message's
//!   `runtime-data` under this project's binding, or Trustee's form of it under Trustee's
//!   ([`Binding::CocoonOrTrustee`]).
//!   The answer is `{"token", "verdict"}`, and the token is also set as the
//!   `kbs-session-id` cookie, which [`super::resource`] accepts in place of a bearer token.
//!
//! The service stays stateless: the nonce authenticates itself, so no session is kept between
//! the two steps, and the "session" cookie is the token itself.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kbs_types::{Attestation, Request, Tee};
use serde_json::{Value, json};

use crate::binding::Binding;
use crate::evidence::Evidence;
use crate::serve::observe::Outcome;
use crate::serve::routes::{
    Shared, consume_nonce, issue_nonce, json_body, refuse, verify_and_sign,
};

/// The cookie Trustee's KBS names its session with.
pub const SESSION_COOKIE: &str = "kbs-session-id";

/// The protocol minor version understood (0.4).
const MINOR: u64 = 4;

/// `POST /kbs/v0/auth`.
pub async fn auth(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !body.as_ref().is_ok_and(Bytes::is_empty) {
        let request: Request =
            match message(&headers, body, "a KBS Request {version, tee, extra-params}") {
                Ok(r) => r,
                Err(refusal) => return refusal,
            };
        if let Err(detail) = check_version(&request.version) {
            return refuse(StatusCode::BAD_REQUEST, "unsupported_version", detail);
        }
        if request.tee == Tee::Sample && !state.allow_sim {
            let detail = "\"tee\": \"sample\" (the simulated TEE) is taken only under --allow-sim";
            return refuse(StatusCode::BAD_REQUEST, "unknown_tee", detail);
        }
        if !matches!(request.tee, Tee::Tdx | Tee::Snp | Tee::Sample) {
            let detail = format!(
                "\"tee\": \"{}\" is not verified here (\"tdx\", \"snp\", or \"sample\" for the \
                 simulated TEE)",
                request.tee
            );
            return refuse(StatusCode::BAD_REQUEST, "unknown_tee", detail);
        }
    }
    let (nonce, expires_at) = match issue_nonce(&state) {
        Ok(issued) => issued,
        Err(refusal) => return refusal,
    };
    let resp = Json(json!({"nonce": nonce, "extra-params": {}, "expires_at": expires_at}));
    Outcome::new("issued", "").attach(resp.into_response())
}

/// Reads a JSON body as the KBS message `T` (described by `shape` in the refusal), or returns
/// the refusal: [`json_body`]'s, or 400 `malformed_json` naming what is wrong.
#[allow(clippy::result_large_err, reason = "the error is the HTTP reply itself, sent at once")]
fn message<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    shape: &str,
) -> Result<T, Response> {
    serde_json::from_value(json_body(headers, body)?)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "malformed_json", format!("not {shape}: {e}")))
}

/// Accepts protocol versions 0.4.x: the message shapes (`CompositeEvidence`) are 0.4's.
fn check_version(version: &str) -> Result<(), String> {
    let parts: Vec<Option<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [Some(0), Some(MINOR), Some(_)] => Ok(()),
        _ => Err(format!("protocol version {version:?} is not 0.{MINOR}.x")),
    }
}

/// `POST /kbs/v0/attest`.
pub async fn attest(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let shape = "a KBS Attestation {runtime-data {nonce, tee-pubkey}, tee-evidence}";
    let attestation: Attestation = match message(&headers, body, shape) {
        Ok(a) => a,
        Err(refusal) => return refusal,
    };
    let nonce = attestation.runtime_data.nonce.clone();
    if let Err(refusal) = consume_nonce(&state, &nonce) {
        return refusal;
    }
    let evidence = match evidence_of(&attestation) {
        Ok(e) => e,
        Err(detail) => return refuse(StatusCode::BAD_REQUEST, "bad_evidence", detail),
    };
    match verify_and_sign(state, evidence, nonce).await {
        Ok(affirmed) => {
            let mut resp =
                Json(json!({"token": affirmed.token, "verdict": affirmed.verdict})).into_response();
            let cookie = format!("{SESSION_COOKIE}={}; Path=/kbs/v0; HttpOnly", affirmed.token);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            affirmed.outcome.attach(resp)
        }
        Err(refusal) => refusal,
    }
}

/// Reads the evidence of an attestation message and binds the message's runtime data to it.
fn evidence_of(attestation: &Attestation) -> Result<Evidence, String> {
    let primary = &attestation.tee_evidence.primary_evidence;
    let text = match primary {
        // A string is evidence in any form `attest verify` reads (hex, JSON text).
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut evidence =
        Evidence::detect(text.as_bytes()).map_err(|e| format!("tee-evidence: {e}"))?;
    let runtime_data = attest_client::kbs::runtime_data_bytes(&attestation.runtime_data);
    if evidence.nonce.as_ref().is_some_and(|n| *n != attestation.runtime_data.nonce) {
        return Err("tee-evidence names a nonce other than runtime-data's".into());
    }
    if !evidence.runtime_data.is_empty() && evidence.runtime_data != runtime_data {
        return Err("tee-evidence carries runtime data other than runtime-data".into());
    }
    evidence.nonce = Some(attestation.runtime_data.nonce.clone());
    evidence.runtime_data = runtime_data;
    evidence.binding = Binding::CocoonOrTrustee {
        trustee_runtime_data: attest_client::kbs::trustee_runtime_data_bytes(
            &attestation.runtime_data,
            &attestation.tee_evidence.additional_evidence,
        ),
    };
    Ok(evidence)
}

#[cfg(test)]
mod test {
    use super::check_version;

    #[test]
    fn versions_0_4_are_accepted_and_others_named() {
        for v in ["0.4.0", "0.4.7"] {
            assert_eq!(check_version(v), Ok(()), "{v}");
        }
        for v in ["0.1.0", "0.5.0", "1.0.0", "0.4", "x", ""] {
            assert!(check_version(v).unwrap_err().contains(&format!("{v:?}")), "{v}");
        }
    }
}
