//! The kernel command line, Linux style.
//!
//! Words are separated by spaces; double quotes group spaces into one word (`k="a b"`);
//! `key=value` words carry a value. Everything after a lone `--` belongs to init.
//! The raw bytes come from the boot loader and are sanitised once, on copy: bytes that are not
//! printable ASCII become `?`, so every later parse works on a valid `&str`.

/// The command line, copied out of loader memory.
pub struct Cmdline {
    bytes: [u8; Self::CAPACITY],
    len: usize,
    /// Non-printable bytes replaced with `?` during the copy.
    pub replaced: usize,
    /// Bytes dropped because the line was longer than [`Cmdline::CAPACITY`].
    pub truncated: usize,
}

/// One word of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdlineArg<'a> {
    /// The part before the first `=`, or the whole word.
    pub key: &'a str,
    /// The part after the first `=`, with its quotes removed.
    pub value: Option<&'a str>,
}

impl Cmdline {
    /// The longest command line kept (the Linux boot protocol's default `cmdline_size`).
    pub const CAPACITY: usize = 2048;

    /// Copies and sanitises `raw`, which ends at its first NUL byte if it has one.
    pub fn from_raw(raw: &[u8]) -> Self {
        let raw = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        let mut cmdline = Self { bytes: [0; Self::CAPACITY], len: 0, replaced: 0, truncated: 0 };
        for &b in raw {
            if cmdline.len == Self::CAPACITY {
                cmdline.truncated += 1;
                continue;
            }
            let b = match b {
                b'\t' | b'\n' | b'\r' => b' ',
                0x20..=0x7e => b,
                _ => {
                    cmdline.replaced += 1;
                    b'?'
                }
            };
            cmdline.bytes[cmdline.len] = b;
            cmdline.len += 1;
        }
        cmdline
    }

    /// Returns the whole (sanitised) line.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII was stored.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// Returns the kernel's words (those before `--`).
    pub fn args(&self) -> impl Iterator<Item = CmdlineArg<'_>> {
        Words { rest: self.as_str() }.take_while(|w| *w != "--").map(split_word)
    }

    /// Returns the words after `--`, which are init's.
    pub fn init_args(&self) -> impl Iterator<Item = &str> {
        Words { rest: self.as_str() }.skip_while(|w| *w != "--").skip(1).map(unquote)
    }

    /// Returns the value of the last `key=value` word with this key.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.args().filter(|a| a.key == key).filter_map(|a| a.value).last()
    }

    /// Returns whether a bare `key` word (or `key=1`) is present.
    pub fn has_flag(&self, key: &str) -> bool {
        self.args().any(|a| a.key == key && matches!(a.value, None | Some("1") | Some("y")))
    }
}

/// Splits a line into words, honouring double quotes. An unterminated quote runs to the end.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(' ');
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let mut in_quotes = false;
        let mut end = s.len();
        for (i, c) in s.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ' ' if !in_quotes => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

fn split_word(word: &str) -> CmdlineArg<'_> {
    match word.split_once('=') {
        Some((key, value)) => CmdlineArg { key: unquote(key), value: Some(unquote(value)) },
        None => CmdlineArg { key: unquote(word), value: None },
    }
}

fn unquote(s: &str) -> &str {
    let s = s.strip_prefix('"').unwrap_or(s);
    s.strip_suffix('"').unwrap_or(s)
}

crate::ktest! {
    fn cmdline_splits_words_keys_and_values() {
        let c = Cmdline::from_raw(b"console=ttyS0 quiet rdinit=/bin/sh foo=\"a b\" -- x y\0junk");
        let args: alloc::vec::Vec<_> = c.args().collect();
        assert_eq!(args.len(), 4);
        assert_eq!(args[0], CmdlineArg { key: "console", value: Some("ttyS0") });
        assert_eq!(args[1], CmdlineArg { key: "quiet", value: None });
        assert_eq!(c.value("rdinit"), Some("/bin/sh"));
        assert_eq!(c.value("foo"), Some("a b"));
        assert!(c.has_flag("quiet"));
        assert_eq!(c.init_args().collect::<alloc::vec::Vec<_>>(), ["x", "y"]);
    }

    fn cmdline_sanitises_malformed_input() {
        let c = Cmdline::from_raw(b"a=\xff\xfe b=\"unterminated c\x01");
        assert_eq!(c.replaced, 3);
        assert_eq!(c.value("a"), Some("??"));
        assert_eq!(c.value("b"), Some("unterminated c?"));
        let long = [b'x'; Cmdline::CAPACITY + 10];
        let c = Cmdline::from_raw(&long);
        assert_eq!(c.truncated, 10);
        assert_eq!(c.as_str().len(), Cmdline::CAPACITY);
    }
}
