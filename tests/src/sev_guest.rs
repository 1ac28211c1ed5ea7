//! `/dev/sev-guest` under the simulated TEE playing SEV-SNP (`tee=sim sim.registers=none`,
//! where the sim's reports take SNP's layout): a C probe written against Linux's UAPI header
//! (tests/tee/sev-guest.c) misuses the ioctls and checks each answer against Linux's driver,
//! then asks for reports; and, when given, the unmodified `snpguest` asks for one too.
//!
//! On the host, every report must be one `tee::snp` parses, bind the request's data together
//! with the guest's event log (`tee::eventlog::log_bound_report_data`, as the kernel binds
//! it where there are no runtime registers), carry the sim's launch measurement for the
//! command line, and be affirmed by `attest verify --allow-sim`.

use std::path::Path;

use crate::qemu::{BootOutcome, BootSpec, boot};
use crate::reference::{SCRIPT_END, build_image_with_host_programs, compile_static_c};

/// The command line: the sim without registers plays SEV-SNP.
const CMDLINE: &str = "console=ttyS0 quiet tee=sim sim.registers=none";

/// Boots the probe (and `snpguest`, if given: a host binary, copied in with its libraries)
/// and checks what the guest printed. Returns a summary.
pub fn run(
    elf: &Path,
    scratch: &Path,
    describe: fn(&BootOutcome, &str) -> String,
    snpguest: Option<&Path>,
) -> Result<String, String> {
    let work = std::path::absolute(scratch.join("sev-guest")).map_err(|e| format!("{e}"))?;
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let probe = work.join("sev-guest");
    compile_static_c(Path::new("tests/tee/sev-guest.c"), &probe)?;
    let image = work.join("image.cpio.gz");
    let mut extra = vec![probe.as_path()];
    extra.extend(snpguest);
    let host_programs: Vec<&Path> = snpguest.into_iter().collect();
    let script = Path::new("tests/tee/sev-guest.sh");
    build_image_with_host_programs(script, &extra, &host_programs, &[], &work, &image)?;
    let spec = BootSpec { initrd: Some(image.into()), ..BootSpec::pvh(elf, CMDLINE) };
    let out = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    if !out.output.contains(SCRIPT_END) {
        return Err(describe(&out, "the script did not run to its end"));
    }
    check(&out.output, scratch, snpguest.is_some())
        .map(|summary| format!("{summary} in {:.1} s", out.elapsed.as_secs_f64()))
        .map_err(|e| describe(&out, &e))
}

/// Checks the script's `output` (with `snpguest`'s part when `with_snpguest`).
pub fn check(output: &str, scratch: &Path, with_snpguest: bool) -> Result<String, String> {
    let line = |tag: &str| crate::reference::tagged_line(output, tag);
    let unhex = |tag: &str| crate::reference::tagged_hex(output, tag);
    let failed: Vec<&str> = output.lines().filter(|l| l.starts_with("FAIL ")).collect();
    if !failed.is_empty() {
        return Err(format!("the probe's checks failed:\n{}", failed.join("\n")));
    }
    let checks: usize = line("checks: ")?.parse().map_err(|e| format!("checks: {e}"))?;
    if line("failures: ")? != "0" || line("probe exit ")? != "0" || checks == 0 {
        return Err("the probe did not end with 0 failures".into());
    }
    let log = unhex("ccel ")?;
    tee::eventlog::EventLog::parse(&log).map_err(|e| format!("data/CCEL: {e}"))?;

    let report = unhex("report ")?;
    let user_data: [u8; 64] = unhex("report-user-data ")?
        .try_into()
        .map_err(|_| "the user data is not 64 bytes".to_string())?;
    check_report(&report, &user_data, &log, scratch, "sev-guest-probe")?;
    let mut summary = format!(
        "{checks} checks of /dev/sev-guest's answers (bad arguments, buffers, lengths, commands, \
         VMPLs, extended reports, two threads at once) as Linux's driver gives them; its report \
         binds the request with the event log and is affirmed"
    );
    if with_snpguest {
        for step in ["snpguest report exit ", "snpguest display report exit "] {
            if line(step)? != "0" {
                return Err(format!("{step}{}", line(step)?));
            }
        }
        let request: [u8; 64] = unhex("snpguest-request ")?
            .try_into()
            .map_err(|_| "snpguest's request file is not 64 bytes".to_string())?;
        let report = unhex("snpguest-report ")?;
        check_report(&report, &request, &log, scratch, "sev-guest-snpguest")?;
        // `snpguest display report` read the layout as SNP's: its Measurement block (three
        // lines of 16 spaced hex bytes) is the one predicted.
        let shown: String = output
            .lines()
            .skip_while(|l| l.trim_end() != "Measurement:")
            .skip(1)
            .take(3)
            .collect::<Vec<_>>()
            .concat()
            .split_whitespace()
            .collect::<String>()
            .to_lowercase();
        let measurement = images::measurements::sim_launch_measurement(CMDLINE.as_bytes());
        if shown != measurement {
            return Err(format!(
                "snpguest display shows measurement {shown:?}, predicted {measurement}"
            ));
        }
        summary.push_str(
            "; snpguest (unmodified) wrote a report that binds its random request the same way, \
             and displayed it with the predicted measurement",
        );
    }
    Ok(summary)
}

/// Checks one report from the guest: SNP's layout, the sim's measurement for the command
/// line, `requested` bound with `log`, affirmed by the verifier.
fn check_report(
    bytes: &[u8],
    requested: &[u8; 64],
    log: &[u8],
    scratch: &Path,
    name: &str,
) -> Result<(), String> {
    let report = tee::snp::AttestationReport::from_bytes(bytes)
        .map_err(|e| format!("{name}: not an SNP report: {e}"))?;
    if report.report_data != tee::eventlog::log_bound_report_data(requested, log) {
        return Err(format!("{name}: the report does not bind the request with the event log"));
    }
    let measurement = images::measurements::sim_launch_measurement(CMDLINE.as_bytes());
    if hex::encode(report.measurement) != measurement {
        return Err(format!(
            "{name}: measurement {}, predicted {measurement}",
            hex::encode(report.measurement)
        ));
    }
    let doc = serde_json::json!({
        "tee": "sim",
        "evidence": crate::sim_evidence::base64_of(bytes),
    });
    let verdict = crate::sim_evidence::verify_sim(&doc, scratch, &format!("{name}.json"))?;
    if !verdict.affirmed {
        return Err(format!("{name}: attest verify --allow-sim did not affirm: {}", verdict.text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_probe_check_or_a_missing_line_fails_the_check() {
        let scratch = std::env::temp_dir();
        let failed = "ok a\nFAIL b: rc 0\nfailures: 1\nchecks: 2\nprobe exit 1\n";
        assert!(check(failed, &scratch, false).unwrap_err().contains("FAIL b"));
        let silent = "ok a\nfailures: 0\nchecks: 1\nprobe exit 0\n";
        assert!(check(silent, &scratch, false).unwrap_err().contains("`ccel `"));
    }
}
