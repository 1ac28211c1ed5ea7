//! Measured boot end to end under `tee=sim`: a busybox script reads what an attestation
//! client reads (configfs-tsm's `outblob` for a nonce, the CCEL table and the event log under
//! /sys/firmware/acpi/tables), and the host checks it with `tee/`'s types alone:
//!
//! - the log replays to every register the report carries;
//! - its first events are the kernel's, with digests the host predicts from what it gave
//!   the guest: SHA-384 of the command line, of the initramfs file, of the init script, and
//!   the root's identity;
//! - the report binds the nonce (zero-padded to 64 bytes) and `attest verify --allow-sim`
//!   affirms it with the log, which it replays itself and lists, and refuses it with one bit
//!   of the initramfs event changed, naming RTMR2;
//! - bad input to configfs-tsm (reading outblob before inblob, reading write-only inblob, 65
//!   bytes of inblob, privlevel 4, a second mkdir) is refused with Linux's errno and counts no
//!   generation.

use std::path::Path;

use crate::qemu::{BootOutcome, BootSpec, boot};
use tee::eventlog::{CcelTable, EventLog, HashAlg, replay_rtmrs};

/// Boots a busybox image whose script (tests/tee/measured-boot.sh) reads configfs-tsm and
/// the CC event log under `tee=sim`, and checks what it printed ([`check`]); `describe`
/// words a failed boot with its output.
pub fn run(
    elf: &Path,
    scratch: &Path,
    describe: fn(&BootOutcome, &str) -> String,
) -> Result<String, String> {
    let work = std::path::absolute(scratch.join("measured-boot")).map_err(|e| format!("{e}"))?;
    let image = work.join("image.cpio.gz");
    crate::reference::build_busybox_image(Path::new("tests/tee/measured-boot.sh"), &work, &image)?;
    let initramfs = std::fs::read(&image).map_err(|e| format!("read the image: {e}"))?;
    let init = std::fs::read(work.join("root/init")).map_err(|e| format!("read /init: {e}"))?;
    let cmdline = "console=ttyS0 quiet tee=sim";
    let spec = BootSpec { initrd: Some(image.into()), ..BootSpec::pvh(elf, cmdline) };
    let out = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    if !out.output.contains(crate::reference::SCRIPT_END) {
        return Err(describe(&out, "the script did not run to its end"));
    }
    check(&out.output, cmdline, &initramfs, &init, scratch)
        .map(|summary| format!("{summary} in {:.1} s", out.elapsed.as_secs_f64()))
        .map_err(|e| describe(&out, &e))
}

/// The nonce the script writes to `inblob`.
pub const NONCE: &[u8] = b"cocoon-measured-boot-nonce";

/// Checks the script's `output`; `cmdline`, `initramfs` and `init` are what the guest booted
/// with. Returns a summary.
pub fn check(
    output: &str,
    cmdline: &str,
    initramfs: &[u8],
    init: &[u8],
    scratch: &Path,
) -> Result<String, String> {
    let line = |tag: &str| crate::reference::tagged_line(output, tag);
    let unhex = |tag: &str| crate::reference::tagged_hex(output, tag);
    // Bad input first: each refused with Linux's errno, none counted as a write.
    for (what, expected) in [
        ("bad input, outblob before inblob: ", "refused: Invalid argument"),
        ("bad input, inblob read: ", "refused: Permission denied"),
        ("bad input, inblob of 65 bytes: ", "refused: File too large"),
        ("bad input, privlevel 4: ", "refused: Invalid argument"),
        ("bad input, second mkdir: ", "refused: File exists"),
        ("bad input, writes counted after refusals: ", "0"),
        ("done, rmdir: ", "ok"),
    ] {
        let said = line(what)?;
        if said != expected {
            return Err(format!("configfs-tsm {what}{said:?}, expected {expected:?}"));
        }
    }
    if line("provider ")? != "cocoon_sim" {
        return Err(format!("provider is {:?}, not cocoon_sim", line("provider ")?));
    }
    if line("generation ")? != "1" {
        return Err(format!("generation after one write is {}", line("generation ")?));
    }
    let report = unhex("outblob ")?;
    let body = tee::sim::parse(&report).map_err(|e| format!("outblob is no sim report: {e}"))?.body;
    let mut nonce = [0u8; 64];
    nonce[..NONCE.len()].copy_from_slice(NONCE);
    if body.report_data != nonce {
        return Err("the report does not bind the nonce written to inblob".into());
    }
    let registers = body.registers.ok_or("the sim report carries no registers")?;

    let table = CcelTable::parse(&unhex("ccel-table ")?).map_err(|e| format!("CCEL: {e}"))?;
    let log_bytes = unhex("ccel ")?;
    if table.laml != log_bytes.len() as u64 {
        return Err(format!(
            "CCEL says {} bytes of log, data/CCEL has {}",
            table.laml,
            log_bytes.len()
        ));
    }
    let log = EventLog::parse(&log_bytes).map_err(|e| format!("data/CCEL: {e}"))?;
    let replayed = replay_rtmrs(&log).map_err(|e| format!("replay: {e}"))?;
    if replayed != registers {
        return Err(format!(
            "the log replays to {:?}, the report says {:?}",
            replayed.map(hex::encode),
            registers.map(hex::encode)
        ));
    }
    // The host's prediction is `images`' (what operators use for reference values).
    let inits: [(&str, &[u8]); 1] = [("/init", init)];
    let expected = images::measurements::events(&images::measurements::Boot {
        cmdline: cmdline.as_bytes(),
        initramfs: Some(initramfs),
        root: "initramfs",
        container_spec: None,
        inits: &inits,
    });
    if log.events.len() != expected.len() {
        return Err(format!("the log has {} events, not {}", log.events.len(), expected.len()));
    }
    for (i, (event, predicted)) in log.events.iter().zip(&expected).enumerate() {
        let (data, digest) = (&predicted.description, &predicted.sha384);
        let said = String::from_utf8_lossy(&event.event);
        if said != *data
            || event.digest(HashAlg::SHA384) != Some(&digest[..])
            || event.pcr_index != 3
        {
            return Err(format!(
                "event {i} is {said:?} in MR index {} with SHA-384 {}; predicted {data:?} in 3 \
                 with {}",
                event.pcr_index,
                hex::encode(event.digest(HashAlg::SHA384).unwrap_or_default()),
                hex::encode(digest)
            ));
        }
    }

    // The verifier replays the guest's log itself, and refuses one with a changed event.
    let b64 = crate::sim_evidence::base64_of;
    let verify = |log: &[u8], name: &str| {
        let doc =
            serde_json::json!({ "tee": "sim", "evidence": b64(&report), "event_log": b64(log) });
        crate::sim_evidence::verify_sim(&doc, scratch, name)
    };
    let verdict = verify(&log_bytes, "measured-boot-evidence.json")?;
    if !verdict.affirmed {
        return Err(format!(
            "attest verify did not affirm the outblob with its log: {}",
            verdict.text
        ));
    }
    let verdict = verdict.json;
    let listed = verdict["events"].as_array().map_or(0, Vec::len);
    if listed != log.events.len() {
        return Err(format!("the verdict lists {listed} events, the log has {}", log.events.len()));
    }
    // One bit of the initramfs event's digest changed: the log no longer replays to RTMR2.
    let digest = log.events[1].digest(HashAlg::SHA384).unwrap_or_default().to_vec();
    let at = log_bytes.windows(48).position(|w| w == &digest[..]).ok_or("no digest in the log")?;
    let mut tampered = log_bytes.clone();
    tampered[at] ^= 1;
    let refused = verify(&tampered, "measured-boot-tampered.json")?;
    if refused.exited_0 || !refused.text.contains("RTMR2") {
        return Err(format!(
            "a changed initramfs event was not refused naming RTMR2: {}",
            refused.text
        ));
    }
    Ok(format!(
        "configfs-tsm refuses 5 bad inputs with Linux's errnos; its outblob binds the nonce and \
         is affirmed with its log, and refused naming RTMR2 with one event changed; data/CCEL ({} bytes, {} events) \
         replays to the report's four registers; each event's digest predicted on the host",
        log_bytes.len(),
        log.events.len()
    ))
}
