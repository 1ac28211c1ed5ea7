//! `images`: build guest images from container images.
//!
//! ```text
//! images build --input python.oci --out target/guest/python [--kernel KERNEL_ELF]
//!     [--entrypoint PROG] [--cmd ARG]... [--env K=V]... [--workdir DIR] [--user U[:G]]
//!     [--size 512M] [--append "ip=dhcp"]
//! ```
//! Writes `rootfs.ext2`, `cmdline`, `events.json`, `reference-values.json` (and `kernel`)
//! into `--out`. Then, for the reference values of a confidential launch of it:
//! ```text
//! images measure --image target/guest/python [--snp-ovmf OVMF.fd --vcpus 2 --vcpu-type EPYC-v4]
//!     [--tdvf OVMF.inteltdx.fd --tdx-rtmr0 HEX --tdx-rtmr1 HEX] [--out reference-values.json]
//! ```
//! Boot them with
//! `make run DISK=OUT/rootfs.ext2 CMDLINE="$(cat OUT/cmdline)"`. Exit status: 0 built, 2 bad
//! input (the message names the file and the reason), 1 anything else.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use images::build::{BuildOptions, build};
use images::container::Overrides;

#[derive(Parser)]
#[command(name = "images", about = "Guest images from container images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// An OCI layout (directory or tar), a docker-save tar, or a root directory → a bootable
    /// ext2 root disk, its command line, and the kernel.
    Build(BuildArgs),
    /// A container image (OCI layout) from host files: no base image, one layer.
    Pack(PackArgs),
    /// From a built image alone: the reference values of a guest booting it (the kernel's
    /// events, and the SNP launch digest or TDX MRTD for the given firmware).
    Measure(MeasureArgs),
}

#[derive(clap::Args)]
struct MeasureArgs {
    /// The output directory of `images build` (its cmdline and rootfs.ext2).
    #[arg(long)]
    image: PathBuf,
    /// The kernel the firmware loads (default: IMAGE/kernel); measured under SNP.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// The entries' name (default: the image directory's name).
    #[arg(long)]
    name: Option<String>,
    /// Predict an SEV-SNP launch with this OVMF (an AmdSevX64 build, for kernel hashes).
    #[arg(long)]
    snp_ovmf: Option<PathBuf>,
    /// SNP: vCPUs at launch.
    #[arg(long, default_value_t = 1, requires = "snp_ovmf")]
    vcpus: u32,
    /// SNP: the vCPU model given to QEMU's -cpu.
    #[arg(long, default_value = "EPYC-v4", requires = "snp_ovmf")]
    vcpu_type: String,
    /// SNP: SEV_FEATURES of each VMSA (hex).
    #[arg(long, default_value = "0x1", value_parser = parse_hex_u64, requires = "snp_ovmf")]
    guest_features: u64,
    /// SNP: the VMM (only qemu is supported).
    #[arg(long, default_value = "qemu", requires = "snp_ovmf")]
    vmm: String,
    /// Predict a TDX launch's MRTD with this TDVF (needs --tdx-rtmr0 and --tdx-rtmr1).
    #[arg(long, requires_all = ["tdx_rtmr0", "tdx_rtmr1"])]
    tdvf: Option<PathBuf>,
    /// TDX: RTMR0 of a known-good launch of the same VMM, TDVF and machine shape (hex).
    #[arg(long, requires = "tdvf")]
    tdx_rtmr0: Option<String>,
    /// TDX: RTMR1 of a known-good launch of the same TDVF and kernel (hex).
    #[arg(long, requires = "tdvf")]
    tdx_rtmr1: Option<String>,
    /// Where to write the reference values (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_hex_u64(s: &str) -> Result<u64, String> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    u64::from_str_radix(digits, 16).map_err(|_| format!("{s:?} is not a hex number"))
}

#[derive(clap::Args)]
struct PackArgs {
    /// A host file and its absolute path in the image, as SRC:DEST (repeatable).
    #[arg(long = "file", required = true)]
    files: Vec<String>,
    /// The entrypoint (repeat for its arguments).
    #[arg(long = "entrypoint", required = true, allow_hyphen_values = true)]
    entrypoint: Vec<String>,
    /// The user it runs as (uid:gid).
    #[arg(long)]
    user: Option<String>,
    /// The output directory (an OCI layout).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The container image: OCI layout directory, OCI/docker-save tar, or root directory.
    #[arg(long)]
    input: PathBuf,
    /// The output directory.
    #[arg(long)]
    out: PathBuf,
    /// The kernel to copy next to the disk.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Replace the image's Entrypoint (as `docker run --entrypoint`; drops its Cmd unless
    /// --cmd is given).
    #[arg(long)]
    entrypoint: Option<String>,
    /// Replace the image's Cmd (repeat for each argument).
    #[arg(long = "cmd", allow_hyphen_values = true)]
    cmd: Vec<String>,
    /// Add or replace an environment variable (KEY=VALUE; repeatable).
    #[arg(long = "env")]
    env: Vec<String>,
    /// Replace the working directory.
    #[arg(long)]
    workdir: Option<String>,
    /// Replace the user (user, uid, user:group or uid:gid).
    #[arg(long)]
    user: Option<String>,
    /// The disk's size: bytes, or with K, M or G (default: the contents plus a margin).
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Words added to the kernel command line (e.g. "ip=dhcp").
    #[arg(long, default_value = "")]
    append: String,
    /// The name of the reference entry in reference-values.json (default: the input's
    /// file name).
    #[arg(long)]
    name: Option<String>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a size (e.g. 512M)"))?;
    n.checked_shl(shift).filter(|v| v >> shift == n).ok_or_else(|| format!("{s:?} is too large"))
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Build(args) => args,
        Command::Pack(args) => return run_pack(args),
        Command::Measure(args) => return run_measure(args),
    };
    let opts = BuildOptions {
        input: args.input,
        out_dir: args.out,
        kernel: args.kernel,
        size: args.size,
        overrides: Overrides {
            entrypoint: args.entrypoint.map(|e| vec![e]),
            cmd: (!args.cmd.is_empty()).then_some(args.cmd),
            env: args.env,
            workdir: args.workdir,
            user: args.user,
        },
        append: args.append,
        name: args.name,
    };
    match build(&opts) {
        Ok(out) => {
            let s = &out.summary;
            println!(
                "{}: {} MiB, {} inodes, uuid {}",
                out.disk.display(),
                s.size >> 20,
                s.inodes,
                hex::encode(s.uuid)
            );
            println!(
                "init: {}",
                out.spec
                    .args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            println!("cmdline: {}", out.cmdline);
            for x in &s.dropped_xattrs {
                eprintln!("images build: warning: extended attribute not written: {x}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("images build: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_pack(args: PackArgs) -> ExitCode {
    let mut files = Vec::new();
    for spec in &args.files {
        let Some((src, dest)) = spec.split_once(':') else {
            eprintln!("images pack: --file {spec:?} is not SRC:DEST");
            return ExitCode::from(2);
        };
        files.push((PathBuf::from(src), dest.to_string()));
    }
    let opts = images::pack::PackOptions {
        files,
        entrypoint: args.entrypoint,
        user: args.user,
        out: args.out.clone(),
    };
    match images::pack::pack(&opts) {
        Ok(digest) => {
            println!("{}: manifest {digest}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("images pack: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_measure(args: MeasureArgs) -> ExitCode {
    use images::measure::{MeasureOptions, TdxLaunch, measure, snp::SnpLaunch};
    let snp = args.snp_ovmf.map(|ovmf| SnpLaunch {
        ovmf,
        vcpus: args.vcpus,
        vcpu_type: args.vcpu_type,
        guest_features: args.guest_features,
        vmm: args.vmm,
    });
    let tdx = match (args.tdvf, args.tdx_rtmr0, args.tdx_rtmr1) {
        (Some(tdvf), Some(rtmr0), Some(rtmr1)) => Some(TdxLaunch { tdvf, rtmr0, rtmr1 }),
        _ => None,
    };
    let opts = MeasureOptions { image: args.image, kernel: args.kernel, name: args.name, snp, tdx };
    let doc = match measure(&opts) {
        Ok(doc) => format!("{doc:#}\n"),
        Err(e) => {
            eprintln!("images measure: {e}");
            return ExitCode::from(2);
        }
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, doc) {
                eprintln!("images measure: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
        None => print!("{doc}"),
    }
    ExitCode::SUCCESS
}
