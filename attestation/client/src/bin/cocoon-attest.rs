//! `cocoon-attest`: attests this guest to `attest serve` over the KBS protocol's messages
//! and prints the resource it releases.
//!
//! Not (yet) a client of Trustee's KBS itself: that wants the session cookie kept between
//! `auth` and `attest`, Trustee's report-data binding, and its own per-TEE evidence JSON.
//!
//! What the guest can tell: the resource is sealed to a key that never leaves this guest,
//! so nobody else can read it; and the verifier is the one whose certificate chains to the
//! CA in `--ca`, a file of the (measured) image, so a host that controls the network cannot
//! answer in its place with a secret of its own choosing. Plain `http://` gives up the
//! second, and is refused unless `--insecure-http` says so.
//!
//! ```text
//! cocoon-attest --kbs https://10.0.2.2:8443 --ca /etc/cocoon/verifier-ca.pem \
//!     --resource default/key/disk
//! ```
//! 1. a fresh P-256 key; `POST /kbs/v0/auth` for a nonce;
//! 2. runtime data `{"nonce", "tee-pubkey"}`; configfs-tsm `inblob` =
//!    SHA-512(nonce ‖ runtime data); `outblob` (and `auxblob`) read back;
//! 3. `POST /kbs/v0/attest` with the report and the CC event log
//!    (`/sys/firmware/acpi/tables/data/CCEL`, when there is one); a token back;
//! 4. `GET /kbs/v0/resource/<path>` with the token; the JWE opened with the key; the
//!    plaintext written to standard output (or `--out`).
//!
//! Exit status: 0 released; 1 refused (the verifier's reasons on standard error, every
//! failing claim with its expected and observed values); 2 bad arguments; 3 this guest
//! cannot produce evidence or reach the verifier.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use attest_client::binding::expected_report_data;
use attest_client::jwe::GuestKey;
use attest_client::kbs::{PROTOCOL_VERSION, runtime_data_bytes};
use attest_client::tsm::{REPORTS, ReportDir, TsmReport};
use base64::Engine as _;
use clap::Parser;
use kbs_types::{Attestation, Challenge, CompositeEvidence, Request, RuntimeData, Tee};
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Parser)]
#[command(version, about = "Attest this guest to a KBS-protocol verifier and fetch a resource")]
struct Args {
    /// The verifier's base URL, e.g. https://10.0.2.2:8443.
    #[arg(long)]
    kbs: String,
    /// PEM file of the CA certificates the verifier's certificate must chain to (needed for
    /// https://; no other roots are trusted).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Allow an http:// verifier: nothing then authenticates it, so a host that controls
    /// the network can release a secret of its own choosing to this guest.
    #[arg(long = "insecure-http")]
    insecure_http: bool,
    /// The resource to fetch: <repo>/<type>/<tag>.
    #[arg(long)]
    resource: String,
    /// Where configfs-tsm's reports are.
    #[arg(long, default_value = REPORTS)]
    reports: PathBuf,
    /// The CC event log sent with the evidence (skipped if the file does not exist).
    #[arg(long, default_value = "/sys/firmware/acpi/tables/data/CCEL")]
    event_log: PathBuf,
    /// Write the resource here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Give up on the verifier after this many seconds per request.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// How a run ends short of the resource.
enum Failure {
    /// The verifier refused; its answer is printed.
    Refused,
    /// Bad arguments.
    Usage(String),
    /// This guest or the network failed.
    Local(String),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Usage(m)) => {
            eprintln!("cocoon-attest: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Local(m)) => {
            eprintln!("cocoon-attest: {m}");
            ExitCode::from(3)
        }
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let base = args.kbs.trim_end_matches('/');
    let segments: Vec<&str> = args.resource.split('/').collect();
    if segments.len() != 3 || segments.iter().any(|s| s.is_empty()) {
        return Err(Failure::Usage(format!(
            "--resource {:?} is not <repo>/<type>/<tag>",
            args.resource
        )));
    }
    let agent = agent(args, base)?;
    let dir = ReportDir::create(&args.reports).map_err(|e| Failure::Local(e.to_string()))?;
    let provider = dir.provider().map_err(|e| Failure::Local(e.to_string()))?;
    let (evidence_tee, kbs_tee) = match provider.as_str() {
        "tdx_guest" => ("tdx", Tee::Tdx),
        "sev_guest" => ("snp", Tee::Snp),
        // The simulated TEE is a development stand-in, as Trustee's "sample" TEE is.
        "cocoon_sim" => ("sim", Tee::Sample),
        other => return Err(Failure::Local(format!("configfs-tsm provider {other:?} is unknown"))),
    };

    let request =
        Request { version: PROTOCOL_VERSION.into(), tee: kbs_tee, extra_params: json!({}) };
    let challenge: Challenge = post(&agent, &format!("{base}/kbs/v0/auth"), &request)?;
    let key = GuestKey::generate();
    let runtime_data = RuntimeData { nonce: challenge.nonce.clone(), tee_pubkey: key.tee_pubkey() };
    let report_data =
        expected_report_data(challenge.nonce.as_bytes(), &runtime_data_bytes(&runtime_data));
    let TsmReport { outblob, auxblob } =
        dir.report(&report_data).map_err(|e| Failure::Local(e.to_string()))?;
    drop(dir);

    let mut evidence = json!({"tee": evidence_tee, "evidence": B64.encode(&outblob)});
    if let Some(aux) = auxblob {
        evidence["auxblob"] = json!(B64.encode(aux));
    }
    match std::fs::read(&args.event_log) {
        Ok(log) => evidence["event_log"] = json!(B64.encode(log)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Failure::Local(format!("read {}: {e}", args.event_log.display())));
        }
    }
    let attestation = Attestation {
        init_data: None,
        runtime_data,
        tee_evidence: CompositeEvidence {
            primary_evidence: evidence,
            additional_evidence: String::new(),
        },
    };
    let answer: Value = post(&agent, &format!("{base}/kbs/v0/attest"), &attestation)?;
    let Some(token) = answer["token"].as_str() else {
        return Err(Failure::Local("the verifier's answer to attest has no \"token\"".into()));
    };
    eprintln!("cocoon-attest: {provider} evidence affirmed by {base}");

    let url = format!("{base}/kbs/v0/resource/{}", args.resource);
    let jwe: Value =
        answer_json(agent.get(&url).set("Authorization", &format!("Bearer {token}")).call(), &url)?;
    let secret = key.open(&jwe).map_err(|e| Failure::Local(format!("{url}: {e}")))?;
    match &args.out {
        Some(path) => std::fs::write(path, &secret)
            .map_err(|e| Failure::Local(format!("write {}: {e}", path.display()))),
        None => std::io::stdout()
            .write_all(&secret)
            .map_err(|e| Failure::Local(format!("write the resource: {e}"))),
    }
}

/// The HTTP agent for `base`: over TLS trusting only `--ca`, or plain HTTP when the caller
/// said `--insecure-http`.
fn agent(args: &Args, base: &str) -> Result<ureq::Agent, Failure> {
    let builder = ureq::AgentBuilder::new().timeout(Duration::from_secs(args.timeout));
    if base.starts_with("https://") {
        let Some(ca) = &args.ca else {
            return Err(Failure::Usage(format!(
                "--kbs {base:?} needs --ca: the PEM file of the verifier's CA, carried in the \
                 measured image"
            )));
        };
        let pem =
            std::fs::read(ca).map_err(|e| Failure::Usage(format!("--ca {}: {e}", ca.display())))?;
        let config = attest_client::tls::trusting(&pem)
            .map_err(|e| Failure::Usage(format!("--ca {}: {e}", ca.display())))?;
        return Ok(builder.tls_config(config).build());
    }
    if !base.starts_with("http://") {
        return Err(Failure::Usage(format!("--kbs {base:?} is not an https:// or http:// URL")));
    }
    if !args.insecure_http {
        return Err(Failure::Usage(format!(
            "--kbs {base:?} is plain HTTP: nothing would authenticate the verifier, and a host \
             that controls the network could release a secret of its own choosing to this \
             guest. Use https:// with --ca, or say --insecure-http"
        )));
    }
    eprintln!("cocoon-attest: warning: --insecure-http: the verifier is not authenticated");
    Ok(builder.build())
}

/// POSTs `body` as JSON and reads a JSON answer.
fn post<T: serde::de::DeserializeOwned>(
    agent: &ureq::Agent,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<T, Failure> {
    answer_json(agent.post(url).send_json(body), url)
}

/// Reads a JSON answer; a refusal is printed, with every failing claim of a verdict.
fn answer_json<T: serde::de::DeserializeOwned>(
    result: Result<ureq::Response, ureq::Error>,
    url: &str,
) -> Result<T, Failure> {
    match result {
        Ok(resp) => resp.into_json().map_err(|e| {
            Failure::Local(format!("{url}: the answer is not the expected JSON: {e}"))
        }),
        Err(ureq::Error::Status(code, resp)) => {
            let body: Value = resp.into_json().unwrap_or(Value::Null);
            eprintln!(
                "cocoon-attest: {url} refused ({code} {}): {}",
                body["error"].as_str().unwrap_or("?"),
                body["detail"].as_str().unwrap_or("")
            );
            for claim in body["verdict"]["claims"].as_array().into_iter().flatten() {
                if claim["passed"] == false {
                    eprintln!(
                        "  failing claim {}: expected {}, observed {}",
                        claim["name"].as_str().unwrap_or("?"),
                        claim["expected"].as_str().unwrap_or("?"),
                        claim["observed"].as_str().unwrap_or("?")
                    );
                }
            }
            Err(Failure::Refused)
        }
        Err(e) => Err(Failure::Local(format!("{url}: {e}"))),
    }
}
