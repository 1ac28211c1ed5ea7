//! `attest serve`: the verifier over HTTP (axum on tokio), loopback by default.
//!
//! Routes and refusal reasons are in [`routes`]; the API document is `openapi.json` at the
//! crate root, served at `/openapi.json`. The service keeps no state but the per-replica
//! nonce replay set (see [`crate::token::nonce`]); replicas that share `--signing-key` and
//! `--nonce-key` are interchangeable.

pub mod kbs;
mod metrics;
mod observe;
pub mod resource;
pub mod routes;
mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use metrics::{Family, Metrics};
pub use state::AppState;

/// Builds the router over `state`, refusing bodies larger than `max_body` bytes.
pub fn router(state: Arc<AppState>, max_body: usize) -> Router {
    Router::new()
        .route("/challenge", post(routes::challenge))
        .route("/kbs/v0/auth", post(kbs::auth))
        .route("/attest", post(routes::attest))
        .route("/kbs/v0/attest", post(kbs::attest))
        .route("/jwks", get(routes::jwks))
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .route("/openapi.json", get(routes::openapi))
        .route("/kbs/v0/resource/{repo}/{kind}/{tag}", get(resource::resource))
        .layer(DefaultBodyLimit::max(max_body))
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(&state), observe::observe))
        .with_state(state)
}

/// Binds `addr`, prints `listening on <addr>` (`listening on https://<addr>` with `tls`) to
/// stdout, and serves until the process ends: plain HTTP, or HTTPS under `tls`
/// ([`tls::server_config`]).
///
/// # Errors
/// The bind or accept error.
pub async fn serve(
    state: Arc<AppState>,
    addr: SocketAddr,
    max_body: usize,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = router(state, max_body);
    match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?;
            println!("listening on https://{}", axum::serve::Listener::local_addr(&listener)?);
            axum::serve(listener, app).await
        }
        None => {
            println!("listening on {}", listener.local_addr()?);
            axum::serve(listener, app).await
        }
    }
}

#[cfg(test)]
mod test_routes;

#[cfg(test)]
mod test {
    #[test]
    fn the_openapi_document_describes_every_primary_route() {
        let doc: serde_json::Value = serde_json::from_str(super::routes::OPENAPI).unwrap();
        for path in [
            "/challenge",
            "/attest",
            "/jwks",
            "/kbs/v0/resource/{repo}/{type}/{tag}",
            "/healthz",
            "/metrics",
            "/openapi.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
        }
    }

    #[test]
    fn the_openapi_evidence_doc_lists_exactly_the_fields_the_server_accepts() {
        // Every field filled, so serialization skips none: its keys are the accepted fields.
        let full = crate::evidence::EvidenceDoc {
            tee: crate::evidence::TeeKind::Snp,
            evidence: "e".into(),
            auxblob: Some("a".into()),
            certs: vec!["c".into()],
            crls: vec!["r".into()],
            event_log: Some("l".into()),
            nonce: Some("n".into()),
            runtime_data: Some("d".into()),
        };
        let accepted: std::collections::BTreeSet<String> =
            serde_json::to_value(&full).unwrap().as_object().unwrap().keys().cloned().collect();
        let doc: serde_json::Value = serde_json::from_str(super::routes::OPENAPI).unwrap();
        let documented: std::collections::BTreeSet<String> =
            doc["components"]["schemas"]["EvidenceDoc"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
        assert_eq!(documented, accepted);
    }
}
