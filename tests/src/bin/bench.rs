//! `make bench`: boots the benchmark initramfs under Debian's Linux and under our kernel with
//! identical QEMU flags, runs A/B/A/B, and prints the ratio table (see README, "Benchmarks").
//!
//! Usage: `bench --linux VMLINUZ --ours ELF --initrd IMAGE [--out JSON] [--runs N]
//! [--mem-rounds N] [--mem MiB] [--icount]`. It never fails on a speed; it fails only if it
//! cannot run. `--icount` makes the guest clock count instructions (`BootSpec::icount`).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tests::bench::judge;
use tests::bench::report::{self, Collected, Row, Side};
use tests::bench::run::{self, Kernel};
use tests::bench::stats::Summary;
use tests::qemu::BootSpec;

/// Command-line options.
struct Options {
    linux: PathBuf,
    ours: PathBuf,
    initrd: PathBuf,
    out: PathBuf,
    runs: usize,
    mem_rounds: usize,
    mem_mib: u32,
    /// Guest time counts guest instructions (`BootSpec::icount`).
    icount: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        linux: PathBuf::new(),
        ours: PathBuf::new(),
        initrd: PathBuf::new(),
        out: PathBuf::from("target/bench/results.json"),
        runs: 5,
        mem_rounds: 5,
        mem_mib: 512,
        icount: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--icount" {
            o.icount = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--linux" => o.linux = value.into(),
            "--ours" => o.ours = value.into(),
            "--initrd" => o.initrd = value.into(),
            "--out" => o.out = value.into(),
            "--runs" => o.runs = number()?.max(1),
            "--mem-rounds" => o.mem_rounds = number()?,
            "--mem" => o.mem_mib = number()? as u32,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    for (name, p) in [("--linux", &o.linux), ("--ours", &o.ours), ("--initrd", &o.initrd)] {
        if !p.is_file() {
            return Err(format!("{name} {}: not a file", p.display()));
        }
    }
    Ok(o)
}

fn side(k: &Kernel) -> Side {
    if k.ours { Side::Ours } else { Side::Linux }
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let linux = Kernel {
        label: "Linux",
        image: o.linux.clone(),
        ours: false,
        timeout: Duration::from_secs(240),
    };
    let ours = Kernel {
        label: "ours",
        image: o.ours.clone(),
        ours: true,
        timeout: Duration::from_secs(240),
    };
    let kernels = [linux, ours];
    let mut micro = Collected::default();
    let mut boot = Collected::default();
    let mut problems = Vec::new();
    // How many of our boots were timed to /init, and how many to the banner (the stand-in).
    let (mut ours_to_init, mut ours_to_banner) = (0usize, 0usize);
    let mut clock = Collected::default();

    eprintln!(
        "bench: {} interleaved runs per kernel at -m {}M, cmdline {:?}",
        o.runs,
        o.mem_mib,
        run::CMDLINE
    );
    if o.icount {
        eprintln!(
            "bench: -icount: guest time counts guest instructions (1 ns each); the micro rows \
             measure work done, not TCG speed (boot_to_init is still host time)"
        );
    }
    for i in 1..=o.runs {
        for k in &kernels {
            let spec = BootSpec {
                icount: o.icount,
                ..run::spec_for(k, &o.initrd, o.mem_mib, "", k.timeout)
            };
            let b = match run::boot_timed(&spec) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("bench: cannot start qemu-system-x86_64: {e}");
                    return ExitCode::from(1);
                }
            };
            let r = judge::judge_run(k, &b);
            if let Some((t, marker)) = r.boot {
                boot.add(side(k), "boot_to_init", "ms", t.as_secs_f64() * 1000.0);
                if k.ours && marker == "init" {
                    ours_to_init += 1;
                } else if k.ours {
                    ours_to_banner += 1;
                }
            }
            if let Some(c) = r.clock_ratio {
                clock.add(side(k), "clock_guest_per_host", "x", c);
            }
            if let Some(step) = r.clock_step_ns {
                clock.add(side(k), "clock_step", "ns", step as f64);
            }
            for s in &r.samples {
                micro.add(side(k), &s.name, &s.unit, s.value);
            }
            let boot_ms = r.boot.map_or("-".to_string(), |(t, m)| {
                format!("{:.0} ms to {m}", t.as_secs_f64() * 1e3)
            });
            eprintln!(
                "bench: run {i}/{} {:<5}: {:.1} s wall, {boot_ms}, {} samples, {} problem(s)",
                o.runs,
                k.label,
                b.elapsed.as_secs_f64(),
                r.samples.len(),
                r.problems.len()
            );
            for p in &r.problems {
                eprintln!("bench:   {p}");
                problems.push((Some(i), format!("{}: {p}", k.label)));
            }
            if !r.problems.is_empty() && r.boot.is_none() {
                eprint!("{}", b.tail(15));
                if !b.stderr.is_empty() {
                    eprintln!("    [qemu stderr] {}", b.stderr.trim());
                }
            }
        }
    }

    let mut mem: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=o.mem_rounds {
        for (i, k) in kernels.iter().enumerate() {
            eprintln!("bench: minimum memory, round {round}/{}, {}", o.mem_rounds, k.label);
            let limit = Duration::from_secs(if k.ours { 15 } else { 40 });
            match run::min_memory(k, &o.initrd, o.mem_mib, limit) {
                Some(m) => mem[i].push(m as f64),
                None => problems.push((
                    None,
                    format!("{}: does not run the script even at -m {}M", k.label, o.mem_mib),
                )),
            }
        }
    }

    let mut rows: Vec<Row> = boot.rows();
    if rows.is_empty() {
        rows.push(Row {
            name: "boot_to_init".into(),
            unit: "ms".into(),
            linux: None,
            ours: None,
            note: None,
        });
    }
    if ours_to_banner > 0 {
        rows[0].note = Some(format!(
            "ours is timed to its banner line in {ours_to_banner} of {} runs (stand-in until it \
             runs /init); Linux to /init's first write",
            ours_to_banner + ours_to_init
        ));
    }
    if o.mem_rounds > 0 {
        rows.push(Row {
            name: "min_memory".into(),
            unit: "MiB".into(),
            linux: Summary::of(&mem[0]),
            ours: Summary::of(&mem[1]),
            note: Some(format!(
                "smallest -m that runs a busybox script{}, by bisection over 1..{}M, {} rounds",
                if ours_to_init == 0 {
                    " (ours: banner and exit 33, until it runs /init)"
                } else {
                    ""
                },
                o.mem_mib,
                o.mem_rounds
            )),
        });
    }
    rows.extend(micro.rows());

    println!();
    print!("{}", report::table(&rows));
    // The clock check is information about the measurement, not a benchmark: no ratio.
    for c in clock.rows() {
        println!(
            "clock check {} ({}): Linux {}, ours {}",
            c.name,
            c.unit,
            report::cell(c.linux.as_ref()),
            report::cell(c.ours.as_ref())
        );
    }
    let problems = report::group_problems(&problems);
    if !problems.is_empty() {
        println!("problems ({}):", problems.len());
        for p in &problems {
            println!("  {p}");
        }
    }
    let meta = [
        ("linux_kernel", o.linux.display().to_string()),
        ("ours_kernel", o.ours.display().to_string()),
        ("initrd", o.initrd.display().to_string()),
        (
            "qemu",
            format!(
                "-machine q35 -cpu max -m {}M -accel tcg{}",
                o.mem_mib,
                if o.icount { " -icount shift=0,sleep=off" } else { "" }
            ),
        ),
        ("cmdline", run::CMDLINE.to_string()),
        ("runs", o.runs.to_string()),
        (
            "boot_marker_ours",
            format!("init in {ours_to_init} runs, banner in {ours_to_banner} runs"),
        ),
        (
            "clock_check",
            clock
                .rows()
                .iter()
                .map(|c| {
                    format!(
                        "{} {}: Linux {}, ours {}",
                        c.name,
                        c.unit,
                        report::cell(c.linux.as_ref()),
                        report::cell(c.ours.as_ref())
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ];
    let json = report::to_json(&meta, &rows, &problems);
    if let Some(dir) = o.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&o.out, json) {
        eprintln!("bench: cannot write {}: {e}", o.out.display());
        return ExitCode::from(1);
    }
    println!("results: {}", o.out.display());
    ExitCode::SUCCESS
}
