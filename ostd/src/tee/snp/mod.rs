//! AMD SEV-SNP: runs what `tee_abi::snp` encodes (and checks the answers with it) on the
//! three instructions of `hw`.
//!
//! Written to the GHCB specification (AMD 56421) and the SNP firmware ABI (AMD 56860); not
//! run here (no SNP hardware, and QEMU TCG emulates none of it). What runs on the host is
//! `tee-abi`'s tests of every encoding used below.
//!
//! - Boot: entry.S asks for the C-bit while the firmware's #VC handler still answers CPUID,
//!   and sets it in every boot page-table entry but the boot GHCB's. [`early_init`] runs
//!   before the console: the MSR protocol checks the host's protocol range and SNP support,
//!   the boot GHCB becomes shared and registered, and the CPUID page the PSP checked at
//!   launch is found (through the EFI configuration table) and copied, so that OSTD's own
//!   CPUID answers come from it ([`cpuid`]) without a #VC. A check that fails here ends the
//!   guest through the MSR protocol: nothing else could report it yet.
//! - The C-bit is every private entry's (`mm::Visibility`); shared-pool frames lose it.
//! - Port I/O goes through the GHCB ([`io_read`], [`io_write`]), like TDX's TDVMCALL, so the
//!   console needs no #VC handler; everything else that exits goes through `vc`.
//! - Conversion: to shared, PVALIDATE rescinds each page, a page-state change makes it
//!   shared, and only then does the direct map lose the C-bit; back to private, the C-bit
//!   first, then the page-state change, then PVALIDATE (Linux's order). A failure part way
//!   strands the frames. Lazily validated memory is accepted the same way ([`accept`]).
//! - Reports: `guest_request`, guest messages under VMPCK0 from the secrets page.
//! - SNP has no runtime measurement registers: the kernel keeps its own log there.

mod ghcb;
mod guest_request;
mod hw;
pub(crate) mod vc;

use alloc::vec::Vec;

use spin::Once;
use tee_abi::snp::cc_blob::{CC_BLOB_GUID, CC_BLOB_SIZE, CcBlob};
use tee_abi::snp::cpuid_page::{CPUID_PAGE_SIZE, CpuidAnswer, CpuidPage, CpuidRegs, GuestCpuState};
use tee_abi::snp::frame::{Gfn, PageStateOp};
use tee_abi::snp::ghcb::{ExitCode, GhcbField, GhcbWriter};
use tee_abi::snp::msr_protocol::{self, HypervisorFeatures, SevInfo, TerminationReason};
use tee_abi::snp::psc::{PscPlan, PscProgress};
use tee_abi::snp::sev_status;

use super::TeeError;
pub use hw::PvalidateError;
use tee_abi::snp::secrets::{SECRETS_PAGE_SIZE, SecretsPage};
use zeroize::Zeroize;

use crate::mm::{KERNEL_VMA, PAGE_SIZE, PHYS_OFFSET, Paddr, Vaddr, Visibility};

unsafe extern "C" {
    /// SEV_STATUS when entry.S found SNP on, else 0.
    static boot_sev_status: u64;
    /// The C-bit's mask when SNP is on, else 0.
    static boot_c_bit: u64;
    /// The boot GHCB page (in .boot.bss, linked at its physical place).
    static boot_ghcb: u8;
}

/// What boot learnt, kept for the life of the guest.
struct Snp {
    c_bit: u64,
    cpuid: CpuidPage,
    boot_ghcb: Vaddr,
}

static SNP: Once<Snp> = Once::new();

/// Reasons this module asks the host to end the guest with (reason set 1, ours).
mod fatal {
    pub(super) const SEV_INFO: u8 = 0x10;
    pub(super) const C_BIT_DISAGREES: u8 = 0x11;
    pub(super) const NO_SNP_SUPPORT: u8 = 0x12;
    pub(super) const NO_CC_BLOB: u8 = 0x13;
    pub(super) const BAD_CPUID_PAGE: u8 = 0x14;
    pub(super) const CPUID: u8 = 0x15;
    pub(super) const NOT_VMPL0: u8 = 0x16;
    pub(super) const IMAGE_ABOVE_4G: u8 = 0x17;
}

fn die(code: u8) -> ! {
    hw::terminate(TerminationReason::new(1, code).unwrap_or(TerminationReason::GENERAL))
}

/// Returns whether entry.S found SEV-SNP on: answerable from the first Rust instruction,
/// without CPUID (which would raise a #VC). Read once.
pub(crate) fn active_at_boot() -> bool {
    static ACTIVE: Once<bool> = Once::new();
    *ACTIVE.call_once(|| read_boot_word(&raw const boot_sev_status) != 0)
}

fn boot_c_bit_mask() -> u64 {
    read_boot_word(&raw const boot_c_bit)
}

/// Reads a word entry.S wrote in .boot.data, through the image's higher-half mapping: the
/// symbol is linked at its physical place, whose identity mapping is gone once the kernel's
/// page tables are live (the console asks [`active_at_boot`] after that too).
fn read_boot_word(link: *const u64) -> u64 {
    let high = (KERNEL_VMA + link as u64) as *const u64;
    // SAFETY: entry.S writes both words once, before any Rust runs, and nothing writes them
    // after; .boot.data is part of the image, which the boot and kernel page tables both map
    // at KERNEL_VMA + its link address for the kernel's lifetime; the words are 8-aligned.
    unsafe { high.read_volatile() }
}

/// The C-bit's mask (0 before [`early_init`]).
pub(crate) fn c_bit() -> u64 {
    SNP.get().map_or(0, |snp| snp.c_bit)
}

/// Brings SNP up far enough for the console and CPUID: runs first in `ostd_boot_entry`
/// under SNP, on the boot page tables. `load_offset` is where the image really is minus its
/// link address; `efi_system_table` the firmware's (SNP guests boot through OVMF).
pub(crate) fn early_init(load_offset: u64, efi_system_table: Option<u64>) {
    let c_bit = boot_c_bit_mask();
    let info = SevInfo::decode(hw::msr_protocol(msr_protocol::sev_info_request()))
        .unwrap_or_else(|_| die(fatal::SEV_INFO));
    // The host's claim must agree with the firmware's answer entry.S used.
    if info.c_bit_mask() != c_bit {
        die(fatal::C_BIT_DISAGREES);
    }
    let features =
        HypervisorFeatures::decode(hw::msr_protocol(msr_protocol::hypervisor_features_request()))
            .unwrap_or_else(|_| die(fatal::NO_SNP_SUPPORT));
    if !features.contains(HypervisorFeatures::SNP) {
        die(fatal::NO_SNP_SUPPORT);
    }

    // Features that need the guest's help (vTOM, restricted injection, Secure TSC, ...) and
    // reserved bits: refuse, as Linux does, rather than misbehave later.
    if sev_status::unsupported(read_boot_word(&raw const boot_sev_status)) != 0 {
        hw::terminate(TerminationReason::SNP_UNSUPPORTED);
    }

    let link = &raw const boot_ghcb as u64;
    let paddr = link + load_offset;
    // The boot page tables map the direct map's first 4 GiB only, and the GHCB page is
    // validated and rescinded through it.
    if paddr >= 1 << 32 {
        die(fatal::IMAGE_ABOVE_4G);
    }
    let private_alias = PHYS_OFFSET + paddr;
    // Under an SVSM (a lower VMPL) PVALIDATE faults and VMPCK0 is not ours: say so now.
    // SAFETY: the page is the image's own, which the firmware validated when it loaded it,
    // and nothing has rescinded it yet.
    if !unsafe { hw::running_at_vmpl0(private_alias) } {
        die(fatal::NOT_VMPL0);
    }
    ghcb::init(KERNEL_VMA + link, paddr, private_alias);

    let blob = efi_system_table
        .and_then(|st| crate::boot::efi_config_table(st, CC_BLOB_GUID))
        .and_then(crate::boot::read_firmware::<CC_BLOB_SIZE>)
        .and_then(|bytes| CcBlob::parse(&bytes).ok())
        .unwrap_or_else(|| die(fatal::NO_CC_BLOB));
    let cpuid = crate::boot::read_firmware::<CPUID_PAGE_SIZE>(blob.cpuid_paddr)
        .and_then(|page| CpuidPage::parse(&page).ok())
        .unwrap_or_else(|| die(fatal::BAD_CPUID_PAGE));
    // The page the PSP checked must say the same C-bit position (EBX[5:0] of 0x8000001f).
    let from_page = match cpuid.lookup(0x8000_001f, 0, &GuestCpuState::default()) {
        Ok(CpuidAnswer::Ready(regs)) => 1u64 << (regs.ebx & 0x3f),
        _ => die(fatal::BAD_CPUID_PAGE),
    };
    if from_page != c_bit {
        die(fatal::C_BIT_DISAGREES);
    }
    if let Some(mut page) = crate::boot::read_firmware::<SECRETS_PAGE_SIZE>(blob.secrets_paddr) {
        guest_request::init(&SecretsPage::parse(&page));
        page.zeroize();
    }
    SNP.call_once(|| Snp { c_bit, cpuid, boot_ghcb: KERNEL_VMA + link });
}

/// The boot GHCB's higher-half address, which the kernel page table maps shared.
pub(crate) fn boot_ghcb_vaddr() -> Option<Vaddr> {
    SNP.get().map(|snp| snp.boot_ghcb)
}

/// The page tables' visibility bits under SNP: the C-bit on private entries.
pub(crate) fn visibility_bits() -> (u64, u64) {
    (c_bit(), 0)
}

/// Answers CPUID from the CPUID page, asking the host only for the per-vCPU fields. A leaf
/// the page lacks reads as zeros, as on a CPU without it (the page's own rule).
///
/// # Errors
/// The page cannot size the XSAVE area asked for, or the host's per-vCPU answer was refused:
/// never answered with zeros, which a program would trust (Linux terminates the guest).
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> Result<CpuidRegs, SnpError> {
    let Some(snp) = SNP.get() else { return Ok(CpuidRegs::default()) };
    let guest = guest_cpu_state();
    match snp.cpuid.lookup(leaf, subleaf, &guest) {
        Ok(CpuidAnswer::Ready(regs)) => Ok(regs),
        Ok(CpuidAnswer::NeedsHost(fixup)) => {
            let host = host_cpuid(fixup.leaf(), fixup.subleaf(), guest.xcr0)?;
            Ok(fixup.complete(host))
        }
        Err(e) => Err(SnpError::Cpuid(e)),
    }
}

/// [`cpuid`] for the kernel's own questions, which have no one to hand an error to: a failure
/// ends the guest.
pub(crate) fn kernel_cpuid(leaf: u32, subleaf: u32) -> CpuidRegs {
    cpuid(leaf, subleaf).unwrap_or_else(|_| die(fatal::CPUID))
}

fn guest_cpu_state() -> GuestCpuState {
    use x86_64::registers::control::{Cr4, Cr4Flags};
    let cr4 = Cr4::read();
    let osxsave = cr4.contains(Cr4Flags::OSXSAVE);
    // XSS is left at 0: only the XSAVES size of leaf 0xd sub-leaf 1 reflects it, and OSTD
    // enables no supervisor state.
    GuestCpuState {
        osxsave,
        pke: cr4.contains(Cr4Flags::PROTECTION_KEY_USER),
        xcr0: if osxsave { x86_64::registers::xcontrol::XCr0::read_raw() } else { 1 },
        xss: 0,
    }
}

fn host_cpuid(leaf: u32, subleaf: u32, xcr0: u64) -> Result<CpuidRegs, SnpError> {
    let mut request = GhcbWriter::new(ExitCode::Cpuid, 0, 0);
    request
        .set(GhcbField::Rax, u64::from(leaf))
        .set(GhcbField::Rcx, u64::from(subleaf))
        .set(GhcbField::Xcr0, xcr0);
    ghcb::exchange(&request, |r| {
        Ok(CpuidRegs {
            eax: r.get(GhcbField::Rax)? as u32,
            ebx: r.get(GhcbField::Rbx)? as u32,
            ecx: r.get(GhcbField::Rcx)? as u32,
            edx: r.get(GhcbField::Rdx)? as u32,
        })
    })
    .map_err(SnpError::Ghcb)
}

/// Reads `size` bytes (1, 2 or 4) from `port` through the GHCB. A host that fails the
/// exchange reads as all ones, what an absent port gives.
pub(crate) fn io_read(size: u8, port: u16) -> u32 {
    vc::port_in(port, size).unwrap_or(u32::MAX >> (32 - 8 * u32::from(size.clamp(1, 4))))
}

/// Writes `value` (`size` bytes) to `port` through the GHCB; a refused write is dropped.
pub(crate) fn io_write(size: u8, port: u16, value: u32) {
    let _ = vc::port_out(port, size, value);
}

/// Makes the `count` frames at `paddr` shared: rescinded, converted, then mapped without the
/// C-bit. Once the first page is rescinded a failure strands the frames.
pub(super) fn convert_to_shared(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    let gfn = Gfn::containing(paddr).ok_or(TeeError::Unaligned(paddr))?;
    let stranded = |what: &str| {
        log::error!("snp: {what} of {paddr:#x}+{count} frames to shared failed");
        TeeError::Stranded
    };
    for i in 0..count as u64 {
        let vaddr = PHYS_OFFSET + paddr + i * PAGE_SIZE as u64;
        // SAFETY: the shared pool owns these frames and uses none of them until the
        // conversion is done; afterwards they are reached only without the C-bit.
        if let Err(e) = unsafe { hw::pvalidate(vaddr, false, false) } {
            log::error!("snp: PVALIDATE rescind of {:#x}: {e:?}", paddr + i * PAGE_SIZE as u64);
            return Err(stranded("rescinding"));
        }
    }
    page_state_change(gfn, count as u64, PageStateOp::Shared).map_err(|_| stranded("PSC"))?;
    crate::mm::set_direct_map_visibility(paddr, count, Visibility::Shared)
        .map_err(|_| stranded("unmapping the private alias"))
}

/// Takes the `count` frames at `paddr` back: the C-bit first, then the page-state change,
/// then PVALIDATE. Any failure strands the frames.
pub(super) fn convert_to_private(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    crate::mm::set_direct_map_visibility(paddr, count, Visibility::Private).map_err(|_| {
        log::error!("snp: mapping {paddr:#x}+{count} frames private failed");
        TeeError::Stranded
    })?;
    accept(paddr, (count * PAGE_SIZE) as u64).map_err(|e| {
        log::error!("snp: taking {paddr:#x}+{count} frames back failed: {e}");
        TeeError::Stranded
    })
}

/// Makes `len` bytes at `start` private and validated: the page-state change (2 MiB entries
/// where the range allows), then PVALIDATE, 2 MiB at a time where it can, 4 KiB where the
/// RMP holds smaller pages. A page that was validated already is an error: the host may
/// have swapped it (Linux treats it the same).
pub(super) fn accept(start: Paddr, len: u64) -> Result<(), TeeError> {
    const HUGE: u64 = 2 << 20;
    if !start.is_multiple_of(PAGE_SIZE as u64) || !len.is_multiple_of(PAGE_SIZE as u64) {
        return Err(TeeError::Unaligned(start));
    }
    let gfn = Gfn::containing(start).ok_or(TeeError::Unaligned(start))?;
    page_state_change(gfn, len / PAGE_SIZE as u64, PageStateOp::Private)?;
    let end = start + len;
    let mut pa = start;
    while pa < end {
        let huge = pa.is_multiple_of(HUGE) && end - pa >= HUGE;
        // SAFETY: the range is the caller's: free frames the allocator is about to hand out,
        // or shared-pool frames coming back, none in use; their contents are not trusted.
        match unsafe { hw::pvalidate(PHYS_OFFSET + pa, huge, true) } {
            Ok(()) => pa += if huge { HUGE } else { PAGE_SIZE as u64 },
            Err(PvalidateError::Failed(PvalidateError::SIZE_MISMATCH)) if huge => {
                for page in (pa..pa + HUGE).step_by(PAGE_SIZE) {
                    // SAFETY: as above, one 4 KiB page of the same range.
                    unsafe { hw::pvalidate(PHYS_OFFSET + page, false, true) }.map_err(|e| {
                        TeeError::Snp(SnpError::Pvalidate { paddr: page, error: e })
                    })?;
                }
                pa += HUGE;
            }
            Err(error) => return Err(TeeError::Snp(SnpError::Pvalidate { paddr: pa, error })),
        }
    }
    Ok(())
}

/// How many times a host may return from a page-state change without progress before the
/// guest gives up on it.
const PSC_STALLS_ALLOWED: u32 = 16;

/// Asks the host to make `count` frames from `start` `op`, batch by batch through the GHCB's
/// shared buffer, checking how far it got each time.
fn page_state_change(start: Gfn, count: u64, op: PageStateOp) -> Result<(), TeeError> {
    let plan =
        PscPlan::new(start, count, op, true).map_err(|_| TeeError::Unaligned(start.gpa()))?;
    for mut batch in plan {
        let mut stalls = 0;
        loop {
            let mut request = GhcbWriter::new(ExitCode::SnpPageStateChange, 0, 0);
            batch.write_request(request.shared_buffer_mut());
            request.set(GhcbField::SwScratch, ghcb::shared_buffer_gpa());
            let progress = ghcb::exchange(&request, |r| {
                let info2 = r.get(GhcbField::SwExitInfo2)?;
                Ok(batch.check_response(r.shared_buffer(), info2))
            })?
            .map_err(|e| TeeError::Snp(SnpError::PageStateChange(e)))?;
            match progress {
                PscProgress::Complete => break,
                PscProgress::Partial { .. } => stalls = 0,
                PscProgress::Stalled { .. } => {
                    stalls += 1;
                    if stalls > PSC_STALLS_ALLOWED {
                        return Err(TeeError::Snp(SnpError::PageStateChangeStalled));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Returns the attestation report binding `report_data`, from the PSP.
pub(super) fn report(report_data: &[u8; 64]) -> Result<Vec<u8>, TeeError> {
    guest_request::report(report_data)
}

/// Returns the report binding `report_data` and, if the host has one, its certificate
/// table (copied out of the shared buffer once, not parsed here).
pub(super) fn extended_report(
    report_data: &[u8; 64],
    vmpl: u32,
) -> Result<(Vec<u8>, Option<Vec<u8>>), TeeError> {
    guest_request::extended_report(report_data, vmpl)
}

/// Why an SNP primitive failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnpError {
    /// The host's answer in the GHCB was refused.
    Ghcb(tee_abi::snp::ghcb::GhcbError),
    /// PVALIDATE refused a page.
    Pvalidate {
        /// The page.
        paddr: Paddr,
        /// What it answered.
        error: PvalidateError,
    },
    /// The host's page-state-change answer does not fit the request.
    PageStateChange(tee_abi::snp::psc::PscError),
    /// The host kept returning from a page-state change without doing any of it.
    PageStateChangeStalled,
    /// A guest message failed (the key may now be disabled).
    GuestMessage(tee_abi::snp::guest_msg::GuestMsgError),
    /// The PSP's report response is malformed.
    Report(tee_abi::snp::report::ReportError),
    /// The firmware left no usable VMPCK0 in the secrets page.
    NoVmpck,
    /// The CPUID page cannot answer (an XSAVE size it lacks).
    Cpuid(tee_abi::snp::cpuid_page::CpuidError),
}

impl core::fmt::Display for SnpError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Self::Ghcb(e) => write!(f, "GHCB: {e}"),
            Self::Pvalidate { paddr, error } => write!(f, "PVALIDATE of {paddr:#x}: {error:?}"),
            Self::PageStateChange(e) => write!(f, "page-state change: {e}"),
            Self::PageStateChangeStalled => f.write_str("the host stalled a page-state change"),
            Self::GuestMessage(e) => write!(f, "guest message: {e}"),
            Self::Report(e) => write!(f, "report: {e}"),
            Self::Cpuid(e) => write!(f, "CPUID: {e}"),
            Self::NoVmpck => f.write_str("the secrets page holds no VMPCK0"),
        }
    }
}

impl From<tee_abi::snp::ghcb::GhcbError> for TeeError {
    fn from(e: tee_abi::snp::ghcb::GhcbError) -> Self {
        Self::Snp(SnpError::Ghcb(e))
    }
}
