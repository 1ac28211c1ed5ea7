//! The container's process spec: what the kernel runs as init when it boots an image built
//! from an OCI image (the config's Entrypoint + Cmd, Env, WorkingDir and User, resolved on the
//! host), stored in the root filesystem at [`SPEC_PATH`].
//!
//! A text file, one field per line, so that an operator can read it with `cat`:
//!
//! ```text
//! cocoon-container v1
//! arg /usr/local/bin/python3
//! arg -m
//! arg http.server
//! env PATH=/usr/local/bin:/usr/bin:/bin
//! cwd /srv
//! user 1000 1000
//! groups 1000 27
//! ```
//!
//! The first line is the magic and version. Each other line is a keyword, one space and a
//! value; `arg` and `env` repeat in order, `cwd` and `user` appear exactly once, `groups` at
//! most once. Values are bytes with `\\` for a backslash and `\n` for a newline (so any OCI
//! string fits on one line); any other escape, an unknown keyword, a missing or repeated
//! field, a value that is not UTF-8 or holds a NUL, or a spec larger than [`MAX_SPEC_LEN`] is
//! refused naming the line.

use alloc::vec::Vec;
use core::fmt;

/// Where the spec lives in the root filesystem.
pub const SPEC_PATH: &str = "/.cocoon/container";

/// The first line.
pub const MAGIC: &str = "cocoon-container v1";

/// The largest spec the kernel reads (Linux's ARG_MAX-like bound on what init gets).
pub const MAX_SPEC_LEN: usize = 128 * 1024;

/// Supplementary groups at most (Linux's NGROUPS_MAX).
pub const MAX_GROUPS: usize = 65536;

/// What the kernel runs as init.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The argument vector; `args[0]` is the program (a path, or a name looked up in
    /// `PATH` from `env`, as a container runtime does).
    pub args: Vec<Vec<u8>>,
    /// The environment, `KEY=value` each.
    pub env: Vec<Vec<u8>>,
    /// The working directory (absolute).
    pub cwd: Vec<u8>,
    /// The user and group ids init runs as.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// Supplementary group ids.
    pub groups: Vec<u32>,
}

/// Why a spec was refused. Lines count from 1; `field` is the keyword.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "the variant docs say what `line` and `field` are")]
pub enum SpecError {
    /// Larger than [`MAX_SPEC_LEN`].
    TooLarge(usize),
    /// The first line is not [`MAGIC`].
    BadMagic,
    /// Line `line` is not `keyword value`, or the keyword is unknown.
    BadLine { line: usize },
    /// A value on line `line` has an escape other than `\\` and `\n`, or ends in a lone
    /// backslash.
    BadEscape { line: usize },
    /// A number (uid, gid, group) on line `line` does not parse as a u32.
    BadNumber { line: usize },
    /// Field `field`, which appears once, appears again on line `line`.
    Repeated { line: usize, field: &'static str },
    /// A required field is missing (`arg`, `cwd`, `user`).
    Missing(&'static str),
    /// Field `field` on line `line` (`cwd`, or the program) is empty, or `cwd` not absolute.
    BadValue { line: usize, field: &'static str },
    /// A value on line `line` is not UTF-8, or holds a NUL (argv and envp are C strings).
    NotText { line: usize },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(n) => write!(f, "{n} bytes, more than {MAX_SPEC_LEN}"),
            Self::BadMagic => write!(f, "line 1 is not {MAGIC:?}"),
            Self::BadLine { line } => write!(f, "line {line}: not `arg|env|cwd|user|groups VALUE`"),
            Self::BadEscape { line } => write!(f, "line {line}: an escape other than \\\\ or \\n"),
            Self::BadNumber { line } => write!(f, "line {line}: not a 32-bit number"),
            Self::Repeated { line, field } => write!(f, "line {line}: a second `{field}`"),
            Self::Missing(field) => write!(f, "no `{field}` line"),
            Self::NotText { line } => write!(f, "line {line}: not UTF-8, or a NUL in it"),
            Self::BadValue { line, field } => {
                write!(f, "line {line}: `{field}` is empty or not absolute")
            }
        }
    }
}

impl ContainerSpec {
    /// Writes the spec in the format the kernel parses.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC.as_bytes());
        out.push(b'\n');
        let mut field = |keyword: &str, value: &[u8]| {
            out.extend_from_slice(keyword.as_bytes());
            out.push(b' ');
            for &b in value {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(b),
                }
            }
            out.push(b'\n');
        };
        for arg in &self.args {
            field("arg", arg);
        }
        for var in &self.env {
            field("env", var);
        }
        field("cwd", &self.cwd);
        field("user", alloc::format!("{} {}", self.uid, self.gid).as_bytes());
        if !self.groups.is_empty() {
            let list: Vec<alloc::string::String> =
                self.groups.iter().map(|g| alloc::format!("{g}")).collect();
            field("groups", list.join(" ").as_bytes());
        }
        out
    }

    /// Parses a spec written by [`ContainerSpec::encode`] (or by hand, in the same format).
    ///
    /// # Errors
    /// [`SpecError`] naming the first line that is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, SpecError> {
        if bytes.len() > MAX_SPEC_LEN {
            return Err(SpecError::TooLarge(bytes.len()));
        }
        let mut lines = bytes.split(|&b| b == b'\n').enumerate().map(|(i, l)| (i + 1, l));
        if lines.next().map(|(_, l)| l) != Some(MAGIC.as_bytes()) {
            return Err(SpecError::BadMagic);
        }
        let (mut args, mut env) = (Vec::new(), Vec::new());
        let (mut cwd, mut user, mut groups) = (None, None, None);
        let mut first_arg_line = None;
        for (line, text) in lines {
            if text.is_empty() {
                continue;
            }
            let space = text.iter().position(|&b| b == b' ').ok_or(SpecError::BadLine { line })?;
            let (keyword, raw) = (&text[..space], &text[space + 1..]);
            let value = unescape(raw).ok_or(SpecError::BadEscape { line })?;
            if value.contains(&0) || core::str::from_utf8(&value).is_err() {
                return Err(SpecError::NotText { line });
            }
            match keyword {
                b"arg" => {
                    first_arg_line.get_or_insert(line);
                    args.push(value);
                }
                b"env" => env.push(value),
                b"cwd" => {
                    if cwd.is_some() {
                        return Err(SpecError::Repeated { line, field: "cwd" });
                    }
                    if value.first() != Some(&b'/') {
                        return Err(SpecError::BadValue { line, field: "cwd" });
                    }
                    cwd = Some(value);
                }
                b"user" => {
                    if user.is_some() {
                        return Err(SpecError::Repeated { line, field: "user" });
                    }
                    let ids = numbers(&value, line)?;
                    let [uid, gid] = ids[..] else { return Err(SpecError::BadLine { line }) };
                    user = Some((uid, gid));
                }
                b"groups" => {
                    if groups.is_some() {
                        return Err(SpecError::Repeated { line, field: "groups" });
                    }
                    let list = numbers(&value, line)?;
                    if list.len() > MAX_GROUPS {
                        return Err(SpecError::BadLine { line });
                    }
                    groups = Some(list);
                }
                _ => return Err(SpecError::BadLine { line }),
            }
        }
        if args.is_empty() {
            return Err(SpecError::Missing("arg"));
        }
        if args[0].is_empty() {
            return Err(SpecError::BadValue { line: first_arg_line.unwrap_or(0), field: "arg" });
        }
        let cwd = cwd.ok_or(SpecError::Missing("cwd"))?;
        let (uid, gid) = user.ok_or(SpecError::Missing("user"))?;
        Ok(Self { args, env, cwd, uid, gid, groups: groups.unwrap_or_default() })
    }
}

/// Undoes `\\` and `\n`; `None` for any other escape or a trailing backslash.
fn unescape(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            _ => return None,
        }
    }
    Some(out)
}

/// Space-separated decimal ids, below `u32::MAX` (which Linux's set*id calls take as "no
/// change", not as an id).
fn numbers(value: &[u8], line: usize) -> Result<Vec<u32>, SpecError> {
    value
        .split(|&b| b == b' ')
        .map(|word| {
            core::str::from_utf8(word)
                .ok()
                .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|w| w.parse::<u32>().ok())
                .filter(|&id| id != u32::MAX)
                .ok_or(SpecError::BadNumber { line })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            args: vec![b"/bin/sh".to_vec(), b"-c".to_vec(), b"echo a\\b\nc".to_vec()],
            env: vec![b"PATH=/bin".to_vec(), b"EMPTY=".to_vec()],
            cwd: b"/srv/app dir".to_vec(),
            uid: 1000,
            gid: 100,
            groups: vec![100, 27],
        }
    }

    #[test]
    fn a_spec_round_trips_with_backslashes_newlines_and_spaces() {
        let bytes = spec().encode();
        assert!(
            bytes.starts_with(b"cocoon-container v1\narg /bin/sh\narg -c\narg echo a\\\\b\\nc\n")
        );
        assert_eq!(ContainerSpec::parse(&bytes).unwrap(), spec());
        let no_groups = ContainerSpec { groups: vec![], ..spec() };
        assert_eq!(ContainerSpec::parse(&no_groups.encode()).unwrap(), no_groups);
    }

    #[test]
    fn each_kind_of_bad_spec_is_refused_naming_its_line() {
        let good = "cocoon-container v1\narg /bin/sh\ncwd /\nuser 0 0\n";
        assert!(ContainerSpec::parse(good.as_bytes()).is_ok());
        let cases: [(&str, SpecError); 11] = [
            ("cocoon-container v2\n", SpecError::BadMagic),
            ("cocoon-container v1\narg /bin/sh\ncwd /\n", SpecError::Missing("user")),
            ("cocoon-container v1\ncwd /\nuser 0 0\n", SpecError::Missing("arg")),
            ("cocoon-container v1\narg /bin/sh\nuser 0 0\n", SpecError::Missing("cwd")),
            (
                "cocoon-container v1\narg /x\ncwd /\ncwd /\nuser 0 0\n",
                SpecError::Repeated { line: 4, field: "cwd" },
            ),
            (
                "cocoon-container v1\narg /x\ncwd tmp\nuser 0 0\n",
                SpecError::BadValue { line: 3, field: "cwd" },
            ),
            ("cocoon-container v1\narg /x\ncwd /\nuser 0\n", SpecError::BadLine { line: 4 }),
            ("cocoon-container v1\narg /x\ncwd /\nuser 0 -1\n", SpecError::BadNumber { line: 4 }),
            (
                "cocoon-container v1\narg /x\ncwd /\nuser 0 4294967296\n",
                SpecError::BadNumber { line: 4 },
            ),
            ("cocoon-container v1\narg a\\tb\ncwd /\nuser 0 0\n", SpecError::BadEscape { line: 2 }),
            ("cocoon-container v1\nexec /x\ncwd /\nuser 0 0\n", SpecError::BadLine { line: 2 }),
        ];
        for (text, expected) in cases {
            assert_eq!(ContainerSpec::parse(text.as_bytes()), Err(expected), "{text:?}");
        }
        let huge = vec![b'a'; MAX_SPEC_LEN + 1];
        assert_eq!(ContainerSpec::parse(&huge), Err(SpecError::TooLarge(MAX_SPEC_LEN + 1)));
        let empty_program = "cocoon-container v1\ncwd /\narg \nuser 0 0\n";
        assert_eq!(
            ContainerSpec::parse(empty_program.as_bytes()),
            Err(SpecError::BadValue { line: 3, field: "arg" })
        );
        let minus_one = "cocoon-container v1\narg /x\ncwd /\nuser 4294967295 0\n";
        assert_eq!(
            ContainerSpec::parse(minus_one.as_bytes()),
            Err(SpecError::BadNumber { line: 4 })
        );
        let nul = b"cocoon-container v1\narg /x\0y\ncwd /\nuser 0 0\n";
        assert_eq!(ContainerSpec::parse(nul), Err(SpecError::NotText { line: 2 }));
        let latin1 = b"cocoon-container v1\narg /x\ncwd /caf\xe9\nuser 0 0\n";
        assert_eq!(ContainerSpec::parse(latin1), Err(SpecError::NotText { line: 3 }));
    }
}
