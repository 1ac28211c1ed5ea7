//! TDCALL leaves: numbers, input registers, output decoding, completion status.
//!
//! Expected values are written from the TDX Module ABI spec tables and Linux's
//! `arch/x86/include/asm/shared/tdx.h` / `arch/x86/coco/tdx/tdx.c`, not from this crate.
#![forbid(unsafe_code)]

use tee_abi::tdx::TdxError;
use tee_abi::tdx::accept_page::{AcceptOutcome, accept_outcome, largest_level};
use tee_abi::tdx::gpa::{Gpa, GpaWidth, PageLevel};
use tee_abi::tdx::status::{TdxStatus, TdxStatusKind};
use tee_abi::tdx::td_info::{TdAttributes, decode_vp_info};
use tee_abi::tdx::tdcall::{
    RtmrIndex, TdcallLeaf, TdcallRegs, TdcsField, decode_veinfo, decode_vm_rd, decode_vm_wr,
    disable_notifications, mem_page_accept, mr_report, mr_rtmr_extend, vm_rd, vm_wr,
    vp_cpuidve_set, vp_info, vp_veinfo_get,
};

const SHARED_48: u64 = 1 << 47;

fn shared48() -> tee_abi::tdx::SharedBit {
    GpaWidth::Bits48.shared_bit()
}

#[test]
fn leaf_numbers_match_the_abi_spec() {
    assert_eq!(TdcallLeaf::VpVmcall as u64, 0);
    assert_eq!(TdcallLeaf::VpInfo as u64, 1);
    assert_eq!(TdcallLeaf::MrRtmrExtend as u64, 2);
    assert_eq!(TdcallLeaf::VpVeinfoGet as u64, 3);
    assert_eq!(TdcallLeaf::MrReport as u64, 4);
    assert_eq!(TdcallLeaf::VpCpuidveSet as u64, 5);
    assert_eq!(TdcallLeaf::MemPageAccept as u64, 6);
    assert_eq!(TdcallLeaf::VmRd as u64, 7);
    assert_eq!(TdcallLeaf::VmWr as u64, 8);
    assert_eq!(vp_info().rax, 1);
    assert_eq!(vp_veinfo_get().rax, 3);
}

fn vp_info_out(rcx: u64, rdx: u64, r8: u64, r9: u64, r10: u64) -> TdcallRegs {
    TdcallRegs { rax: 0, rcx, rdx, r8, r9, r10, ..TdcallRegs::default() }
}

#[test]
fn vp_info_gpaw_gives_the_shared_bit() {
    let info = decode_vp_info(&vp_info_out(48, 0, (4 << 32) | 4, 2, 0)).unwrap();
    assert_eq!(info.gpa_width, GpaWidth::Bits48);
    assert_eq!(info.shared_bit().index(), 47);
    assert_eq!(info.shared_bit().mask(), 0x0000_8000_0000_0000);
    let info = decode_vp_info(&vp_info_out(52, 0, (1 << 32) | 1, 0, 0)).unwrap();
    assert_eq!(info.shared_bit().index(), 51);
    assert_eq!(info.shared_bit().mask(), 0x0008_0000_0000_0000);
    // RCX[63:6] is not part of GPAW.
    let info = decode_vp_info(&vp_info_out(0xffff_ffc0 | 52, 0, 1 << 32, 0, 0)).unwrap();
    assert_eq!(info.gpa_width, GpaWidth::Bits52);
}

#[test]
fn vp_info_other_gpaw_is_refused() {
    for gpaw in [0, 1, 39, 47, 49, 51, 53, 63] {
        assert_eq!(
            decode_vp_info(&vp_info_out(gpaw, 0, 1 << 32, 0, 0)),
            Err(TdxError::Unrecognised { field: "TDG.VP.INFO RCX[5:0] (GPAW)", value: gpaw })
        );
    }
}

#[test]
fn vp_info_attributes_and_vcpus() {
    // DEBUG (0), SEPT_VE_DISABLE (28), PKS (30), PERFMON (63).
    let attributes = (1 << 0) | (1 << 28) | (1 << 30) | (1 << 63);
    let info = decode_vp_info(&vp_info_out(48, attributes, (8 << 32) | 3, 2, 1)).unwrap();
    assert!(info.attributes.debug());
    assert!(info.attributes.sept_ve_disable());
    assert!(info.attributes.pks());
    assert!(info.attributes.perfmon());
    assert!(!info.attributes.migratable());
    assert_eq!(info.num_vcpus, 3);
    assert_eq!(info.max_vcpus, 8);
    assert_eq!(info.vcpu_index, 2);
    assert!(info.sys_rd_available);
    let plain = decode_vp_info(&vp_info_out(48, 1 << 29, 1 << 32, 0, 0)).unwrap();
    assert!(plain.attributes.migratable());
    assert!(!plain.attributes.debug());
    assert!(!plain.sys_rd_available);
}

#[test]
fn vp_info_vcpu_counts_are_checked() {
    assert_eq!(
        decode_vp_info(&vp_info_out(48, 0, 0, 0, 0)),
        Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R8[63:32] (MAX_VCPUS)",
            value: 0,
            min: 1,
            max: u64::from(u32::MAX)
        })
    );
    assert_eq!(
        decode_vp_info(&vp_info_out(48, 0, (2 << 32) | 3, 0, 0)),
        Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R8[31:0] (NUM_VCPUS)",
            value: 3,
            min: 0,
            max: 2
        })
    );
    assert_eq!(
        decode_vp_info(&vp_info_out(48, 0, (2 << 32) | 2, 2, 0)),
        Err(TdxError::OutOfRange {
            field: "TDG.VP.INFO R9[31:0] (VCPU_INDEX)",
            value: 2,
            min: 0,
            max: 1
        })
    );
}

#[test]
fn failed_tdcall_is_reported_with_leaf_and_status() {
    let out = TdcallRegs { rax: 0xC000_0100_0000_0001, rcx: 48, ..TdcallRegs::default() };
    assert_eq!(
        decode_vp_info(&out),
        Err(TdxError::Tdcall {
            leaf: TdcallLeaf::VpInfo,
            status: TdxStatus::from_raw(0xC000_0100_0000_0001)
        })
    );
}

#[test]
fn rtmr_extend_registers_and_index_check() {
    let regs = mr_rtmr_extend(Gpa::new(0x10_0040), RtmrIndex::new(3).unwrap(), shared48()).unwrap();
    assert_eq!((regs.rax, regs.rcx, regs.rdx), (2, 0x10_0040, 3));
    assert_eq!(
        RtmrIndex::new(4),
        Err(TdxError::OutOfRange {
            field: "TDG.MR.RTMR.EXTEND RDX (RTMR index)",
            value: 4,
            min: 0,
            max: 3
        })
    );
    let index = RtmrIndex::new(0).unwrap();
    assert_eq!(
        mr_rtmr_extend(Gpa::new(0x10_0020), index, shared48()),
        Err(TdxError::Misaligned {
            field: "TDG.MR.RTMR.EXTEND RCX (extend data GPA)",
            value: 0x10_0020,
            align: 64
        })
    );
    assert!(matches!(
        mr_rtmr_extend(Gpa::new(SHARED_48 | 0x1000), index, shared48()),
        Err(TdxError::WrongSharing { want_shared: false, .. })
    ));
}

#[test]
fn mr_report_registers_and_alignment() {
    let regs = mr_report(Gpa::new(0x20_0400), Gpa::new(0x20_0040), shared48()).unwrap();
    assert_eq!((regs.rax, regs.rcx, regs.rdx, regs.r8), (4, 0x20_0400, 0x20_0040, 0));
    assert_eq!(
        mr_report(Gpa::new(0x20_0200), Gpa::new(0x20_0040), shared48()),
        Err(TdxError::Misaligned {
            field: "TDG.MR.REPORT RCX (TDREPORT GPA)",
            value: 0x20_0200,
            align: 1024
        })
    );
    assert_eq!(
        mr_report(Gpa::new(0x20_0400), Gpa::new(0x20_0008), shared48()),
        Err(TdxError::Misaligned {
            field: "TDG.MR.REPORT RDX (REPORTDATA GPA)",
            value: 0x20_0008,
            align: 64
        })
    );
}

#[test]
fn cpuidve_set_bits() {
    assert_eq!(vp_cpuidve_set(true, false).rcx, 1);
    assert_eq!(vp_cpuidve_set(false, true).rcx, 2);
    assert_eq!(vp_cpuidve_set(true, true).rax, 5);
}

#[test]
fn page_accept_puts_the_level_in_rcx_low_bits() {
    let regs = mem_page_accept(Gpa::new(0x4020_0000), PageLevel::Size2M, shared48()).unwrap();
    assert_eq!((regs.rax, regs.rcx), (6, 0x4020_0001));
    let regs = mem_page_accept(Gpa::new(0x7000), PageLevel::Size4K, shared48()).unwrap();
    assert_eq!(regs.rcx, 0x7000);
    let regs = mem_page_accept(Gpa::new(0x4000_0000), PageLevel::Size1G, shared48()).unwrap();
    assert_eq!(regs.rcx, 0x4000_0002);
    assert_eq!(
        mem_page_accept(Gpa::new(0x1000), PageLevel::Size2M, shared48()),
        Err(TdxError::Misaligned {
            field: "TDG.MEM.PAGE.ACCEPT RCX (GPA)",
            value: 0x1000,
            align: 0x20_0000
        })
    );
    assert!(mem_page_accept(Gpa::new(SHARED_48), PageLevel::Size4K, shared48()).is_err());
}

#[test]
fn veinfo_outputs() {
    let out = TdcallRegs {
        rax: 0,
        rcx: 0xdead_0000_0000_0030,
        rdx: 0x181,
        r8: 0xffff_8880_0000_1000,
        r9: SHARED_48 | 0xfed0_0000,
        r10: (0x1234_5678 << 32) | 3,
        ..TdcallRegs::default()
    };
    let info = decode_veinfo(&out).unwrap();
    assert_eq!(info.exit_reason, 48);
    assert_eq!(info.exit_qualification, 0x181);
    assert_eq!(info.guest_linear_address, 0xffff_8880_0000_1000);
    assert_eq!(info.guest_physical_address, Gpa::new(SHARED_48 | 0xfed0_0000));
    assert_eq!(info.instruction_length, 3);
    assert_eq!(info.instruction_info, 0x1234_5678);
    let none = TdcallRegs { rax: 0xC000_0704_0000_0000, ..TdcallRegs::default() };
    assert_eq!(
        decode_veinfo(&none).unwrap_err(),
        TdxError::Tdcall {
            leaf: TdcallLeaf::VpVeinfoGet,
            status: TdxStatus::from_raw(0xC000_0704_0000_0000)
        }
    );
}

#[test]
fn vm_rd_wr_registers() {
    let regs = vm_rd(TdcsField::TD_CTLS);
    assert_eq!((regs.rax, regs.rdx), (7, 0x1110_0003_0000_0017));
    assert_eq!(TdcsField::CONFIG_FLAGS.raw(), 0x1110_0003_0000_0016);
    let regs = vm_wr(TdcsField::TD_CTLS, 1, 1);
    assert_eq!((regs.rax, regs.rdx, regs.r8, regs.r9), (8, 0x1110_0003_0000_0017, 1, 1));
    let regs = disable_notifications();
    assert_eq!((regs.rax, regs.rdx, regs.r8, regs.r9), (8, 0x9100_0000_0000_0010, 0, u64::MAX));
    let out = TdcallRegs { r8: 0x55, ..TdcallRegs::default() };
    assert_eq!(decode_vm_rd(&out), Ok(0x55));
    assert_eq!(decode_vm_wr(&out), Ok(0x55));
}

#[test]
fn status_fields() {
    let status = TdxStatus::from_raw(0xC000_0B0B_0000_0011);
    assert_eq!(status.code(), 0xC000_0B0B);
    assert_eq!(status.details(), 0x11);
    assert_eq!(status.class(), 0x0B);
    assert!(status.is_error());
    assert!(status.is_non_recoverable());
    assert_eq!(status.kind(), TdxStatusKind::PageSizeMismatch);
    let warning = TdxStatus::from_raw(0x0000_0B0A_0000_0000);
    assert!(!warning.is_error());
    assert!(!warning.is_success());
    assert_eq!(warning.kind(), TdxStatusKind::PageAlreadyAccepted);
    let busy = TdxStatus::from_raw(0x8000_0200_0000_0000);
    assert!(busy.is_error() && !busy.is_non_recoverable());
    assert_eq!(busy.kind(), TdxStatusKind::OperandBusy);
    assert_eq!(TdxStatus::from_raw(0xC000_0100_0000_0000).kind(), TdxStatusKind::OperandInvalid);
    assert_eq!(TdxStatus::from_raw(0).kind(), TdxStatusKind::Success);
    assert_eq!(TdxStatus::from_raw(5).kind(), TdxStatusKind::Other);
    assert_eq!(TdxStatus::from_raw(0xE000_0604_0000_0000).kind(), TdxStatusKind::Other);
}

#[test]
fn accept_reactions() {
    let status = TdxStatus::from_raw;
    assert_eq!(accept_outcome(PageLevel::Size2M, status(0)), Ok(AcceptOutcome::Accepted));
    assert_eq!(
        accept_outcome(PageLevel::Size4K, status(0x0000_0B0A_0000_0000)),
        Ok(AcceptOutcome::AlreadyAccepted)
    );
    assert_eq!(
        accept_outcome(PageLevel::Size2M, status(0xC000_0B0B_0000_0000)),
        Ok(AcceptOutcome::RetryAt(PageLevel::Size4K))
    );
    assert_eq!(
        accept_outcome(PageLevel::Size1G, status(0xC000_0B0B_0000_0000)),
        Ok(AcceptOutcome::RetryAt(PageLevel::Size2M))
    );
    assert_eq!(
        accept_outcome(PageLevel::Size2M, status(0x8000_0200_0000_0000)),
        Ok(AcceptOutcome::Busy)
    );
    for (level, raw) in [
        (PageLevel::Size4K, 0xC000_0B0B_0000_0000),
        (PageLevel::Size4K, 0xC000_0100_0000_0001),
        (PageLevel::Size2M, 0xC000_0B00_0000_0000),
    ] {
        assert_eq!(
            accept_outcome(level, status(raw)),
            Err(TdxError::Tdcall { leaf: TdcallLeaf::MemPageAccept, status: status(raw) })
        );
    }
}

#[test]
fn largest_level_picks_the_biggest_aligned_page_that_fits() {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    assert_eq!(largest_level(GIB, 2 * GIB), Some(PageLevel::Size1G));
    assert_eq!(largest_level(GIB, GIB + 2 * MIB), Some(PageLevel::Size2M));
    assert_eq!(largest_level(2 * MIB, GIB), Some(PageLevel::Size2M));
    assert_eq!(largest_level(0x1000, 4 * MIB), Some(PageLevel::Size4K));
    assert_eq!(largest_level(0, 0x1000), Some(PageLevel::Size4K));
    assert_eq!(largest_level(0, 0xfff), None);
    assert_eq!(largest_level(0x800, 0x10000), None);
    assert_eq!(largest_level(5, 3), None);
}

#[test]
fn attributes_bits_are_the_abi_ones() {
    assert_eq!(TdAttributes::DEBUG, 1);
    assert_eq!(TdAttributes::SEPT_VE_DISABLE, 0x1000_0000);
    assert_eq!(TdAttributes::MIGRATABLE, 0x2000_0000);
    assert_eq!(TdAttributes::PKS, 0x4000_0000);
    assert_eq!(TdAttributes::PERFMON, 0x8000_0000_0000_0000);
}
