//! `make bench`: boots the benchmark initramfs under Debian's Linux and under our kernel with
//! identical QEMU flags, runs A/B/A/B, and prints the ratio table (see README, "Benchmarks").
//!
//! Usage: `bench --linux VMLINUZ --ours ELF --initrd IMAGE [--out JSON] [--runs N]
//! [--mem-rounds N] [--mem MiB] [--icount] [--linux-bounce] [--fio-root DIR] [--fio-runs N]
//! [--net-runs N] [--only micro,mem,fio,net]`. It never fails on a speed; it fails only if it
//! cannot run. `--icount` makes the guest clock count instructions (`BootSpec::icount`).
//! `--linux-bounce` makes Linux's storage boots bounce every DMA as a confidential guest's
//! Linux does (`swiotlb=force`, virtio with VIRTIO_F_ACCESS_PLATFORM), where ours always
//! bounces through its shared pool: the price of that discipline, taken out of the ratio. `--fio-root` is
//! tests/bench/fetch-fio.sh's tree: without it the storage rows are left out. `--only` runs
//! some of the four groups: the micro runs (with boot_to_init), the minimum-memory
//! bisection, the storage rows, the network rows (tests::bench::net: the Debian image with
//! iperf3 and redis-server, measured from the host; left out when the host lacks iperf3 or
//! redis-benchmark).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tests::bench::fio;
use tests::bench::judge;
use tests::bench::report::{self, Collected, Row, Side};
use tests::bench::run::{self, Kernel};
use tests::bench::stats::Summary;
use tests::qemu::{BootSpec, Disk};

/// The wall-clock limit of one storage boot (eight fio jobs).
const FIO_TIMEOUT: Duration = Duration::from_secs(900);
/// The memory of a network boot: the Debian image is a 230 MB initramfs.
const NET_MEMORY_MIB: u32 = 2048;

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
    /// Linux's storage boots bounce their DMA through swiotlb, as in a confidential guest.
    linux_bounce: bool,
    /// fio and its libraries (tests/bench/fetch-fio.sh), for the storage rows.
    fio_root: Option<PathBuf>,
    /// Storage boots per kernel.
    fio_runs: usize,
    /// Network boots per kernel.
    net_runs: usize,
    /// Which groups run: micro, mem, fio.
    only: Vec<String>,
}

impl Options {
    fn runs_group(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|g| g == group)
    }
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
        linux_bounce: false,
        fio_root: None,
        fio_runs: 3,
        net_runs: 3,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--icount" {
            o.icount = true;
            continue;
        }
        if flag == "--linux-bounce" {
            o.linux_bounce = true;
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
            "--fio-root" => o.fio_root = Some(value.into()),
            "--fio-runs" => o.fio_runs = number()?,
            "--net-runs" => o.net_runs = number()?,
            "--only" => {
                for group in value.split(',') {
                    if !["micro", "mem", "fio", "net"].contains(&group) {
                        return Err(format!("--only {group}: the groups are micro, mem, fio, net"));
                    }
                    o.only.push(group.to_string());
                }
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    for (name, p) in [("--linux", &o.linux), ("--ours", &o.ours), ("--initrd", &o.initrd)] {
        if !p.is_file() {
            return Err(format!("{name} {}: not a file", p.display()));
        }
    }
    if o.only.iter().any(|g| g == "fio") && o.fio_root.is_none() {
        return Err("--only fio needs --fio-root (tests/bench/fetch-fio.sh)".into());
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

    let micro_runs = if o.runs_group("micro") { o.runs } else { 0 };
    eprintln!(
        "bench: {micro_runs} interleaved runs per kernel at -m {}M, cmdline {:?}",
        o.mem_mib,
        run::CMDLINE
    );
    if o.icount {
        eprintln!(
            "bench: -icount: guest time counts guest instructions (1 ns each); the micro rows \
             measure work done, not TCG speed (boot_to_init is still host time)"
        );
    }
    for i in 1..=micro_runs {
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
                micro_runs,
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

    let mut storage = Collected::default();
    let mut storage_failures = Vec::new();
    let fio_runs = match &o.fio_root {
        Some(root) if o.runs_group("fio") && o.fio_runs > 0 => {
            let work = o.out.parent().unwrap_or(Path::new(".")).join("fio");
            if let Err(e) = run_fio(
                &o,
                root,
                &work,
                &kernels,
                &mut storage,
                &mut storage_failures,
                &mut problems,
            ) {
                eprintln!("bench: storage rows: {e}");
                return ExitCode::from(1);
            }
            o.fio_runs
        }
        Some(_) => 0,
        None => {
            eprintln!("bench: no --fio-root: the storage (fio) rows are left out");
            0
        }
    };

    let mut network = Collected::default();
    let net_runs = if o.runs_group("net") { o.net_runs } else { 0 };
    let net_runs = match tests::bench::net::missing_host_tools().as_slice() {
        [] => net_runs,
        missing if net_runs > 0 => {
            eprintln!(
                "bench: the host lacks {} (deploy/deps.sh): the network rows are left out",
                missing.join(", ")
            );
            0
        }
        _ => 0,
    };
    if net_runs > 0 {
        let work = o.out.parent().unwrap_or(Path::new(".")).join("net");
        if let Err(e) = run_net(&o, net_runs, &work, &kernels, &mut network, &mut problems) {
            eprintln!("bench: network rows: {e}");
            return ExitCode::from(1);
        }
    }

    let mem_rounds = if o.runs_group("mem") { o.mem_rounds } else { 0 };
    let mut mem: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 1..=mem_rounds {
        for (i, k) in kernels.iter().enumerate() {
            eprintln!("bench: minimum memory, round {round}/{mem_rounds}, {}", k.label);
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
    if rows.is_empty() && micro_runs > 0 {
        rows.push(Row {
            name: "boot_to_init".into(),
            unit: "ms".into(),
            linux: None,
            ours: None,
            note: None,
        });
    }
    if ours_to_banner > 0 && !rows.is_empty() {
        rows[0].note = Some(format!(
            "ours is timed to its banner line in {ours_to_banner} of {} runs (stand-in until it \
             runs /init); Linux to /init's first write",
            ours_to_banner + ours_to_init
        ));
    }
    if mem_rounds > 0 {
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
                mem_rounds
            )),
        });
    }
    rows.extend(micro.rows());
    if fio_runs > 0 {
        rows.extend(fio::table_rows(&storage, &storage_failures, fio_runs));
    }
    rows.extend(network.rows());

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
        ("runs", micro_runs.to_string()),
        ("fio_runs", fio_runs.to_string()),
        ("net_runs", net_runs.to_string()),
        ("fio_script", "tests/bench/fio.sh (psync, 256 MiB file, 16 MiB of random I/O)".into()),
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

/// The storage rows: `o.fio_runs` boots per kernel, interleaved, each with `benchmode=fio`, a
/// fresh copy of the empty test disk (/dev/vda) and the read-only fio disk (/dev/vdb). Each
/// boot's console is kept in `work` as LABEL-RUN.console.
fn run_fio(
    o: &Options,
    root: &Path,
    work: &Path,
    kernels: &[Kernel],
    storage: &mut Collected,
    failures: &mut Vec<fio::Failure>,
    problems: &mut Vec<(Option<usize>, String)>,
) -> Result<(), String> {
    let disks = fio::Disks::prepare(work, root)?;
    eprintln!(
        "bench: storage rows: {} interleaved fio boots per kernel, test disk {} ext2 (4 KiB \
         blocks), fio from {}",
        o.fio_runs,
        fio::TEST_DISK_SIZE,
        disks.tree.display()
    );
    if o.linux_bounce {
        eprintln!(
            "bench: --linux-bounce: Linux bounces every DMA through swiotlb (swiotlb=force, \
             virtio with ACCESS_PLATFORM), as a confidential guest's Linux does"
        );
    }
    if o.icount {
        eprintln!(
            "bench: -icount: fio's rates are in guest time, which advances by instructions and \
             skips ahead while the guest waits for the disk: not comparable with a host-time run"
        );
    }
    for i in 1..=o.fio_runs {
        for k in kernels {
            let test_disk = disks.fresh_test_disk()?;
            let bounce = o.linux_bounce && !k.ours;
            let extra = if bounce { "benchmode=fio swiotlb=force" } else { "benchmode=fio" };
            let spec = BootSpec {
                icount: o.icount,
                disks: vec![Disk::writable(test_disk), Disk::readonly(&disks.tree)],
                access_platform: bounce,
                ..run::spec_for(k, &o.initrd, o.mem_mib, extra, FIO_TIMEOUT)
            };
            let b = run::boot_timed(&spec)
                .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
            let console = work.join(format!("{}-{i}.console", k.label));
            let _ = std::fs::write(&console, b.output());
            let r = judge::judge_run(k, &b);
            let f = fio::results(&b.output());
            // fio's rows, then lmbench's file rows on the same disk (`BENCH name=*_ext2`).
            for s in f.samples.iter().chain(&r.samples) {
                storage.add(side(k), &s.name, &s.unit, s.value);
            }
            for (row, reason) in &f.failed {
                failures.push(fio::Failure {
                    side: side(k),
                    row: row.clone(),
                    reason: reason.clone(),
                });
            }
            eprintln!(
                "bench: fio run {i}/{} {:<5}: {:.1} s wall, {} of {} rows, console {}",
                o.fio_runs,
                k.label,
                b.elapsed.as_secs_f64(),
                f.samples.len(),
                fio::ROWS.len(),
                console.display()
            );
            // A failed row is told in its note; the rest is a problem of the run.
            let row_failure = |p: &str| {
                p.strip_prefix("BENCH-FAIL name=")
                    .and_then(|rest| rest.split_whitespace().next())
                    .is_some_and(fio::is_row)
            };
            for p in r.problems.iter().filter(|p| !row_failure(p)) {
                eprintln!("bench:   {p}");
                problems.push((Some(i), format!("{} (fio): {p}", k.label)));
            }
            for (row, text) in &f.stderr {
                problems.push((Some(i), format!("{} (fio): {row} stderr: {text}", k.label)));
            }
            if r.boot.is_none() || b.timed_out {
                eprint!("{}", b.tail(15));
            }
            disks.remove_test_disk();
        }
    }
    Ok(())
}

/// The network rows: `net_runs` boots per kernel, interleaved, of the Debian image with
/// `benchmode=net` (tests::bench::net). Each boot's console is kept in `work`.
fn run_net(
    o: &Options,
    net_runs: usize,
    work: &Path,
    kernels: &[Kernel],
    network: &mut Collected,
    problems: &mut Vec<(Option<usize>, String)>,
) -> Result<(), String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let image = tests::bench::net::prepare(&root, work, &o.linux)?;
    eprintln!(
        "bench: network rows: {net_runs} interleaved boots per kernel at -m {NET_MEMORY_MIB}M, \
         iperf3 from the host through slirp hostfwd, redis-benchmark (50 clients) in the guest"
    );
    for i in 1..=net_runs {
        for k in kernels {
            let console = work.join(format!("{}-{i}.console", k.label));
            match tests::bench::net::measure(&k.image, k.ours, &image, NET_MEMORY_MIB, &console) {
                Ok(rows) => {
                    let text: Vec<String> =
                        rows.iter().map(|(n, u, v)| format!("{n} {v:.1} {u}")).collect();
                    eprintln!("bench: net run {i}/{net_runs} {:<5}: {}", k.label, text.join(", "));
                    for (name, unit, value) in rows {
                        network.add(side(k), name, unit, value);
                    }
                }
                Err(e) => {
                    eprintln!("bench: net run {i}/{net_runs} {:<5}: {e}", k.label);
                    problems.push((Some(i), format!("{} (net): {e}", k.label)));
                }
            }
        }
    }
    Ok(())
}
