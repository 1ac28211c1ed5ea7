//! `attest dev-tls`: a throwaway CA and a server certificate it signed, for trying
//! `attest serve --tls-cert/--tls-key` with a guest that carries the CA
//! (`cocoon-attest --ca`). Development only: the CA's key is written next to it.
//!
//! ```sh
//! attest dev-tls --out-dir tls --name 10.0.2.2 --name localhost
//! attest serve --tls-cert tls/server.pem --tls-key tls/server-key.pem ...
//! # the guest image carries tls/ca.pem; the guest runs
//! cocoon-attest --kbs https://10.0.2.2:8443 --ca /etc/cocoon/verifier-ca.pem ...
//! ```

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::cli::{EXIT_BAD_INPUT, EXIT_DENIED};

/// Arguments of `attest dev-tls`.
#[derive(Debug, Clone, clap::Args)]
pub struct DevTlsArgs {
    /// Directory to write ca.pem, ca-key.pem, server.pem and server-key.pem into.
    #[arg(long = "out-dir")]
    pub out_dir: PathBuf,
    /// A name the server certificate is for: a DNS name or an IP address (repeatable).
    #[arg(long = "name", required = true)]
    pub names: Vec<String>,
}

/// A CA and a server certificate it signed, PEM.
pub struct DevPki {
    /// The CA certificate (what clients trust).
    pub ca: String,
    /// The CA's private key.
    pub ca_key: String,
    /// The server certificate (for `--tls-cert`).
    pub server: String,
    /// The server's private key (for `--tls-key`).
    pub server_key: String,
}

/// Makes a fresh P-256 CA named `ca_name` and a server certificate for `names` (DNS names
/// or IP addresses) signed by it.
///
/// # Errors
/// A name rcgen cannot put in a certificate, or a key or signing failure.
pub fn dev_pki(ca_name: &str, names: &[String]) -> Result<DevPki, String> {
    let fail = |what: &str, e: rcgen::Error| format!("{what}: {e}");
    let ca_key = KeyPair::generate().map_err(|e| fail("CA key", e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| fail("CA", e))?;
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| fail("CA certificate", e))?;
    let issuer = Issuer::new(ca, &ca_key);

    let server_key = KeyPair::generate().map_err(|e| fail("server key", e))?;
    let mut server =
        CertificateParams::new(names.to_vec()).map_err(|e| fail("server certificate names", e))?;
    server.distinguished_name.push(DnType::CommonName, "attest serve");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert =
        server.signed_by(&server_key, &issuer).map_err(|e| fail("server certificate", e))?;
    Ok(DevPki {
        ca: ca_cert.pem(),
        ca_key: ca_key.serialize_pem(),
        server: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    })
}

/// Writes `pki` into `dir` as ca.pem, ca-key.pem, server.pem and server-key.pem.
///
/// # Errors
/// The file that could not be written.
pub fn write_pki(pki: &DevPki, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    for (name, pem) in [
        ("ca.pem", &pki.ca),
        ("ca-key.pem", &pki.ca_key),
        ("server.pem", &pki.server),
        ("server-key.pem", &pki.server_key),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pem).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Runs `attest dev-tls`.
pub fn run_dev_tls(args: &DevTlsArgs) -> i32 {
    let pki = match dev_pki("cocoon development verifier CA", &args.names) {
        Ok(pki) => pki,
        Err(e) => {
            eprintln!("attest dev-tls: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    match write_pki(&pki, &args.out_dir) {
        Ok(()) => {
            println!("{}", args.out_dir.display());
            0
        }
        Err(e) => {
            eprintln!("attest dev-tls: {e}");
            EXIT_DENIED
        }
    }
}
