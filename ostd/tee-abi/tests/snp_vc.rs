//! The #VC decisions: which exits are emulated, from where, and the check that RIP holds the
//! instruction the exit claims. Opcodes from the AMD APM vol. 3 and the Intel SDM vol. 2.
#![forbid(unsafe_code)]

use tee_abi::insn::Mnemonic;
use tee_abi::snp::vc::{MsrAccess, VcAction, VcError, VcOrigin, check_instruction, classify, exit};

#[test]
fn each_emulated_exit_has_its_action() {
    for (code, action) in [
        (0x72, VcAction::Cpuid),
        (0x6e, VcAction::Rdtsc),
        (0x87, VcAction::Rdtscp),
        (0x7b, VcAction::Ioio),
        (0x7c, VcAction::Msr),
        (0x400, VcAction::Mmio),
        (0x89, VcAction::Wbinvd),
    ] {
        assert_eq!(classify(code, VcOrigin::Kernel), Ok(action), "{code:#x}");
    }
}

#[test]
fn vmmcall_and_unknown_exits_are_refused() {
    for code in [exit::VMMCALL, 0x27, 0x37, 0x8000_0001, u64::MAX] {
        assert_eq!(
            classify(code, VcOrigin::Kernel),
            Err(VcError::Unhandled { exit_code: code }),
            "{code:#x}"
        );
    }
}

#[test]
fn user_mode_gets_register_only_exits_alone() {
    for code in [exit::CPUID, exit::RDTSC, exit::RDTSCP] {
        assert!(classify(code, VcOrigin::User).is_ok(), "{code:#x}");
    }
    for code in [exit::IOIO, exit::MSR, exit::NPF, exit::WBINVD] {
        assert_eq!(
            classify(code, VcOrigin::User),
            Err(VcError::NotFromUser { exit_code: code }),
            "{code:#x}"
        );
    }
}

#[test]
fn the_instruction_gives_the_length_and_the_msr_direction() {
    let len = |action, bytes: &[u8]| check_instruction(action, bytes).map(|i| i.len.get());
    assert_eq!(len(VcAction::Cpuid, &[0x0f, 0xa2]), Ok(2));
    // A redundant operand-size prefix is legal and counts in the length.
    assert_eq!(len(VcAction::Cpuid, &[0x66, 0x0f, 0xa2]), Ok(3));
    assert_eq!(len(VcAction::Rdtsc, &[0x0f, 0x31]), Ok(2));
    assert_eq!(len(VcAction::Rdtscp, &[0x0f, 0x01, 0xf9]), Ok(3));
    assert_eq!(len(VcAction::Wbinvd, &[0x0f, 0x09]), Ok(2));
    let rdmsr = check_instruction(VcAction::Msr, &[0x0f, 0x32]).unwrap();
    let wrmsr = check_instruction(VcAction::Msr, &[0x0f, 0x30]).unwrap();
    assert_eq!((rdmsr.msr, wrmsr.msr), (Some(MsrAccess::Read), Some(MsrAccess::Write)));
}

#[test]
fn another_instruction_at_rip_is_refused() {
    assert_eq!(
        check_instruction(VcAction::Cpuid, &[0x0f, 0x31]),
        Err(VcError::WrongInstruction { exit_code: exit::CPUID, found: Mnemonic::Rdtsc })
    );
    assert!(matches!(
        check_instruction(VcAction::Msr, &[0x90]),
        Err(VcError::WrongInstruction { exit_code: exit::MSR, .. })
    ));
    assert!(matches!(check_instruction(VcAction::Cpuid, &[0x0f]), Err(VcError::Decode(_))));
}
