//! Time-boxed mutational fuzzing of every parser, seeded with the real vectors.
//!
//! `cargo test -p tee --release --test fuzz -- --ignored <target>` runs one target for
//! `TEE_FUZZ_SECONDS` (default 600). Inputs are the vectors with byte flips, random
//! overwrites, insertions, deletions, cuts, splices between vectors and interesting values
//! (0, 0xff, lengths near field boundaries). A panic saves the input to
//! `tests/fuzz-findings/` and fails; `replay_saved_findings` (not ignored) runs every saved
//! input through every parser on each `cargo test`, so whatever broke once stays fixed.
//! There is no coverage feedback: cargo-fuzz needs nightly, and this toolchain is stable.
#![forbid(unsafe_code)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tee::eventlog::{CcelTable, EventLog, replay_rtmrs};
use tee::snp::{AttestationReport, CertTable};
use tee::tdx::quote::{EnclaveReport, QuoteHeader};
use tee::tdx::{Quote, QuoteBytes, TdReport};
use tee::tsm::TsmReport;

/// xorshift64*: deterministic per seed, so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let len = b.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                b.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                b.remove(rng.below(len));
            }
            4 => b.truncate(rng.below(len + 1)),
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                let n = rng.below(other.len() - from + 1).min(64);
                b.splice(at..at, other[from..from + n].iter().copied());
            }
            6 if len >= 4 => {
                // An interesting 32-bit value over a length or count field.
                let i = rng.below(len - 3);
                let v: u32 = [
                    0,
                    1,
                    0xff,
                    0xffff,
                    0x7fff_ffff,
                    0xffff_ffff,
                    len as u32,
                    (len as u32).wrapping_sub(1),
                ][rng.below(8)];
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            7 if len >= 2 => {
                let i = rng.below(len - 1);
                let v: u16 = [0, 1, 4, 5, 0xff, 0xffff][rng.below(6)];
                b[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
            _ => {}
        }
    }
    b
}

fn seeds_for(target: &str) -> Vec<Vec<u8>> {
    let tsm = TsmReport::from_json(
        std::str::from_utf8(&vector!("snp/veraison/sevsnp-tsm-report.json")).unwrap(),
    )
    .unwrap();
    match target {
        "tdx_quote" => vec![
            vector!("tdx/dcap-qvl/tdx_quote"),
            vector!("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
            vector!("ccel/go-tdx-guest/cos-113-tdx-quote.dat"),
        ],
        "tdreport" => vec![vector!("tdx/go-tdx-guest/report.dat")],
        "snp_report" => vec![
            vector!("snp/trustee/test-report.bin"),
            vector!("snp/trustee/test-vlek-report.bin"),
            tsm.outblob.clone(),
        ],
        "cert_table" => vec![tsm.auxblob.clone().unwrap()],
        "event_log" => vec![
            vector!("ccel/go-tdx-guest/ccel_data.dat")[..20000].to_vec(),
            vector!("ccel/go-tdx-guest/ccel_table.dat"),
        ],
        "tsm_json" => vec![vector!("snp/veraison/sevsnp-tsm-report.json")],
        other => panic!("unknown fuzz target {other}"),
    }
}

/// Runs the parsers of `target` on `buf`; panics are the findings.
fn run_target(target: &str, buf: &[u8]) {
    match target {
        "tdx_quote" => {
            if let Ok(q) = QuoteBytes::new_checked(buf) {
                let quote = Quote::parse(&q).expect("a checked quote must parse");
                assert_eq!(quote.to_bytes().unwrap(), q.quote_bytes());
            }
            if let Ok(q) = Quote::from_bytes(buf) {
                assert_eq!(q.to_bytes().unwrap(), buf);
            }
            let _ = QuoteHeader::parse(buf);
            let _ = EnclaveReport::parse(buf);
        }
        "tdreport" => {
            if let Ok(r) = TdReport::from_bytes(buf) {
                assert_eq!(r.to_bytes(), buf);
            }
        }
        "snp_report" => {
            if let Ok(r) = AttestationReport::from_bytes(buf) {
                assert_eq!(r.to_bytes(), buf);
            }
        }
        "cert_table" => {
            let _ = CertTable::parse(buf);
        }
        "event_log" => {
            if let Ok((log, used)) = EventLog::parse_prefix(buf) {
                assert_eq!(log.to_bytes().unwrap(), &buf[..used]);
                let _ = replay_rtmrs(&log);
            }
            let _ = EventLog::parse(buf);
            let _ = CcelTable::parse(buf);
        }
        "tsm_json" => {
            if let Ok(r) = TsmReport::from_json(&String::from_utf8_lossy(buf)) {
                let _ = r.snp_report();
                let _ = r.snp_cert_table();
                let _ = r.tdx_quote();
            }
        }
        other => panic!("unknown fuzz target {other}"),
    }
}

const TARGETS: [&str; 6] =
    ["tdx_quote", "tdreport", "snp_report", "cert_table", "event_log", "tsm_json"];

fn fuzz(target: &str) {
    let seconds =
        std::env::var("TEE_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    let seeds = seeds_for(target);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64 ^ std::process::id() as u64);
    let start = Instant::now();
    let mut runs = 0u64;
    std::panic::set_hook(Box::new(|_| {}));
    while start.elapsed() < Duration::from_secs(seconds) {
        let input = mutate(&mut rng, &seeds);
        if catch_unwind(AssertUnwindSafe(|| run_target(target, &input))).is_err() {
            let _ = std::panic::take_hook();
            let name =
                format!("{}/tests/fuzz-findings/{target}-{runs}.bin", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(&name, &input).unwrap();
            panic!("{target}: input {runs} panicked; saved to {name}");
        }
        runs += 1;
    }
    let _ = std::panic::take_hook();
    eprintln!("fuzz {target}: {runs} inputs in {seconds} s, no panic");
}

#[test]
#[ignore]
fn tdx_quote() {
    fuzz("tdx_quote");
}

#[test]
#[ignore]
fn tdreport() {
    fuzz("tdreport");
}

#[test]
#[ignore]
fn snp_report() {
    fuzz("snp_report");
}

#[test]
#[ignore]
fn cert_table() {
    fuzz("cert_table");
}

#[test]
#[ignore]
fn event_log() {
    fuzz("event_log");
}

#[test]
#[ignore]
fn tsm_json() {
    fuzz("tsm_json");
}

#[test]
fn replay_saved_findings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-findings");
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let input = std::fs::read(entry.path()).unwrap();
        for target in TARGETS {
            run_target(target, &input);
        }
    }
}

#[test]
fn every_target_runs_briefly_without_panicking() {
    for target in TARGETS {
        let seeds = seeds_for(target);
        let mut rng = Rng(7);
        for _ in 0..200 {
            run_target(target, &mutate(&mut rng, &seeds));
        }
    }
}
