//! SNP attestation reports against real hardware vectors (shared/vectors/snp).
//!
//! Expected values were read independently (a Python `struct` dump at the offsets of the
//! SEV-SNP ABI spec's ATTESTATION_REPORT table).
#![forbid(unsafe_code)]

mod common;

use common::{hex, hexa};
use tee::ParseError;
use tee::snp::{
    AttestationReport, Generation, ReportBytes, SigningKey, TcbLayout, TcbParts, TcbVersion,
};

fn milan_hex() -> Vec<u8> {
    let text = vector!("snp/virtee-sev/report_milan.hex");
    hex(std::str::from_utf8(&text).unwrap())
}
fn trustee() -> Vec<u8> {
    vector!("snp/trustee/test-report.bin")
}
fn trustee_vlek() -> Vec<u8> {
    vector!("snp/trustee/test-vlek-report.bin")
}

fn legacy(bootloader: u8, tee: u8, snp: u8, microcode: u8) -> TcbParts {
    TcbParts { fmc: None, bootloader, tee, snp, microcode }
}

#[test]
fn virtee_milan_report_is_v2_vcek_signed_with_tcb_3_0_8_115() {
    let rep = AttestationReport::from_bytes(&milan_hex()).unwrap();
    assert_eq!(rep.version, 2);
    assert_eq!(rep.policy.0, 0x30000);
    assert!(!rep.policy.debug_allowed());
    assert_eq!(rep.vmpl, 0);
    assert_eq!(rep.signature_algo, AttestationReport::SIG_ALGO_ECDSA_P384_SHA384);
    assert_eq!(rep.key_info.signing_key(), SigningKey::Vcek);
    assert_eq!(rep.cpuid(), None);
    assert_eq!(rep.tcb_layout(), Some(TcbLayout::Legacy));
    assert_eq!(rep.reported_tcb.decode(TcbLayout::Legacy), legacy(3, 0, 8, 0x73));
    assert_eq!(
        rep.measurement,
        hexa(
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb424\
             64bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
        )
    );
    assert_eq!(
        rep.report_data,
        hexa(
            "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581\
              0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd"
        )
    );
    assert_eq!(
        (rep.current_version.major, rep.current_version.minor, rep.current_version.build),
        (1, 52, 4)
    );
}

#[test]
fn trustee_report_policy_0x3001f_does_not_allow_debug() {
    // shared/vectors/README.md calls this report "debug allowed". The policy word is 0x3001f,
    // and DEBUG is bit 19 (0x80000), which is clear: by the ABI spec debug is NOT allowed.
    let rep = AttestationReport::from_bytes(&trustee()).unwrap();
    assert_eq!(rep.policy.0, 0x3001f);
    assert!(!rep.policy.debug_allowed());
    assert!(rep.policy.smt_allowed());
    assert_eq!(rep.guest_svn, 4);
    // current_tcb has a newer microcode (0xce) than the TCB the VCEK was derived from (0x73).
    assert_eq!(rep.current_tcb.decode(TcbLayout::Legacy), legacy(3, 0, 8, 0xce));
    assert_eq!(rep.reported_tcb.decode(TcbLayout::Legacy), legacy(3, 0, 8, 0x73));
}

#[test]
fn trustee_vlek_report_is_v3_milan_vmpl1_signed_by_vlek_with_masked_chip_id() {
    let rep = AttestationReport::from_bytes(&trustee_vlek()).unwrap();
    assert_eq!(rep.version, 3);
    assert_eq!(rep.vmpl, 1);
    assert_eq!(rep.key_info.0, 0x4);
    assert_eq!(rep.key_info.signing_key(), SigningKey::Vlek);
    assert_eq!(rep.chip_id, [0; 64]);
    let cpuid = rep.cpuid().unwrap();
    assert_eq!((cpuid.family, cpuid.model, cpuid.stepping), (0x19, 0x01, 0x01));
    assert_eq!(rep.generation(), Some(Generation::Milan));
    assert_eq!(rep.platform_info.0, 0x27);
    assert!(rep.platform_info.alias_check_complete());
    assert_eq!(rep.reported_tcb.decode(TcbLayout::Legacy), legacy(4, 0, 0x18, 0xd9));
    assert_eq!(rep.mit_vectors(), None);
}

#[test]
fn every_vector_round_trips_byte_for_byte() {
    for buf in [milan_hex(), trustee(), trustee_vlek()] {
        let rep = AttestationReport::from_bytes(&buf).unwrap();
        assert_eq!(rep.to_bytes(), buf);
        assert_eq!(rep.signed_bytes(), &buf[..0x2A0]);
    }
}

#[test]
fn signed_bytes_are_0_to_0x2a0_and_signature_is_little_endian() {
    let buf = milan_hex();
    let view = ReportBytes::new_checked(&buf[..]).unwrap();
    assert_eq!(view.signed_bytes(), &buf[..0x2A0]);
    assert_eq!(view.signature_bytes(), &buf[0x2A0..]);
    let rep = AttestationReport::parse(&view).unwrap();
    let r = rep.signature.r_be().unwrap();
    // Big-endian r is the little-endian bytes reversed.
    assert_eq!(r[0], buf[0x2A0 + 47]);
    assert_eq!(r[47], buf[0x2A0]);
    assert!(rep.signature.s_be().is_some());
    assert!(!rep.signature.is_zero());
}

#[test]
fn every_truncation_of_every_report_is_an_error() {
    for buf in [milan_hex(), trustee(), trustee_vlek()] {
        for cut in 0..buf.len() {
            assert!(AttestationReport::from_bytes(&buf[..cut]).is_err());
        }
    }
}

#[test]
fn truncated_report_names_need_and_got() {
    let buf = trustee();
    assert_eq!(
        AttestationReport::from_bytes(&buf[..2]),
        Err(ParseError::Truncated { field: "version", offset: 0, need: 4, got: 2 })
    );
    assert_eq!(
        AttestationReport::from_bytes(&buf[..0x2A0]),
        Err(ParseError::Truncated { field: "report", offset: 0, need: 1184, got: 0x2A0 })
    );
}

#[test]
fn tcb_of_a_turin_report_is_read_with_the_turin_layout() {
    // Make a v3 report claim family 0x1A: its TCB words must then be read as Turin's.
    let mut buf = trustee_vlek();
    buf[0x188] = 0x1A;
    buf[0x189] = 0x02;
    let rep = AttestationReport::from_bytes(&buf).unwrap();
    assert_eq!(rep.generation(), Some(Generation::Turin));
    let layout = rep.tcb_layout().unwrap();
    assert_eq!(layout, TcbLayout::Turin);
    let parts = TcbVersion(u64::from_le_bytes(hexa("04000000000018d9"))).decode(layout);
    assert_eq!(parts, TcbParts { fmc: Some(4), bootloader: 0, tee: 0, snp: 0, microcode: 0xd9 });
}
