//! `attest serve --tls-cert/--tls-key` over real loopback TLS: a client that trusts the CA
//! gets answers; one that trusts another CA, or expects another name, fails its handshake;
//! a client that connects and says nothing holds up nobody; bad certificate files are bad
//! configuration (exit 2) naming the file.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use attestation::cli::{dev_pki, write_pki};
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A running server, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attest-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a fresh CA and a certificate for `localhost` and 127.0.0.1 into `dir`, and starts
/// `attest serve` with them.
fn start(dir: &Path) -> Server {
    let pki = dev_pki("test CA", &["localhost".into(), "127.0.0.1".into()]).unwrap();
    write_pki(&pki, dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.join("server.pem"))
        .arg("--tls-key")
        .arg(dir.join("server-key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on https://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    Server { child, addr }
}

/// `GET /healthz` over TLS to `addr` as `name`, trusting only the CA in `ca_pem`; the
/// status line, or the error.
fn healthz(addr: &str, name: &str, ca_pem: &Path) -> Result<String, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(name.to_owned()).unwrap();
    let connection = ClientConnection::new(Arc::new(config), server_name).unwrap();
    let mut tls = StreamOwned::new(connection, TcpStream::connect(addr).unwrap());
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

#[test]
fn a_client_trusting_the_ca_gets_answers_and_others_fail_their_handshake() {
    let dir = scratch("trust");
    let server = start(&dir);
    assert_eq!(healthz(&server.addr, "localhost", &dir.join("ca.pem")).unwrap(), "HTTP/1.1 200 OK");

    // A host answering with a certificate from a CA the guest does not carry.
    let other = scratch("other-ca");
    write_pki(&dev_pki("another CA", &["localhost".into()]).unwrap(), &other).unwrap();
    let refused = healthz(&server.addr, "localhost", &other.join("ca.pem")).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    // The right CA, but a name the certificate is not for.
    let refused = healthz(&server.addr, "verifier.example", &dir.join("ca.pem")).unwrap_err();
    assert!(refused.contains("not valid for name"), "{refused}");
}

#[test]
fn a_client_that_connects_and_says_nothing_holds_up_nobody() {
    let dir = scratch("silent");
    let server = start(&dir);
    let silent: Vec<TcpStream> =
        (0..4).map(|_| TcpStream::connect(&server.addr).unwrap()).collect();
    // Handshakes run in tasks of their own: this one completes while the others wait.
    assert_eq!(healthz(&server.addr, "127.0.0.1", &dir.join("ca.pem")).unwrap(), "HTTP/1.1 200 OK");
    // And it completed before the silent ones were given up on: each is still open (had the
    // server waited out their handshakes first, it would have closed them, and a read would
    // see the end of the stream rather than nothing yet).
    for mut s in silent {
        s.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let open =
            matches!(s.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
        assert!(open, "a silent client's connection was already closed");
    }
}

#[test]
fn unreadable_or_empty_certificate_files_are_bad_configuration_naming_the_file() {
    let dir = scratch("bad-files");
    std::fs::write(dir.join("empty.pem"), b"").unwrap();
    std::fs::write(dir.join("key.pem"), b"not a key").unwrap();
    let run = |cert: &str, key: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_attest"))
            .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(dir.join(cert))
            .arg("--tls-key")
            .arg(dir.join(key))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, said) = run("empty.pem", "key.pem");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--tls-cert") && said.contains("empty.pem"), "{said}");
    let pki = dev_pki("test CA", &["localhost".into()]).unwrap();
    write_pki(&pki, &dir).unwrap();
    let (code, said) = run("server.pem", "key.pem");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--tls-key") && said.contains("PEM private key"), "{said}");
    // A certificate without its key is refused by the argument parser.
    let out = Command::new(env!("CARGO_BIN_EXE_attest"))
        .args(["serve", "--tls-cert"])
        .arg(dir.join("server.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
