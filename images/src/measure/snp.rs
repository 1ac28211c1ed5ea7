//! The SEV-SNP launch digest of a guest: what the AMD secure processor measures while the
//! VMM loads it (OVMF's pages and metadata sections, the SEV hashes table holding the
//! kernel's, initrd's and command line's SHA-256 when QEMU boots with `kernel-hashes=on`,
//! one VMSA page per vCPU), and what the report's `measurement` field carries.
//!
//! The computation is the `sev` crate's (virtee's `measurement::snp`, the field's library);
//! this module chooses its inputs for our images and names bad ones. The tests check it
//! against the published fixtures of virtee's Python `sev-snp-measure`, an independent
//! implementation.

use std::path::PathBuf;

use sev::measurement::snp::{SnpMeasurementArgs, snp_calc_launch_digest};
use sev::measurement::vcpu_types::CpuType;
use sev::measurement::vmsa::{GuestFeatures, VMMType};
use sev::parser::ByteParser as _;

/// How the guest is launched.
#[derive(Debug, Clone)]
pub struct SnpLaunch {
    /// The OVMF build (AmdSevX64 for measured direct boot).
    pub ovmf: PathBuf,
    /// vCPUs at launch (each adds a VMSA page).
    pub vcpus: u32,
    /// The vCPU model QEMU is given (`-cpu`), e.g. `EPYC-v4`: its signature is in each VMSA.
    pub vcpu_type: String,
    /// SEV_FEATURES in each VMSA (QEMU's default for SNP is 0x1, SNPActive).
    pub guest_features: u64,
    /// The VMM, which sets the VMSA's initial registers: only `qemu` is supported (see
    /// [`launch_digest`]).
    pub vmm: String,
}

/// What is measured besides the firmware: the kernel, initrd and command line QEMU hashes
/// into the SEV hashes table, or nothing for a firmware-only launch.
#[derive(Debug, Clone, Default)]
pub struct DirectBoot {
    /// The kernel file given to `-kernel`.
    pub kernel: Option<PathBuf>,
    /// The initrd file given to `-initrd`.
    pub initrd: Option<PathBuf>,
    /// The command line given to `-append`.
    pub append: Option<String>,
}

/// Returns the 48-byte launch digest.
///
/// The VMM must be QEMU. The sev crate also knows EC2 and krun, but its EC2 VMSA is out of
/// date (RDX 0 where EC2 now starts vCPUs with 0x600: sev-snp-measure fixed this in April
/// 2026, commit 4a02bf0, and its published EC2 digests no longer match sev 8.0.0's), and
/// krun boots differently from what `images build` makes; a digest that cannot match is
/// worse than none.
///
/// # Errors
/// An unsupported vCPU type or VMM, no vCPU, a firmware that cannot be read or lacks the
/// sections SNP needs (or the kernel-hashes section when a kernel is measured).
pub fn launch_digest(launch: &SnpLaunch, boot: &DirectBoot) -> Result<[u8; 48], String> {
    if launch.vcpus == 0 {
        return Err("an SNP guest needs at least one vCPU".into());
    }
    let vcpu_type = CpuType::try_from(launch.vcpu_type.as_str())
        .map_err(|_| format!("unknown SNP vCPU type {:?} (e.g. EPYC-v4)", launch.vcpu_type))?;
    if launch.vmm != "qemu" {
        return Err(format!(
            "VMM {:?}: only qemu launches are predicted (the sev crate's EC2 VMSA is out of \
             date, and krun boots differently)",
            launch.vmm
        ));
    }
    let guest_features = GuestFeatures::from_bytes(&launch.guest_features.to_le_bytes())
        .map_err(|e| format!("guest features: {e}"))?;
    for file in [&boot.kernel, &boot.initrd].into_iter().flatten() {
        std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let ovmf = launch.ovmf.display();
    // The crate indexes the firmware's tables unchecked (and this binary aborts on a
    // panic): they are checked here first.
    let image = std::fs::read(&launch.ovmf).map_err(|e| format!("{ovmf}: {e}"))?;
    super::ovmf::check_snp_firmware(&image).map_err(|e| format!("{ovmf}: {e}"))?;
    // QEMU hashes `-append` exactly; the crate trims it first.
    if let Some(append) = &boot.append
        && append.trim() != append
    {
        return Err(format!(
            "the command line {append:?} starts or ends with white space, which QEMU would hash \
             but the sev crate trims"
        ));
    }
    let args = SnpMeasurementArgs {
        vcpus: launch.vcpus,
        vcpu_type,
        ovmf_file: launch.ovmf.clone(),
        guest_features,
        kernel_file: boot.kernel.clone(),
        initrd_file: boot.initrd.clone(),
        append: boot.append.as_deref(),
        ovmf_hash_str: None,
        vmm_type: Some(VMMType::QEMU),
    };
    let digest =
        snp_calc_launch_digest(args).map_err(|e| format!("SNP launch digest of {ovmf}: {e}"))?;
    let bytes: Vec<u8> = digest.try_into().map_err(|e| format!("SNP launch digest: {e}"))?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("SNP launch digest of {} bytes", b.len()))
}
