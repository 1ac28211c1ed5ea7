//! `reference-values`: prints the reference entry (`attest serve --reference-values`) for a
//! guest booted with the given command line, initramfs and init, predicted offline.
//!
//! ```text
//! reference-values --name "build 42" --tee tdx --cmdline "console=ttyS0 quiet" \
//!     --initramfs target/initramfs.cpio.gz --init /init=root/init \
//!     --pin mr_td=<hex> --pin rtmr0=<hex> --pin rtmr1=<hex>
//! ```
//! RTMR2 alone identifies nothing (any kernel can extend it with the same digests), so a TDX
//! entry must pin MRTD, RTMR0 and RTMR1 too (`--pin`, from a known-good launch or a TDVF
//! measurement tool); for `sim` the launch measurement is predicted here.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use images::measurements::{Boot, events, launch_values, reference_entry, sim_launch_measurement};

#[derive(Parser)]
#[command(about = "Predict the kernel's measured boot as a reference entry for attest serve")]
struct Args {
    /// What the entry is called in verdicts.
    #[arg(long)]
    name: String,
    /// The TEE: tdx or sim (SEV-SNP has no runtime register).
    #[arg(long, value_parser = ["tdx", "sim"])]
    tee: String,
    /// The kernel command line, exactly as given to the loader.
    #[arg(long)]
    cmdline: String,
    /// The initramfs file, if the guest boots with one.
    #[arg(long)]
    initramfs: Option<PathBuf>,
    /// The root's identity text (`initramfs`, or `ext2 /dev/vda ro uuid=… label=…`).
    #[arg(long, default_value = "initramfs")]
    root: String,
    /// A container image's process spec file (`/.cocoon/container` on its disk).
    #[arg(long = "container-spec")]
    container_spec: Option<PathBuf>,
    /// Each program the kernel tries as init, as PATH=FILE (path in the guest, file here).
    #[arg(long, value_name = "PATH=FILE")]
    init: Vec<String>,
    /// A register the entry pins besides RTMR2, as NAME=HEX (TDX: mr_td, rtmr0, rtmr1).
    #[arg(long, value_name = "NAME=HEX")]
    pin: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let run = || -> Result<String, String> {
        let initramfs = args.initramfs.as_ref().map(read).transpose()?;
        let mut inits = Vec::new();
        for spec in &args.init {
            let (path, file) =
                spec.split_once('=').ok_or_else(|| format!("--init {spec:?} is not PATH=FILE"))?;
            inits.push((path.to_owned(), read(&PathBuf::from(file))?));
        }
        let inits: Vec<(&str, &[u8])> = inits.iter().map(|(p, b)| (p.as_str(), &b[..])).collect();
        let container_spec = match &args.container_spec {
            Some(path) => {
                Some(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let boot = Boot {
            cmdline: args.cmdline.as_bytes(),
            initramfs: initramfs.as_deref(),
            root: &args.root,
            container_spec: container_spec.as_deref(),
            inits: &inits,
        };
        let mut pinned = Vec::new();
        for spec in &args.pin {
            let (name, value) =
                spec.split_once('=').ok_or_else(|| format!("--pin {spec:?} is not NAME=HEX"))?;
            if value.len() != 96 || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("--pin {name}: {value:?} is not 48 bytes of hex"));
            }
            pinned.push((name.to_owned(), value.to_owned()));
        }
        if args.tee == "sim" {
            pinned.push(("measurement".into(), sim_launch_measurement(args.cmdline.as_bytes())));
        }
        let missing: Vec<_> = launch_values(&args.tee)
            .iter()
            .filter(|r| !pinned.iter().any(|(name, _)| name == *r))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "a {} entry must pin {missing:?} too (--pin NAME=HEX): RTMR2 alone identifies \
                 no kernel",
                args.tee
            ));
        }
        let entry = reference_entry(&args.name, &args.tee, &pinned, &events(&boot));
        serde_json::to_string_pretty(&serde_json::json!({"entries": [entry]}))
            .map_err(|e| e.to_string())
    };
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reference-values: {e}");
            ExitCode::from(2)
        }
    }
}
