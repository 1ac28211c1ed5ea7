//! `images measure`: from a built image alone, offline, what a verifier should expect of a
//! guest booting it, as reference values in the verifier's format
//! (`attest serve --reference-values`):
//!
//! - the kernel's own measured boot ([`disk`]): its events and the register they extend
//!   (RTMR2 under TDX and the simulator), read from the disk after checking it against the
//!   command line's root hash;
//! - under the simulator, its launch measurement (the command line's SHA-384);
//! - under SEV-SNP, the launch digest for a given OVMF, vCPU count and type, with the
//!   kernel and command line measured by the firmware ([`snp`]);
//! - under TDX, MRTD for a given TDVF ([`tdx`]). RTMR0 (the TD HOB, ACPI tables and
//!   firmware configuration the VMM provides) and RTMR1 (TDVF's measurement of the kernel)
//!   depend on the VMM's version and the machine's shape, so they are not predicted here:
//!   the operator gives them, from a known-good launch of the same configuration. A TDX
//!   entry without them would accept any kernel that replays our RTMR2 events, so none is
//!   written without them.

pub mod disk;
pub mod ovmf;
pub mod snp;
pub mod tdx;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::measurements::{Event, reference_entry, register, sim_launch_measurement};

/// What to predict, for which launch.
#[derive(Debug, Clone, Default)]
pub struct MeasureOptions {
    /// The output directory of `images build` (its `cmdline` and `rootfs.ext2`).
    pub image: PathBuf,
    /// The kernel the firmware loads (default: the image's `kernel`); measured under SNP.
    pub kernel: Option<PathBuf>,
    /// The entries' name (default: the image directory's name).
    pub name: Option<String>,
    /// An SEV-SNP launch to predict.
    pub snp: Option<snp::SnpLaunch>,
    /// A TDX launch to predict.
    pub tdx: Option<TdxLaunch>,
}

/// A TDX launch: the firmware, and the registers taken from a known-good launch.
#[derive(Debug, Clone)]
pub struct TdxLaunch {
    /// The TDVF image given to QEMU (`-bios`).
    pub tdvf: PathBuf,
    /// RTMR0 of a known-good launch of the same VMM, firmware and machine shape.
    pub rtmr0: String,
    /// RTMR1 of a known-good launch of the same firmware and kernel.
    pub rtmr1: String,
}

/// The image's kernel command line and its predicted measured-boot events.
#[derive(Debug, Clone)]
pub struct KernelBoot {
    /// The command line, as in the image's `cmdline` (without its newline).
    pub cmdline: String,
    /// The kernel's events, in order.
    pub events: Vec<Event>,
}

/// Reads a built image and predicts the kernel's events for it ([`disk::kernel_events`]).
///
/// # Errors
/// A file that cannot be read, or what [`disk::kernel_events`] finds wrong.
pub fn kernel_boot(image: &Path) -> Result<KernelBoot, String> {
    let path = image.join("cmdline");
    let cmdline = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let cmdline = cmdline.strip_suffix('\n').unwrap_or(&cmdline).to_string();
    // Checked first and on its own, so that its faults name the cmdline file.
    let verity = disk::check_cmdline(&cmdline).map_err(|e| format!("{}: {e}", path.display()))?;
    let path = image.join("rootfs.ext2");
    let disk = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let events = disk::events_for_checked(&disk, &cmdline, &verity)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(KernelBoot { cmdline, events })
}

/// Returns the reference values for `opts` (`{"entries": [...]}`): always the simulator's,
/// then SNP's and TDX's when asked for.
///
/// # Errors
/// What is wrong with the image, the firmware or the launch parameters, naming the file.
pub fn measure(opts: &MeasureOptions) -> Result<Value, String> {
    let boot = kernel_boot(&opts.image)?;
    let name = opts.name.clone().unwrap_or_else(|| {
        let dir = opts.image.canonicalize().unwrap_or_else(|_| opts.image.clone());
        dir.file_name().map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned())
    });
    let mut entries = vec![sim_entry(&name, &boot)];
    if let Some(launch) = &opts.snp {
        let kernel = opts.kernel.clone().unwrap_or_else(|| opts.image.join("kernel"));
        let direct = snp::DirectBoot {
            kernel: Some(kernel),
            initrd: None,
            append: Some(boot.cmdline.clone()),
        };
        let digest = snp::launch_digest(launch, &direct)?;
        let label = format!(
            "{name} / snp {} {}x{}",
            file_label(&launch.ovmf),
            launch.vcpus,
            launch.vcpu_type
        );
        entries.push(json!({"name": label, "tee": "snp",
                            "values": {"measurement": hex::encode(digest)}}));
    }
    if let Some(launch) = &opts.tdx {
        let image =
            std::fs::read(&launch.tdvf).map_err(|e| format!("{}: {e}", launch.tdvf.display()))?;
        let mr_td = tdx::mrtd(&image).map_err(|e| format!("{}: {e}", launch.tdvf.display()))?;
        let pinned = [
            ("mr_td".to_string(), hex::encode(mr_td)),
            ("rtmr0".to_string(), register_value("--tdx-rtmr0", &launch.rtmr0)?),
            ("rtmr1".to_string(), register_value("--tdx-rtmr1", &launch.rtmr1)?),
        ];
        let label = format!("{name} / tdx {}", file_label(&launch.tdvf));
        entries.push(reference_entry(&label, "tdx", &pinned, &boot.events));
    }
    Ok(json!({"entries": entries}))
}

/// The simulator's entry: its launch measurement and RTMR2, with the events.
pub fn sim_entry(name: &str, boot: &KernelBoot) -> Value {
    let launch = sim_launch_measurement(boot.cmdline.as_bytes());
    reference_entry(name, "sim", &[("measurement".into(), launch)], &boot.events)
}

/// The `events.json` document `images build` writes next to the disk.
pub fn events_document(boot: &KernelBoot) -> Value {
    let listed: Vec<_> = boot
        .events
        .iter()
        .map(|e| json!({"description": e.description, "sha384": hex::encode(e.sha384)}))
        .collect();
    json!({"cmdline": boot.cmdline, "rtmr2": hex::encode(register(&boot.events)),
           "events": listed})
}

/// A 48-byte register value given on the command line, lower-case.
fn register_value(flag: &str, text: &str) -> Result<String, String> {
    match hex::decode(text) {
        Ok(bytes) if bytes.len() == 48 => Ok(text.to_ascii_lowercase()),
        _ => Err(format!("{flag} {text:?} is not 96 hex digits (a 48-byte register)")),
    }
}

fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}
