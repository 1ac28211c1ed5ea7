//! `attest verify` end to end, input side: every evidence format, and bad input (exit 2).
#![forbid(unsafe_code)]

mod common;

use base64::Engine as _;
use common::cli::*;
use common::vector;

mod formats {
    use super::*;

    fn b64(rel: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(vector(rel)).unwrap())
    }

    #[test]
    fn a_tdx_quote_in_configfs_tsm_json_is_detected_and_affirmed() {
        let d = scratch("tsm-tdx");
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(std::fs::read(vector("tdx/dcap-qvl/tdx_quote")).unwrap());
        let ev = write(
            &d,
            "tsm.json",
            &serde_json::json!({"outblob": url, "provider": "tdx_guest\n"}).to_string(),
        );
        let (code, out) = attest(&[
            "--evidence",
            &ev,
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
        ]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("configfs-tsm JSON (tdx_guest)"), "{out}");
    }

    #[test]
    fn snp_evidence_json_with_embedded_certs_is_affirmed() {
        let d = scratch("doc-snp");
        let doc = serde_json::json!({
            "tee": "snp",
            "evidence": b64("snp/trustee/test-vlek-report.bin"),
            "certs": [b64("snp/trustee/test-vlek.der")]
        });
        let ev = write(&d, "ev.json", &doc.to_string());
        let (code, out) = attest(&["--evidence", &ev, "--at", "2025-06-01T00:00:00Z"]);
        assert_eq!(code, AFFIRMING, "{out}");
        assert!(out.contains("VLEK, Milan"), "{out}");
    }

    #[test]
    fn tdx_evidence_json_with_a_foreign_event_log_is_denied_naming_the_rtmr() {
        let d = scratch("doc-tdx");
        let doc = serde_json::json!({
            "tee": "tdx",
            "evidence": b64("tdx/dcap-qvl/tdx_quote"),
            "event_log": b64("ccel/go-tdx-guest/ccel_data.dat")
        });
        let ev = write(&d, "ev.json", &doc.to_string());
        let (code, out) = attest(&[
            "--evidence",
            &ev,
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
        ]);
        assert_eq!(code, DENIED, "{out}");
        assert!(out.contains("event log replays RTMR0"), "{out}");
    }

    #[test]
    fn evidence_json_with_an_unknown_field_exits_2_naming_it() {
        let d = scratch("doc-bad");
        let ev = write(&d, "ev.json", r#"{"tee": "snp", "evidence": "", "colour": 1}"#);
        let (code, out) = attest(&["--evidence", &ev]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("colour"), "{out}");
    }
}

mod bad_input {
    use super::*;

    #[test]
    fn unrecognised_evidence_exits_2_naming_the_file() {
        let (code, out) = attest(&["--evidence", &v("tdx/go-tdx-guest/report.dat")]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("report.dat") && out.contains("not a TDX quote"), "{out}");
    }

    #[test]
    fn a_bad_at_time_exits_2() {
        let (code, out) =
            attest(&["--evidence", &v("snp/trustee/test-report.bin"), "--at", "yesterday"]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("--at"), "{out}");
    }

    #[test]
    fn a_policy_with_an_unknown_field_exits_2_naming_it() {
        let d = scratch("bad-policy");
        let p = write(&d, "p.json", r#"{"allow_debug": true}"#);
        let (code, out) =
            attest(&["--evidence", &v("snp/trustee/test-report.bin"), "--policy", &p]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("allow_debug"), "{out}");
    }

    #[test]
    fn a_missing_evidence_file_exits_2() {
        let (code, _) = attest(&["--evidence", "/nonexistent/evidence.bin"]);
        assert_eq!(code, BAD_INPUT);
    }

    /// The dcap-qvl quote cut inside its certification data, written to a scratch file.
    fn truncated_quote(dir: &std::path::Path) -> String {
        let q = std::fs::read(vector("tdx/dcap-qvl/tdx_quote")).unwrap();
        let p = dir.join("truncated_quote");
        std::fs::write(&p, &q[..2000]).unwrap();
        p.display().to_string()
    }

    #[test]
    fn a_truncated_tdx_quote_without_collateral_exits_2_saying_truncated_not_collateral() {
        let d = scratch("trunc-tdx");
        let (code, out) = attest(&["--evidence", &truncated_quote(&d)]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("raw TDX quote: not a well-formed TDX quote: truncated"), "{out}");
        assert!(!out.contains("collateral"), "{out}");
    }

    #[test]
    fn a_truncated_tdx_quote_with_collateral_exits_2() {
        let d = scratch("trunc-tdx-coll");
        let (code, out) = attest(&[
            "--evidence",
            &truncated_quote(&d),
            "--collateral",
            &v("tdx/dcap-qvl/tdx_quote_collateral.json"),
            "--at",
            "2025-07-01T00:00:00Z",
        ]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("truncated"), "{out}");
    }

    #[test]
    fn a_truncated_tdx_quote_inside_evidence_json_exits_2() {
        let d = scratch("trunc-tdx-doc");
        let q = std::fs::read(vector("tdx/dcap-qvl/tdx_quote")).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&q[..700]);
        let ev =
            write(&d, "ev.json", &serde_json::json!({"tee": "tdx", "evidence": b64}).to_string());
        let (code, out) = attest(&["--evidence", &ev]);
        assert_eq!(code, BAD_INPUT, "{out}");
        assert!(out.contains("evidence JSON: not a well-formed TDX quote: truncated"), "{out}");
    }

    #[test]
    fn a_truncated_snp_report_exits_2() {
        let d = scratch("trunc");
        let r = std::fs::read(vector("snp/trustee/test-report.bin")).unwrap();
        let p = d.join("short.bin");
        std::fs::write(&p, &r[..1000]).unwrap();
        let (code, _) = attest(&["--evidence", &p.display().to_string()]);
        assert_eq!(code, BAD_INPUT);
    }
}
