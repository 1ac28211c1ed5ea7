//! TDX quotes and the TDREPORT against real hardware vectors (shared/vectors/tdx, ccel).
//!
//! Expected values were read independently of this crate (a Python `struct` dump of the
//! files at the offsets of the Intel DCAP spec), and the QE-report binding is checked with
//! SHA-256 over the ranges this crate extracted.
#![forbid(unsafe_code)]

mod common;

use common::{hex, hexa};
use sha2::{Digest, Sha256};
use tee::ParseError;
use tee::tdx::quote::{CertificationData, QuoteBody, QuoteHeader, TdReportBody15};
use tee::tdx::{Quote, QuoteBytes, TdReport};

fn dcap_qvl() -> Vec<u8> {
    vector!("tdx/dcap-qvl/tdx_quote")
}
fn spr_e4() -> Vec<u8> {
    vector!("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat")
}
fn cos113() -> Vec<u8> {
    vector!("ccel/go-tdx-guest/cos-113-tdx-quote.dat")
}

mod quote_v4 {
    use super::*;

    #[test]
    fn dcap_qvl_quote_header_is_tdx_v4_from_intels_qe() {
        let q = QuoteBytes::new_checked(dcap_qvl()).unwrap();
        let quote = Quote::parse(&q).unwrap();
        assert_eq!(quote.header.version, 4);
        assert_eq!(quote.header.attestation_key_type, QuoteHeader::ATT_KEY_ECDSA_P256);
        assert_eq!(quote.header.tee_type, 0x81);
        assert_eq!(quote.header.qe_vendor_id, QuoteHeader::INTEL_QE_VENDOR_ID);
        assert_eq!(quote.header.user_data, hexa("889b7d6ff9df2405b240a830e73faf3d00000000"));
    }

    #[test]
    fn dcap_qvl_quote_body_has_the_measurements_of_that_td() {
        let quote = Quote::parse(&QuoteBytes::new_checked(dcap_qvl()).unwrap()).unwrap();
        let QuoteBody::Td10(body) = &quote.body else { panic!("v4 quotes carry body 1.0") };
        assert_eq!(body.tee_tcb_svn, hexa("06010300000000000000000000000000"));
        assert_eq!(
            body.mr_seam,
            hexa(
                "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab5\
                 8c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1"
            )
        );
        assert_eq!(body.mr_signer_seam, [0; 48]);
        assert_eq!(body.td_attributes, hexa("0000001000000000"));
        assert_eq!(body.xfam, hexa("e702060000000000"));
        assert_eq!(
            *quote.mr_td(),
            hexa(
                "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a\
                 3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
            )
        );
        assert_eq!(
            quote.rtmrs()[2],
            hexa(
                "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc55\
                 1dccd829fc207aa3ba80b70870d7330733642e01d48c3132"
            )
        );
        assert_eq!(quote.rtmrs()[3], [0; 48]);
        assert_eq!(
            *quote.report_data(),
            hexa(
                "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9\
                  eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20"
            )
        );
    }

    #[test]
    fn certification_data_is_type6_wrapping_a_pem_pck_chain() {
        let quote = Quote::parse(&QuoteBytes::new_checked(dcap_qvl()).unwrap()).unwrap();
        let cd = &quote.signature_data.certification;
        assert_eq!(cd.cert_type(), CertificationData::TYPE_QE_REPORT);
        let qe = cd.qe_report().unwrap();
        assert_eq!(qe.certification.cert_type(), CertificationData::TYPE_PCK_CERT_CHAIN);
        assert_eq!(qe.qe_auth_data, (0u8..32).collect::<Vec<_>>());
        assert_eq!((qe.qe_report.isv_prod_id, qe.qe_report.isv_svn), (2, 6));
        assert_eq!(
            qe.qe_report.mr_signer,
            hexa("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")
        );
        let pem = cd.pck_cert_chain().unwrap();
        assert_eq!(pem.len(), 3678);
        assert!(pem.starts_with(b"-----BEGIN CERTIFICATE-----\n"));
        // This producer NUL-terminates the PEM text; the byte is kept.
        assert!(pem.ends_with(b"-----END CERTIFICATE-----\n\0"));
        assert_eq!(pem.windows(27).filter(|w| w == b"-----BEGIN CERTIFICATE-----").count(), 3);
    }

    #[test]
    fn qe_report_data_binds_the_attestation_key_and_auth_data() {
        // report_data[..32] = SHA-256(attestation_key || qe_auth_data): if this crate cut any
        // of the three ranges wrongly, the hash would not match.
        for buf in [dcap_qvl(), spr_e4(), cos113()] {
            let q = QuoteBytes::new_checked(&buf[..]).unwrap();
            let quote = Quote::parse(&q).unwrap();
            let qe = quote.signature_data.certification.qe_report().unwrap();
            let mut h = Sha256::new();
            h.update(q.attestation_key());
            h.update(&qe.qe_auth_data);
            assert_eq!(&qe.qe_report.report_data[..32], &h.finalize()[..]);
            assert_eq!(q.qe_report_bytes().unwrap(), qe.qe_report.to_bytes());
        }
    }

    #[test]
    fn signed_bytes_are_header_and_body_and_signature_follows_the_length() {
        let buf = dcap_qvl();
        let q = QuoteBytes::new_checked(&buf[..]).unwrap();
        assert_eq!(q.signed_bytes(), &buf[..632]);
        assert_eq!(u32::from_le_bytes(buf[632..636].try_into().unwrap()), 4300);
        assert_eq!(q.signature(), &buf[636..700]);
        assert_eq!(&q.signature()[..8], hex("f156eac8ad01d79f"));
        assert_eq!(&q.attestation_key()[..8], hex("c78ac5859b9f5672"));
    }

    #[test]
    fn every_vector_round_trips_byte_for_byte() {
        for buf in [dcap_qvl(), spr_e4(), cos113()] {
            let q = QuoteBytes::new_checked(&buf[..]).unwrap();
            let quote = Quote::parse(&q).unwrap();
            assert_eq!(quote.to_bytes().unwrap(), q.quote_bytes());
        }
    }

    #[test]
    fn padding_after_the_quote_is_exposed_as_trailing_bytes() {
        let dcap = dcap_qvl();
        let q = QuoteBytes::new_checked(&dcap[..]).unwrap();
        assert_eq!((q.quote_bytes().len(), q.trailing().len()), (4936, 70));
        assert!(q.trailing().iter().all(|b| *b == 0));
        let cos = cos113();
        let q = QuoteBytes::new_checked(&cos[..]).unwrap();
        assert_eq!((q.quote_bytes().len(), q.trailing().len()), (4935, 3065));
        // go-tdx-guest appended text after its quote on purpose.
        let spr = spr_e4();
        let q = QuoteBytes::new_checked(&spr[..]).unwrap();
        assert_eq!(q.trailing(), b"\nextra bytes(only for testing purpose)\n");
    }

    #[test]
    fn strict_parse_names_the_trailing_bytes() {
        assert_eq!(
            Quote::from_bytes(&cos113()),
            Err(ParseError::TrailingData { field: "quote", offset: 4935, len: 3065 })
        );
    }

    #[test]
    fn truncated_quote_names_the_field_and_offset() {
        let buf = dcap_qvl();
        assert_eq!(
            QuoteBytes::new_checked(&buf[..633]).unwrap_err(),
            ParseError::Truncated { field: "signature_data_len", offset: 632, need: 4, got: 1 }
        );
        assert_eq!(
            QuoteBytes::new_checked(&buf[..700]).unwrap_err(),
            ParseError::Truncated { field: "signature_data", offset: 636, need: 4300, got: 64 }
        );
        assert_eq!(
            QuoteBytes::new_checked(&buf[..100]).unwrap_err(),
            ParseError::Truncated { field: "mr_seam", offset: 64, need: 48, got: 36 }
        );
    }

    #[test]
    fn every_truncation_of_every_quote_is_an_error() {
        for buf in [dcap_qvl(), spr_e4(), cos113()] {
            let len = QuoteBytes::new_checked(&buf[..]).unwrap().quote_bytes().len();
            for cut in 0..len {
                assert!(QuoteBytes::new_checked(&buf[..cut]).is_err(), "prefix {cut} parsed");
            }
        }
    }

    #[test]
    fn spr_and_cos_quotes_carry_their_own_mrtd() {
        let spr = Quote::parse(&QuoteBytes::new_checked(spr_e4()).unwrap()).unwrap();
        assert_eq!(
            *spr.mr_td(),
            hexa(
                "6363b8043668a3ad953278e10389574d326c6749fb78aa81\
                 0ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"
            )
        );
        let cos = Quote::parse(&QuoteBytes::new_checked(cos113()).unwrap()).unwrap();
        assert_eq!(*cos.report_data(), [0; 64]);
        assert_eq!(cos.header.user_data, [0; 20]);
    }
}

mod quote_v5 {
    use super::*;

    /// Rewrites a real v4 quote as v5 with a body-type-2 descriptor (signature no longer valid).
    fn as_v5(v4: &[u8], len: usize) -> Vec<u8> {
        let mut out = v4[..48].to_vec();
        out[0] = 5;
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&584u32.to_le_bytes());
        out.extend_from_slice(&v4[48..len]);
        out
    }

    #[test]
    fn v5_quote_with_td10_body_parses_and_round_trips() {
        let v4 = dcap_qvl();
        let v5 = as_v5(&v4, 4936);
        let q = QuoteBytes::new_checked(&v5[..]).unwrap();
        assert_eq!(q.version(), 5);
        assert_eq!(q.signed_bytes().len(), 48 + 6 + 584);
        let quote = Quote::parse(&q).unwrap();
        assert_eq!(quote.body.body_type(), QuoteBody::TYPE_TD10);
        assert_eq!(quote.to_bytes().unwrap(), v5);
        assert_eq!(q.qe_report_bytes().unwrap(), &v4[636 + 134..636 + 134 + 384]);
    }

    #[test]
    fn v5_quote_with_td15_body_round_trips_and_v4_refuses_it() {
        let v4 = Quote::from_bytes(&dcap_qvl()[..4936]).unwrap();
        let mut quote = v4.clone();
        quote.header.version = 5;
        quote.body = QuoteBody::Td15(TdReportBody15 {
            base: v4.body.td10().clone(),
            tee_tcb_svn2: [7; 16],
            mr_service_td: [9; 48],
        });
        let bytes = quote.to_bytes().unwrap();
        assert_eq!(&bytes[48..54], &[3, 0, 0x88, 2, 0, 0]); // type 3, size 648
        let q = QuoteBytes::new_checked(&bytes[..]).unwrap();
        assert_eq!(q.signed_bytes().len(), 48 + 6 + 648);
        assert_eq!(Quote::parse(&q).unwrap(), quote);
        quote.header.version = 4;
        assert!(quote.to_bytes().is_err());
    }

    #[test]
    fn every_truncation_of_a_v5_quote_is_an_error() {
        let v5 = as_v5(&dcap_qvl(), 4936);
        for cut in 0..v5.len() {
            assert!(QuoteBytes::new_checked(&v5[..cut]).is_err(), "prefix {cut} parsed");
        }
    }
}

mod tdreport {
    use super::*;

    fn report() -> Vec<u8> {
        vector!("tdx/go-tdx-guest/report.dat")
    }

    #[test]
    fn report_dat_parses_and_round_trips() {
        let buf = report();
        let rep = TdReport::from_bytes(&buf).unwrap();
        assert_eq!(rep.to_bytes(), buf);
    }

    #[test]
    fn report_dat_fields_sit_at_tdreport_offsets() {
        // This vector is not a genuine TDG.MR.REPORT output (REPORTTYPE is 0f d7 20 d1, not
        // 81 00 ..), so only layout is checked: each field is the bytes at its offset.
        let buf = report();
        let rep = TdReport::from_bytes(&buf).unwrap();
        let t = rep.mac_struct.report_type;
        assert_eq!([t.tee_type, t.subtype, t.version, t.reserved], [0x0f, 0xd7, 0x20, 0xd1]);
        assert_eq!(rep.mac_struct.cpu_svn, hexa("ab85acdd56908227b01d158b232736fc"));
        assert_eq!(rep.mac_struct.report_data[..], buf[128..192]);
        assert_eq!(rep.mac_struct.mac[..], buf[224..256]);
        assert_eq!(rep.tee_tcb_info.valid, hexa("865b08b2ced320c9"));
        assert_eq!(rep.td_info.attributes, hexa("0d1e25d35a65dca6"));
        assert_eq!(rep.td_info.xfam, hexa("4772ddca1e4dca46"));
        let view = tee::tdx::TdReportBytes::new_checked(&buf[..]).unwrap();
        assert_eq!(view.tee_tcb_info_bytes(), &buf[256..495]);
        assert_eq!(view.td_info_bytes(), &buf[512..]);
    }

    #[test]
    fn every_truncation_of_report_dat_is_an_error() {
        let buf = report();
        for cut in 0..buf.len() {
            assert!(TdReport::from_bytes(&buf[..cut]).is_err());
        }
    }

    #[test]
    fn quote_body_built_from_a_tdreport_copies_the_td_fields() {
        let rep = TdReport::from_bytes(&report()).unwrap();
        let body = rep.to_quote_body_15();
        assert_eq!(body.base.mr_td, rep.td_info.mr_td);
        assert_eq!(body.base.rtmr, rep.td_info.rtmr);
        assert_eq!(body.base.report_data, rep.mac_struct.report_data);
        assert_eq!(body.mr_service_td, rep.td_info.servtd_hash);
    }
}
