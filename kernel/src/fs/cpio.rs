//! The cpio "newc" archive format (magic `070701`, or `070702` with a checksum), as the
//! initramfs uses it.
//!
//! An entry is a 110-byte ASCII header of thirteen 8-digit hex fields, the NUL-terminated
//! name padded to a multiple of 4, then the file data padded to a multiple of 4. The entry
//! named `TRAILER!!!` ends an archive; NUL padding may follow, and another archive may follow
//! that (Linux concatenates them, e.g. microcode before the root image).
//!
//! [`Entries`] walks an archive and yields each entry or the first thing wrong with it, with
//! the entry's offset and (once it is known) its name, so a truncated or corrupt archive is
//! reported, never taken for a short one.

use alloc::string::String;
use core::fmt;

const HEADER: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// One archive entry, checked: its name is UTF-8, its data lies inside the archive, and its
/// mode names a known file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Where its header starts in the archive.
    pub offset: usize,
    /// Inode number (entries sharing one with `nlink > 1` are hard links).
    pub ino: u32,
    /// File type and permission bits, as in `st_mode`.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link count.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Device number of a device node.
    pub rdevmajor: u32,
    /// Device number of a device node.
    pub rdevminor: u32,
    /// Path inside the archive.
    pub name: &'a str,
    /// The file's bytes (a symlink's target).
    pub data: &'a [u8],
}

/// What is wrong with an archive entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioError {
    /// Where the entry's header starts.
    pub offset: usize,
    /// The entry's name, if the header got that far.
    pub name: Option<String>,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.name {
            Some(name) => write!(
                f,
                "malformed cpio entry {name:?} at offset {:#x}: {}",
                self.offset, self.why
            ),
            None => write!(f, "malformed cpio entry at offset {:#x}: {}", self.offset, self.why),
        }
    }
}

/// The entries of an archive, in order; the first error ends the walk.
pub struct Entries<'a> {
    archive: &'a [u8],
    at: usize,
    done: bool,
}

/// Walks `archive`.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries { archive, at: 0, done: false }
}

fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

impl<'a> Entries<'a> {
    /// Parses the entry at `offset`: returns it (`None` for the trailer) and where the next
    /// one starts.
    fn parse(&self, offset: usize) -> Result<(Option<Entry<'a>>, usize), CpioError> {
        let fail = |name: Option<&str>, why: String| CpioError {
            offset,
            name: name.map(String::from),
            why,
        };
        let rest = &self.archive[offset..];
        let header = rest.get(..HEADER).ok_or_else(|| {
            fail(
                None,
                alloc::format!(
                    "truncated header ({} bytes left, a header is {HEADER})",
                    rest.len()
                ),
            )
        })?;
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            let magic = String::from_utf8_lossy(&header[..6]);
            return Err(fail(
                None,
                alloc::format!("bad magic {magic:?} (not newc 070701 or 070702)"),
            ));
        }
        let mut v = [0u32; 13];
        for (i, field) in FIELDS.iter().enumerate() {
            let digits = &header[6 + 8 * i..14 + 8 * i];
            v[i] = core::str::from_utf8(digits)
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|s| u32::from_str_radix(s, 16).ok())
                .ok_or_else(|| {
                    fail(
                        None,
                        alloc::format!(
                            "{field} field {:?} is not 8 hex digits",
                            String::from_utf8_lossy(digits)
                        ),
                    )
                })?;
        }
        let [
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            filesize,
            _,
            _,
            rdevmajor,
            rdevminor,
            namesize,
            check,
        ] = v;
        let (filesize, namesize) = (filesize as usize, namesize as usize);
        if namesize == 0 {
            return Err(fail(None, "namesize is 0 (the name needs at least its NUL)".into()));
        }
        let name_bytes = rest.get(HEADER..HEADER + namesize).ok_or_else(|| {
            fail(None, alloc::format!("the {namesize}-byte name runs past the end of the archive"))
        })?;
        let (last, name) = name_bytes.split_last().unwrap_or((&0, &[]));
        let name =
            core::str::from_utf8(name).map_err(|_| fail(None, "the name is not UTF-8".into()))?;
        if *last != 0 || name.contains('\0') {
            return Err(fail(Some(name), "the name is not a single NUL-terminated string".into()));
        }
        // Padding aligns to 4 bytes from the start of the archive, as Linux reads it.
        let data_start = align4(offset + HEADER + namesize).map_or(usize::MAX, |a| a - offset);
        let data = data_start
            .checked_add(filesize)
            .and_then(|end| rest.get(data_start..end))
            .ok_or_else(|| {
                let left = rest.len().saturating_sub(data_start);
                fail(
                    Some(name),
                    alloc::format!(
                        "its {filesize} bytes of data run past the end of the archive ({left} left)"
                    ),
                )
            })?;
        // Within `rest` (checked above), so no overflow; the last entry's padding may be cut off.
        let next =
            align4(offset + data_start + filesize).unwrap_or(usize::MAX).min(self.archive.len());
        if name == TRAILER {
            return Ok((None, next));
        }
        let known = matches!(
            mode & 0o170000,
            0o010000 | 0o020000 | 0o040000 | 0o060000 | 0o100000 | 0o120000 | 0o140000
        );
        if !known {
            return Err(fail(Some(name), alloc::format!("mode {mode:#o} is no known file type")));
        }
        if name.split('/').any(|part| part == "..") {
            return Err(fail(Some(name), "the name has a '..' component".into()));
        }
        if &header[..6] == b"070702" && mode & 0o170000 != 0o120000 {
            let sum = data.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
            if sum != check {
                return Err(fail(
                    Some(name),
                    alloc::format!("checksum {sum:#x} differs from the header's {check:#x}"),
                ));
            }
        }
        let entry =
            Entry { offset, ino, mode, uid, gid, nlink, mtime, rdevmajor, rdevminor, name, data };
        Ok((Some(entry), next))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.at >= self.archive.len() {
                // Only an entry that was not the trailer leads here (or an empty archive).
                self.done = true;
                return (self.at > 0).then(|| {
                    Err(CpioError {
                        offset: self.at,
                        name: None,
                        why: "the archive ends without a TRAILER!!! entry".into(),
                    })
                });
            }
            match self.parse(self.at) {
                Ok((Some(entry), next)) => {
                    self.at = next;
                    return Some(Ok(entry));
                }
                Ok((None, next)) => {
                    // The trailer. NUL padding may follow it, and then another archive.
                    let pad = self.archive[next..].iter().take_while(|&&b| b == 0).count();
                    self.at = next + pad;
                    self.done = self.at >= self.archive.len();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

ostd::ktest! {
    fn cpio_reports_truncation_and_bogus_entries_by_offset_and_name() {
        use alloc::vec::Vec;
        fn entry(mode: u32, name: &str, data: &[u8]) -> Vec<u8> {
            let mut e = alloc::format!(
                "070701{:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}\
                 {:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                1,
                0,
                0,
                1,
                0,
                data.len(),
                0,
                0,
                0,
                0,
                name.len() + 1,
                0
            )
            .into_bytes();
            e.extend_from_slice(name.as_bytes());
            e.push(0);
            while e.len() % 4 != 0 {
                e.push(0);
            }
            e.extend_from_slice(data);
            while e.len() % 4 != 0 {
                e.push(0);
            }
            e
        }
        let mut good = entry(0o100644, "a", b"hello");
        let second = good.len();
        good.extend(entry(0o100755, "bin/tool", b"0123456789"));
        good.extend(entry(0, "TRAILER!!!", b""));
        let names: Vec<_> = entries(&good).map(|e| e.map(|e| e.name)).collect();
        assert_eq!(names, [Ok("a"), Ok("bin/tool")]);

        // Cut inside the second entry's data.
        let cut = &good[..second + 124];
        let errs: Vec<_> = entries(cut).filter_map(|e| e.err()).collect();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].offset, errs[0].name.as_deref()), (second, Some("bin/tool")));
        assert!(errs[0].why.contains("10 bytes of data run past the end"), "{}", errs[0]);

        // No trailer at all.
        let errs: Vec<_> = entries(&good[..second]).filter_map(|e| e.err()).collect();
        assert_eq!(errs[0].offset, second);
        assert!(errs[0].why.contains("without a TRAILER"));

        // A mode with no file type, and a header field that is not hex.
        let mut bogus = entry(0o100644, "a", b"hello");
        bogus.extend(entry(0o170644, "weird", b""));
        let e = entries(&bogus).find_map(|e| e.err()).unwrap();
        assert_eq!((e.offset, e.name.as_deref()), (second, Some("weird")));
        assert_eq!(
            alloc::format!("{e}"),
            "malformed cpio entry \"weird\" at offset 0x78: mode 0o170644 is no known file type"
        );
        let mut not_hex = entry(0o100644, "a", b"hello");
        not_hex[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"0000zzzz");
        let e = entries(&not_hex).find_map(|e| e.err()).unwrap();
        assert_eq!(
            alloc::format!("{e}"),
            "malformed cpio entry at offset 0x0: filesize field \"0000zzzz\" is not 8 hex digits"
        );

        // Concatenated archives with NUL padding between them are one archive stream.
        let mut two = good.clone();
        two.extend_from_slice(&[0; 8]);
        two.extend(entry(0o100644, "c", b"x"));
        two.extend(entry(0, "TRAILER!!!", b""));
        let names: Vec<_> = entries(&two).map(|e| e.map(|e| e.name)).collect();
        assert_eq!(names, [Ok("a"), Ok("bin/tool"), Ok("c")]);
    }
}
