//! HTTPS for `attest serve` (`--tls-cert`, `--tls-key`): rustls with the `ring` provider,
//! TLS 1.2 and 1.3.
//!
//! Why the verifier needs it: a guest seals nothing to the verifier, it *receives* secrets
//! sealed to its own key. Over plain HTTP a host that controls the network answers in the
//! verifier's place and seals a secret of its own choosing to that key, which the guest
//! cannot tell from the real one. Over TLS the guest checks the verifier's certificate
//! against a CA it carries in its measured image (`cocoon-attest --ca`), so the image's
//! reference values also pin whom it trusts.
//!
//! Handshakes run in tasks of their own, at most [`HANDSHAKE_TIMEOUT`] each and
//! [`MAX_HANDSHAKES`] at once, and finished connections are handed to axum through a
//! channel: a client that connects and never says hello holds up nobody else.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for axum to take them.
const READY_QUEUE: usize = 64;

/// Handshakes in progress at most; the accept loop waits for one to end beyond that, so
/// clients that connect and stay silent hold at most this many descriptors.
pub const MAX_HANDSHAKES: usize = 256;

/// Builds the server's TLS configuration from a PEM certificate chain (leaf first) and a
/// PEM private key (PKCS#8, SEC1 or PKCS#1).
///
/// # Errors
/// A message naming the file and what is wrong with it.
pub fn server_config(cert_chain: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_chain)
        .and_then(Iterator::collect)
        .map_err(|e| format!("--tls-cert {}: {e}", cert_chain.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            cert_chain.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "--tls-key {}: {e}; expected a PEM private key (PKCS#8, SEC1 or PKCS#1)",
            key.display()
        )
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    Ok(Arc::new(config))
}

/// A listener whose connections have finished a TLS handshake.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts TCP connections on `tcp` and shakes hands with each under `config`.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        tokio::spawn(async move {
            loop {
                // The semaphore is never closed, so this always yields a permit.
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let (stream, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors, say: wait a little rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task holds the sender for as long as the runtime runs.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
