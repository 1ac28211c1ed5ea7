//! The framekernel's one rule, checked on the source: `unsafe` lives only in `ostd/`, and
//! every use there says why it is sound.
//!
//! Each file is lexed as Rust by `proc-macro2` (the same tokenizer rules as rustc: raw and
//! byte and C strings with any number of `#`s, nested block comments, char literals versus
//! lifetimes), and the `unsafe` keyword is an identifier token, wherever it sits, macro
//! bodies included. A file that does not lex is a violation: the check cannot vouch for it.
//!
//! The packages and their targets come from `cargo metadata`. Outside ostd, every `.rs` file
//! under a package's directory (and every target root, wherever it is) must be free of the
//! keyword, and every target root (lib, bins, tests, benches, examples, build script) must
//! carry `#![forbid(unsafe_code)]`.
//!
//! In ostd, each block or impl marked with the keyword needs a `// SAFETY:` comment on its
//! line or just above it: at most three lines up, with only comment lines in between. Each
//! function or trait marked with it (an `extern "C" fn` definition too) needs a `# Safety`
//! section in its doc comment. Extern blocks, attributes (the keyword wrapping `no_mangle`)
//! and function-pointer types marked with it are declarations, not uses, and are exempt.
//! (This file spells the keyword only where the lexer must see it: docs describe what
//! follows it, and test sources go through [`fixture`].)

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

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

/// What an `unsafe` keyword marks, from the tokens after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeUse {
    /// Followed by a block, `{ ... }`.
    Block,
    /// Followed by `impl`.
    Impl,
    /// Followed by `fn name` or `extern "C" fn name`.
    Fn,
    /// Followed by `trait` or `auto trait`.
    Trait,
    /// Followed by `extern "C" { ... }`: declarations of foreign items.
    ExternBlock,
    /// Followed by parentheses: an attribute such as the one wrapping `no_mangle`.
    Attribute,
    /// Followed by `fn(..)` or `extern "C" fn(..)`: a function-pointer type.
    FnPointerType,
    /// Anything else (`$body` in a macro, ...).
    Other,
}

/// Why a file could not be read as Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// 1-based line the lexer gave up on.
    pub line: usize,
    /// The lexer's message.
    pub message: String,
}

/// Lexes `source` as Rust tokens.
pub fn lex(source: &str) -> Result<TokenStream, LexError> {
    source
        .parse::<TokenStream>()
        .map_err(|e| LexError { line: e.span().start().line.max(1), message: e.to_string() })
}

/// Every `unsafe` keyword in `source`, with its 1-based line and what it marks, in order.
pub fn unsafe_keywords(source: &str) -> Result<Vec<(usize, UnsafeUse)>, LexError> {
    let mut found = Vec::new();
    walk(lex(source)?, &mut found);
    found.sort_by_key(|(line, _)| *line);
    Ok(found)
}

fn walk(stream: TokenStream, found: &mut Vec<(usize, UnsafeUse)>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => walk(group.stream(), found),
            // A raw identifier `r#unsafe` prints as such and is not the keyword.
            TokenTree::Ident(ident) if ident == "unsafe" => {
                found.push((ident.span().start().line, classify(&tokens[i + 1..])))
            }
            _ => {}
        }
    }
}

fn is_ident(token: Option<&TokenTree>, word: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if i == word)
}

fn is_group(token: Option<&TokenTree>, delimiter: Delimiter) -> bool {
    matches!(token, Some(TokenTree::Group(g)) if g.delimiter() == delimiter)
}

fn classify(rest: &[TokenTree]) -> UnsafeUse {
    // `fn NAME` defines a function; `fn (` is a function-pointer type.
    let after_fn = |at: usize| {
        if matches!(rest.get(at + 1), Some(TokenTree::Ident(_))) {
            UnsafeUse::Fn
        } else {
            UnsafeUse::FnPointerType
        }
    };
    match rest.first() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => UnsafeUse::Block,
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            UnsafeUse::Attribute
        }
        Some(TokenTree::Ident(i)) if i == "impl" => UnsafeUse::Impl,
        Some(TokenTree::Ident(i)) if i == "trait" || i == "auto" => UnsafeUse::Trait,
        Some(TokenTree::Ident(i)) if i == "fn" => after_fn(0),
        Some(TokenTree::Ident(i)) if i == "extern" => {
            let at = if matches!(rest.get(1), Some(TokenTree::Literal(_))) { 2 } else { 1 };
            if is_ident(rest.get(at), "fn") {
                after_fn(at)
            } else if is_group(rest.get(at), Delimiter::Brace) {
                UnsafeUse::ExternBlock
            } else {
                UnsafeUse::Other
            }
        }
        _ => UnsafeUse::Other,
    }
}

/// Whether the file's top level carries `#![forbid(unsafe_code)]` (alone or among other
/// lints in the same `forbid`).
pub fn forbids_unsafe_code(tokens: &TokenStream) -> bool {
    let top: Vec<TokenTree> = tokens.clone().into_iter().collect();
    top.windows(3).any(|w| {
        let (TokenTree::Punct(hash), TokenTree::Punct(bang), TokenTree::Group(attr)) =
            (&w[0], &w[1], &w[2])
        else {
            return false;
        };
        if hash.as_char() != '#' || bang.as_char() != '!' || attr.delimiter() != Delimiter::Bracket
        {
            return false;
        }
        let inner: Vec<TokenTree> = attr.stream().into_iter().collect();
        let [TokenTree::Ident(forbid), TokenTree::Group(lints)] = inner.as_slice() else {
            return false;
        };
        forbid == "forbid"
            && lints.delimiter() == Delimiter::Parenthesis
            && lints
                .stream()
                .into_iter()
                .any(|t| matches!(&t, TokenTree::Ident(i) if i == "unsafe_code"))
    })
}

/// Source text for the checker's own tests, with `UNSAFE` standing for the keyword, so that
/// this crate's sources never spell an unsafe block themselves (a plain grep of the tree
/// for the keyword outside ostd/ must come back empty).
pub fn fixture(text: &str) -> String {
    text.replace("UNSAFE", concat!("un", "safe"))
}

/// One compilation target of a package, as `cargo metadata` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `lib`, `bin`, `test`, `bench`, `example`, `custom-build`, `proc-macro`, ...
    pub kinds: Vec<String>,
    /// The target's root source file.
    pub root: PathBuf,
}

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The directory of its `Cargo.toml`.
    pub dir: PathBuf,
    /// Every target.
    pub targets: Vec<Target>,
}

/// Reads the workspace members and their targets from `cargo metadata --format-version 1`
/// output.
pub fn parse_metadata(json: &str) -> Result<Vec<Package>, String> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("cargo metadata output is not JSON: {e}"))?;
    let members: BTreeSet<&str> = value["workspace_members"]
        .as_array()
        .ok_or("cargo metadata: no workspace_members")?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let mut packages = Vec::new();
    for package in value["packages"].as_array().ok_or("cargo metadata: no packages")? {
        if !package["id"].as_str().is_some_and(|id| members.contains(id)) {
            continue;
        }
        let name =
            package["name"].as_str().ok_or("cargo metadata: a package without a name")?.to_string();
        let manifest = package["manifest_path"]
            .as_str()
            .ok_or_else(|| format!("cargo metadata: {name} has no manifest_path"))?;
        let dir = Path::new(manifest)
            .parent()
            .ok_or_else(|| format!("cargo metadata: {manifest} has no directory"))?
            .to_path_buf();
        let mut targets = Vec::new();
        for target in package["targets"]
            .as_array()
            .ok_or_else(|| format!("cargo metadata: {name} has no targets"))?
        {
            let kinds = target["kind"]
                .as_array()
                .map(|k| k.iter().filter_map(|k| k.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let root = target["src_path"]
                .as_str()
                .ok_or_else(|| format!("cargo metadata: a target of {name} has no src_path"))?;
            targets.push(Target { kinds, root: PathBuf::from(root) });
        }
        packages.push(Package { name, dir, targets });
    }
    if packages.is_empty() {
        return Err("cargo metadata lists no workspace members".into());
    }
    Ok(packages)
}

/// Runs `cargo metadata` on the workspace at `workspace` and returns its members.
pub fn workspace_packages(workspace: &Path) -> Result<Vec<Package>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline", "--manifest-path"])
        .arg(workspace.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    parse_metadata(&String::from_utf8_lossy(&out.stdout))
}

/// What [`check_workspace`] looked at, so a caller can tell a clean result from an empty one.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Every file scanned for the keyword (outside ostd) or for justifications (ostd).
    pub files: BTreeSet<PathBuf>,
    /// Every non-ostd target root checked for `#![forbid(unsafe_code)]`.
    pub roots: BTreeSet<PathBuf>,
}

/// The package allowed to contain `unsafe`.
pub const TRUSTED: &str = "ostd";

/// Checks every member of the workspace at `workspace`: ostd's uses are justified, and no
/// other package uses the keyword or lacks the attribute on a target root.
pub fn check_workspace(workspace: &Path) -> Result<(Vec<Violation>, Coverage), String> {
    let packages = workspace_packages(workspace)?;
    let mut violations = Vec::new();
    let mut coverage = Coverage::default();
    let dirs: Vec<&Path> = packages.iter().map(|p| p.dir.as_path()).collect();
    for package in &packages {
        let others: Vec<&Path> = dirs.iter().copied().filter(|d| *d != package.dir).collect();
        if package.name == TRUSTED {
            let mut files = Vec::new();
            rust_files(&package.dir, &others, &mut files);
            for target in &package.targets {
                if !files.contains(&target.root) {
                    files.push(target.root.clone());
                }
            }
            for path in files {
                violations.extend(check_ostd_file(&path));
                coverage.files.insert(path);
            }
        } else {
            violations.extend(check_safe_package(package, &others, &mut coverage));
        }
    }
    Ok((violations, coverage))
}

fn rust_files(dir: &Path, skip: &[&Path], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // Build output, and packages nested inside this one (each is checked on its own).
            if path.file_name().is_some_and(|n| n != "target") && !skip.contains(&path.as_path()) {
                rust_files(&path, skip, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read_and_lex(path: &Path) -> Result<(String, TokenStream), Violation> {
    let text = fs::read_to_string(path).map_err(|e| Violation {
        path: path.into(),
        line: 1,
        what: format!("cannot read: {e}"),
    })?;
    let tokens = lex(&text).map_err(|e| Violation {
        path: path.into(),
        line: e.line,
        what: format!("does not lex as Rust ({}), so it cannot be checked", e.message),
    })?;
    Ok((text, tokens))
}

/// Checks one package outside ostd: every target root forbids unsafe code, and no file
/// under its directory (nor any target root elsewhere) contains the keyword. `skip` are
/// directories of other packages nested inside it.
pub fn check_safe_package(
    package: &Package,
    skip: &[&Path],
    coverage: &mut Coverage,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut files = Vec::new();
    rust_files(&package.dir, skip, &mut files);
    for target in &package.targets {
        if !files.contains(&target.root) {
            files.push(target.root.clone());
        }
        coverage.roots.insert(target.root.clone());
        match read_and_lex(&target.root) {
            Ok((_, tokens)) if forbids_unsafe_code(&tokens) => {}
            Ok(_) => violations.push(Violation {
                path: target.root.clone(),
                line: 1,
                what: format!(
                    "root of {} target of {} lacks #![forbid(unsafe_code)]",
                    target.kinds.join("/"),
                    package.name
                ),
            }),
            Err(_) => {} // reported below with the file
        }
    }
    for path in files {
        match read_and_lex(&path) {
            Ok((text, _)) => {
                let uses = unsafe_keywords(&text).expect("lexed once already");
                violations.extend(uses.into_iter().map(|(line, use_)| Violation {
                    path: path.clone(),
                    line,
                    what: format!("`unsafe` outside ostd ({use_:?})"),
                }));
            }
            Err(v) => violations.push(v),
        }
        coverage.files.insert(path);
    }
    violations
}

/// Checks one ostd file: every marked block and impl carries a SAFETY comment; every marked
/// function and trait documents its contract.
pub fn check_ostd_file(path: &Path) -> Vec<Violation> {
    let text = match read_and_lex(path) {
        Ok((text, _)) => text,
        Err(v) => return vec![v],
    };
    check_ostd_source(&text)
        .into_iter()
        .map(|(line, what)| Violation { path: path.into(), line, what: what.into() })
        .collect()
}

/// The ostd rules on one file's text: (line, what is wrong) for each unjustified use.
pub fn check_ostd_source(text: &str) -> Vec<(usize, &'static str)> {
    let uses = match unsafe_keywords(text) {
        Ok(uses) => uses,
        Err(e) => return vec![(e.line, "does not lex as Rust, so it cannot be checked")],
    };
    let raw_lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for (line, use_) in uses {
        let idx = line - 1;
        match use_ {
            UnsafeUse::ExternBlock | UnsafeUse::Attribute | UnsafeUse::FnPointerType => {}
            UnsafeUse::Fn | UnsafeUse::Trait => {
                if !doc_block_above(&raw_lines, idx).contains("# Safety") {
                    problems.push((
                        line,
                        "function or trait marked `unsafe` without a `# Safety` doc section",
                    ));
                }
            }
            UnsafeUse::Block | UnsafeUse::Impl | UnsafeUse::Other => {
                if !safety_comment_near(&raw_lines, idx) {
                    problems.push((
                        line,
                        "block or impl marked `unsafe` without a `// SAFETY:` comment just above",
                    ));
                }
            }
        }
    }
    problems
}

fn doc_block_above(raw: &[&str], idx: usize) -> String {
    let mut doc = String::new();
    for line in raw[..idx.min(raw.len())].iter().rev() {
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
    if raw.get(idx).is_some_and(|l| l.contains("// SAFETY:")) {
        return true;
    }
    // The comment block right above, however long, must open with `// SAFETY:`.
    for back in 1.. {
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

    /// The lines on which `source` (spelled with `UNSAFE`) has the keyword.
    fn lines(source: &str) -> Vec<usize> {
        unsafe_keywords(&fixture(source)).unwrap().into_iter().map(|(line, _)| line).collect()
    }

    fn kinds(source: &str) -> Vec<UnsafeUse> {
        unsafe_keywords(&fixture(source)).unwrap().into_iter().map(|(_, kind)| kind).collect()
    }

    #[test]
    fn comments_and_strings_do_not_count_as_unsafe() {
        let src = "// UNSAFE here\nlet s = \"UNSAFE {}\"; /* UNSAFE */ let r = r#\"UNSAFE\"#; let \
            c = 'u';\n/// UNSAFE { doc }\nfn f() {}\n";
        assert_eq!(lines(src), Vec::<usize>::new());
    }

    #[test]
    fn a_real_unsafe_block_is_found_on_its_line() {
        assert_eq!(lines("fn f() {\n    let x = 1;\n    UNSAFE { g() }\n}\n"), [3]);
    }

    #[test]
    fn identifiers_containing_unsafe_are_not_the_keyword() {
        assert_eq!(lines("let UNSAFE_thing = not_UNSAFE; let r#UNSAFE = 1;"), Vec::<usize>::new());
    }

    // Inputs that fooled the hand-written stripper: each hides a real block after a literal
    // or comment that a naive scanner misreads.

    #[test]
    fn raw_byte_strings_end_where_rust_ends_them() {
        assert_eq!(
            lines("let a = br\"\\\"; UNSAFE { evil() }"),
            [1],
            "br\"\\\" is a complete one-byte string"
        );
        assert_eq!(lines("let a = br#\"x\"# ; UNSAFE { evil() }"), [1]);
        assert_eq!(lines("let a = br#\"\"UNSAFE {}\"#;"), Vec::<usize>::new());
    }

    #[test]
    fn raw_c_strings_end_where_rust_ends_them() {
        assert_eq!(lines("let a = cr\"\\\"; UNSAFE { evil() }"), [1]);
        assert_eq!(lines("let a = c\"\\\"\"; UNSAFE { evil() }"), [1]);
        assert_eq!(lines("let a = cr##\"\"# UNSAFE {}\"##;"), Vec::<usize>::new());
    }

    #[test]
    fn nested_raw_string_hashes_close_only_on_the_full_count() {
        assert_eq!(lines("let a = r##\"a \"# UNSAFE { no } \"##;\nUNSAFE { yes() }"), [2]);
        assert_eq!(lines("let a = r###\"\"##\"###; UNSAFE { yes() }"), [1]);
    }

    #[test]
    fn quotes_in_comments_open_no_string() {
        assert_eq!(lines("// a \" quote\nUNSAFE { evil() }\n"), [2]);
        assert_eq!(lines("/* \" */ UNSAFE { evil() }"), [1]);
        assert_eq!(lines("/// doc with \"\nUNSAFE fn f() {}"), [2]);
        assert_eq!(lines("/* /* nested */ UNSAFE { still a comment } */ UNSAFE { evil() }"), [1]);
        assert_eq!(kinds("/* /* nested */ \" */ UNSAFE { evil() }"), [UnsafeUse::Block]);
    }

    #[test]
    fn char_literals_and_lifetimes_do_not_swallow_code() {
        assert_eq!(lines("let q = '\"'; UNSAFE { evil() }"), [1]);
        assert_eq!(lines("fn f<'a>(x: &'a u8) { UNSAFE { evil() } }"), [1]);
        assert_eq!(lines("let b = b'\\''; UNSAFE { evil() }"), [1]);
    }

    #[test]
    fn unsafe_inside_macros_counts() {
        assert_eq!(lines("macro_rules! m { () => { UNSAFE { evil() } } }"), [1]);
        assert_eq!(lines("m!(UNSAFE { evil() });\nvec![UNSAFE { x() }];"), [1, 2]);
    }

    #[test]
    fn every_kind_of_unsafe_item_is_found_and_named() {
        let src = "UNSAFE impl Send for X {}\nUNSAFE fn f() {}\nUNSAFE extern \"C\" { fn g(); }\n\
            UNSAFE trait T {}\n#[UNSAFE(no_mangle)] fn h() {}\nUNSAFE extern \"C\" fn k() {}\ntype \
            P = UNSAFE fn(u8);\ntype Q = UNSAFE extern \"C\" fn();\nUNSAFE { x() }\n";
        use UnsafeUse::*;
        assert_eq!(
            kinds(src),
            [Impl, Fn, ExternBlock, Trait, Attribute, Fn, FnPointerType, FnPointerType, Block]
        );
        assert_eq!(lines(src), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn a_file_that_does_not_lex_is_an_error_not_a_pass() {
        assert!(unsafe_keywords("let s = \"never closed; UNSAFE {}").is_err());
        assert!(unsafe_keywords(&fixture("fn f() { UNSAFE { x() }")).is_err(), "unbalanced brace");
        assert!(unsafe_keywords("let s = br\"never closed").is_err());
        assert!(
            check_ostd_source("/* never closed")
                .iter()
                .any(|(_, what)| what.contains("does not lex"))
        );
    }

    #[test]
    fn forbid_must_be_an_inner_attribute_at_the_top() {
        let yes = |s: &str| forbids_unsafe_code(&lex(s).unwrap());
        assert!(yes("//! doc\n#![forbid(unsafe_code)]\nfn main() {}"));
        assert!(yes("#![forbid(missing_docs, unsafe_code)]"));
        assert!(!yes("// #![forbid(unsafe_code)]\nfn main() {}"), "a comment");
        assert!(!yes("const S: &str = \"#![forbid(unsafe_code)]\";"), "a string");
        assert!(!yes("#![deny(unsafe_code)]"), "deny can be overridden by allow");
        assert!(!yes("#[forbid(unsafe_code)]\nfn f() {}"), "an outer attribute covers one item");
        assert!(
            !yes("mod m {\n#![forbid(unsafe_code)]\n}"),
            "a module's attribute leaves the rest of the crate open"
        );
    }

    #[test]
    fn ostd_rules_by_kind() {
        let problems = |s: &str| {
            check_ostd_source(&fixture(s)).into_iter().map(|(line, _)| line).collect::<Vec<_>>()
        };
        assert_eq!(problems("// SAFETY: fine\nUNSAFE { a() };\nUNSAFE { b() };\n"), [3]);
        assert_eq!(
            problems(
                "/// Does.\n///\n/// # Safety\n/// Caller.\nUNSAFE fn f() {}\n/// Undocumented.\n\
                 UNSAFE fn g() {}\n"
            ),
            [7]
        );
        assert_eq!(problems("/// No contract.\npub UNSAFE extern \"C\" fn memset() {}\n"), [2]);
        assert_eq!(
            problems(
                "UNSAFE extern \"C\" { fn g(); }\n#[UNSAFE(no_mangle)]\nfn h() {}\ntype P = UNSAFE \
                 fn();\n"
            ),
            Vec::<usize>::new()
        );
        assert_eq!(problems("UNSAFE impl Send for X {}\n"), [1]);
        assert_eq!(problems("let s = br\"\\\"; UNSAFE { evil() }\n"), [1]);
    }

    #[test]
    fn safety_comment_must_be_close_and_not_belong_to_another_block() {
        let src = fixture("// SAFETY: ok\nUNSAFE { a() };\nUNSAFE { b() };\n");
        let raw: Vec<&str> = src.lines().collect();
        assert!(safety_comment_near(&raw, 1));
        assert!(!safety_comment_near(&raw, 2), "the second block reused the first one's comment");
    }

    #[test]
    fn safety_comment_opens_the_comment_block_just_above() {
        let src = fixture(
            "// SAFETY: ok
// why, continued
// and more
// and the last fact
UNSAFE { a() };
",
        );
        assert!(
            safety_comment_near(&src.lines().collect::<Vec<_>>(), 4),
            "a long justification is fine"
        );
        let src = fixture(
            "// SAFETY: ok

// an unrelated comment
UNSAFE { a() };
",
        );
        assert!(
            !safety_comment_near(&src.lines().collect::<Vec<_>>(), 3),
            "a blank line ends the block"
        );
        let src = fixture(
            "// SAFETY: ok
for x in y {
    UNSAFE { a() };
",
        );
        assert!(
            !safety_comment_near(&src.lines().collect::<Vec<_>>(), 2),
            "code stands between comment and use"
        );
    }

    #[test]
    fn metadata_gives_members_and_every_target_kind() {
        let json = r#"{"packages":[
            {"id":"path+file:///w/a#0.1.0","name":"a","manifest_path":"/w/a/Cargo.toml","targets":[
                {"kind":["lib"],"src_path":"/w/a/src/lib.rs"},
                {"kind":["test"],"src_path":"/w/a/tests/t.rs"},
                {"kind":["custom-build"],"src_path":"/w/a/build.rs"}]},
            {"id":"registry+x#dep@1.0.0","name":"dep","manifest_path":"/r/dep/Cargo.toml",
                "targets":[]}],
            "workspace_members":["path+file:///w/a#0.1.0"]}"#;
        let packages = parse_metadata(json).unwrap();
        assert_eq!(packages.len(), 1, "only workspace members");
        assert_eq!(packages[0].dir, Path::new("/w/a"));
        let roots: Vec<&Path> = packages[0].targets.iter().map(|t| t.root.as_path()).collect();
        assert_eq!(
            roots,
            [
                Path::new("/w/a/src/lib.rs"),
                Path::new("/w/a/tests/t.rs"),
                Path::new("/w/a/build.rs")
            ]
        );
        assert!(
            parse_metadata("{\"packages\":[],\"workspace_members\":[]}").is_err(),
            "no members is an error, not a clean pass"
        );
        assert!(parse_metadata("not json").is_err());
    }
}
