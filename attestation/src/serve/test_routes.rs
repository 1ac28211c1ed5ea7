//! The router driven in-process, for states the binary cannot be started in.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::appraisal::{Policy, ReferenceValues};
use crate::serve::{AppState, Metrics, router};
use crate::token::{NonceIssuer, TokenSigner};

fn state(nonces: NonceIssuer) -> AppState {
    AppState {
        signer: TokenSigner::generate().unwrap(),
        nonces,
        policy: Policy::default(),
        refs: ReferenceValues::default(),
        collateral: None,
        certs: Vec::new(),
        crls: Vec::new(),
        allow_sim: false,
        resource_dir: None,
        resource_policy: None,
        token_lifetime: 300,
        verify_at: None,
        metrics: Metrics::default(),
    }
}

async fn send(state: AppState, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(Arc::new(state), 1024).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_failing_random_number_generator_is_a_500_and_no_nonce() {
    let req = Request::post("/challenge").body(Body::empty()).unwrap();
    let (status, body) = send(state(NonceIssuer::with_failing_rng(b"k")), req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "no_randomness");
    assert!(body.get("nonce").is_none(), "{body}");
}

#[tokio::test]
async fn a_working_random_number_generator_issues_a_nonce() {
    let req = Request::post("/challenge").body(Body::empty()).unwrap();
    let (status, body) = send(state(NonceIssuer::new(b"k", 300, 10)), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["nonce"].as_str().map(str::len), Some(55));
}

#[tokio::test]
async fn the_sample_tee_is_refused_at_auth_without_allow_sim() {
    let request = r#"{"version": "0.4.0", "tee": "sample", "extra-params": {}}"#;
    let req = Request::post("/kbs/v0/auth")
        .header("Content-Type", "application/json")
        .body(Body::from(request))
        .unwrap();
    let (status, body) = send(state(NonceIssuer::new(b"k", 300, 10)), req).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unknown_tee")));
    assert!(body["detail"].as_str().unwrap().contains("--allow-sim"), "{body}");
}
