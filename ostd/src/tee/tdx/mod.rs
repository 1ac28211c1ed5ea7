//! Intel TDX: runs the register sets `tee_abi::tdx` builds (and checks the answers with it)
//! through the `tdx-guest` crate's TDCALL and TDG.VP.VMCALL stubs.
//!
//! Written to the TDX module ABI and GHCI specifications; not run here (no TDX hardware, and
//! QEMU TCG does not emulate it). What runs on the host is `tee-abi`'s tests of every
//! encoding used below.
//!
//! - Boot: TDG.VP.INFO gives the GPA width, hence the shared bit ([`init`]).
//! - Measurement: TDG.MR.RTMR.EXTEND from a private, 64-byte-aligned buffer.
//! - Quotes: GetQuote through a shared buffer, woken by the event-notify interrupt (`quote`).
//! - Reports: TDG.MR.REPORT into a private, 1024-byte-aligned buffer; the RTMRs are read
//!   back from a report.
//! - Port I/O: TDG.VP.VMCALL<Instruction.IO>, so that the console works before, and without,
//!   a #VE handler.
//! - Conversion: to shared, the direct map's entries get the shared bit, then MapGPA maps the
//!   range shared; back to private, MapGPA maps it private, every page is accepted again
//!   (TDG.MEM.PAGE.ACCEPT), and only then does the bit leave the entries (Linux's order). A
//!   conversion that fails part way strands the frames (`TeeError::Stranded`): leaked.
//! - Boot also settles SEPT #VE (`settle_sept_ve`): off, or the TD does not run.

pub(crate) mod quote;
pub(crate) mod ve;

use alloc::vec::Vec;

use spin::Once;
use tee_abi::tdx::accept_range::RangeAcceptor;
use tee_abi::tdx::error::TdxError;
use tee_abi::tdx::gpa::Gpa;
use tee_abi::tdx::map_gpa::{MapGpa, MapGpaStep, MapTarget};
use tee_abi::tdx::td_info::{TdInfo, decode_vp_info};
use tee_abi::tdx::tdcall::{self, RtmrIndex, TdcallRegs};
use tee_abi::tdx::tdreport::{self, TDREPORT_LEN};
use tee_abi::tdx::tdvmcall::{self, IoSize, TdvmcallRegs};

use super::{MrIndex, TeeError};
use crate::mm::{Frame, PAGE_SIZE, Paddr, Visibility};

static INFO: Once<TdInfo> = Once::new();

/// Runs one TDCALL with `regs` and returns the registers after it (RAX: the status).
fn run(regs: TdcallRegs) -> TdcallRegs {
    let mut args = tdx_guest::tdcall::TdcallArgs {
        rax: regs.rax,
        rcx: regs.rcx,
        rdx: regs.rdx,
        r8: regs.r8,
        r9: regs.r9,
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
    };
    // Only the leaves built in this module are run:
    // - VP.INFO, VP.VEINFO.GET, VM.RD and VM.WR (TD_CTLS' pending-#VE bit): registers only;
    // - RTMR.EXTEND and MR.REPORT, whose GPAs are private frames the caller owns for the
    //   call (the module reads the 48 bytes of extend data, and writes the report only inside
    //   the first 1024 bytes of a frame nothing else uses);
    // - MEM.PAGE.ACCEPT, on frames nothing references: shared-pool frames just mapped back
    //   to private (`convert_to_private`, whose direct-map entries still carry the shared
    //   bit, so no private mapping is used until they are accepted), or free frames the
    //   allocator accepts before handing them out (`frame_alloc`). Accepting changes only
    //   their contents (zeroed where they were pending).
    // SAFETY: every leaf run is one of those above, each naming only memory it may touch.
    let status = unsafe { tdx_guest::tdcall::td_call_raw(&mut args) };
    TdcallRegs {
        rax: status,
        rcx: args.rcx,
        rdx: args.rdx,
        r8: args.r8,
        r9: args.r9,
        r10: args.r10,
        r11: args.r11,
        r12: args.r12,
        r13: args.r13,
    }
}

/// Runs one TDG.VP.VMCALL with `regs` and returns the registers after it.
fn vmcall(regs: TdvmcallRegs) -> TdvmcallRegs {
    let mut args = tdx_guest::tdvmcall::TdVmcallArgs {
        r10: regs.r10,
        r11: regs.r11,
        r12: regs.r12,
        r13: regs.r13,
        r14: regs.r14,
        r15: regs.r15,
        ..Default::default()
    };
    // Only these are asked here, none of which touches guest memory the VMM may not:
    // - Instruction.CPUID/HLT/IO/RDMSR/WRMSR and #VE.RequestMMIO (the #VE handler's
    //   emulation: registers and device addresses, no guest memory);
    // - SetupEventNotifyInterrupt (a vector), GetQuote (on a shared-pool buffer the host may
    //   read and write, copied out before use);
    // - MapGPA, naming only frames the shared pool owns: to shared after their direct-map
    //   entries carry the shared bit (they hold nothing private), to private before those
    //   entries lose it (they are accepted before any private mapping is used).
    // The VMM's answers are validated by tee-abi before use.
    // SAFETY: every sub-function asked is one of those above, naming only shared memory.
    let status = unsafe { tdx_guest::tdvmcall::td_vmcall_raw(&mut args) };
    TdvmcallRegs {
        rax: status,
        rcx: regs.rcx,
        r10: args.r10,
        r11: args.r11,
        r12: args.r12,
        r13: args.r13,
        r14: args.r14,
        r15: args.r15,
    }
}

/// Asks the TDX module about this TD (TDG.VP.INFO) and keeps the answer: the GPA width,
/// hence the shared bit, and the TD's attributes.
pub(super) fn init() -> Result<&'static TdInfo, TdxError> {
    if let Some(info) = INFO.get() {
        return Ok(info);
    }
    let out = run(tdcall::vp_info());
    out.check_success(tdcall::TdcallLeaf::VpInfo)?;
    let info = decode_vp_info(&out)?;
    Ok(INFO.call_once(|| info))
}

/// Makes sure the host cannot make a private page pending and have the guest take a #VE at
/// an arbitrary instruction ("SEPT #VE"), as Linux's `disable_sept_ve()` does: turn it off
/// where the module lets the guest, refuse to run where it cannot be off (a debug TD runs on
/// with a warning). `tee-abi`'s `sept_ve` makes the decisions.
pub(super) fn settle_sept_ve() -> Result<(), TdxError> {
    use tee_abi::tdx::sept_ve::{self, SeptVeDecision, SeptVePlan};
    use tee_abi::tdx::tdcall::{TdcsField, decode_vm_rd, vm_rd};
    let attributes = info()?.attributes;
    // A module without CONFIG_FLAGS (TDX 1.0) fails the read: it reads as "not flexible".
    let flags = decode_vm_rd(&run(vm_rd(TdcsField::CONFIG_FLAGS))).unwrap_or(0);
    let decision = match sept_ve::plan(attributes, flags) {
        SeptVePlan::Decided(decision) => decision,
        SeptVePlan::ReadTdCtls => {
            let td_ctls = decode_vm_rd(&run(vm_rd(TdcsField::TD_CTLS)))?;
            sept_ve::decide_from_td_ctls(attributes, td_ctls)
        }
    };
    match decision {
        SeptVeDecision::AlreadyDisabled => {}
        SeptVeDecision::Disable => {
            run(sept_ve::disable_write()).check_success(tdcall::TdcallLeaf::VmWr)?;
        }
        SeptVeDecision::KeepForDebug | SeptVeDecision::MisconfiguredDebugTolerated => {
            log::warn!("tdx: SEPT #VE stays on in this debug TD ({decision:?})");
        }
        SeptVeDecision::Misconfigured => {
            panic!("TD misconfiguration: SEPT_VE_DISABLE must be set (ATTRIBUTES {attributes:?})")
        }
    }
    Ok(())
}

fn info() -> Result<&'static TdInfo, TdxError> {
    init()
}

/// Extends RTMR `index` with `digest` (TDG.MR.RTMR.EXTEND).
pub(super) fn extend(index: MrIndex, digest: &[u8; 48]) -> Result<(), TeeError> {
    let shared = info()?.shared_bit();
    let index = RtmrIndex::new(index.as_usize() as u64)?;
    // A fresh private frame: page-aligned, so 64-byte aligned, and nobody else's.
    let frame = Frame::alloc_zeroed().ok_or(TeeError::OutOfMemory)?;
    frame.write_bytes(0, digest);
    let regs = tdcall::mr_rtmr_extend(Gpa::new(frame.paddr()), index, shared)?;
    Ok(run(regs).check_success(tdcall::TdcallLeaf::MrRtmrExtend)?)
}

/// Returns the TDREPORT binding `report_data` (TDG.MR.REPORT).
pub(super) fn report(report_data: &[u8; 64]) -> Result<Vec<u8>, TeeError> {
    let shared = info()?.shared_bit();
    // One private frame: the report at 0 (1024-aligned), the report data at 1024 (64-aligned).
    let frame = Frame::alloc_zeroed().ok_or(TeeError::OutOfMemory)?;
    frame.write_bytes(TDREPORT_LEN, report_data);
    let base = frame.paddr();
    let regs = tdcall::mr_report(Gpa::new(base), Gpa::new(base + TDREPORT_LEN as u64), shared)?;
    run(regs).check_success(tdcall::TdcallLeaf::MrReport)?;
    let mut report = alloc::vec![0u8; TDREPORT_LEN];
    frame.read_bytes(0, &mut report);
    Ok(report)
}

/// Returns RTMR0..3, read from a fresh TDREPORT.
pub(super) fn registers() -> Result<[[u8; 48]; 4], TeeError> {
    let bytes = report(&[0; 64])?;
    let mut report = [0u8; TDREPORT_LEN];
    report.copy_from_slice(&bytes);
    Ok(tdreport::rtmrs(&report))
}

/// Reads `size` bytes from `port` through the VMM (Instruction.IO). A VMM that fails the
/// call reads as all ones, what a read of an absent port gives.
pub(crate) fn io_read(size: IoSize, port: u16) -> u32 {
    let out = vmcall(tdvmcall::io_read(size, port));
    tdvmcall::decode_io_read(size, &out).unwrap_or(size.mask() as u32)
}

/// Writes `value` (`size` bytes) to `port` through the VMM (Instruction.IO). A write the
/// VMM refuses is dropped, as a write to an absent port is.
pub(crate) fn io_write(size: IoSize, port: u16, value: u32) {
    let _ = vmcall(tdvmcall::io_write(size, port, value));
}

/// Makes the `count` frames at `paddr` shared with the host: the shared bit in their
/// direct-map entries (all or nothing), then MapGPA.
///
/// Errors keep the pool's contract: before MapGPA the entries are put back and the frames
/// are private (any error but [`TeeError::Stranded`]); once MapGPA was asked, a failure may
/// have converted part of the range, so the frames are [`TeeError::Stranded`]: in neither
/// state, never to be used again.
pub(super) fn convert_to_shared(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    let shared = info()?.shared_bit();
    let mut map = MapGpa::new(Gpa::new(paddr), bytes(count), MapTarget::Shared, shared)?;
    crate::mm::flush_cache_lines(paddr, count);
    crate::mm::set_direct_map_visibility(paddr, count, Visibility::Shared)
        .map_err(|_| TeeError::OutOfMemory)?;
    map_gpa(&mut map).map_err(|e| {
        log::error!("tdx: MapGPA to shared of {paddr:#x}+{count} frames failed: {e}");
        TeeError::Stranded
    })
}

/// Takes the `count` frames at `paddr` back, in Linux's order (`tdx_enc_status_changed`):
/// MapGPA maps them private, each page is accepted again, and only then does the shared bit
/// leave their direct-map entries, so that no private mapping ever points at a page the host
/// still has. Any failure strands the frames ([`TeeError::Stranded`]): the pool leaks them.
pub(super) fn convert_to_private(paddr: Paddr, count: usize) -> Result<(), TeeError> {
    let shared = info()?.shared_bit();
    let mut map = MapGpa::new(Gpa::new(paddr), bytes(count), MapTarget::Private, shared)?;
    let stranded = |what: &str, e: TeeError| {
        log::error!("tdx: {what} of {paddr:#x}+{count} frames back to private failed: {e}");
        TeeError::Stranded
    };
    map_gpa(&mut map).map_err(|e| stranded("MapGPA", e))?;
    accept(paddr, bytes(count)).map_err(|e| stranded("accepting", e))?;
    // Every entry is a 4 KiB one since the conversion to shared split them: cannot fail.
    crate::mm::set_direct_map_visibility(paddr, count, Visibility::Private)
        .map_err(|_| stranded("unmapping the shared alias", TeeError::OutOfMemory))
}

fn bytes(count: usize) -> u64 {
    (count * PAGE_SIZE) as u64
}

/// Runs MapGPA until the VMM has mapped the whole range, or refuses.
fn map_gpa(map: &mut MapGpa) -> Result<(), TeeError> {
    let mut regs = map.regs();
    loop {
        match map.on_answer(&vmcall(regs))? {
            MapGpaStep::Done => return Ok(()),
            MapGpaStep::Again(next) => regs = next,
        }
    }
}

/// Accepts `len` bytes of private memory at `start` (TDG.MEM.PAGE.ACCEPT, the largest pages
/// that fit, smaller where the host mapped smaller ones).
pub(super) fn accept(start: Paddr, len: u64) -> Result<(), TeeError> {
    let shared = info()?.shared_bit();
    let end = start.checked_add(len).ok_or(TeeError::Unaligned(start))?;
    let mut acceptor = RangeAcceptor::new(Gpa::new(start), Gpa::new(end), shared)?;
    while let Some(regs) = acceptor.next_call() {
        acceptor.on_status(run(regs).status())?;
    }
    Ok(())
}
