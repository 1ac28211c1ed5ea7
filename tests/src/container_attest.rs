//! The whole chain with a container image, under `tee=sim`: `images build` makes the disk
//! (busybox, `cocoon-attest` and the verifier's CA in the image; the entrypoint attests and
//! prints the secret) and predicts, offline, the kernel's measured boot of it
//! (`reference-values.json`: the command line with the disk's root hash, the root's
//! identity, the container spec, the entrypoint's program). `attest serve` on the host is
//! given nothing but those predicted values; the guest must get the secret.
//!
//! Then the same disk is booted with one word added to the command line: the verdict the
//! guest prints must name the register (`measurement.rtmr2`) and the event that differs
//! (`cocoon.cmdline`, the first), and no secret may be printed.

use std::path::Path;

use images::build::{BuildOptions, build};
use images::oci::writer::{NewImage, write_layout};
use serde_json::json;

use crate::layer::Layer;
use crate::qemu::{BootOutcome, BootSpec, Disk, boot};
use crate::secret_release::{
    cargo_binary, cocoon_attest, dev_tls, random_bytes, said, start_server,
};

/// Builds the image, starts the verifier with the predicted values, boots twice.
pub fn run(
    elf: &Path,
    scratch: &Path,
    describe: fn(&BootOutcome, &str) -> String,
) -> Result<String, String> {
    let work = std::path::absolute(scratch.join("container-attest")).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let client = std::fs::read(cocoon_attest()?).map_err(|e| format!("cocoon-attest: {e}"))?;
    let attest = cargo_binary("attestation", "attest", &[])?;
    let tls = work.join("tls");
    dev_tls(&attest, &tls)?;
    let ca = std::fs::read(tls.join("ca.pem")).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("free port: {e}"))?
        .port();

    let base = Layer::new().busybox(&["sh", "cat", "echo", "sed", "mount"])?.finish()?;
    let app = Layer::new()
        .dir("usr/local/bin/", 0o755, 0)?
        .file("usr/local/bin/cocoon-attest", 0o755, 0, &client)?
        .dir("etc/cocoon/", 0o755, 0)?
        .file("etc/cocoon/verifier-ca.pem", 0o644, 0, &ca)?
        .finish()?;
    let script = format!(
        "mount -t configfs none /sys/kernel/config; \
         cocoon-attest --kbs https://10.0.2.2:{port} --ca /etc/cocoon/verifier-ca.pem \
         --resource default/key/secret > /tmp/secret 2> /tmp/stderr; \
         echo \"cocoon-attest exit $?\"; sed 's/^/said: /' /tmp/stderr; \
         echo \"secret: $(cat /tmp/secret)\""
    );
    let image = NewImage {
        layers: vec![base, app],
        run: json!({"Entrypoint": ["sh", "-c", script], "Env": ["PATH=/usr/local/bin:/bin"]}),
        gzip: true,
    };
    let layout = work.join("attesting.oci");
    write_layout(&layout, &image)?;
    let out = build(&BuildOptions {
        input: layout,
        out_dir: work.join("guest"),
        append: "tee=sim ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off quiet".into(),
        name: Some("attesting container".into()),
        ..Default::default()
    })?;
    let refs: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.join("guest/reference-values.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("reference-values.json: {e}"))?;
    let secret = hex::encode(random_bytes(16)?);
    let _server = start_server(&attest, &work, port, &refs, &secret, &tls)?;

    let boot_with = |cmdline: &str| {
        let spec = BootSpec {
            disks: vec![Disk::readonly(&out.disk)],
            nic: true,
            access_platform: true,
            ..BootSpec::pvh(elf, cmdline)
        };
        boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))
    };
    let good = boot_with(&out.cmdline)?;
    if said(&good, "cocoon-attest exit ").as_deref() != Some("0")
        || said(&good, "secret: ").as_deref() != Some(secret.as_str())
    {
        return Err(describe(
            &good,
            "the container got no secret with the predicted reference values",
        ));
    }
    let changed = boot_with(&format!("{} extra=1", out.cmdline))?;
    let rtmr2 = said(&changed, "said:   failing claim measurement.rtmr2: ");
    let event = said(&changed, "said:   failing claim event.rtmr2[0] (log event 0): ");
    let names_cmdline = event.as_deref().is_some_and(|e| {
        e.starts_with("expected \"cocoon.cmdline console=ttyS0") && e.contains("extra=1")
    });
    if said(&changed, "cocoon-attest exit ").as_deref() != Some("1")
        || rtmr2.is_none()
        || !names_cmdline
        || changed.output.contains(&secret)
    {
        return Err(describe(
            &changed,
            "a changed command line was not refused naming measurement.rtmr2 and cocoon.cmdline",
        ));
    }
    Ok(format!(
        "a container image attested with reference values predicted offline by images build \
         and got its secret in {:.1} s; with one word added to the command line it was refused \
         naming measurement.rtmr2 and the cocoon.cmdline event in {:.1} s",
        good.elapsed.as_secs_f64(),
        changed.elapsed.as_secs_f64()
    ))
}
