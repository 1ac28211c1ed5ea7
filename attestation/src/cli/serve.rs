//! `attest serve`: loads configuration, then runs [`crate::serve`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::inputs::{AppraisalInputs, read_flag_file};
use crate::cli::{EXIT_BAD_INPUT, EXIT_DENIED};
use crate::release::ResourcePolicy;
use crate::serve::{AppState, Metrics, serve};
use crate::time::VerificationTime;
use crate::token::{NonceIssuer, TokenError, TokenSigner};

/// Arguments of `attest serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Appraisal policy JSON.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Reference values: a JSON file or directory.
    #[arg(long = "reference-values")]
    pub reference_values: Option<PathBuf>,
    /// DCAP collateral for TDX (file or directory).
    #[arg(long)]
    pub collateral: Option<PathBuf>,
    /// SNP certificate cache (file or directory; `*.crl` files in it are checked as CRLs).
    #[arg(long)]
    pub certs: Option<PathBuf>,
    /// Accept simulated evidence (tokens say `x-attest.simulated: true`).
    #[arg(long = "allow-sim")]
    pub allow_sim: bool,
    /// Token-signing key: PKCS#8 P-256, DER or PEM; share it between replicas (default: a
    /// fresh key).
    #[arg(long = "signing-key")]
    pub signing_key: Option<PathBuf>,
    /// Nonce MAC key file, at least 32 bytes; share it between replicas (default: a fresh
    /// random key).
    #[arg(long = "nonce-key")]
    pub nonce_key: Option<PathBuf>,
    /// Directory of resources released at /kbs/v0/resource/<repo>/<type>/<tag>, each
    /// sealed to the guest's key; needs --resource-policy.
    #[arg(long = "resource-dir")]
    pub resource_dir: Option<PathBuf>,
    /// Resource policy JSON: which verdicts and claims may read which resource path (see
    /// `attestation::release::policy`).
    #[arg(long = "resource-policy")]
    pub resource_policy: Option<PathBuf>,
    /// Check certificates, CRLs and collateral as of this RFC 3339 time (for demos against
    /// old vectors); nonces, tokens and the replay set always use the real clock.
    #[arg(long)]
    pub at: Option<String>,
    /// Largest accepted request body, bytes.
    #[arg(long = "max-body", default_value_t = 256 * 1024)]
    pub max_body: usize,
    /// Token lifetime, seconds.
    #[arg(long = "token-lifetime", default_value_t = 300)]
    pub token_lifetime: u64,
    /// Nonce lifetime, seconds.
    #[arg(long = "nonce-lifetime", default_value_t = 300)]
    pub nonce_lifetime: u64,
    /// Log one JSON object per line (default: human-readable text); logs go to stderr.
    #[arg(long = "log-json")]
    pub log_json: bool,
    /// Used nonces remembered per replica (the replay set's bound).
    #[arg(long = "replay-capacity", default_value_t = 100_000)]
    pub replay_capacity: usize,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. Guests
    /// check it against the CA in their image (`cocoon-attest --ca`).
    #[arg(long = "tls-cert", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long = "tls-key", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// What `--signing-key` must hold, for error messages.
const SIGNING_KEY_FORMAT: &str = "a PKCS#8 P-256 private key, DER or PEM \
     (-----BEGIN PRIVATE KEY-----), e.g. from `openssl genpkey -algorithm EC -pkeyopt \
     ec_paramgen_curve:P-256 -out key.pem`";

/// Loads `--signing-key`: PKCS#8 DER, or PKCS#8 PEM decoded to DER first.
fn load_signing_key(path: &std::path::Path) -> Result<TokenSigner, String> {
    let bytes = read_flag_file(path, "--signing-key")?;
    let bad = |what: String| {
        format!("--signing-key {}: {what}; expected {SIGNING_KEY_FORMAT}", path.display())
    };
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (label, der) =
            pem_rfc7468::decode_vec(&bytes).map_err(|e| bad(format!("bad PEM: {e}")))?;
        if label != "PRIVATE KEY" {
            // SEC1 "EC PRIVATE KEY" is the usual mix-up: `openssl pkcs8 -topk8 -nocrypt` converts.
            return Err(bad(format!("PEM label is {label:?}, not \"PRIVATE KEY\"")));
        }
        der
    } else {
        bytes
    };
    TokenSigner::from_pkcs8(&der).map_err(|e| match e {
        TokenError::Key(why) => bad(why),
        other => bad(other.to_string()),
    })
}

/// The shortest `--nonce-key` accepted: the HMAC-SHA256 output length (RFC 2104 §3).
const MIN_NONCE_KEY_LEN: usize = 32;

fn load(args: &ServeArgs) -> Result<AppState, String> {
    let inputs = AppraisalInputs::load(
        args.policy.as_ref(),
        args.reference_values.as_ref(),
        args.collateral.as_ref(),
        args.certs.as_ref(),
    )?;
    let signer = match &args.signing_key {
        Some(p) => load_signing_key(p)?,
        None => TokenSigner::generate().map_err(|e| format!("token signing key: {e}"))?,
    };
    let nonce_key = match &args.nonce_key {
        Some(p) => {
            let key = read_flag_file(p, "--nonce-key")?;
            // HMAC-SHA256 is as strong as its key; a short or empty file (a truncated copy,
            // `touch`) would let anyone mint nonces.
            if key.len() < MIN_NONCE_KEY_LEN {
                return Err(format!(
                    "--nonce-key {}: {} bytes; at least {MIN_NONCE_KEY_LEN} random bytes are \
                     needed (e.g. head -c 32 /dev/urandom > {})",
                    p.display(),
                    key.len(),
                    p.display()
                ));
            }
            key
        }
        None => {
            let mut k = vec![0u8; MIN_NONCE_KEY_LEN];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut k)
                .map_err(|_| "no OS randomness for the nonce key".to_owned())?;
            k
        }
    };
    let verify_at = args
        .at
        .as_deref()
        .map(VerificationTime::parse_rfc3339)
        .transpose()
        .map_err(|e| format!("--at: {e}"))?;
    let resource_policy = match &args.resource_policy {
        Some(p) => {
            let text = String::from_utf8(read_flag_file(p, "--resource-policy")?)
                .map_err(|_| format!("--resource-policy {}: not UTF-8", p.display()))?;
            Some(
                ResourcePolicy::from_json(&text)
                    .map_err(|e| format!("--resource-policy {}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    if args.resource_dir.is_some() && resource_policy.is_none() {
        // Fail closed: without a policy every affirming token would read every resource.
        return Err("--resource-dir needs --resource-policy (which tokens may read which \
                    path); to release every resource to every affirming token, use \
                    {\"rules\": [{\"resource\": \"*/*/*\"}]}"
            .to_owned());
    }
    Ok(AppState {
        signer,
        nonces: NonceIssuer::new(&nonce_key, args.nonce_lifetime, args.replay_capacity),
        policy: inputs.policy,
        refs: inputs.refs,
        collateral: inputs.collateral,
        certs: inputs.certs,
        crls: inputs.crls,
        allow_sim: args.allow_sim,
        resource_dir: args.resource_dir.clone(),
        resource_policy,
        token_lifetime: args.token_lifetime,
        verify_at,
        metrics: Metrics::default(),
    })
}

/// Logs the loaded configuration once at start-up, and warns about simulated evidence.
fn log_configuration(args: &ServeArgs, state: &AppState) {
    let path = |p: &Option<PathBuf>| p.as_ref().map_or("-".to_owned(), |p| p.display().to_string());
    tracing::info!(
        listen = %args.listen,
        policy = path(&args.policy),
        reference_values = path(&args.reference_values),
        collateral = path(&args.collateral),
        certs = path(&args.certs),
        snp_certs_loaded = state.certs.len(),
        snp_crls_loaded = state.crls.len(),
        allow_sim = args.allow_sim,
        signing_key = args.signing_key.as_ref().map_or("generated".to_owned(), |p| p.display().to_string()),
        kid = state.signer.kid(),
        nonce_key = args.nonce_key.as_ref().map_or("generated".to_owned(), |p| p.display().to_string()),
        nonce_lifetime_s = args.nonce_lifetime,
        token_lifetime_s = args.token_lifetime,
        replay_capacity = args.replay_capacity,
        resource_dir = path(&args.resource_dir),
        resource_policy = path(&args.resource_policy),
        resource_rules = state.resource_policy.as_ref().map_or(0, |p| p.rules.len()),
        verify_at = state.verify_at.map_or("now".to_owned(), |t| t.to_string()),
        max_body = args.max_body,
        tls = args.tls_cert.is_some(),
        "attest serve starting"
    );
    if args.tls_cert.is_none() && !args.listen.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on a non-loopback address: guests cannot authenticate this \
             verifier, so whoever controls the network can release secrets of its own \
             choosing to them (give --tls-cert and --tls-key)"
        );
    }
    if args.allow_sim {
        tracing::warn!(
            "--allow-sim is on: evidence signed by the PUBLISHED development key is accepted \
             where the policy allows it; anyone can forge it. Never use this in production"
        );
    }
}

/// Runs `attest serve` until the process is stopped; returns the exit code on failure.
pub fn run_serve(args: &ServeArgs) -> i32 {
    let state = match load(args) {
        Ok(s) => Arc::new(s),
        Err(msg) => {
            eprintln!("attest serve: bad configuration: {msg}");
            return EXIT_BAD_INPUT;
        }
    };
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(false);
    // Fails only if a subscriber is already set (a second run_serve in one process).
    let _ = if args.log_json { logs.json().try_init() } else { logs.try_init() };
    log_configuration(args, &state);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("attest serve: {e}");
            return EXIT_DENIED;
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match crate::serve::tls::server_config(cert, key) {
            Ok(config) => Some(config),
            Err(msg) => {
                eprintln!("attest serve: bad configuration: {msg}");
                return EXIT_BAD_INPUT;
            }
        },
        _ => None,
    };
    // The TLS configuration is read before the runtime starts, so a bad file is a bad
    // configuration (exit 2) like the others, not a failure to serve.
    match runtime.block_on(serve(state, args.listen, args.max_body, tls)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("attest serve: {}: {e}", args.listen);
            EXIT_DENIED
        }
    }
}
