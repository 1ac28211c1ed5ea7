//! #VE classification. Exit reasons are the VMX basic exit reasons (Intel SDM vol. 3,
//! appendix C); the I/O exit qualification layout is the SDM's ("Exit Qualification for
//! I/O Instructions"), as Linux's `VE_GET_IO_SIZE`/`VE_IS_IO_IN`/`VE_GET_PORT_NUM` read it.
#![forbid(unsafe_code)]

use tee_abi::tdx::TdxError;
use tee_abi::tdx::gpa::{Gpa, GpaWidth, SharedBit};
use tee_abi::tdx::tdcall::VeInfo;
use tee_abi::tdx::tdvmcall::IoSize;
use tee_abi::tdx::ve::{
    ExitReason, IoDirection, IoQualification, VeAction, VeEmulation, VeOrigin, classify,
    cpuid_leaf_goes_to_vmm,
};

const SHARED: u64 = 1 << 47;

fn shared() -> SharedBit {
    GpaWidth::Bits48.shared_bit()
}

fn info(exit_reason: u32, qualification: u64, gpa: u64, len: u32) -> VeInfo {
    VeInfo {
        exit_reason,
        exit_qualification: qualification,
        guest_linear_address: 0,
        guest_physical_address: Gpa::new(gpa),
        instruction_length: len,
        instruction_info: 0,
    }
}

#[test]
fn exit_reason_numbers() {
    let cases = [
        (10, ExitReason::Cpuid),
        (12, ExitReason::Hlt),
        (15, ExitReason::Rdpmc),
        (18, ExitReason::Vmcall),
        (30, ExitReason::Io),
        (31, ExitReason::Rdmsr),
        (32, ExitReason::Wrmsr),
        (36, ExitReason::Mwait),
        (39, ExitReason::Monitor),
        (48, ExitReason::EptViolation),
        (54, ExitReason::Wbinvd),
    ];
    for (raw, reason) in cases {
        assert_eq!(ExitReason::from_raw(raw), Ok(reason));
    }
    assert_eq!(
        ExitReason::from_raw(1),
        Err(TdxError::Unrecognised {
            field: "TDG.VP.VEINFO.GET RCX[31:0] (exit reason)",
            value: 1
        })
    );
}

#[test]
fn io_qualification_fields() {
    // IN AL, 0x71 with an immediate port: size code 0, IN (bit 3), bit 6, port 0x71.
    let q = IoQualification::decode((0x71 << 16) | (1 << 6) | (1 << 3)).unwrap();
    assert_eq!(q.size, IoSize::One);
    assert_eq!(q.direction, IoDirection::In);
    assert!(q.immediate_port && !q.string && !q.rep);
    assert_eq!(q.port, 0x71);
    // OUT DX, EAX to 0xcfc: size code 3.
    let q = IoQualification::decode((0xcfc << 16) | 3).unwrap();
    assert_eq!((q.size, q.direction, q.port), (IoSize::Four, IoDirection::Out, 0xcfc));
    // REP OUTSW: size code 1, string (4), REP (5).
    let q = IoQualification::decode((0x3f8 << 16) | (1 << 5) | (1 << 4) | 1).unwrap();
    assert_eq!(q.size, IoSize::Two);
    assert!(q.string && q.rep);
    for code in [2, 4, 5, 6, 7] {
        assert_eq!(
            IoQualification::decode(code),
            Err(TdxError::Unrecognised {
                field: "I/O exit qualification bits 2:0 (size)",
                value: code
            })
        );
    }
}

#[test]
fn instruction_exits_carry_their_length() {
    let cases =
        [(10, VeAction::Cpuid), (12, VeAction::Hlt), (31, VeAction::Rdmsr), (32, VeAction::Wrmsr)];
    for (reason, action) in cases {
        assert_eq!(
            classify(&info(reason, 0, 0, 2), VeOrigin::Kernel, shared()),
            Ok(VeEmulation { action, instruction_len: Some(2) })
        );
    }
    let io = classify(&info(30, (0x3f8 << 16) | 1, 0, 1), VeOrigin::Kernel, shared()).unwrap();
    assert!(matches!(io.action, VeAction::Io(q) if q.port == 0x3f8 && q.size == IoSize::Two));
    assert_eq!(io.instruction_len, Some(1));
}

#[test]
fn instruction_length_must_be_1_to_15() {
    for len in [0, 16, u32::MAX] {
        assert_eq!(
            classify(&info(12, 0, 0, len), VeOrigin::Kernel, shared()),
            Err(TdxError::OutOfRange {
                field: "TDG.VP.VEINFO.GET R10[31:0] (instruction length)",
                value: u64::from(len),
                min: 1,
                max: 15
            })
        );
    }
    assert!(classify(&info(12, 0, 0, 15), VeOrigin::Kernel, shared()).is_ok());
}

#[test]
fn ept_violation_on_shared_memory_is_mmio() {
    // The length in VEINFO is undefined for EPT violations: ignored, even when absurd.
    let ve = classify(&info(48, 0, SHARED | 0xfeb0_0004, 0), VeOrigin::Kernel, shared());
    assert_eq!(
        ve,
        Ok(VeEmulation {
            action: VeAction::Mmio { gpa: Gpa::new(SHARED | 0xfeb0_0004) },
            instruction_len: None
        })
    );
}

#[test]
fn ept_violation_on_private_memory_is_never_emulated() {
    assert_eq!(
        classify(&info(48, 0, 0x1234_5000, 3), VeOrigin::Kernel, shared()),
        Err(TdxError::PrivateMemoryVe { gpa: 0x1234_5000 })
    );
    // A 52-bit TD: bit 47 is an ordinary address bit, so this GPA is private there.
    let wide = GpaWidth::Bits52.shared_bit();
    assert_eq!(
        classify(&info(48, 0, SHARED, 3), VeOrigin::Kernel, wide),
        Err(TdxError::PrivateMemoryVe { gpa: SHARED })
    );
    // Shared bit set but bits above the GPA width too: malformed.
    assert!(matches!(
        classify(&info(48, 0, (1 << 50) | SHARED, 3), VeOrigin::Kernel, shared()),
        Err(TdxError::WrongSharing { .. })
    ));
}

#[test]
fn refused_exits() {
    for reason in [15, 18, 36, 39, 54] {
        assert!(matches!(
            classify(&info(reason, 0, 0, 3), VeOrigin::Kernel, shared()),
            Err(TdxError::NotEmulated { exit_reason, .. }) if exit_reason == reason
        ));
    }
    // String I/O.
    assert!(matches!(
        classify(&info(30, (0x3f8 << 16) | (1 << 4), 0, 2), VeOrigin::Kernel, shared()),
        Err(TdxError::NotEmulated { exit_reason: 30, .. })
    ));
}

#[test]
fn user_space_gets_cpuid_only() {
    assert!(classify(&info(10, 0, 0, 2), VeOrigin::User, shared()).is_ok());
    for reason in [12, 30, 31, 32, 48] {
        assert!(matches!(
            classify(&info(reason, 0, SHARED, 2), VeOrigin::User, shared()),
            Err(TdxError::NotEmulated { .. })
        ));
    }
}

#[test]
fn only_hypervisor_cpuid_leaves_reach_the_vmm() {
    assert!(cpuid_leaf_goes_to_vmm(0x4000_0000));
    assert!(cpuid_leaf_goes_to_vmm(0x4FFF_FFFF));
    assert!(!cpuid_leaf_goes_to_vmm(0x3FFF_FFFF));
    assert!(!cpuid_leaf_goes_to_vmm(0x5000_0000));
    assert!(!cpuid_leaf_goes_to_vmm(0));
    assert!(!cpuid_leaf_goes_to_vmm(0x8000_0001));
}
