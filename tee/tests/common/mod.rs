//! Helpers shared by the integration tests: reading the real-hardware vectors and hex literals.
#![allow(dead_code, reason = "each test binary uses its own subset of the helpers")]

/// Reads a file from `shared/vectors/` (a sibling of the project root), or from the directory
/// `COCOON_VECTORS` names (for a worktree that is not a sibling of `shared/`).
#[macro_export]
macro_rules! vector {
    ($path:literal) => {
        std::fs::read(
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
                .join($path),
        )
        .expect(concat!("missing test vector ", $path))
    };
}

/// Decodes a hex string (whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Decodes a hex string into a fixed-size array.
pub fn hexa<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().expect("wrong hex length")
}
