//! Helpers shared by the integration tests: vector paths and pinned times.
#![allow(dead_code, reason = "each test binary uses its own subset of the helpers")]

pub mod cli;
pub mod http;

use attestation::time::VerificationTime;

/// Returns the path of a file under `shared/vectors/` (a sibling of the project root), or
/// under the directory `COCOON_VECTORS` names (for a worktree that is not a sibling of it).
pub fn vector(rel: &str) -> std::path::PathBuf {
    std::env::var_os("COCOON_VECTORS")
        .map_or_else(
            || {
                std::path::PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/vectors"
                ))
            },
            std::path::PathBuf::from,
        )
        .join(rel)
}

/// Reads a file under `shared/vectors/`.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(vector(rel)).unwrap_or_else(|e| panic!("vector {rel}: {e}"))
}

/// Parses an RFC 3339 time.
pub fn at(s: &str) -> VerificationTime {
    VerificationTime::parse_rfc3339(s).unwrap()
}
