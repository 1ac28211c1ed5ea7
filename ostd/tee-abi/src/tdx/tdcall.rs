//! TDCALL leaves (TDG.*) that the guest asks of the TDX module: their numbers, the
//! registers each one takes, and what comes back.
//!
//! TDX Module ABI spec, "TDCALL Instruction Leaf Numbers" and the per-leaf tables under
//! "Guest-Side (TDCALL) Interface Functions". RAX holds the leaf on entry and the completion
//! status on return; the operands live in RCX, RDX and R8 upward. OSTD executes TDCALL with
//! a [`TdcallRegs`] built here (the shape of `tdx-guest`'s `TdcallArgs`) and hands back the
//! registers as they came out for the decoders here to read.
//!
//! TDG.VP.INFO's decoder lives in `td_info`, the TD_CTLS decision in `sept_ve`, and the
//! reaction to TDG.MEM.PAGE.ACCEPT's status in `accept_page`.

use super::error::TdxError;
use super::gpa::{Gpa, PageLevel, SharedBit};
use super::status::TdxStatus;

/// The TDCALL leaf numbers the guest kernel uses (TDX Module ABI spec, "TDCALL Instruction
/// Leaf Numbers"; Linux `arch/x86/include/asm/shared/tdx.h` agrees on each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum TdcallLeaf {
    /// TDG.VP.VMCALL: call the VMM (see `tdvmcall`).
    VpVmcall = 0,
    /// TDG.VP.INFO: GPA width, attributes, VCPU counts.
    VpInfo = 1,
    /// TDG.MR.RTMR.EXTEND: extend a runtime measurement register.
    MrRtmrExtend = 2,
    /// TDG.VP.VEINFO.GET: why the last #VE happened.
    VpVeinfoGet = 3,
    /// TDG.MR.REPORT: produce a TDREPORT_STRUCT bound to REPORTDATA.
    MrReport = 4,
    /// TDG.VP.CPUIDVE.SET: make CPUID #VE unconditionally (or not).
    VpCpuidveSet = 5,
    /// TDG.MEM.PAGE.ACCEPT: accept a pending private page.
    MemPageAccept = 6,
    /// TDG.VM.RD: read a TD-scope metadata field.
    VmRd = 7,
    /// TDG.VM.WR: write a TD-scope metadata field under a mask.
    VmWr = 8,
}

/// The registers of one TDCALL, in and out. RAX carries the leaf in and the status out.
/// Unused registers stay 0: several leaves reserve them and fail on non-zero values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TdcallRegs {
    /// Leaf (in), completion status (out).
    pub rax: u64,
    /// Operand 1.
    pub rcx: u64,
    /// Operand 2.
    pub rdx: u64,
    /// Operand 3.
    pub r8: u64,
    /// Operand 4.
    pub r9: u64,
    /// Operand 5.
    pub r10: u64,
    /// Operand 6.
    pub r11: u64,
    /// Operand 7 (later leaves only).
    pub r12: u64,
    /// Operand 8 (later leaves only).
    pub r13: u64,
}

impl TdcallRegs {
    /// A register set naming `leaf` with every operand 0.
    pub const fn for_leaf(leaf: TdcallLeaf) -> Self {
        Self { rax: leaf as u64, rcx: 0, rdx: 0, r8: 0, r9: 0, r10: 0, r11: 0, r12: 0, r13: 0 }
    }

    /// RAX read as a completion status (meaningful on the output registers).
    pub const fn status(&self) -> TdxStatus {
        TdxStatus::from_raw(self.rax)
    }

    /// Ok if RAX is TDX_SUCCESS, else the error naming `leaf` and the status.
    pub fn check_success(&self, leaf: TdcallLeaf) -> Result<(), TdxError> {
        if self.status().is_success() {
            Ok(())
        } else {
            Err(TdxError::Tdcall { leaf, status: self.status() })
        }
    }
}

/// Length of the data TDG.MR.RTMR.EXTEND hashes into an RTMR: one SHA-384 digest.
pub const RTMR_EXTEND_DATA_LEN: usize = 48;
/// Alignment of the RTMR extend buffer (ABI spec, TDG.MR.RTMR.EXTEND, RCX).
pub const RTMR_EXTEND_DATA_ALIGN: u64 = 64;
/// Alignment of the TDREPORT_STRUCT output (ABI spec, TDG.MR.REPORT, RCX).
pub const TDREPORT_ALIGN: u64 = 1024;
/// Alignment of the REPORTDATA input (ABI spec, TDG.MR.REPORT, RDX).
pub const REPORTDATA_ALIGN: u64 = 64;
/// Length of REPORTDATA.
pub const REPORTDATA_LEN: usize = 64;
/// TDREPORT sub-type 0, the only one TDX 1.0/1.5 define (TDG.MR.REPORT, R8).
pub const TDREPORT_SUBTYPE_0: u64 = 0;

/// One of the four runtime measurement registers RTMR0..=RTMR3. By TD convention RTMR0 is
/// the firmware's, RTMR1 the OS loader's and kernel's, RTMR2/3 the OS's and applications'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtmrIndex(u8);

impl RtmrIndex {
    /// Number of RTMRs a TD has.
    pub const COUNT: u64 = 4;

    /// Checks the index before it reaches the module, which would answer
    /// TDX_OPERAND_INVALID for anything past 3.
    pub fn new(index: u64) -> Result<Self, TdxError> {
        if index < Self::COUNT {
            Ok(Self(index as u8))
        } else {
            Err(TdxError::OutOfRange {
                field: "TDG.MR.RTMR.EXTEND RDX (RTMR index)",
                value: index,
                min: 0,
                max: Self::COUNT - 1,
            })
        }
    }

    /// The index, 0..=3.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// TDG.VP.INFO: no inputs. Decode the answer with `td_info::decode_vp_info`.
pub const fn vp_info() -> TdcallRegs {
    TdcallRegs::for_leaf(TdcallLeaf::VpInfo)
}

/// TDG.MR.RTMR.EXTEND: RCX = GPA of the 48-byte extend data (64-byte aligned, private),
/// RDX = RTMR index.
pub fn mr_rtmr_extend(
    data: Gpa,
    index: RtmrIndex,
    shared: SharedBit,
) -> Result<TdcallRegs, TdxError> {
    const FIELD: &str = "TDG.MR.RTMR.EXTEND RCX (extend data GPA)";
    data.check_aligned(FIELD, RTMR_EXTEND_DATA_ALIGN)?;
    shared.check_private(FIELD, data)?;
    Ok(TdcallRegs {
        rcx: data.raw(),
        rdx: u64::from(index.get()),
        ..TdcallRegs::for_leaf(TdcallLeaf::MrRtmrExtend)
    })
}

/// TDG.MR.REPORT: RCX = GPA of the 1024-byte TDREPORT_STRUCT output (1024-byte aligned),
/// RDX = GPA of the 64-byte REPORTDATA (64-byte aligned), R8 = sub-type 0. Both buffers are
/// private: the module refuses shared ones, and a report must not pass through the host.
pub fn mr_report(
    tdreport: Gpa,
    reportdata: Gpa,
    shared: SharedBit,
) -> Result<TdcallRegs, TdxError> {
    const REPORT: &str = "TDG.MR.REPORT RCX (TDREPORT GPA)";
    const DATA: &str = "TDG.MR.REPORT RDX (REPORTDATA GPA)";
    tdreport.check_aligned(REPORT, TDREPORT_ALIGN)?;
    shared.check_private(REPORT, tdreport)?;
    reportdata.check_aligned(DATA, REPORTDATA_ALIGN)?;
    shared.check_private(DATA, reportdata)?;
    Ok(TdcallRegs {
        rcx: tdreport.raw(),
        rdx: reportdata.raw(),
        r8: TDREPORT_SUBTYPE_0,
        ..TdcallRegs::for_leaf(TdcallLeaf::MrReport)
    })
}

/// TDG.VP.CPUIDVE.SET: RCX bit 0 = #VE on every CPUID at CPL 0, bit 1 = at CPL > 0.
pub const fn vp_cpuidve_set(supervisor: bool, user: bool) -> TdcallRegs {
    let mut regs = TdcallRegs::for_leaf(TdcallLeaf::VpCpuidveSet);
    regs.rcx = (supervisor as u64) | ((user as u64) << 1);
    regs
}

/// TDG.MEM.PAGE.ACCEPT: RCX\[2:0\] = level, RCX\[51:12\] = GPA of a private page aligned to
/// that level; every other bit reserved. React to the status with
/// `accept_page::accept_outcome`.
pub fn mem_page_accept(
    gpa: Gpa,
    level: PageLevel,
    shared: SharedBit,
) -> Result<TdcallRegs, TdxError> {
    const FIELD: &str = "TDG.MEM.PAGE.ACCEPT RCX (GPA)";
    gpa.check_aligned(FIELD, level.size())?;
    shared.check_private(FIELD, gpa)?;
    Ok(TdcallRegs {
        rcx: gpa.raw() | level.raw(),
        ..TdcallRegs::for_leaf(TdcallLeaf::MemPageAccept)
    })
}

/// What TDG.VP.VEINFO.GET reports about the last #VE (ABI spec, TDG.VP.VEINFO.GET outputs;
/// the values a VM exit would have written to the VMCS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VeInfo {
    /// RCX\[31:0\]: the VMX basic exit reason.
    pub exit_reason: u32,
    /// RDX: the exit qualification.
    pub exit_qualification: u64,
    /// R8: the guest linear address.
    pub guest_linear_address: u64,
    /// R9: the guest physical address.
    pub guest_physical_address: Gpa,
    /// R10\[31:0\]: the VM-exit instruction length (undefined for EPT violations).
    pub instruction_length: u32,
    /// R10\[63:32\]: the VM-exit instruction information.
    pub instruction_info: u32,
}

/// TDG.VP.VEINFO.GET: no inputs. Must come first in the #VE handler: until it clears the
/// module's "#VE valid" flag, a nested #VE is a double fault.
pub const fn vp_veinfo_get() -> TdcallRegs {
    TdcallRegs::for_leaf(TdcallLeaf::VpVeinfoGet)
}

/// Decodes TDG.VP.VEINFO.GET's outputs.
pub fn decode_veinfo(out: &TdcallRegs) -> Result<VeInfo, TdxError> {
    out.check_success(TdcallLeaf::VpVeinfoGet)?;
    Ok(VeInfo {
        exit_reason: out.rcx as u32,
        exit_qualification: out.rdx,
        guest_linear_address: out.r8,
        guest_physical_address: Gpa::new(out.r9),
        instruction_length: out.r10 as u32,
        instruction_info: (out.r10 >> 32) as u32,
    })
}

/// A TD-scope metadata field identifier for TDG.VM.RD / TDG.VM.WR (ABI spec, "TD-Scope
/// Metadata Fields"; the values are those Linux uses in `shared/tdx.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdcsField(u64);

impl TdcsField {
    /// TDCS.CONFIG_FLAGS: bit 1 FLEXIBLE_PENDING_VE says the guest may control SEPT #VE.
    pub const CONFIG_FLAGS: Self = Self(0x1110_0003_0000_0016);
    /// TDCS.TD_CTLS: guest-controlled TD behaviour; bit 0 PENDING_VE_DISABLE.
    pub const TD_CTLS: Self = Self(0x1110_0003_0000_0017);
    /// TDCS.NOTIFY_ENABLES: which anomalies the module reports to the guest by #VE.
    pub const NOTIFY_ENABLES: Self = Self(0x9100_0000_0000_0010);

    /// The identifier for RDX.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

/// TDG.VM.RD: RDX = field identifier. The value comes back in R8 (0 on failure).
pub const fn vm_rd(field: TdcsField) -> TdcallRegs {
    let mut regs = TdcallRegs::for_leaf(TdcallLeaf::VmRd);
    regs.rdx = field.raw();
    regs
}

/// The value TDG.VM.RD returned in R8.
pub fn decode_vm_rd(out: &TdcallRegs) -> Result<u64, TdxError> {
    out.check_success(TdcallLeaf::VmRd)?;
    Ok(out.r8)
}

/// TDG.VM.WR: RDX = field identifier, R8 = value, R9 = mask of the bits to write.
pub const fn vm_wr(field: TdcsField, value: u64, mask: u64) -> TdcallRegs {
    let mut regs = TdcallRegs::for_leaf(TdcallLeaf::VmWr);
    regs.rdx = field.raw();
    regs.r8 = value;
    regs.r9 = mask;
    regs
}

/// The field's previous value, which TDG.VM.WR returns in R8.
pub fn decode_vm_wr(out: &TdcallRegs) -> Result<u64, TdxError> {
    out.check_success(TdcallLeaf::VmWr)?;
    Ok(out.r8)
}

/// The write Linux makes at boot so that the module sends no notification #VEs the kernel
/// has no use for: NOTIFY_ENABLES = 0 under an all-ones mask.
pub const fn disable_notifications() -> TdcallRegs {
    vm_wr(TdcsField::NOTIFY_ENABLES, 0, u64::MAX)
}
