//! The configfs-tsm JSON shape against the veraison SNP vector
//! (shared/vectors/snp/veraison/sevsnp-tsm-report.json).
#![forbid(unsafe_code)]

mod common;

use common::hexa;
use tee::snp::{CertKind, CertTable, Generation, TcbLayout, TcbParts};
use tee::tsm::{TsmProvider, TsmReport};

fn text() -> String {
    String::from_utf8(vector!("snp/veraison/sevsnp-tsm-report.json")).unwrap()
}

#[test]
fn veraison_report_is_sev_guest_with_an_outblob_and_an_auxblob() {
    let r = TsmReport::from_json(&text()).unwrap();
    assert_eq!(r.provider, "sev_guest\n");
    assert_eq!(r.provider(), TsmProvider::SevGuest);
    assert_eq!(r.outblob.len(), 1184);
    assert_eq!(r.auxblob.as_ref().map(Vec::len), Some(6577));
    assert_eq!(r.service, None);
}

#[test]
fn json_serializes_back_to_the_same_text() {
    let text = text();
    let r = TsmReport::from_json(&text).unwrap();
    // The file ends with a newline that JSON does not carry.
    assert_eq!(r.to_json(), text.trim_end());
}

#[test]
fn outblob_is_a_v3_genoa_report() {
    let rep = TsmReport::from_json(&text()).unwrap().snp_report().unwrap();
    assert_eq!(rep.version, 3);
    let cpuid = rep.cpuid().unwrap();
    assert_eq!((cpuid.family, cpuid.model, cpuid.stepping), (0x19, 0x11, 0x01));
    assert_eq!(rep.generation(), Some(Generation::Genoa));
    assert_eq!(rep.policy.0, 0x30000);
    assert_eq!(rep.platform_info.0, 0x25);
    assert_eq!(
        rep.reported_tcb.decode(TcbLayout::Legacy),
        TcbParts { fmc: None, bootloader: 0x0a, tee: 0, snp: 0x17, microcode: 0x54 }
    );
    assert_eq!(&rep.report_data[..32], b"MIDBNH28iioisjPyxxxxxxxxxxxxxxxx");
    assert_eq!(
        rep.measurement,
        hexa(
            "7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4\
             cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c788980"
        )
    );
}

#[test]
fn auxblob_is_a_cert_table_with_pem_ark_ask_vcek_in_rfc4122_guid_order() {
    let r = TsmReport::from_json(&text()).unwrap();
    let t = r.snp_cert_table().unwrap();
    let kinds: Vec<_> = t.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [CertKind::Ark, CertKind::Ask, CertKind::Vcek]);
    // RFC 4122 order: the first bytes on the wire are the first hex digits of the text form.
    assert_eq!(&r.auxblob.as_ref().unwrap()[..4], &[0xc0, 0xb4, 0x06, 0xa4]);
    assert_eq!(CertKind::ARK_GUID.to_string(), "c0b406a4-a803-4952-9743-3fb6014cd0ae");
    assert_eq!(t.get(CertKind::Ark).unwrap().len(), 0x8e5);
    assert_eq!(t.get(CertKind::Ask).unwrap().len(), 0x915);
    assert_eq!(t.get(CertKind::Vcek).unwrap().len(), 0x757);
    // The spec says DER; this producer put PEM.
    for e in &t.entries {
        assert!(e.data.starts_with(b"-----BEGIN CERTIFICATE-----"));
    }
    assert_eq!(t.get(CertKind::Vlek), None);
}

#[test]
fn cert_table_round_trips_byte_for_byte() {
    let aux = TsmReport::from_json(&text()).unwrap().auxblob.unwrap();
    assert_eq!(CertTable::parse(&aux).unwrap().to_bytes().unwrap(), aux);
}

#[test]
fn every_truncation_of_the_cert_table_is_an_error() {
    let aux = TsmReport::from_json(&text()).unwrap().auxblob.unwrap();
    for cut in 0..aux.len() {
        assert!(CertTable::parse(&aux[..cut]).is_err(), "prefix {cut} parsed");
    }
}

#[test]
fn outblob_round_trips_byte_for_byte() {
    let r = TsmReport::from_json(&text()).unwrap();
    assert_eq!(r.snp_report().unwrap().to_bytes(), r.outblob);
}
