//! The TEE platform the guest runs on, and the primitives that differ between them.
//!
//! Detected once at boot:
//! - **TDX**: CPUID leaf 0x21 reads "IntelTDX    ".
//! - **SEV-SNP**: CPUID 0x8000001f reports SEV, and the SEV_STATUS MSR has SNP active.
//! - **Sim**: selected with `tee=sim` on a machine with neither; a software stand-in that
//!   keeps the private/shared bookkeeping so the DMA discipline is checked in CI.
//! - **None**: an ordinary VM.
//!
//! # The platform surface
//! One set of primitives, whichever platform was detected; the rest of the kernel never
//! asks which:
//! - memory conversion ([`convert_to_shared`], [`convert_to_private`]; OSTD-internal, used
//!   by the shared pool in `mm::dma`);
//! - measurement registers: [`extend_measurement`] and [`measurement_registers`] (RTMR0..3
//!   on TDX; the simulated TEE's four; SNP has none);
//! - evidence: [`report`] binds 64 bytes of report data into the platform's report, and
//!   [`quote`] returns what a remote verifier checks (TDX: a quote; SNP: the report with the
//!   host's certificates; sim: its signed report).
//!
//! A primitive the platform does not have answers [`TeeError::Unsupported`] and never
//! pretends. The encodings and decisions of the TDX and SNP paths live in `tee-abi`, which
//! is tested on the host.

mod sim;
pub(crate) mod snp;
pub use snp::{PvalidateError, SnpError};
pub(crate) mod tdx;
mod tests;
pub(crate) mod ve_glue;

use alloc::vec::Vec;

use core::arch::x86_64::__cpuid;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use crate::boot::BootInfo;
use crate::mm::Paddr;

/// Which confidential-computing platform this guest runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// No TEE: an ordinary VM.
    None,
    /// Intel TDX.
    Tdx,
    /// AMD SEV-SNP.
    SevSnp,
    /// The simulated TEE (development and CI only).
    Sim,
}

impl Platform {
    /// Returns the platform's short name: "none", "TDX", "SNP" or "sim".
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Tdx => "TDX",
            Self::SevSnp => "SNP",
            Self::Sim => "sim",
        }
    }
}

impl core::fmt::Display for Platform {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a TEE primitive failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum TeeError {
    /// The platform has no such primitive (no TEE at all, or SNP's missing registers).
    Unsupported { platform: Platform, primitive: &'static str },
    /// The range is not page-aligned.
    Unaligned(Paddr),
    /// No frame was free for the platform's buffer.
    OutOfMemory,
    /// The TDX module or the VMM refused, or answered what cannot be trusted.
    Tdx(tee_abi::tdx::error::TdxError),
    /// The platform's service did not answer in time (a quote).
    TimedOut,
    /// A conversion failed part way: the frames are neither private nor shared for sure, and
    /// must never be used again (the shared pool leaks them).
    Stranded,
    /// The SEV-SNP firmware or the host refused, or answered what cannot be trusted.
    Snp(snp::SnpError),
}

impl From<tee_abi::tdx::error::TdxError> for TeeError {
    fn from(e: tee_abi::tdx::error::TdxError) -> Self {
        Self::Tdx(e)
    }
}

impl TeeError {
    /// SEV-SNP's SW_EXITINFO2 for a guest request the host or the firmware refused (VMM error
    /// in bits 63:32, firmware error in 31:0), which Linux's `/dev/sev-guest` hands back.
    pub fn snp_exit_info2(&self) -> Option<u64> {
        use tee_abi::snp::guest_msg::GuestMsgError;
        match self {
            Self::Snp(SnpError::GuestMessage(GuestMsgError::HostFailed {
                vmm_error,
                firmware_error,
            })) => Some((u64::from(*vmm_error) << 32) | u64::from(*firmware_error)),
            _ => None,
        }
    }
}

impl core::fmt::Display for TeeError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Unsupported { platform, primitive } => {
                write!(f, "{platform} has no {primitive}")
            }
            Self::Unaligned(paddr) => write!(f, "{paddr:#x} is not page-aligned"),
            Self::OutOfMemory => f.write_str("no memory for the TEE's buffer"),
            Self::Tdx(e) => write!(f, "TDX: {e}"),
            Self::TimedOut => f.write_str("the platform's service did not answer in time"),
            Self::Stranded => f.write_str("a conversion failed part way; the memory is stranded"),
            Self::Snp(e) => write!(f, "SNP: {e}"),
        }
    }
}

/// A measurement register: 0 to 3 (RTMR0..3 on TDX; the simulated TEE has four too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MrIndex(u8);

impl MrIndex {
    /// How many registers there are.
    pub const COUNT: usize = 4;

    /// Returns register `index`, if there is one.
    pub fn new(index: usize) -> Option<Self> {
        (index < Self::COUNT).then_some(Self(index as u8))
    }

    /// Returns the index.
    pub fn as_usize(self) -> usize {
        usize::from(self.0)
    }
}

static PLATFORM: Once<Platform> = Once::new();
static TO_SHARED: AtomicU64 = AtomicU64::new(0);
static TO_PRIVATE: AtomicU64 = AtomicU64::new(0);
static DMA_VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// Returns the platform detected at boot.
pub fn platform() -> Platform {
    *PLATFORM.get().unwrap_or(&Platform::None)
}

/// Brings up what the console and CPUID need before anything else runs: under SEV-SNP the
/// GHCB and the CPUID page (`snp::early_init`); nothing elsewhere.
pub(crate) fn early_init(load_offset: u64, efi_system_table: Option<u64>) {
    if snp::active_at_boot() {
        snp::early_init(load_offset, efi_system_table);
    }
}

pub(crate) fn init(info: &BootInfo) {
    let detected = detect();
    let chosen = match (detected, info.cmdline.value("tee")) {
        (Platform::None, Some("sim")) => Platform::Sim,
        (hw, Some(asked)) if hw != Platform::None && !asked.eq_ignore_ascii_case(hw.name()) => {
            log::warn!("tee: ignoring tee={asked}: running on {hw}");
            hw
        }
        (hw, _) => hw,
    };
    PLATFORM.call_once(|| chosen);
    match chosen {
        Platform::Sim => sim::init(info.cmdline.as_str().as_bytes()),
        Platform::Tdx => match tdx::init() {
            Ok(td) => {
                crate::mm::set_visibility_bits(0, td.shared_bit().mask());
                // A TD whose host may make private pages pending under it must not run on.
                if let Err(e) = tdx::settle_sept_ve() {
                    panic!("tee: cannot turn SEPT #VE off: {e}");
                }
                log::info!("tee: TDX, GPA width {:?}, {:?}", td.gpa_width, td.attributes);
            }
            // Without the shared bit nothing can be shared with the host: say so loudly; the
            // first conversion fails with the same error.
            Err(e) => log::error!("tee: TDG.VP.INFO failed: {e}"),
        },
        Platform::SevSnp => {
            let (private, shared) = snp::visibility_bits();
            crate::mm::set_visibility_bits(private, shared);
            log::info!("tee: SEV-SNP, C-bit {:#x}, CPUID page and GHCB in place", private);
        }
        _ => {}
    }
}

fn detect() -> Platform {
    // First: under SEV-SNP CPUID itself raises #VC (entry.S recorded SNP without it).
    if snp::active_at_boot() {
        return Platform::SevSnp;
    }
    let max = __cpuid(0).eax;
    if max >= 0x21 {
        let r = __cpuid(0x21);
        let mut sig = [0u8; 12];
        sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
        sig[4..8].copy_from_slice(&r.edx.to_le_bytes());
        sig[8..12].copy_from_slice(&r.ecx.to_le_bytes());
        if &sig == b"IntelTDX    " {
            return Platform::Tdx;
        }
    }
    Platform::None
}

/// Returns whether this guest runs under TDX, answering before [`init`] too (the console's
/// first write comes earlier): CPUID leaf 0x21, which the TDX module answers itself without
/// a #VE. Looked up once.
pub(crate) fn is_tdx_early() -> bool {
    static TDX: Once<bool> = Once::new();
    *TDX.call_once(|| detect() == Platform::Tdx)
}

/// Returns whether the platform has runtime measurement registers the kernel can extend:
/// TDX's RTMRs, and the simulated TEE's unless the command line says `sim.registers=none`
/// (which plays SEV-SNP's case, so the register-less path runs under CI too). Not SEV-SNP,
/// and not without a TEE.
pub fn has_runtime_registers() -> bool {
    match platform() {
        Platform::Tdx => true,
        Platform::Sim => crate::boot::boot_info().cmdline.value("sim.registers") != Some("none"),
        Platform::SevSnp | Platform::None => false,
    }
}

/// Returns how much memory the simulated TEE should present as unaccepted
/// (`sim.unaccepted=MiB` under `tee=sim`, at most 1 GiB), in bytes; 0 elsewhere.
pub(crate) fn sim_unaccepted_bytes() -> u64 {
    if platform() != Platform::Sim {
        return 0;
    }
    let mib = crate::boot::boot_info()
        .cmdline
        .value("sim.unaccepted")
        .and_then(|v| v.parse::<u64>().ok());
    mib.unwrap_or(0).min(sim::MAX_UNACCEPTED_MIB) << 20
}

/// Tells the platform which memory starts out unaccepted (only the simulated TEE keeps
/// track: it checks [`check_accepted`] against it).
pub(crate) fn note_unaccepted(start: u64, end: u64) {
    if platform() == Platform::Sim {
        sim::note_unaccepted(start, end);
    }
}

/// Accepts `len` bytes of memory at `start` (page-aligned): TDG.MEM.PAGE.ACCEPT under TDX;
/// the simulated TEE's bookkeeping under sim.
///
/// # Errors
/// What the platform answered.
pub(crate) fn accept(start: Paddr, len: u64) -> Result<(), TeeError> {
    match platform() {
        Platform::Tdx => tdx::accept(start, len),
        Platform::SevSnp => snp::accept(start, len),
        Platform::Sim => {
            sim::accept(start, len);
            Ok(())
        }
        Platform::None => Ok(()),
    }
}

/// Checks, under the simulated TEE, that memory about to be handed out was accepted: in
/// every build, like the DMA check; a frame that was not is a fatal error naming it.
///
/// # Panics
/// Under `tee=sim`, if a frame of `start..start + len` is still unaccepted.
pub(crate) fn check_accepted(start: Paddr, len: u64) {
    if platform() == Platform::Sim
        && let Some(frame) = sim::first_unaccepted(start, len)
    {
        panic!("tee(sim): frame {frame:#x} was to be handed out before it was accepted");
    }
}

/// Returns (2 MiB chunks the simulated TEE saw accepted, chunks it presented as unaccepted).
pub fn sim_acceptance() -> (u64, u64) {
    sim::acceptance()
}

/// Makes `count` frames at `paddr` visible to the host.
pub(crate) fn convert_to_shared(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    if !paddr.is_multiple_of(crate::mm::PAGE_SIZE as u64) {
        return Err(TeeError::Unaligned(paddr));
    }
    match platform() {
        Platform::None => {}
        Platform::Sim => sim::mark_shared(paddr, count),
        Platform::Tdx => tdx::convert_to_shared(paddr, count)?,
        Platform::SevSnp => snp::convert_to_shared(paddr, count)?,
    }
    TO_SHARED.fetch_add(count as u64, Ordering::Relaxed);
    Ok(())
}

/// Takes `count` frames at `paddr` back from the host, re-accepting them.
pub(crate) fn convert_to_private(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    match platform() {
        Platform::None => {}
        Platform::Sim => sim::mark_private(paddr, count),
        Platform::Tdx => tdx::convert_to_private(paddr, count)?,
        Platform::SevSnp => snp::convert_to_private(paddr, count)?,
    }
    TO_PRIVATE.fetch_add(count as u64, Ordering::Relaxed);
    Ok(())
}

/// Extends measurement register `index` with `digest`: the register becomes
/// SHA-384(register ‖ digest), the rule of TDX's RTMRs.
///
/// # Errors
/// [`TeeError::Unsupported`] without a TEE and on SNP (which has no such registers: the
/// kernel keeps its own log there).
pub fn extend_measurement(index: MrIndex, digest: &[u8; 48]) -> Result<(), TeeError> {
    const WHAT: &str = "measurement registers";
    match platform() {
        p @ Platform::Sim if !has_runtime_registers() => {
            Err(TeeError::Unsupported { platform: p, primitive: WHAT })
        }
        Platform::Sim => {
            sim::extend(index, digest);
            Ok(())
        }
        Platform::Tdx => tdx::extend(index, digest),
        p @ (Platform::None | Platform::SevSnp) => {
            Err(TeeError::Unsupported { platform: p, primitive: WHAT })
        }
    }
}

/// Returns the measurement registers, in index order.
///
/// # Errors
/// As [`extend_measurement`].
pub fn measurement_registers() -> Result<[[u8; 48]; MrIndex::COUNT], TeeError> {
    const WHAT: &str = "measurement registers";
    match platform() {
        p @ Platform::Sim if !has_runtime_registers() => {
            Err(TeeError::Unsupported { platform: p, primitive: WHAT })
        }
        Platform::Sim => Ok(sim::registers()),
        Platform::Tdx => tdx::registers(),
        p @ (Platform::None | Platform::SevSnp) => {
            Err(TeeError::Unsupported { platform: p, primitive: WHAT })
        }
    }
}

/// Returns the platform's report binding `report_data`: under the simulated TEE, a signed
/// version-2 sim report (with the measurement registers as they are now), or when it plays
/// SEV-SNP ([`sim_plays_snp`]) a report in SNP's layout signed with its development key;
/// under TDX, the TDREPORT; under SNP, the attestation report.
///
/// # Errors
/// [`TeeError::Unsupported`] without a TEE.
pub fn report(report_data: &[u8; 64]) -> Result<Vec<u8>, TeeError> {
    match platform() {
        Platform::Sim => sim_report(report_data, 0),
        Platform::Tdx => tdx::report(report_data),
        Platform::SevSnp => snp::report(report_data),
        p @ Platform::None => Err(TeeError::Unsupported { platform: p, primitive: "reports" }),
    }
}

/// What a remote verifier is sent for some report data.
#[derive(Debug)]
pub struct Quote {
    /// The evidence: a TDX quote, an SNP attestation report, or a signed sim report.
    pub evidence: Vec<u8>,
    /// Under SNP, the certificate table the host handed out with the report (configfs-tsm's
    /// `auxblob`: VCEK, ASK, ARK), exactly as the host wrote it: parse it before use.
    /// `None` elsewhere, or when the host has none.
    pub certificates: Option<Vec<u8>>,
}

/// Returns the evidence a remote verifier checks for `report_data`: a quote under TDX (the
/// TDREPORT signed by the quoting enclave); under SNP the attestation report (signed by the
/// PSP already) with the host's certificates (an extended guest request); the signed report
/// itself under the simulated TEE.
///
/// # Errors
/// As [`report`].
pub fn quote(report_data: &[u8; 64]) -> Result<Quote, TeeError> {
    quote_at(report_data, 0)
}

/// [`quote`] for a report at privilege level `privlevel` (configfs-tsm's `privlevel`): SEV-SNP's
/// VMPL, 0 to 3, which the PSP refuses below the guest's own; the other platforms have level 0
/// alone.
///
/// # Errors
/// As [`report`]; [`TeeError::Unsupported`] for a level other than 0 off SNP.
pub fn quote_at(report_data: &[u8; 64], privlevel: u32) -> Result<Quote, TeeError> {
    let platform = platform();
    if privlevel != 0 && platform != Platform::SevSnp && !sim_plays_snp() {
        return Err(TeeError::Unsupported { platform, primitive: "privilege levels above 0" });
    }
    let (evidence, certificates) = match platform {
        Platform::Tdx => (tdx::quote::quote(report_data)?, None),
        Platform::SevSnp => snp::extended_report(report_data, privlevel)?,
        // The sim has no host to hand out certificates: its key is published instead.
        Platform::Sim => (sim_report(report_data, privlevel)?, None),
        Platform::None => (report(report_data)?, None),
    };
    Ok(Quote { evidence, certificates })
}

/// Returns whether the simulated TEE plays SEV-SNP (`tee=sim sim.registers=none`): no
/// runtime registers, reports in SNP's layout at VMPL 0 to 3, and `/dev/sev-guest`.
pub fn sim_plays_snp() -> bool {
    platform() == Platform::Sim && !has_runtime_registers()
}

/// The sim's report at `privlevel`: any of SNP's four VMPLs when it plays SNP, 0 otherwise.
fn sim_report(report_data: &[u8; 64], privlevel: u32) -> Result<Vec<u8>, TeeError> {
    sim::report(report_data, has_runtime_registers(), privlevel).ok_or(TeeError::Unsupported {
        platform: Platform::Sim,
        primitive: if sim_plays_snp() { "VMPLs above 3" } else { "privilege levels above 0" },
    })
}

/// Returns whether converting memory back to private takes it away from devices: true under
/// TDX and SEV-SNP, where the hardware refuses device access to private pages; false on a
/// plain VM and under sim, where nothing does (OSTD programs no IOMMU yet).
pub(crate) fn conversion_revokes_device_access() -> bool {
    matches!(platform(), Platform::Tdx | Platform::SevSnp)
}

/// Returns whether a device may touch `paddr..paddr+len`: always on a plain VM (where the
/// IOMMU, when there is one, confines devices to the pool: [`crate::iommu`]), by the
/// shared-set bookkeeping under sim.
pub fn is_shared(paddr: Paddr, len: usize) -> bool {
    match platform() {
        Platform::Sim => sim::is_shared(paddr, len),
        _ => true,
    }
}

/// Checks, when the platform can, that a device may be given `paddr..paddr + len`.
///
/// Under the simulated TEE the range must lie in the TEE's shared set, and `in_pool` (asked
/// only then) must say the shared pool has it handed out to a live buffer. Otherwise the
/// violation is counted ([`dma_violations`]) and the kernel panics, naming the range. This is
/// not a debug assertion: it runs in release builds. Elsewhere it does nothing: under TDX/SNP
/// the hardware enforces the rule; on a plain VM nothing does yet (no IOMMU is programmed,
/// and safe code can still name any address to a device through `IoMem` or PCI config
/// writes), which the storage issue's IOMMU work closes.
///
/// # Panics
/// Under `tee=sim`, if the range is not shared or not handed out by the pool.
pub(crate) fn check_device_range(paddr: Paddr, len: usize, in_pool: impl FnOnce() -> bool) {
    if platform() != Platform::Sim {
        return;
    }
    let problem = if !sim::is_shared(paddr, len) {
        "private memory"
    } else if !in_pool() {
        "shared, but not handed out by the shared pool"
    } else {
        return;
    };
    let count = DMA_VIOLATIONS.fetch_add(1, Ordering::SeqCst) + 1;
    panic!(
        "tee(sim): DMA violation #{count}: a device was to be given {paddr:#x}..{:#x}, which is \
         {problem}",
        paddr.saturating_add(len as u64)
    );
}

/// Returns how many times a private address was about to reach a device (only the
/// simulated TEE checks; each is also a panic, so a count above zero means a test caught one).
pub fn dma_violations() -> u64 {
    DMA_VIOLATIONS.load(Ordering::SeqCst)
}

/// Returns the higher-half page the kernel page table must map shared from boot on (SEV-SNP's
/// boot GHCB), if there is one.
pub(crate) fn boot_shared_page() -> Option<crate::mm::Vaddr> {
    snp::boot_ghcb_vaddr()
}

/// Returns (frames converted to shared, frames converted back) since boot.
pub fn conversion_counts() -> (u64, u64) {
    (TO_SHARED.load(Ordering::Relaxed), TO_PRIVATE.load(Ordering::Relaxed))
}
