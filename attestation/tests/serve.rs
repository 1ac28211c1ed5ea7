//! `attest serve` over real loopback HTTP: challenge → attest → token → resource, and the
//! refusals, each with its machine-readable reason.
#![forbid(unsafe_code)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use attestation::binding::expected_report_data;
use attestation::release::TeePubKey;
use attestation::release::jwe::{generate_guest_key, open_jwe};
use attestation::sim::sign_sim_report;
use base64::Engine as _;
use common::http::{Reply, request};
use common::{read, vector};
use serde_json::json;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A running server, killed on drop; its stderr (the logs) is collected line by line.
struct Server {
    child: Child,
    addr: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attest-serve-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start(dir: &Path, at: &str, extra: &[&str]) -> Server {
    std::fs::write(dir.join("policy.json"), r#"{"allow_simulated": true}"#).unwrap();
    std::fs::write(dir.join("nonce.key"), b"shared nonce key for both replicas").unwrap();
    std::fs::create_dir_all(dir.join("res/default/key")).unwrap();
    std::fs::write(dir.join("res/default/key/1"), b"the secret").unwrap();
    let policy = dir.join("resources.json");
    if !policy.exists() {
        std::fs::write(
            &policy,
            r#"{"rules": [{"resource": "default/key/*", "allow_simulated": true}]}"#,
        )
        .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow-sim",
            "--at",
            at,
            "--max-body",
            "65536",
        ])
        .arg("--policy")
        .arg(dir.join("policy.json"))
        .arg("--nonce-key")
        .arg(dir.join("nonce.key"))
        .arg("--resource-dir")
        .arg(dir.join("res"))
        .arg("--resource-policy")
        .arg(&policy)
        .arg("--certs")
        .arg(vector("snp/trustee"))
        .args(["--log-json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr =
        line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (sink, stderr) = (std::sync::Arc::clone(&logs), child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    Server { child, addr, logs }
}

impl Server {
    fn post(&self, path: &str, body: &[u8]) -> Reply {
        request(&self.addr, "POST", path, &[("Content-Type", "application/json")], body)
    }
    fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        request(&self.addr, "GET", path, &headers, b"")
    }
    fn nonce(&self) -> String {
        let r = self.post("/challenge", b"");
        assert_eq!(r.status, 200);
        r.json()["nonce"].as_str().unwrap().to_owned()
    }
}

fn token_claims(token: &str) -> serde_json::Value {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// Sim evidence for `measurement` whose runtime data is `key` as a JWK.
fn keyed_doc(nonce: &str, measurement: u8, key: &TeePubKey) -> Vec<u8> {
    let runtime_data = key.to_jwk().to_string();
    let rd = expected_report_data(nonce.as_bytes(), runtime_data.as_bytes());
    let report = sign_sim_report(&[measurement; 48], &rd, false);
    json!({"tee": "sim", "evidence": B64.encode(report), "nonce": nonce,
           "runtime_data": B64.encode(&runtime_data)})
    .to_string()
    .into_bytes()
}

fn sim_doc(nonce: &str, debug: bool) -> Vec<u8> {
    let rd = expected_report_data(nonce.as_bytes(), b"guest key");
    let report = sign_sim_report(&[0x5A; 48], &rd, debug);
    json!({
        "tee": "sim",
        "evidence": B64.encode(report),
        "nonce": nonce,
        "runtime_data": B64.encode(b"guest key")
    })
    .to_string()
    .into_bytes()
}

#[test]
fn sim_evidence_gets_a_token_whose_resource_only_the_guest_key_can_open() {
    let d = scratch("flow");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    assert_eq!(s.get("/healthz", None).status, 200);
    let (guest, public) = generate_guest_key().unwrap();
    let nonce = s.nonce();
    let r = s.post("/attest", &keyed_doc(&nonce, 0x5A, &public));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["verdict"]["simulated"], true);
    let claims = token_claims(&token);
    assert_eq!(claims["submods"]["sim"]["ear.status"], "affirming");
    assert_eq!(claims["submods"]["sim"]["x-attest.simulated"], true);
    assert_eq!(claims["eat_nonce"], nonce.as_str());
    assert_eq!(claims["tee-pubkey"], public.to_jwk());
    let jwks = s.get("/jwks", None).json();
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    // The resource is a JWE: the guest opens it; whoever stole the token cannot.
    let res = s.get("/kbs/v0/resource/default/key/1", Some(&token));
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let jwe = res.json();
    assert!(!String::from_utf8_lossy(&res.body).contains("the secret"));
    assert_eq!(open_jwe(&jwe, &guest).unwrap(), b"the secret");
    let (thief, _) = generate_guest_key().unwrap();
    assert!(open_jwe(&jwe, &thief).is_err());

    assert_eq!(
        s.get("/kbs/v0/resource/default/key/2", Some(&token)).json()["error"],
        "resource_not_found"
    );
    assert_eq!(s.get("/kbs/v0/resource/default/key/1", None).json()["error"], "token_missing");
    let mut forged = token.clone();
    forged.push('x');
    assert_eq!(
        s.get("/kbs/v0/resource/default/key/1", Some(&forged)).json()["error"],
        "token_invalid"
    );

    // Replaying the evidence is refused; and it could only ever bind the guest's own key.
    let again = s.post("/attest", &keyed_doc(&nonce, 0x5A, &public));
    assert_eq!((again.status, again.json()["error"].as_str()), (401, Some("nonce_replayed")));
    let metrics = String::from_utf8(s.get("/metrics", None).body).unwrap();
    assert!(
        metrics.contains("attest_attestations_total{result=\"affirming\",reason=\"\"} 1"),
        "{metrics}"
    );
    let api = s.get("/openapi.json", None).json();
    assert_eq!(api["openapi"], "3.0.3");
}

#[test]
fn a_token_reads_only_the_paths_the_resource_policy_gives_its_measurement() {
    let d = scratch("scoped");
    let rule = |path: &str, m: &str| json!({"resource": path, "allow_simulated": true, "measurements": {"measurement": m.repeat(48)}});
    let policy = json!({"rules": [rule("default/key/1", "5a"), rule("default/key/2", "6b")]});
    std::fs::write(d.join("resources.json"), policy.to_string()).unwrap();
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    std::fs::write(d.join("res/default/key/2"), b"the other secret").unwrap();
    let (a_key, a_pub) = generate_guest_key().unwrap();
    let (b_key, b_pub) = generate_guest_key().unwrap();
    let token = |m: u8, key: &TeePubKey| {
        let r = s.post("/attest", &keyed_doc(&s.nonce(), m, key));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["token"].as_str().unwrap().to_owned()
    };
    let (a, b) = (token(0x5A, &a_pub), token(0x6B, &b_pub));
    let read =
        |path: &str, t: &str| s.get(&format!("/kbs/v0/resource/default/key/{path}"), Some(t));
    assert_eq!(open_jwe(&read("1", &a).json(), &a_key).unwrap(), b"the secret");
    assert_eq!(open_jwe(&read("2", &b).json(), &b_key).unwrap(), b"the other secret");
    for (path, t) in [("2", &a), ("1", &b)] {
        let r = read(path, t);
        assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("resource_forbidden")));
    }
    // A path no rule names is forbidden, not "not found": refused tokens learn no paths.
    let r = read("3", &a);
    assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("resource_forbidden")));
}

#[test]
fn a_token_whose_runtime_data_names_no_key_gets_no_resource() {
    let d = scratch("nokey");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let r = s.post("/attest", &sim_doc(&s.nonce(), false));
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let r = s.get("/kbs/v0/resource/default/key/1", Some(&token));
    assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("no_tee_pubkey")));
}

#[test]
fn a_resource_dir_without_a_resource_policy_is_refused_at_start_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["serve", "--listen", "127.0.0.1:0", "--resource-dir", "/nonexistent"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--resource-dir needs --resource-policy"), "{stderr}");
}

#[test]
fn a_debug_sim_guest_is_denied_with_the_failing_claim_named() {
    let d = scratch("debug");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let r = s.post("/attest", &sim_doc(&s.nonce(), true));
    assert_eq!(r.status, 403);
    let v = r.json();
    assert_eq!(v["error"], "denied");
    let failing: Vec<&str> = v["verdict"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["debug"]);
}

#[test]
fn a_real_snp_report_verifies_over_http_and_is_denied_only_for_its_unbound_nonce() {
    // The trustee report's report_data was fixed when it was made, so it cannot bind a
    // fresh nonce: the signature, chain and policy pass, the binding claim fails.
    let d = scratch("snp");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let doc = json!({
        "tee": "snp",
        "evidence": B64.encode(read("snp/trustee/test-report.bin")),
        "nonce": s.nonce()
    });
    let r = s.post("/attest", doc.to_string().as_bytes());
    assert_eq!(r.status, 403);
    let v = r.json();
    let claims = v["verdict"]["claims"].as_array().unwrap();
    assert_eq!(claims[0]["observed"], "verified (VCEK, Milan)");
    let failing: Vec<&str> = claims
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["report_data"]);
}

#[test]
fn malformed_unknown_oversize_and_unissued_requests_get_their_reasons() {
    let d = scratch("errors");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let r = s.post("/attest", b"{not json");
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("malformed_json")));
    let r = s.post("/attest", br#"{"tee": "sgx", "evidence": ""}"#);
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("unknown_tee")));
    let big = vec![b' '; 70_000];
    let r = s.post("/attest", &big);
    assert_eq!((r.status, r.json()["error"].as_str()), (413, Some("body_too_large")));
    let r = s.post("/attest", br#"{"tee": "sim", "evidence": ""}"#);
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("nonce_missing")));
    let r = s.post("/attest", &sim_doc("AAAA", false));
    assert_eq!((r.status, r.json()["error"].as_str()), (401, Some("nonce_invalid")));
    let r = s.post("/attest", br#"{"tee": 5, "evidence": ""}"#);
    assert_eq!(r.json()["detail"], r#""tee": 5 is not "tdx", "snp" or "sim""#);
}

#[test]
fn a_body_not_declared_json_is_415_with_a_json_error() {
    let d = scratch("media");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let doc = sim_doc(&s.nonce(), false);
    for headers in [&[][..], &[("Content-Type", "text/plain")][..]] {
        let r = request(&s.addr, "POST", "/attest", headers, &doc);
        assert_eq!((r.status, r.json()["error"].as_str()), (415, Some("unsupported_media_type")));
    }
    let r = request(&s.addr, "POST", "/challenge", &[("Content-Type", "text/plain")], b"{}");
    assert_eq!((r.status, r.json()["error"].as_str()), (415, Some("unsupported_media_type")));
    let json = [("Content-Type", "application/json; charset=utf-8")];
    let r = request(&s.addr, "POST", "/attest", &json, &doc);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn truncated_evidence_is_400_bad_evidence_and_the_challenge_says_when_it_expires() {
    let d = scratch("truncated");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let c = s.post("/challenge", b"");
    let nonce = c.json()["nonce"].as_str().unwrap().to_owned();
    let expires = attestation::time::VerificationTime::parse_rfc3339(
        c.json()["expires_at"].as_str().unwrap(),
    )
    .unwrap();
    let now = attestation::time::VerificationTime::now();
    assert!((now.plus_secs(298)..=now.plus_secs(301)).contains(&expires), "{expires}");
    let report = sign_sim_report(&[0x5A; 48], &expected_report_data(nonce.as_bytes(), b""), false);
    let doc = json!({"tee": "sim", "evidence": B64.encode(&report[..100]), "nonce": nonce});
    let r = s.post("/attest", doc.to_string().as_bytes());
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("bad_evidence")));
}

#[test]
fn a_signing_key_in_the_wrong_format_names_the_expected_one() {
    let d = scratch("signkey");
    let key = d.join("sec1.pem");
    std::fs::write(&key, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
        .unwrap();
    let junk = d.join("junk.der");
    std::fs::write(&junk, b"not a key").unwrap();
    for (path, why) in [(&key, "\"EC PRIVATE KEY\""), (&junk, "not DER-encoded PKCS#8")] {
        let out = Command::new(env!("CARGO_BIN_EXE_attest"))
            .args(["serve", "--listen", "127.0.0.1:0", "--signing-key"])
            .arg(path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("expected a PKCS#8 P-256 private key"), "{stderr}");
    }
}

#[test]
fn a_nonce_from_one_replica_is_accepted_by_another_and_expires_on_the_real_clock() {
    let d = scratch("replicas");
    let a = start(&d, "2025-06-01T00:00:00Z", &["--nonce-lifetime", "1"]);
    // The other replica's `--at` differs: it moves certificate checks, not nonce expiry.
    let b = start(&d, "2025-06-01T01:00:00Z", &["--nonce-lifetime", "1"]);
    let r = b.post("/attest", &sim_doc(&a.nonce(), false));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let stale = a.nonce();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = b.post("/attest", &sim_doc(&stale, false));
    assert_eq!((r.status, r.json()["error"].as_str()), (401, Some("nonce_expired")));
}

#[test]
fn at_pins_only_verification_so_tokens_expire_in_the_future_and_the_replay_set_drains() {
    let d = scratch("at");
    let s = start(&d, "2025-06-01T00:00:00Z", &["--replay-capacity", "1", "--nonce-lifetime", "1"]);
    let r = s.post("/attest", &sim_doc(&s.nonce(), false));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let claims = token_claims(r.json()["token"].as_str().unwrap());
    assert!(claims["exp"].as_u64().unwrap() > now.as_secs(), "{claims}");
    assert_eq!(r.json()["verdict"]["verified_at"], "2025-06-01T00:00:00Z");
    // The one slot is taken until that nonce expires on the real clock; then it frees up.
    let r = s.post("/attest", &sim_doc(&s.nonce(), false));
    assert_eq!((r.status, r.json()["error"].as_str()), (503, Some("busy")));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = s.post("/attest", &sim_doc(&s.nonce(), false));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[test]
fn a_nonce_key_shorter_than_32_bytes_is_refused_naming_the_file_and_its_length() {
    let d = scratch("shortkey");
    for len in [0, 1, 31] {
        let key = d.join(format!("nonce-{len}.key"));
        std::fs::write(&key, vec![7u8; len]).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_attest"))
            .args(["serve", "--listen", "127.0.0.1:0", "--nonce-key"])
            .arg(&key)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{}: {len} bytes", key.display())), "{stderr}");
        assert!(stderr.contains("at least 32"), "{stderr}");
    }
}

impl Server {
    /// Returns the JSON log lines so far, waiting briefly for the last to arrive.
    fn log_lines(&self) -> Vec<serde_json::Value> {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let lines = self.logs.lock().unwrap();
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }
}

#[test]
fn every_request_logs_one_line_and_refusals_are_counted_per_family_and_reason() {
    let d = scratch("observe");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let (_, public) = generate_guest_key().unwrap();
    let nonce = s.nonce();
    let token = s.post("/attest", &keyed_doc(&nonce, 0x5A, &public)).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.post("/attest", &keyed_doc(&nonce, 0x5A, &public)).status, 401);
    assert_eq!(s.get("/kbs/v0/resource/other/key/1", Some(&token)).status, 403);
    let metrics = String::from_utf8(s.get("/metrics", None).body).unwrap();
    for want in [
        "attest_attestations_total{result=\"rejected\",reason=\"nonce_replayed\"} 1",
        "attest_resource_requests_total{result=\"rejected\",reason=\"resource_forbidden\"} 1",
        "attest_http_requests_total{route=\"/attest\",status=\"401\"} 1",
        "attest_http_request_duration_seconds_count{route=\"/attest\"} 2",
    ] {
        assert!(metrics.contains(want), "{want} not in\n{metrics}");
    }
    assert!(!metrics.contains("attest_attestations_total{result=\"rejected\",reason=\"resource"));

    let logs = s.log_lines();
    let start_line =
        logs.iter().find(|l| l["fields"]["message"] == "attest serve starting").unwrap();
    assert_eq!(start_line["fields"]["allow_sim"], true);
    assert!(logs.iter().any(|l| l["level"] == "WARN"
        && l["fields"]["message"].as_str().unwrap().contains("--allow-sim is on")));
    let requests: Vec<&serde_json::Value> =
        logs.iter().filter(|l| l["fields"]["message"] == "request").collect();
    assert_eq!(requests.len(), 5, "{requests:?}"); // challenge, 2 attest, resource, metrics
    let attest = requests.iter().find(|l| l["fields"]["outcome"] == "affirming").unwrap();
    assert_eq!(attest["fields"]["route"], "/attest");
    assert_eq!(attest["fields"]["tee"], "sim");
    assert_eq!(attest["fields"]["kid"].as_str().unwrap().len(), 16);
    assert!(attest["fields"]["latency_ms"].as_f64().is_some());
    let forbidden = requests.iter().find(|l| l["fields"]["status"] == 403).unwrap();
    assert_eq!(forbidden["fields"]["reason"], "resource_forbidden");
    assert_eq!(forbidden["fields"]["route"], "/kbs/v0/resource/{repo}/{kind}/{tag}");
}

/// Runs `attest <args>` and returns (exit code, stdout).
fn attest_tool(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_attest")).args(args).output().unwrap();
    (out.status.code().unwrap(), out.stdout)
}

#[test]
fn the_development_tools_alone_take_a_guest_from_challenge_to_an_opened_secret() {
    let d = scratch("tools");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let (key, rd, ev, jwe) =
        (d.join("guest.key"), d.join("rd.json"), d.join("ev.json"), d.join("res.jwe"));
    let _ = std::fs::remove_file(&key);
    let (code, jwk) = attest_tool(&["guest-key", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0);
    std::fs::write(&rd, &jwk).unwrap();
    // A second guest-key onto the same file refuses rather than losing the key.
    assert_eq!(attest_tool(&["guest-key", "--out", key.to_str().unwrap()]).0, 2);
    let nonce = s.nonce();
    let (code, doc) =
        attest_tool(&["sim-evidence", "--nonce", &nonce, "--runtime-data", rd.to_str().unwrap()]);
    assert_eq!(code, 0);
    std::fs::write(&ev, &doc).unwrap();
    let r = s.post("/attest", &doc);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["token"].as_str().unwrap().to_owned();
    std::fs::write(&jwe, s.get("/kbs/v0/resource/default/key/1", Some(&token)).body).unwrap();
    let (code, plain) =
        attest_tool(&["open-jwe", "--key", key.to_str().unwrap(), jwe.to_str().unwrap()]);
    assert_eq!((code, plain.as_slice()), (0, &b"the secret"[..]));
    let other = d.join("other.key");
    let _ = std::fs::remove_file(&other);
    attest_tool(&["guest-key", "--out", other.to_str().unwrap()]);
    let (code, plain) =
        attest_tool(&["open-jwe", "--key", other.to_str().unwrap(), jwe.to_str().unwrap()]);
    assert_eq!((code, plain.len()), (1, 0));
    let (code, _) = attest_tool(&["sim-evidence", "--nonce", "n", "--measurement", "abcd"]);
    assert_eq!(code, 2);
}

/// The KBS protocol as a Trustee client walks it, with Trustee's own message types: the
/// runtime data bound under this project's binding and under Trustee's; the session cookie
/// in place of the bearer token; and the refusals of a bad version, TEE or message.
#[test]
fn the_kbs_protocol_releases_a_resource_with_either_binding_and_the_session_cookie() {
    use attest_client::binding::{expected_report_data as cocoon, trustee_report_data};
    use attest_client::jwe::GuestKey;
    use attest_client::kbs::{runtime_data_bytes, trustee_runtime_data_bytes};
    use kbs_types::{Attestation, Challenge, CompositeEvidence, Request, RuntimeData, Tee};

    let d = scratch("kbs");
    let s = start(&d, "2025-06-01T00:00:00Z", &[]);
    let request = |tee: Tee, version: &str| {
        let r = Request { version: version.into(), tee, extra_params: json!({}) };
        s.post("/kbs/v0/auth", serde_json::to_string(&r).unwrap().as_bytes())
    };
    for (tee, version, reason) in
        [(Tee::Sgx, "0.4.0", "unknown_tee"), (Tee::Sample, "0.5.0", "unsupported_version")]
    {
        let r = request(tee, version);
        assert_eq!((r.status, r.json()["error"].as_str()), (400, Some(reason)));
    }
    let r = s.post("/kbs/v0/auth", br#"{"version": "0.4.0"}"#);
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("malformed_json")));

    for trustee_binding in [false, true] {
        let reply = request(Tee::Sample, "0.4.0");
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let challenge: Challenge = serde_json::from_slice(&reply.body).unwrap();
        let key = GuestKey::generate();
        let runtime_data =
            RuntimeData { nonce: challenge.nonce.clone(), tee_pubkey: key.tee_pubkey() };
        let bytes = runtime_data_bytes(&runtime_data);
        let report_data = if trustee_binding {
            // Trustee's R₃, spelled out here rather than taken from the function under test.
            let jwk = serde_json::to_value(key.tee_pubkey()).unwrap();
            let r3 = format!(
                r#"{{"additional-evidence":"","nonce":"{}","tee-pubkey":{{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"{}","y":"{}"}}}}"#,
                challenge.nonce,
                jwk["x"].as_str().unwrap(),
                jwk["y"].as_str().unwrap()
            );
            assert_eq!(trustee_runtime_data_bytes(&runtime_data, ""), r3.as_bytes());
            trustee_report_data(r3.as_bytes())
        } else {
            cocoon(challenge.nonce.as_bytes(), &bytes)
        };
        let report = sign_sim_report(&[0x5A; 48], &report_data, false);
        let attestation = Attestation {
            init_data: None,
            runtime_data,
            tee_evidence: CompositeEvidence {
                primary_evidence: json!({"tee": "sim", "evidence": B64.encode(&report)}),
                additional_evidence: String::new(),
            },
        };
        let body = serde_json::to_vec(&attestation).unwrap();
        let r = s.post("/kbs/v0/attest", &body);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let token = r.json()["token"].as_str().unwrap().to_owned();
        let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
        assert_eq!(cookie, format!("kbs-session-id={token}"));
        let (claimed, sent) =
            (token_claims(&token), serde_json::to_value(key.tee_pubkey()).unwrap());
        for member in ["kty", "crv", "x", "y"] {
            assert_eq!(claimed["tee-pubkey"][member], sent[member], "{member}");
        }

        // Trustee's client presents the session cookie; the answer is its Response type.
        let path = "/kbs/v0/resource/default/key/1";
        let res = common::http::request(&s.addr, "GET", path, &[("Cookie", &cookie)], b"");
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        // Trustee's client re-serializes the header for the AAD: it must give the same bytes.
        let parsed: kbs_types::Response = serde_json::from_slice(&res.body).unwrap();
        let aad = parsed.protected.generate_aad().unwrap();
        assert_eq!(aad, res.json()["protected"].as_str().unwrap().as_bytes());
        assert_eq!(key.open(&res.json()).unwrap(), b"the secret");

        // The same message again: the nonce is spent.
        let again = s.post("/kbs/v0/attest", &body);
        assert_eq!((again.status, again.json()["error"].as_str()), (401, Some("nonce_replayed")));
    }

    // Evidence whose own document names another nonce than the message is bad evidence.
    let challenge: Challenge = serde_json::from_slice(&request(Tee::Sample, "0.4.0").body).unwrap();
    let key = GuestKey::generate();
    let rd = RuntimeData { nonce: challenge.nonce.clone(), tee_pubkey: key.tee_pubkey() };
    let report = sign_sim_report(
        &[0x5A; 48],
        &cocoon(challenge.nonce.as_bytes(), &runtime_data_bytes(&rd)),
        false,
    );
    let attestation = Attestation {
        init_data: None,
        runtime_data: rd,
        tee_evidence: CompositeEvidence {
            primary_evidence: json!({"tee": "sim", "evidence": B64.encode(&report), "nonce": "other"}),
            additional_evidence: String::new(),
        },
    };
    let r = s.post("/kbs/v0/attest", &serde_json::to_vec(&attestation).unwrap());
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("bad_evidence")));

    // Evidence bound to another key than the message names is denied on report_data.
    let challenge: Challenge = serde_json::from_slice(&request(Tee::Sample, "0.4.0").body).unwrap();
    let (bound, sent) = (GuestKey::generate(), GuestKey::generate());
    let bound_rd = RuntimeData { nonce: challenge.nonce.clone(), tee_pubkey: bound.tee_pubkey() };
    let report_data = cocoon(challenge.nonce.as_bytes(), &runtime_data_bytes(&bound_rd));
    let report = sign_sim_report(&[0x5A; 48], &report_data, false);
    let attestation = Attestation {
        init_data: None,
        runtime_data: RuntimeData { nonce: challenge.nonce, tee_pubkey: sent.tee_pubkey() },
        tee_evidence: CompositeEvidence {
            primary_evidence: json!({"tee": "sim", "evidence": B64.encode(&report)}),
            additional_evidence: String::new(),
        },
    };
    let r = s.post("/kbs/v0/attest", &serde_json::to_vec(&attestation).unwrap());
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    let failing: Vec<_> = r.json()["verdict"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failing, ["report_data"]);
}
