//! The KBS protocol's request, challenge, attestation and response (RCAR), as Trustee's
//! Key Broker Service speaks it (protocol 0.4.0, the `kbs-types` crate's messages):
//!
//! | step | guest → verifier | verifier → guest |
//! |---|---|---|
//! | request | `POST /kbs/v0/auth` `Request{version, tee, extra-params}` | `Challenge{nonce, extra-params}` |
//! | attest | `POST /kbs/v0/attest` `Attestation{runtime-data{nonce, tee-pubkey}, tee-evidence}` | `{"token"}` |
//! | response | `GET /kbs/v0/resource/<repo>/<type>/<tag>`, `Authorization: Bearer <token>` | a JWE sealed to `tee-pubkey` ([`crate::jwe`]) |
//!
//! The runtime data is hashed as bytes, so both ends must serialize it the same way:
//! [`runtime_data_bytes`] is compact JSON with the keys sorted (what Trustee's client gets
//! from a `serde_json::Value` in its build), so the verifier can rebuild the exact bytes from
//! the parsed message.

use kbs_types::RuntimeData;
use serde_json::Value;

/// The protocol version this client speaks and the verifier answers.
pub const PROTOCOL_VERSION: &str = "0.4.0";

/// Returns the bytes of `runtime_data` that the report data binds: compact JSON with every
/// object's keys in sorted order.
///
/// The keys are sorted here rather than left to `serde_json::Value`, whose order depends on
/// whether some crate in the build enabled `serde_json/preserve_order`: the verifier and the
/// guest are built with different dependency sets, and must still agree on these bytes.
///
/// # Panics
/// Never: the structure has only strings, which always serialize.
pub fn runtime_data_bytes(runtime_data: &RuntimeData) -> Vec<u8> {
    let value = serde_json::to_value(runtime_data).expect("runtime data is plain strings");
    canonical_json(&value).into_bytes()
}

/// Returns the runtime data as Trustee's KBS and attesters hash it for protocol 0.4.0 (as
/// read in Trustee's source; no Trustee program ran here): the `runtime-data` members plus
/// `"additional-evidence"` (the message's `tee-evidence.additional_evidence`, `""` when there
/// is none), compact, keys sorted.
///
/// # Panics
/// Never: the structure has only strings, which always serialize.
pub fn trustee_runtime_data_bytes(
    runtime_data: &RuntimeData,
    additional_evidence: &str,
) -> Vec<u8> {
    let mut value = serde_json::to_value(runtime_data).expect("runtime data is plain strings");
    if let Value::Object(map) = &mut value {
        map.insert("additional-evidence".into(), Value::String(additional_evidence.into()));
    }
    canonical_json(&value).into_bytes()
}

/// Returns `value` as compact JSON with every object's keys in sorted (byte) order, whatever
/// order the `Value` keeps them in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_sorted(value, &mut out);
    out
}

/// Writes `value` as compact JSON with object keys in sorted (byte) order.
fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn runtime_data_serializes_with_sorted_keys_and_no_spaces() {
        let rd = RuntimeData {
            nonce: "N".into(),
            tee_pubkey: kbs_types::TeePubKey::EC {
                crv: "P-256".into(),
                alg: "ECDH-ES+A256KW".into(),
                x: "X".into(),
                y: "Y".into(),
            },
        };
        assert_eq!(
            String::from_utf8(runtime_data_bytes(&rd)).unwrap(),
            r#"{"nonce":"N","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"X","y":"Y"}}"#
        );
    }
}
