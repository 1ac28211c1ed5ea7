//! Reference values: the measurements known-good builds produce.
//!
//! JSON, either `{"entries": [..]}` or a bare array; a directory contributes every `*.json`
//! file in it. Each entry names the build or configuration that produces it:
//! ```json
//! {"entries": [
//!   {"name": "kernel 0.1.0 / OVMF 2024.05 / tdx", "tee": "tdx",
//!    "values": {"mr_td": "<hex>", "rtmr0": "<hex>", "rtmr1": "<hex>"}}
//! ]}
//! ```
//! An entry matches when every register it lists equals the observed value; registers it
//! does not list are not constrained by it.
//!
//! An entry may also list the events it expects in the log, in order within each register
//! (`images`' `reference-values` writes them for the kernel's measured boot):
//! ```json
//! "events": [{"register": "rtmr2", "description": "cocoon.initramfs 1234 bytes", "sha384": "<hex>"}]
//! ```
//! They constrain nothing by themselves (the register does); when the register differs and
//! the evidence came with its log, the verdict names the first event that differs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::evidence::TeeKind;

/// One known-good measurement set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceEntry {
    /// What produces these values (build ID, image name, configuration).
    pub name: String,
    /// The TEE they apply to.
    pub tee: TeeKind,
    /// Register name → expected hex value.
    pub values: BTreeMap<String, String>,
    /// The events expected in the log, in order within each register.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ReferenceEvent>,
}

/// One event an entry expects in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceEvent {
    /// The register it extends (`rtmr0`..`rtmr3`).
    pub register: String,
    /// Its event data as text (`cocoon.initramfs 1234 bytes`).
    pub description: String,
    /// Its SHA-384 digest, hex.
    pub sha384: String,
}

/// A set of reference entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceValues {
    /// The entries, in file order.
    pub entries: Vec<ReferenceEntry>,
}

impl ReferenceValues {
    /// Parses one JSON document (`{"entries": [...]}` or `[...]`).
    ///
    /// # Errors
    /// The JSON error, naming the bad field.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Doc {
            Wrapped { entries: Vec<ReferenceEntry> },
            Bare(Vec<ReferenceEntry>),
        }
        let entries = match serde_json::from_str(text)? {
            Doc::Wrapped { entries } | Doc::Bare(entries) => entries,
        };
        Ok(Self {
            entries: entries
                .into_iter()
                .map(|mut e| {
                    e.values.values_mut().for_each(|v| *v = v.to_ascii_lowercase());
                    e.events.iter_mut().for_each(|ev| ev.sha384 = ev.sha384.to_ascii_lowercase());
                    e
                })
                .collect(),
        })
    }

    /// Loads a file or every `*.json` file in a directory.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self, String> {
        let one = |p: &Path| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Self::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))
        };
        if !path.is_dir() {
            return one(path);
        }
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let mut all = Self::default();
        for f in files {
            all.entries.extend(one(&f)?.entries);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_directory_contributes_every_json_file_with_values_lowercased() {
        let dir = std::env::temp_dir().join(format!("attest-refs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.json"),
            r#"[{"name": "a", "tee": "snp", "values": {"measurement": "AB"}}]"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("b.json"),
            r#"{"entries": [{"name": "b", "tee": "tdx", "values": {}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let r = ReferenceValues::load(&dir).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].values["measurement"], "ab");
    }

    #[test]
    fn an_entry_with_an_unknown_tee_is_rejected_naming_it() {
        let e = ReferenceValues::from_json(r#"[{"name": "x", "tee": "sgx", "values": {}}]"#)
            .unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}
