//! The resource policy: which attestation results may read which resource path.
//!
//! Trustee KBS decides this with an OPA policy over the token's claims and the
//! `resource-path`; this service takes the same decision from a JSON rule list
//! (`--resource-policy FILE`), which needs no policy engine and is checked at start-up:
//! ```json
//! {"rules": [
//!   {"resource": "prod/key/*", "tee": ["tdx", "snp"],
//!    "measurements": {"mr_td": "<hex>"}, "reference": "build-A",
//!    "tcb_status": ["UpToDate"]},
//!   {"resource": "dev/*/*", "allow_simulated": true}
//! ]}
//! ```
//! A request for `<repo>/<type>/<tag>` is allowed if **some** rule's `resource` matches it
//! (three segments, each a literal or `*`) and **every** condition that rule names holds for
//! the token's single submodule (the token is already known to be `affirming`):
//! - `tee`: the submodule name (`tdx`, `snp`, `sim`) is one of these [any];
//! - `allow_simulated`: simulated evidence may match [false];
//! - `measurements`: each named register equals this hex (case-insensitive) [none];
//! - `reference`: the reference-value entry that matched has this name [none];
//! - `tcb_status`: the TDX TCB status is one of these [any].
//!
//! No rule matching means `403 resource_forbidden`. Unknown fields are refused, so a typo
//! cannot silently widen a rule.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// One rule: a path pattern and the conditions on the token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `<repo>/<type>/<tag>`, each segment a literal or `*`.
    pub resource: String,
    /// Accepted TEEs (submodule names); empty for any.
    #[serde(default)]
    pub tee: Vec<String>,
    /// Whether simulated evidence may match.
    #[serde(default)]
    pub allow_simulated: bool,
    /// Register name → required hex value.
    #[serde(default)]
    pub measurements: BTreeMap<String, String>,
    /// The required reference-value entry name.
    #[serde(default)]
    pub reference: Option<String>,
    /// Accepted TDX TCB statuses; empty for any.
    #[serde(default)]
    pub tcb_status: Vec<String>,
}

/// The resource policy: a list of rules, any of which may allow a request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePolicy {
    /// The rules, tried in order.
    pub rules: Vec<Rule>,
}

/// Why a resource policy file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not JSON of the documented shape; serde's message names the field.
    Json(String),
    /// A `resource` pattern is not three non-empty segments.
    Pattern {
        /// The index of the rule.
        rule: usize,
        /// The pattern as written.
        pattern: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => f.write_str(e),
            Self::Pattern { rule, pattern } => write!(
                f,
                "rules[{rule}].resource {pattern:?} is not <repo>/<type>/<tag> (each a name or *)"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

impl ResourcePolicy {
    /// Parses and checks a policy.
    ///
    /// # Errors
    /// [`PolicyError`] naming the rule or field.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        let policy: Self =
            serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))?;
        for (rule, r) in policy.rules.iter().enumerate() {
            let segments: Vec<&str> = r.resource.split('/').collect();
            if segments.len() != 3 || segments.iter().any(|s| s.is_empty()) {
                return Err(PolicyError::Pattern { rule, pattern: r.resource.clone() });
            }
        }
        Ok(policy)
    }

    /// Returns the index of the first rule that lets `claims` (an affirming token's) read
    /// `path` (`[repo, type, tag]`), or `None`.
    pub fn allows(&self, claims: &Value, path: [&str; 3]) -> Option<usize> {
        let (tee, sub) = claims["submods"].as_object()?.iter().next()?;
        self.rules.iter().position(|r| r.path_matches(path) && r.claims_match(tee, sub))
    }
}

impl Rule {
    fn path_matches(&self, path: [&str; 3]) -> bool {
        self.resource.split('/').zip(path).all(|(want, got)| want == "*" || want == got)
    }

    fn claims_match(&self, tee: &str, sub: &Value) -> bool {
        let simulated = sub["x-attest.simulated"].as_bool().unwrap_or(true);
        let one_of = |list: &[String], got: Option<&str>| {
            list.is_empty() || got.is_some_and(|g| list.iter().any(|w| w == g))
        };
        (self.allow_simulated || !simulated)
            && one_of(&self.tee, Some(tee))
            && one_of(&self.tcb_status, sub["x-attest.tcb_status"].as_str())
            && self.reference.as_deref().is_none_or(|r| sub["x-attest.reference"] == r)
            && self.measurements.iter().all(|(reg, want)| {
                sub["x-attest.measurements"][reg]
                    .as_str()
                    .is_some_and(|got| got.eq_ignore_ascii_case(want))
            })
    }
}

#[cfg(test)]
mod test {
    use serde_json::json;

    use super::*;

    fn token(tee: &str, simulated: bool, measurement: &str) -> Value {
        json!({"submods": {tee: {"ear.status": "affirming", "x-attest.simulated": simulated,
            "x-attest.measurements": {"measurement": measurement}, "x-attest.tcb_status": null}}})
    }

    const POLICY: &str = r#"{"rules": [
        {"resource": "app/key/a", "measurements": {"measurement": "AA"}, "allow_simulated": true},
        {"resource": "app/key/b", "measurements": {"measurement": "bb"}, "allow_simulated": true},
        {"resource": "prod/*/*", "tee": ["tdx", "snp"]}
    ]}"#;

    #[test]
    fn a_token_reads_only_the_paths_its_measurement_is_allowed() {
        let p = ResourcePolicy::from_json(POLICY).unwrap();
        let a = token("sim", true, "aa");
        assert_eq!(p.allows(&a, ["app", "key", "a"]), Some(0));
        assert_eq!(p.allows(&a, ["app", "key", "b"]), None);
        assert_eq!(p.allows(&token("sim", true, "bb"), ["app", "key", "b"]), Some(1));
    }

    #[test]
    fn simulated_evidence_matches_only_rules_that_allow_it() {
        let p = ResourcePolicy::from_json(POLICY).unwrap();
        assert_eq!(p.allows(&token("snp", false, "00"), ["prod", "key", "x"]), Some(2));
        assert_eq!(p.allows(&token("snp", true, "00"), ["prod", "key", "x"]), None);
        assert_eq!(p.allows(&token("sim", false, "00"), ["prod", "key", "x"]), None);
    }

    #[test]
    fn a_bad_pattern_or_an_unknown_field_is_refused_naming_it() {
        let e = ResourcePolicy::from_json(r#"{"rules": [{"resource": "a/b"}]}"#).unwrap_err();
        assert_eq!(e, PolicyError::Pattern { rule: 0, pattern: "a/b".into() });
        let e = ResourcePolicy::from_json(r#"{"rules": [{"resource": "a/b/c", "tees": []}]}"#);
        assert!(e.unwrap_err().to_string().contains("tees"));
    }
}
