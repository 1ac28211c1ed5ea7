//! The TEE platform the guest runs on, and the primitives that differ between them.
//!
//! Detected once at boot:
//! - **TDX**: CPUID leaf 0x21 reads "IntelTDX    ".
//! - **SEV-SNP**: CPUID 0x8000001f reports SEV, and the SEV_STATUS MSR has SNP active.
//! - **Sim**: selected with `tee=sim` on a machine with neither; a software stand-in that
//!   keeps the private/shared bookkeeping so the DMA discipline is checked in CI.
//! - **None**: an ordinary VM.
//!
//! Memory conversion is the one primitive the rest of OSTD uses today (through
//! `mm::dma`). The TDX (MapGPA + accept) and SNP (page-state change + PVALIDATE) paths are
//! not written yet: on those platforms conversion fails loudly instead of pretending.

mod sim;

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
    /// This platform's implementation of the primitive does not exist yet.
    NotImplemented { platform: Platform, primitive: &'static str },
    /// The range is not page-aligned.
    Unaligned(Paddr),
}

static PLATFORM: Once<Platform> = Once::new();
static TO_SHARED: AtomicU64 = AtomicU64::new(0);
static TO_PRIVATE: AtomicU64 = AtomicU64::new(0);
static DMA_VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// Returns the platform detected at boot.
pub fn platform() -> Platform {
    *PLATFORM.get().unwrap_or(&Platform::None)
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
}

fn detect() -> Platform {
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
    if __cpuid(0x8000_0000).eax >= 0x8000_001f && __cpuid(0x8000_001f).eax & 0b10 != 0 {
        // SEV is supported; SEV_STATUS (MSR 0xc0010131) bit 2 says SNP is active for us.
        let status = x86_64::registers::model_specific::Msr::new(0xc001_0131);
        // SAFETY: SEV_STATUS exists whenever CPUID 0x8000001f reports SEV; reading it has
        // no side effects.
        if unsafe { status.read() } & (1 << 2) != 0 {
            return Platform::SevSnp;
        }
    }
    Platform::None
}

/// Makes `count` frames at `paddr` visible to the host.
pub(crate) fn convert_to_shared(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    if paddr % crate::mm::PAGE_SIZE as u64 != 0 {
        return Err(TeeError::Unaligned(paddr));
    }
    match platform() {
        Platform::None => {}
        Platform::Sim => sim::mark_shared(paddr, count),
        p @ (Platform::Tdx | Platform::SevSnp) => {
            return Err(TeeError::NotImplemented { platform: p, primitive: "convert to shared" });
        }
    }
    TO_SHARED.fetch_add(count as u64, Ordering::Relaxed);
    Ok(())
}

/// Takes `count` frames at `paddr` back from the host, re-accepting them.
pub(crate) fn convert_to_private(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    match platform() {
        Platform::None => {}
        Platform::Sim => sim::mark_private(paddr, count),
        p @ (Platform::Tdx | Platform::SevSnp) => {
            return Err(TeeError::NotImplemented { platform: p, primitive: "convert to private" });
        }
    }
    TO_PRIVATE.fetch_add(count as u64, Ordering::Relaxed);
    Ok(())
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

/// Returns (frames converted to shared, frames converted back) since boot.
pub fn conversion_counts() -> (u64, u64) {
    (TO_SHARED.load(Ordering::Relaxed), TO_PRIVATE.load(Ordering::Relaxed))
}
