//! The chain a user walks, under `tee=sim`: launch as a (simulated) CVM → attest → a secret.
//!
//! The host starts `attest serve --allow-sim` with reference values it predicts for the
//! image (`images::measurements`: the launch measurement, RTMR2 and each event of the
//! kernel's measured boot), a resource policy and a random secret. The guest (tests/tee/attest.sh) runs `cocoon-attest`,
//! the project's static client, over a virtio-net NIC on slirp: the KBS protocol, configfs-tsm
//! for the report, data/CCEL for the log. It must print the secret.
//!
//! Then the same image with one byte changed (a letter in a comment of the script inside the
//! uncompressed cpio) boots: its log still replays to its registers, but RTMR2 is not the
//! reference's, and the verdict the guest prints must name the claim (`measurement.rtmr2`,
//! expected vs observed) and the event that differs (`cocoon.initramfs`, with the digests the
//! host computes of both images). No secret may be printed.
//!
//! Both boots run twice: with the sim's registers (as TDX) and with `sim.registers=none` (as
//! SEV-SNP, where the kernel binds its log into the report data and the verifier replays
//! the log into the registers it appraises).
//!
//! The verifier speaks HTTPS with a certificate from a CA made for the run (`attest
//! dev-tls`), and the image carries that CA (in its script, so the CA is measured with it).
//! Last, the good image meets an impostor: a verifier on the same address with a certificate
//! from another CA, ready to release a secret of its own to anyone. The guest must refuse to
//! talk to it (exit 3, naming the certificate) and print no secret.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sha2::{Digest as _, Sha384};

use crate::qemu::{BootOutcome, BootSpec, boot};

/// The two ways the guest boots, as (reference entry name, command line): with the sim's
/// registers (as TDX), and without them (`sim.registers=none`, as SEV-SNP: the kernel binds
/// its log into the report data instead, and the verifier replays it).
const SCENARIOS: [(&str, &str); 2] = [
    (
        "cocoon test image",
        "console=ttyS0 quiet tee=sim ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off",
    ),
    (
        "cocoon test image, no registers",
        "console=ttyS0 quiet tee=sim sim.registers=none \
         ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off",
    ),
];

/// The comment whose last letter the changed image flips.
const VARIANT: &[u8] = b"# measured-boot variant: a";

/// `attest serve`, killed on drop.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs both boots; `describe` words a failed boot with its output.
pub fn run(
    elf: &Path,
    scratch: &Path,
    describe: fn(&BootOutcome, &str) -> String,
) -> Result<String, String> {
    let work = std::path::absolute(scratch.join("secret-release")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let client = cocoon_attest()?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("free port: {e}"))?
        .port();

    // The image, uncompressed so that one byte of it can be changed and it still unpacks.
    let attest = cargo_binary("attestation", "attest", &[])?;
    let (tls, impostor_tls) = (work.join("tls"), work.join("impostor-tls"));
    for dir in [&tls, &impostor_tls] {
        dev_tls(&attest, dir)?;
    }
    let ca = std::fs::read_to_string(tls.join("ca.pem")).map_err(|e| e.to_string())?;
    let template = std::fs::read_to_string("tests/tee/attest.sh").map_err(|e| e.to_string())?;
    let script = work.join("attest.sh");
    let kbs = format!("https://10.0.2.2:{port}");
    let text = template.replace("@KBS@", &kbs).replace("@CA@\n", &ca);
    std::fs::write(&script, text).map_err(|e| e.to_string())?;
    let gz = work.join("image.cpio.gz");
    crate::reference::build_image(&script, &[&client], &work, &gz)?;
    let image = gunzip(&gz)?;
    let init = std::fs::read(work.join("root/init")).map_err(|e| format!("read /init: {e}"))?;
    let at = image.windows(VARIANT.len()).position(|w| w == VARIANT).ok_or("no variant line")?;
    let mut changed = image.clone();
    changed[at + VARIANT.len() - 1] = b'b';
    let (good_path, changed_path) = (work.join("image.cpio"), work.join("changed.cpio"));
    std::fs::write(&good_path, &image).map_err(|e| e.to_string())?;
    std::fs::write(&changed_path, &changed).map_err(|e| e.to_string())?;

    // The verifier, with the reference values predicted for the good image, booted each way.
    let inits: [(&str, &[u8]); 1] = [("/init", &init)];
    let mut entries = Vec::new();
    let mut registers = Vec::new();
    for (name, cmdline) in SCENARIOS {
        let events = images::measurements::events(&images::measurements::Boot {
            cmdline: cmdline.as_bytes(),
            initramfs: Some(&image),
            root: "initramfs",
            container_spec: None,
            inits: &inits,
        });
        let launch = images::measurements::sim_launch_measurement(cmdline.as_bytes());
        let pinned = [("measurement".to_owned(), launch)];
        entries.push(images::measurements::reference_entry(name, "sim", &pinned, &events));
        registers.push(hex::encode(images::measurements::register(&events)));
    }
    let refs = serde_json::json!({ "entries": entries });
    let secret = hex::encode(random_bytes(16)?);
    let server = start_server(&attest, &work, port, &refs, &secret, &tls)?;

    let mut summary = Vec::new();
    for ((name, cmdline), rtmr2) in SCENARIOS.into_iter().zip(&registers) {
        let spec = |initrd: &Path| BootSpec {
            initrd: Some(initrd.into()),
            nic: true,
            access_platform: true,
            ..BootSpec::pvh(elf, cmdline)
        };
        let good = boot(&spec(&good_path)).map_err(|e| format!("cannot start qemu: {e}"))?;
        if said(&good, "cocoon-attest exit ").as_deref() != Some("0")
            || said(&good, "secret: ").as_deref() != Some(secret.as_str())
        {
            return Err(describe(&good, &format!("{name}: the guest printed no released secret")));
        }
        let denied = boot(&spec(&changed_path)).map_err(|e| format!("cannot start qemu: {e}"))?;
        if said(&denied, "cocoon-attest exit ").as_deref() != Some("1")
            || denied.output.contains(&secret)
        {
            let what = format!("{name}: the changed image was not refused (exit 1, no secret)");
            return Err(describe(&denied, &what));
        }
        let claim =
            said(&denied, "said:   failing claim measurement.rtmr2: ").ok_or_else(|| {
                describe(&denied, &format!("{name}: the refusal names no measurement.rtmr2 claim"))
            })?;
        if !claim.starts_with(&format!("expected {rtmr2} (from {name:?}), observed ")) {
            let what = format!("{name}: measurement.rtmr2 should expect {rtmr2}");
            return Err(describe(&denied, &what));
        }
        let digest = |b: &[u8]| hex::encode(Sha384::digest(b));
        let event = format!(
            "expected \"cocoon.initramfs {n} bytes\" with SHA-384 {}, observed \"cocoon.initramfs \
             {n} bytes\" with SHA-384 {}",
            digest(&image),
            digest(&changed),
            n = image.len()
        );
        let named = said(&denied, "said:   failing claim event.rtmr2[1] (log event 1): ");
        if named.as_deref() != Some(event.as_str()) {
            let what = format!("{name}: the refusal should name the event: {event}");
            return Err(describe(&denied, &what));
        }
        summary.push(format!(
            "{name}: secret released in {:.1} s, the one-byte-changed image refused naming RTMR2 \
             and cocoon.initramfs in {:.1} s",
            good.elapsed.as_secs_f64(),
            denied.elapsed.as_secs_f64()
        ));
    }

    // The impostor: same address, another CA, a secret of its own for anyone.
    drop(server);
    let forged = hex::encode(random_bytes(16)?);
    let allow_all = serde_json::json!({ "entries": [] });
    let _impostor = start_server(&attest, &work, port, &allow_all, &forged, &impostor_tls)?;
    let (name, cmdline) = SCENARIOS[0];
    let spec = BootSpec {
        initrd: Some(good_path.as_path().into()),
        nic: true,
        access_platform: true,
        ..BootSpec::pvh(elf, cmdline)
    };
    let met = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    let refused_certificate = met
        .output
        .lines()
        .any(|l| l.starts_with("said: cocoon-attest: ") && l.contains("invalid peer certificate"));
    if said(&met, "cocoon-attest exit ").as_deref() != Some("3")
        || !refused_certificate
        || met.output.contains(&forged)
    {
        let what = format!(
            "{name}: the guest did not refuse a verifier whose certificate is from another CA \
             (exit 3, 'invalid peer certificate', no secret)"
        );
        return Err(describe(&met, &what));
    }
    summary.push(format!(
        "an impostor verifier (another CA, same address) refused by the guest in {:.1} s",
        met.elapsed.as_secs_f64()
    ));
    Ok(summary.join("; "))
}

/// Returns the rest of the first console line that starts with `tag`.
pub(crate) fn said(out: &BootOutcome, tag: &str) -> Option<String> {
    out.output.lines().find_map(|l| l.trim_end().strip_prefix(tag).map(str::to_owned))
}

/// Starts `attest serve --allow-sim` on `port` over HTTPS with the certificate in `tls` (as
/// `attest dev-tls` writes it) and with `refs`, releasing `secret` at `default/key/secret`
/// to simulated evidence that matches them.
pub(crate) fn start_server(
    attest: &Path,
    work: &Path,
    port: u16,
    refs: &serde_json::Value,
    secret: &str,
    tls: &Path,
) -> Result<Server, String> {
    let write = |name: &str, text: &str| {
        let path = work.join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        Ok::<PathBuf, String>(path)
    };
    let policy = write("policy.json", r#"{"allow_simulated": true}"#)?;
    let refs = write("refs.json", &refs.to_string())?;
    let rules = write(
        "resources.json",
        r#"{"rules": [{"resource": "default/key/secret", "allow_simulated": true}]}"#,
    )?;
    write("res/default/key/secret", secret)?;
    let mut child = Command::new(attest)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--allow-sim"])
        .arg("--tls-cert")
        .arg(tls.join("server.pem"))
        .arg("--tls-key")
        .arg(tls.join("server-key.pem"))
        .arg("--policy")
        .arg(policy)
        .arg("--reference-values")
        .arg(refs)
        .arg("--resource-dir")
        .arg(work.join("res"))
        .arg("--resource-policy")
        .arg(rules)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start attest serve: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let _ = BufReader::new(stdout).read_line(&mut line);
    let server = Server(child);
    if !line.starts_with("listening on ") {
        return Err(format!("attest serve did not start on port {port}: {line:?}"));
    }
    Ok(server)
}

/// Writes a throwaway CA and a certificate for 10.0.2.2 (the host, from the guest) into
/// `dir` with `attest dev-tls`.
pub(crate) fn dev_tls(attest: &Path, dir: &Path) -> Result<(), String> {
    let made = Command::new(attest)
        .args(["dev-tls", "--name", "10.0.2.2", "--out-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run attest dev-tls: {e}"))?;
    if !made.success() {
        return Err(format!("attest dev-tls --out-dir {} failed: {made}", dir.display()));
    }
    Ok(())
}

/// Builds the guest's attestation client, static (glibc's `crt-static`), stripped.
pub(crate) fn cocoon_attest() -> Result<PathBuf, String> {
    cargo_binary(
        "attest-client",
        "cocoon-attest",
        &[
            "--release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target-dir",
            "target/guest",
            "--config",
            "build.rustflags=['-C', 'target-feature=+crt-static', '-C', 'strip=symbols']",
        ],
    )
}

/// Builds `bin` of `package` with `args` and returns the executable's path.
pub(crate) fn cargo_binary(package: &str, bin: &str, args: &[&str]) -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args(["build", "-q", "-p", package, "--bin", bin, "--message-format=json"])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build -p {package} --bin {bin} failed: {}", out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo named no executable for {bin}"))
}

fn gunzip(path: &Path) -> Result<Vec<u8>, String> {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    out.status.success().then_some(out.stdout).ok_or_else(|| format!("gzip -dc {}", path.display()))
}

pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0u8; n];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?,
        &mut bytes,
    )
    .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(bytes)
}
