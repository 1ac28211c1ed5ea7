//! `attest verify` end to end: the real binary, real vectors, exit codes and verdict text.
#![forbid(unsafe_code)]

mod common;

use std::path::Path;

use attestation::binding::expected_report_data;
use attestation::sim::sign_sim_report;
use base64::Engine as _;
use common::cli::*;

fn sim_evidence(dir: &Path, debug: bool, nonce: &str, bound_nonce: &str) -> String {
    let rd = expected_report_data(bound_nonce.as_bytes(), b"key");
    let report = sign_sim_report(&[0xAB; 48], &rd, debug);
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = serde_json::json!({
        "tee": "sim",
        "evidence": b64.encode(report),
        "nonce": nonce,
        "runtime_data": b64.encode(b"key")
    });
    write(dir, &format!("sim-{debug}-{bound_nonce}.json"), &doc.to_string())
}

mod tdx {
    use super::*;

    #[test]
    fn dcap_qvl_quote_is_affirmed_up_to_date_in_its_window() {
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/dcap-qvl/tdx_quote"),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("TCB status: UpToDate"), "{out}");
    }

    #[test]
    fn dcap_qvl_quote_after_its_window_is_denied_as_expired() {
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/dcap-qvl/tdx_quote"),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-08-01T00:00:00Z",
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("expired"), "{out}");
    }

    #[test]
    fn go_tdx_guest_collateral_directory_loads_and_the_quote_has_no_tcb_level() {
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"),
            "--collateral",
            &v("tdx/go-tdx-guest"),
            "--at",
            "2023-07-01T00:00:00Z",
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("no TCB level"), "{out}");
    }

    #[test]
    fn an_event_log_from_another_boot_is_denied_naming_the_rtmr() {
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/dcap-qvl/tdx_quote"),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
            "--event-log",
            &v("ccel/go-tdx-guest/ccel_data.dat"),
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("RTMR0"), "{out}");
    }

    #[test]
    fn a_tdx_quote_without_collateral_is_denied_naming_the_flag() {
        let (code, out) =
            attest(&["--evidence", &v("tdx/dcap-qvl/tdx_quote"), "--at", "2025-07-01T00:00:00Z"]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("--collateral"), "{out}");
    }

    #[test]
    fn reference_values_that_differ_name_the_closest_entry_and_register() {
        let d = scratch("refs");
        let refs = serde_json::json!({"entries": [
            {
                "name": "build-A",
                "tee": "tdx",
                "values": {"mr_td": "00".repeat(48), "rtmr3": "00".repeat(48)}
            },
            {"name": "build-B", "tee": "tdx", "values": {"mr_td": "11".repeat(48)}},
        ]});
        let refs = write(&d, "refs.json", &refs.to_string());
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/dcap-qvl/tdx_quote"),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
            "--reference-values",
            &refs,
            "--json",
        ]);
        assert_eq!(code, DENIED, "{out}");
        let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(verdict["closest_reference"], "build-A");
        let failing: Vec<&str> = verdict["claims"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(failing, ["reference_values", "measurement.mr_td"]);
    }

    #[test]
    fn matching_reference_values_are_affirmed_naming_the_entry() {
        let d = scratch("refs-ok");
        let mr_td = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a\
                     3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
        let refs = serde_json::json!([
            {"name": "build-C", "tee": "tdx", "values": {"mr_td": mr_td.to_uppercase()}}
        ]);
        let refs = write(&d, "refs.json", &refs.to_string());
        let (code, out) = attest(&[
            "--evidence",
            &v("tdx/dcap-qvl/tdx_quote"),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
            "--reference-values",
            &refs,
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("matches \"build-C\""), "{out}");
    }
}

mod snp {
    use super::*;

    #[test]
    fn trustee_report_is_affirmed_because_its_policy_has_debug_clear() {
        // The vectors README says debug is allowed; bit 19 of 0x3001f is clear, so it is not.
        let (code, out) = attest(&[
            "--evidence",
            &v("snp/trustee/test-report.bin"),
            "--certs",
            &v("snp/trustee/test-vcek.der"),
            "--at",
            "2025-06-01T00:00:00Z",
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(
            out.contains(
                "[ok  ] debug: expected false (guest policy bit 19; policy forbids debug), \
                 observed false"
            ),
            "{out}"
        );
    }

    #[test]
    fn virtee_hex_report_is_affirmed_with_a_certs_directory() {
        let (code, out) = attest(&[
            "--evidence",
            &v("snp/virtee-sev/report_milan.hex"),
            "--certs",
            &v("snp/virtee-sev"),
            "--at",
            "2025-06-01T00:00:00Z",
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("VCEK, Milan"), "{out}");
    }

    #[test]
    fn veraison_tsm_json_is_affirmed_from_its_auxblob_alone() {
        let (code, out) = attest(&[
            "--evidence",
            &v("snp/veraison/sevsnp-tsm-report.json"),
            "--at",
            "2025-06-01T00:00:00Z",
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("configfs-tsm JSON (sev_guest)") && out.contains("Genoa"), "{out}");
    }

    #[test]
    fn vlek_report_at_vmpl_1_is_denied_by_a_vmpl_0_policy_and_affirmed_by_a_vmpl_1_one() {
        let d = scratch("vmpl");
        let p0 = write(&d, "p0.json", r#"{"allowed_vmpl": [0]}"#);
        let p1 = write(&d, "p1.json", r#"{"allowed_vmpl": [1]}"#);
        let args = |p: &str| {
            vec![
                "--evidence".to_owned(),
                v("snp/trustee/test-vlek-report.bin"),
                "--certs".into(),
                v("snp/trustee"),
                "--at".into(),
                "2025-06-01T00:00:00Z".into(),
                "--policy".into(),
                p.to_owned(),
            ]
        };
        let (code, out) = attest(&args(&p0).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] vmpl: expected one of [0], observed 1"), "{out}");
        let (code, out) = attest(&args(&p1).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, AFFIRMING, "{out}");
    }

    #[test]
    fn a_minimum_snp_svn_above_the_report_is_denied_naming_the_component() {
        let d = scratch("svn");
        let p = write(&d, "p.json", r#"{"min_snp_tcb": {"snp": 200}}"#);
        let (code, out) = attest(&[
            "--evidence",
            &v("snp/trustee/test-report.bin"),
            "--certs",
            &v("snp/trustee/test-vcek.der"),
            "--at",
            "2025-06-01T00:00:00Z",
            "--policy",
            &p,
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] reported_tcb.snp: expected >= 200"), "{out}");
    }
}

mod sim {
    use super::*;

    #[test]
    fn sim_evidence_without_allow_sim_is_denied() {
        let d = scratch("sim-off");
        let (code, out) = attest(&["--evidence", &sim_evidence(&d, false, "n1", "n1")]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("--allow-sim"), "{out}");
    }

    #[test]
    fn sim_evidence_is_affirmed_only_when_flag_and_policy_allow_it_and_is_marked_simulated() {
        let d = scratch("sim-on");
        let ev = sim_evidence(&d, false, "n1", "n1");
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim"]);
        assert_eq!(code, DENIED, "{out}");
        let p = write(&d, "p.json", r#"{"allow_simulated": true}"#);
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &p, "--json"]);
        assert_eq!(code, AFFIRMING, "{out}");
        let verdict: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(verdict["simulated"], true);
    }

    #[test]
    fn an_snp_layout_sim_report_at_vmpl_3_is_denied_by_a_vmpl_0_policy_naming_the_claim() {
        let d = scratch("sim-vmpl");
        let body = tee_abi::sim_snp::SnpLayoutBody {
            measurement: [0xAB; 48],
            report_data: [0; 64],
            vmpl: 3,
            debug: false,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let doc = serde_json::json!({"tee": "sim", "evidence": b64.encode(body.sign().unwrap())});
        let ev = write(&d, "ev.json", &doc.to_string());
        let vmpl0 = write(&d, "vmpl0.json", r#"{"allow_simulated": true, "allowed_vmpl": [0]}"#);
        let any = write(&d, "any.json", r#"{"allow_simulated": true}"#);
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &vmpl0]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] vmpl: expected one of [0]"), "{out}");
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &any]);
        assert_eq!(code, AFFIRMING, "{out}");
    }

    #[test]
    fn debug_guest_is_denied_under_a_no_debug_policy_and_affirmed_under_a_debug_one() {
        let d = scratch("sim-debug");
        let ev = sim_evidence(&d, true, "n1", "n1");
        let no = write(&d, "no.json", r#"{"allow_simulated": true}"#);
        let yes = write(&d, "yes.json", r#"{"allow_simulated": true, "debug_allowed": true}"#);
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &no]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] debug: expected false"), "{out}");
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &yes]);
        assert_eq!(code, AFFIRMING, "{out}");
    }

    #[test]
    fn report_data_holding_the_known_answer_for_nonce_and_runtime_data_is_affirmed() {
        // The report data is a literal from `printf '%s\x00\x01\x02\xfe\xffruntime key'
        // "$NONCE" | sha512sum`, not computed by this crate: appraisal must agree with it.
        let nonce = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCk";
        let runtime_data = b"\x00\x01\x02\xfe\xffruntime key";
        let kat = "a8a1be767eb5fa6481c4a96c2fa4f68db73d63eb52d74ab4f7489eefc6f60e19\
                   6c342e35f6d7cfbcf5132bccfb9ac2fb0d86276ee64ead4b133272572502494d";
        let d = scratch("sim-kat");
        let p = write(&d, "p.json", r#"{"allow_simulated": true}"#);
        let b64 = base64::engine::general_purpose::STANDARD;
        let doc = |rd: &[u8]| {
            let report =
                sign_sim_report(&[0xAB; 48], &hex::decode(kat).unwrap().try_into().unwrap(), false);
            serde_json::json!({
                "tee": "sim",
                "evidence": b64.encode(report),
                "nonce": nonce,
                "runtime_data": b64.encode(rd)
            })
            .to_string()
        };
        let ev = write(&d, "kat.json", &doc(runtime_data));
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &p]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(
            out.contains(&format!(
                "[ok  ] report_data: expected SHA-512(nonce ‖ runtime_data) = {kat}"
            )),
            "{out}"
        );
        let ev = write(&d, "kat-other.json", &doc(b"\x00\x01\x02\xfe\xffruntime kez"));
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim", "--policy", &p]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] report_data"), "{out}");
    }

    #[test]
    fn report_data_bound_to_another_nonce_is_denied() {
        let d = scratch("sim-nonce");
        let p = write(&d, "p.json", r#"{"allow_simulated": true}"#);
        let (code, out) = attest(&[
            "--evidence",
            &sim_evidence(&d, false, "n1", "n2"),
            "--allow-sim",
            "--policy",
            &p,
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("[FAIL] report_data: expected SHA-512(nonce"), "{out}");
    }

    #[test]
    fn truncated_sim_evidence_in_evidence_json_is_bad_input_not_a_denial() {
        let d = scratch("sim-truncated");
        let report = sign_sim_report(&[0xAB; 48], &[0; 64], false);
        let b64 = base64::engine::general_purpose::STANDARD;
        let doc = serde_json::json!({"tee": "sim", "evidence": b64.encode(&report[..100])});
        let ev = write(&d, "short.json", &doc.to_string());
        let (code, out) = attest(&["--evidence", &ev, "--allow-sim"]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("short.json"), "{out}");
    }
}
