//! TDG.VP.INFO's answer: the GPA width (hence the shared bit), the TD's attributes and
//! the VCPU counts. The first TDCALL a TDX guest makes, since nothing about shared memory
//! can be done before the shared bit is known.
//!
//! TDX Module ABI spec, TDG.VP.INFO outputs: RCX\[5:0\] GPAW (RCX\[63:6\] reserved), RDX
//! ATTRIBUTES, R8\[31:0\] NUM_VCPUS and R8\[63:32\] MAX_VCPUS, R9\[31:0\] VCPU_INDEX, R10 and R11
//! TDX 1.5 additions (R10 bit 0 SYS_RD: TDG.SYS.RD is available).

use super::error::TdxError;
use super::gpa::{GpaWidth, SharedBit};
use super::tdcall::{TdcallLeaf, TdcallRegs};

/// The TD's ATTRIBUTES, fixed by the host at TDH.MNG.INIT and measured into the TDREPORT.
/// Bit numbers: TDX Module ABI spec, "ATTRIBUTES"; Linux `TDX_ATTR_*` in `shared/tdx.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdAttributes(u64);

impl TdAttributes {
    /// Bit 0 DEBUG: the host can read and write the TD's state. Never trust secrets here.
    pub const DEBUG: u64 = 1 << 0;
    /// Bit 4 HGS_PLUS_PROF (named as Linux names it; a profiling bit).
    pub const HGS_PLUS_PROF: u64 = 1 << 4;
    /// Bit 5 PERF_PROF (named as Linux names it; a profiling bit).
    pub const PERF_PROF: u64 = 1 << 5;
    /// Bit 6 PMT_PROF (named as Linux names it; a profiling bit).
    pub const PMT_PROF: u64 = 1 << 6;
    /// Bit 16 ICSSD (named as Linux names it).
    pub const ICSSD: u64 = 1 << 16;
    /// Bit 27 LASS: linear address space separation allowed.
    pub const LASS: u64 = 1 << 27;
    /// Bit 28 SEPT_VE_DISABLE: no #VE on access to pending/unaccepted private memory.
    pub const SEPT_VE_DISABLE: u64 = 1 << 28;
    /// Bit 29 MIGRATABLE: the TD may be migrated.
    pub const MIGRATABLE: u64 = 1 << 29;
    /// Bit 30 PKS: supervisor protection keys allowed.
    pub const PKS: u64 = 1 << 30;
    /// Bit 31 KL: Key Locker allowed.
    pub const KL: u64 = 1 << 31;
    /// Bit 62 TPA (named as Linux names it).
    pub const TPA: u64 = 1 << 62;
    /// Bit 63 PERFMON: the TD may use the PMU.
    pub const PERFMON: u64 = 1 << 63;

    /// Wraps the raw ATTRIBUTES value.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Whether every bit of `mask` is set.
    pub const fn contains(self, mask: u64) -> bool {
        self.0 & mask == mask
    }

    /// DEBUG: a debuggable TD, whose memory the host can read.
    pub const fn debug(self) -> bool {
        self.contains(Self::DEBUG)
    }

    /// SEPT_VE_DISABLE as the host set it at creation. Not authoritative on a module with
    /// flexible pending-#VE control; see `sept_ve`.
    pub const fn sept_ve_disable(self) -> bool {
        self.contains(Self::SEPT_VE_DISABLE)
    }

    /// PKS: supervisor protection keys may be used.
    pub const fn pks(self) -> bool {
        self.contains(Self::PKS)
    }

    /// PERFMON: the PMU may be used.
    pub const fn perfmon(self) -> bool {
        self.contains(Self::PERFMON)
    }

    /// MIGRATABLE: the TD may be live-migrated.
    pub const fn migratable(self) -> bool {
        self.contains(Self::MIGRATABLE)
    }
}

/// TDG.VP.INFO decoded and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdInfo {
    /// The GPA width.
    pub gpa_width: GpaWidth,
    /// The TD's attributes.
    pub attributes: TdAttributes,
    /// VCPUs initialised so far.
    pub num_vcpus: u32,
    /// The most VCPUs this TD can have.
    pub max_vcpus: u32,
    /// This VCPU's index, below `max_vcpus`: safe to use as an index into a per-VCPU table
    /// of `max_vcpus` entries.
    pub vcpu_index: u32,
    /// R10 bit 0 (TDX 1.5): TDG.SYS.RD is available. False on TDX 1.0, where R10 is 0.
    pub sys_rd_available: bool,
}

impl TdInfo {
    /// The shared bit that follows from the GPA width.
    pub const fn shared_bit(&self) -> SharedBit {
        self.gpa_width.shared_bit()
    }
}

/// Decodes TDG.VP.INFO's outputs. The values come from the TDX module, which is trusted,
/// but they become a shared-bit position and an array index, so they are still checked:
/// a GPAW other than 48/52, MAX_VCPUS of 0, more VCPUs than the maximum, or an index past
/// the maximum are errors rather than silently wrong addresses.
pub fn decode_vp_info(out: &TdcallRegs) -> Result<TdInfo, TdxError> {
    out.check_success(TdcallLeaf::VpInfo)?;
    let gpa_width = GpaWidth::from_raw(out.rcx & 0x3f)?;
    let num_vcpus = out.r8 as u32;
    let max_vcpus = (out.r8 >> 32) as u32;
    let vcpu_index = out.r9 as u32;
    if max_vcpus == 0 {
        return Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R8[63:32] (MAX_VCPUS)",
            value: 0,
            min: 1,
            max: u64::from(u32::MAX),
        });
    }
    if num_vcpus > max_vcpus {
        return Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R8[31:0] (NUM_VCPUS)",
            value: u64::from(num_vcpus),
            min: 0,
            max: u64::from(max_vcpus),
        });
    }
    if vcpu_index >= max_vcpus {
        return Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R9[31:0] (VCPU_INDEX)",
            value: u64::from(vcpu_index),
            min: 0,
            max: u64::from(max_vcpus) - 1,
        });
    }
    Ok(TdInfo {
        gpa_width,
        attributes: TdAttributes::from_raw(out.rdx),
        num_vcpus,
        max_vcpus,
        vcpu_index,
        sys_rd_available: out.r10 & 1 != 0,
    })
}
