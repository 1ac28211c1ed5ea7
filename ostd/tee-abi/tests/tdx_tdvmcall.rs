//! TDG.VP.VMCALL: sub-function numbers and register layouts from the GHCI spec (as Linux
//! and `tdx-guest` use them), answers cut to size, and MapGPA's retry handling.
#![forbid(unsafe_code)]

use tee_abi::tdx::TdxError;
use tee_abi::tdx::gpa::{Gpa, GpaWidth, SharedBit};
use tee_abi::tdx::map_gpa::{MapGpa, MapGpaStep, MapTarget};
use tee_abi::tdx::status::TdxStatus;
use tee_abi::tdx::tdcall::TdcallLeaf;
use tee_abi::tdx::tdvmcall::{
    CpuidResult, IoSize, MmioSize, TdvmcallRegs, VmcallStatus, VmcallStatusKind, VmcallSubfunction,
    cpuid, decode_cpuid, decode_io_read, decode_mmio_read, decode_rdmsr, hlt, io_read, io_write,
    mmio_read, mmio_write, rdmsr, setup_event_notify_interrupt, wrmsr,
};

const SHARED: u64 = 1 << 47;

fn shared() -> SharedBit {
    GpaWidth::Bits48.shared_bit()
}

/// The VMM's answer: RAX 0 (the module is fine), R10 = status, R11.. outputs.
fn answer(r10: u64, r11: u64, r12: u64, r13: u64, r14: u64, r15: u64) -> TdvmcallRegs {
    TdvmcallRegs { rax: 0, rcx: 0, r10, r11, r12, r13, r14, r15 }
}

#[test]
fn subfunction_numbers_match_the_ghci() {
    assert_eq!(VmcallSubfunction::Cpuid as u64, 10);
    assert_eq!(VmcallSubfunction::Hlt as u64, 12);
    assert_eq!(VmcallSubfunction::Io as u64, 30);
    assert_eq!(VmcallSubfunction::Rdmsr as u64, 31);
    assert_eq!(VmcallSubfunction::Wrmsr as u64, 32);
    assert_eq!(VmcallSubfunction::RequestMmio as u64, 48);
    assert_eq!(VmcallSubfunction::MapGpa as u64, 0x10001);
    assert_eq!(VmcallSubfunction::GetQuote as u64, 0x10002);
    assert_eq!(VmcallSubfunction::ReportFatalError as u64, 0x10003);
    assert_eq!(VmcallSubfunction::SetupEventNotifyInterrupt as u64, 0x10004);
}

#[test]
fn every_call_is_a_standard_tdcall_0_exposing_r10_to_r15() {
    let regs = hlt(true);
    assert_eq!(regs.rax, 0);
    assert_eq!(regs.rcx, 0xFC00);
    assert_eq!(regs.r10, 0);
    assert_eq!(regs.r11, 12);
    assert_eq!(regs.r12, 1);
    assert_eq!(hlt(false).r12, 0);
}

#[test]
fn status_codes() {
    let kind = |raw| VmcallStatus::from_raw(raw).kind();
    assert_eq!(kind(0), VmcallStatusKind::Success);
    assert_eq!(kind(1), VmcallStatusKind::Retry);
    assert_eq!(kind(0x8000_0000_0000_0000), VmcallStatusKind::InvalidOperand);
    assert_eq!(kind(0x8000_0000_0000_0001), VmcallStatusKind::GpaInUse);
    assert_eq!(kind(0x8000_0000_0000_0002), VmcallStatusKind::AlignError);
    assert_eq!(kind(2), VmcallStatusKind::Other);
}

#[test]
fn cpuid_layout_and_32_bit_results() {
    let regs = cpuid(0x4000_0001, 7);
    assert_eq!((regs.r11, regs.r12, regs.r13), (10, 0x4000_0001, 7));
    let out = answer(0, 0, 0xffff_ffff_0000_0001, 2, 0x1_0000_0003, 4);
    assert_eq!(decode_cpuid(&out), Ok(CpuidResult { eax: 1, ebx: 2, ecx: 3, edx: 4 }));
}

#[test]
fn io_layout_and_reads_cut_to_size() {
    let regs = io_read(IoSize::Two, 0x3f8);
    assert_eq!((regs.r11, regs.r12, regs.r13, regs.r14), (30, 2, 0, 0x3f8));
    let regs = io_write(IoSize::One, 0x80, 0x1234);
    assert_eq!((regs.r11, regs.r12, regs.r13, regs.r14, regs.r15), (30, 1, 1, 0x80, 0x34));
    let out = answer(0, 0xdead_beef_cafe_f00d, 0, 0, 0, 0);
    assert_eq!(decode_io_read(IoSize::One, &out), Ok(0x0d));
    assert_eq!(decode_io_read(IoSize::Two, &out), Ok(0xf00d));
    assert_eq!(decode_io_read(IoSize::Four, &out), Ok(0xcafe_f00d));
    assert!(IoSize::from_bytes(8).is_err());
    assert_eq!(IoSize::from_bytes(4), Ok(IoSize::Four));
}

#[test]
fn msr_layout() {
    let regs = rdmsr(0x1b);
    assert_eq!((regs.r11, regs.r12), (31, 0x1b));
    assert_eq!(decode_rdmsr(&answer(0, 0xfee0_0900, 0, 0, 0, 0)), Ok(0xfee0_0900));
    let regs = wrmsr(0x6e0, 0x1_2345_6789);
    assert_eq!((regs.r11, regs.r12, regs.r13), (32, 0x6e0, 0x1_2345_6789));
}

#[test]
fn mmio_layout_and_reads_cut_to_size() {
    let gpa = Gpa::new(SHARED | 0xfec0_0010);
    let regs = mmio_read(MmioSize::Four, gpa, shared()).unwrap();
    assert_eq!((regs.r11, regs.r12, regs.r13, regs.r14), (48, 4, 0, SHARED | 0xfec0_0010));
    let regs = mmio_write(MmioSize::Two, gpa, 0xffff_1234, shared()).unwrap();
    assert_eq!((regs.r12, regs.r13, regs.r15), (2, 1, 0x1234));
    let out = answer(0, u64::MAX, 0, 0, 0, 0);
    assert_eq!(decode_mmio_read(MmioSize::One, &out), Ok(0xff));
    assert_eq!(decode_mmio_read(MmioSize::Four, &out), Ok(0xffff_ffff));
    assert_eq!(decode_mmio_read(MmioSize::Eight, &out), Ok(u64::MAX));
}

#[test]
fn mmio_refuses_private_and_page_splitting_targets() {
    assert_eq!(
        mmio_read(MmioSize::Four, Gpa::new(0xfec0_0000), shared()),
        Err(TdxError::WrongSharing {
            field: "#VE.RequestMMIO R14 (GPA)",
            gpa: 0xfec0_0000,
            want_shared: true
        })
    );
    // Bit 48 is above a 48-bit GPA width.
    assert!(mmio_read(MmioSize::One, Gpa::new((1 << 48) | SHARED), shared()).is_err());
    assert!(matches!(
        mmio_write(MmioSize::Eight, Gpa::new(SHARED | 0xffc), 0, shared()),
        Err(TdxError::OutOfRange { .. })
    ));
    assert!(mmio_write(MmioSize::Four, Gpa::new(SHARED | 0xffc), 0, shared()).is_ok());
}

#[test]
fn vmm_and_module_failures_are_told_apart() {
    let refused = answer(0x8000_0000_0000_0000, 0x41, 0, 0, 0, 0);
    assert_eq!(
        decode_io_read(IoSize::One, &refused),
        Err(TdxError::Vmcall {
            subfunction: VmcallSubfunction::Io,
            status: VmcallStatus::from_raw(0x8000_0000_0000_0000)
        })
    );
    let broken = TdvmcallRegs { rax: 0xC000_0100_0000_0000, ..TdvmcallRegs::default() };
    assert_eq!(
        decode_rdmsr(&broken),
        Err(TdxError::Tdcall {
            leaf: TdcallLeaf::VpVmcall,
            status: TdxStatus::from_raw(0xC000_0100_0000_0000)
        })
    );
}

#[test]
fn event_notify_vector_range() {
    assert_eq!(setup_event_notify_interrupt(32).unwrap().r12, 32);
    assert_eq!(setup_event_notify_interrupt(255).unwrap().r11, 0x10004);
    for vector in [0, 31, 256] {
        assert_eq!(
            setup_event_notify_interrupt(vector),
            Err(TdxError::OutOfRange {
                field: "SetupEventNotifyInterrupt R12 (vector)",
                value: vector,
                min: 32,
                max: 255
            })
        );
    }
}

#[test]
fn map_gpa_to_shared_sets_the_shared_bit_in_r12() {
    let request = MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Shared, shared()).unwrap();
    let regs = request.regs();
    assert_eq!((regs.r11, regs.r12, regs.r13), (0x10001, SHARED | 0x10_0000, 0x4000));
    let request = MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Private, shared()).unwrap();
    assert_eq!(request.regs().r12, 0x10_0000);
}

#[test]
fn map_gpa_range_reaching_the_top_of_private_space() {
    let request = MapGpa::new(Gpa::new(SHARED - 0x1000), 0x1000, MapTarget::Shared, shared());
    let regs = request.unwrap().regs();
    assert_eq!((regs.r12, regs.r13), (2 * SHARED - 0x1000, 0x1000));
    assert!(MapGpa::new(Gpa::new(SHARED - 0x1000), 0x2000, MapTarget::Shared, shared()).is_err());
}

#[test]
fn map_gpa_input_checks() {
    let start = Gpa::new(0x10_0000);
    assert!(matches!(
        MapGpa::new(Gpa::new(0x10_0800), 0x1000, MapTarget::Shared, shared()),
        Err(TdxError::Misaligned { .. })
    ));
    assert!(matches!(
        MapGpa::new(start, 0x1800, MapTarget::Shared, shared()),
        Err(TdxError::Misaligned { .. })
    ));
    assert!(matches!(
        MapGpa::new(start, 0, MapTarget::Shared, shared()),
        Err(TdxError::OutOfRange { .. })
    ));
    assert!(matches!(
        MapGpa::new(start, !0xfff, MapTarget::Shared, shared()),
        Err(TdxError::OutOfRange { .. })
    ));
    assert!(matches!(
        MapGpa::new(Gpa::new(SHARED | 0x1000), 0x1000, MapTarget::Private, shared()),
        Err(TdxError::WrongSharing { .. })
    ));
}

#[test]
fn map_gpa_retry_resumes_where_the_vmm_says() {
    let base = SHARED | 0x10_0000;
    let mut request =
        MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Shared, shared()).unwrap();
    let step = request.on_answer(&answer(1, base + 0x2000, 0, 0, 0, 0)).unwrap();
    let MapGpaStep::Again(regs) = step else {
        panic!("expected another call, got {step:?}");
    };
    assert_eq!((regs.r12, regs.r13), (base + 0x2000, 0x2000));
    assert_eq!(request.on_answer(&answer(0, 0, 0, 0, 0, 0)), Ok(MapGpaStep::Done));
}

#[test]
fn map_gpa_retry_outside_the_remaining_range_is_refused() {
    let base = SHARED | 0x10_0000;
    let fresh = || MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Shared, shared()).unwrap();
    for resume in [0, base - 0x1000, base + 0x4000, 0x10_1000] {
        assert_eq!(
            fresh().on_answer(&answer(1, resume, 0, 0, 0, 0)),
            Err(TdxError::OutOfRange {
                field: "MapGPA R11 (resume GPA)",
                value: resume,
                min: base,
                max: base + 0x3fff
            })
        );
    }
    assert!(matches!(
        fresh().on_answer(&answer(1, base + 0x10, 0, 0, 0, 0)),
        Err(TdxError::Misaligned { .. })
    ));
    // After moving forward, the old start is behind us and no longer allowed.
    let mut request = fresh();
    request.on_answer(&answer(1, base + 0x2000, 0, 0, 0, 0)).unwrap();
    assert!(request.on_answer(&answer(1, base + 0x1000, 0, 0, 0, 0)).is_err());
}

#[test]
fn map_gpa_without_progress_gives_up_after_three_answers() {
    let base = SHARED | 0x10_0000;
    let mut request =
        MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Shared, shared()).unwrap();
    let stuck = answer(1, base, 0, 0, 0, 0);
    assert!(matches!(request.on_answer(&stuck), Ok(MapGpaStep::Again(_))));
    assert!(matches!(request.on_answer(&stuck), Ok(MapGpaStep::Again(_))));
    assert_eq!(request.on_answer(&stuck), Err(TdxError::NoProgress { gpa: base, attempts: 3 }));
    // Progress resets the count.
    let mut request =
        MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Shared, shared()).unwrap();
    request.on_answer(&stuck).unwrap();
    request.on_answer(&stuck).unwrap();
    request.on_answer(&answer(1, base + 0x1000, 0, 0, 0, 0)).unwrap();
    let later = answer(1, base + 0x1000, 0, 0, 0, 0);
    request.on_answer(&later).unwrap();
    request.on_answer(&later).unwrap();
    assert!(request.on_answer(&later).is_err());
}

#[test]
fn map_gpa_errors_from_the_vmm_and_the_module() {
    let mut request =
        MapGpa::new(Gpa::new(0x10_0000), 0x4000, MapTarget::Private, shared()).unwrap();
    assert_eq!(
        request.on_answer(&answer(0x8000_0000_0000_0001, 0, 0, 0, 0, 0)),
        Err(TdxError::Vmcall {
            subfunction: VmcallSubfunction::MapGpa,
            status: VmcallStatus::from_raw(0x8000_0000_0000_0001)
        })
    );
    let broken = TdvmcallRegs { rax: 0x8000_0200_0000_0000, ..TdvmcallRegs::default() };
    assert!(matches!(
        request.on_answer(&broken),
        Err(TdxError::Tdcall { leaf: TdcallLeaf::VpVmcall, .. })
    ));
}
