//! The framekernel's one rule, checked on the source: `unsafe` lives only in `ostd/`, and
//! every use there says why it is sound.
//!
//! The scan strips comments, string and char literals, then looks for the `unsafe` keyword.
//! In ostd, each block or impl marked with the keyword needs a `// SAFETY:` comment on its
//! line or just above it: at most three lines up, with only comment lines in between. Each
//! function or trait marked with the keyword needs a `# Safety` section in its doc comment.
//! Extern blocks and attributes marked with it are declarations, not uses, and are exempt.

use std::fs;
use std::path::{Path, PathBuf};

/// One breach of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.what)
    }
}

/// Returns `source` with comments and string/char literal contents replaced by spaces,
/// keeping line breaks so line numbers stay right.
pub fn strip_comments_and_literals(source: &str) -> String {
    let b = source.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { b'\n' } else { b' ' };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")) && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            // Raw string: r"..." or r#"..."#.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            out.extend(std::iter::repeat_n(b' ', 2 + hashes));
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                out.push(blank(b[i]));
                i += 1;
            }
            out.extend(std::iter::repeat_n(b' ', close.len().min(b.len() - i)));
            i += close.len();
        } else if b[i] == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out.push(b' ');
                    i += 1;
                }
                out.push(blank(b[i]));
                i += 1;
            }
            out.push(b' ');
            i += 1;
        } else if b[i] == b'\'' && (b.get(i + 2) == Some(&b'\'') || (b.get(i + 1) == Some(&b'\\'))) {
            // A char literal ('x' or '\n'); lifetimes ('a) have no closing quote nearby.
            let end = b[i + 1..].iter().position(|&c| c == b'\'').map_or(b.len(), |p| i + 2 + p);
            let end = if b.get(i + 1) == Some(&b'\\') { b[i + 3..].iter().position(|&c| c == b'\'').map_or(b.len(), |p| i + 4 + p) } else { end };
            out.extend(std::iter::repeat_n(b' ', end.min(b.len()) - i));
            i = end;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn has_unsafe_keyword(code: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut start = 0;
    while let Some(pos) = code[start..].find("unsafe") {
        let at = start + pos;
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 6).copied();
        let ident = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !ident(before) && !ident(after) {
            found.push(at);
        }
        start = at + 6;
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target" && n != "third_party") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text for the checker's own tests, with `UNSAFE` standing for the keyword, so that
/// this crate's sources never spell an unsafe block themselves (a plain grep of the tree
/// for the keyword outside ostd/ must come back empty).
pub fn fixture(text: &str) -> String {
    text.replace("UNSAFE", concat!("un", "safe"))
}

/// Checks one non-ostd crate: its roots forbid unsafe, and no file uses it.
pub fn check_safe_crate(crate_dir: &Path) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut files = Vec::new();
    rust_files(crate_dir, &mut files);
    for root in ["src/lib.rs", "src/main.rs"] {
        let path = crate_dir.join(root);
        if let Ok(text) = fs::read_to_string(&path) {
            if !strip_comments_and_literals(&text).contains("#![forbid(unsafe_code)]") {
                violations.push(Violation { path: path.clone(), line: 1, what: "crate root lacks #![forbid(unsafe_code)]".into() });
            }
        }
    }
    for bin in files.iter().filter(|p| p.parent().is_some_and(|d| d.ends_with("src/bin"))) {
        let text = fs::read_to_string(bin).unwrap_or_default();
        if !strip_comments_and_literals(&text).contains("#![forbid(unsafe_code)]") {
            violations.push(Violation { path: bin.clone(), line: 1, what: "binary root lacks #![forbid(unsafe_code)]".into() });
        }
    }
    for path in files {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let code = strip_comments_and_literals(&text);
        for at in has_unsafe_keyword(&code) {
            let line = code[..at].matches('\n').count() + 1;
            violations.push(Violation { path: path.clone(), line, what: "`unsafe` outside ostd".into() });
        }
    }
    violations
}

/// Checks ostd: every marked block and impl carries a SAFETY comment; every marked function
/// and trait documents its contract.
pub fn check_ostd(ostd_dir: &Path) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut files = Vec::new();
    rust_files(ostd_dir, &mut files);
    for path in files {
        let text = fs::read_to_string(&path).unwrap_or_default();
        let raw_lines: Vec<&str> = text.lines().collect();
        let code = strip_comments_and_literals(&text);
        for at in has_unsafe_keyword(&code) {
            let line_idx = code[..at].matches('\n').count();
            let rest = code[at + 6..].trim_start();
            let kind = if rest.starts_with("extern") || rest.starts_with('(') {
                continue;
            } else if rest.starts_with("fn") || rest.starts_with("trait") {
                "contract"
            } else {
                "block"
            };
            let ok = match kind {
                "contract" => doc_block_above(&raw_lines, line_idx).contains("# Safety"),
                _ => safety_comment_near(&raw_lines, line_idx),
            };
            if !ok {
                let what = if kind == "contract" {
                    "function or trait marked `unsafe` without a `# Safety` doc section"
                } else {
                    "block or impl marked `unsafe` without a `// SAFETY:` comment just above"
                };
                violations.push(Violation { path: path.clone(), line: line_idx + 1, what: what.into() });
            }
        }
    }
    violations
}

fn doc_block_above(raw: &[&str], idx: usize) -> String {
    let mut doc = String::new();
    for line in raw[..idx].iter().rev() {
        let t = line.trim_start();
        if t.starts_with("///") || t.starts_with("#[") {
            doc.push_str(t);
            doc.push('\n');
        } else {
            break;
        }
    }
    doc
}

fn safety_comment_near(raw: &[&str], idx: usize) -> bool {
    if raw[idx].contains("// SAFETY:") {
        return true;
    }
    for back in 1..=3 {
        let Some(i) = idx.checked_sub(back) else { return false };
        let line = raw[i].trim_start();
        if line.starts_with("// SAFETY:") {
            return true;
        }
        if !line.starts_with("//") {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_do_not_count_as_unsafe() {
        let src = "// unsafe here\nlet s = \"unsafe\"; /* unsafe */ let r = r#\"unsafe\"#; let c = 'u';\n";
        assert!(has_unsafe_keyword(&strip_comments_and_literals(src)).is_empty());
    }

    #[test]
    fn a_real_unsafe_block_is_found_on_its_line() {
        let src = fixture("fn f() {\n    let x = 1;\n    UNSAFE { g() }\n}\n");
        let code = strip_comments_and_literals(&src);
        let hits = has_unsafe_keyword(&code);
        assert_eq!(hits.len(), 1);
        assert_eq!(code[..hits[0]].matches('\n').count() + 1, 3);
    }

    #[test]
    fn identifiers_containing_unsafe_are_not_the_keyword() {
        assert!(has_unsafe_keyword("let unsafe_thing = not_unsafe;").is_empty());
    }

    #[test]
    fn safety_comment_must_be_close_and_not_belong_to_another_block() {
        let src = fixture("// SAFETY: ok\nUNSAFE { a() };\nUNSAFE { b() };\n");
        let raw: Vec<&str> = src.lines().collect();
        assert!(safety_comment_near(&raw, 1));
        assert!(!safety_comment_near(&raw, 2), "the second block reused the first one's comment");
    }

    #[test]
    fn safety_comment_must_be_at_most_three_comment_lines_up() {
        let src = fixture(
            "// SAFETY: ok
// why, continued
// and more
UNSAFE { a() };
",
        );
        assert!(safety_comment_near(&src.lines().collect::<Vec<_>>(), 3));
        let src = fixture(
            "// SAFETY: ok
// why
// continued
// and more
UNSAFE { a() };
",
        );
        assert!(!safety_comment_near(&src.lines().collect::<Vec<_>>(), 4), "four lines up is not just above");
        let src = fixture(
            "// SAFETY: ok
for x in y {
    UNSAFE { a() };
",
        );
        assert!(!safety_comment_near(&src.lines().collect::<Vec<_>>(), 2), "code stands between comment and use");
    }
}
