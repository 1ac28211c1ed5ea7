//! Unpacks the initramfs (a gzip'd, or plain, cpio "newc" archive) into the root.
//!
//! Parsing the archive is [`super::cpio`]'s; decompression is `miniz_oxide`'s streaming
//! inflater (the gzip header and trailer, RFC 1952, are checked here). The host supplies the
//! image, so its decompressed size is bounded by free memory (a gzip bomb is an error, not an
//! allocation panic), and a truncated or corrupt archive is an error naming the entry. Bad
//! input is an error naming what was wrong; whatever was unpacked before it stays.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::node::{Node, NodeKind};
use crate::error::Errno;

/// Why the initramfs could not be unpacked.
#[derive(Debug, PartialEq, Eq)]
pub enum InitramfsError {
    /// The gzip header is malformed.
    BadGzipHeader(&'static str),
    /// The deflate stream is corrupt.
    Inflate(String),
    /// The gzip trailer's length or CRC does not match.
    BadGzipTrailer(&'static str),
    /// The data is neither gzip nor cpio newc.
    UnknownFormat([u8; 4]),
    /// The archive holds no entries.
    EmptyArchive,
    /// The archive decompresses to more than the limit (a share of free memory).
    TooLarge { limit: usize },
    /// The deflate stream inflates past the length its trailer declares.
    IsizeExceeded { isize: u32 },
    /// Memory for the decompressed archive ran out below the limit.
    OutOfMemory { bytes: usize },
    /// An archive entry is malformed; the error names its offset and name.
    BadCpio(super::cpio::CpioError),
    /// Creating an entry failed.
    Create { path: String, errno: Errno },
}

impl fmt::Display for InitramfsError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::BadGzipHeader(why) => write!(f, "bad gzip header: {why}"),
            Self::Inflate(why) => write!(f, "corrupt deflate data: {why}"),
            Self::BadGzipTrailer(why) => write!(f, "gzip trailer mismatch: {why}"),
            Self::UnknownFormat(m) => write!(f, "not gzip or cpio newc (starts with {m:02x?})"),
            Self::EmptyArchive => write!(f, "the cpio archive has no entries"),
            Self::TooLarge { limit } => {
                write!(
                    f,
                    "the archive decompresses to more than {limit} bytes, a quarter of free \
                     memory; refusing it"
                )
            }
            Self::IsizeExceeded { isize } => write!(
                f,
                "the deflate stream inflates past the {isize} bytes its gzip trailer declares"
            ),
            Self::OutOfMemory { bytes } => {
                write!(f, "out of memory growing the decompressed archive to {bytes} bytes")
            }
            Self::BadCpio(e) => write!(f, "{e}"),
            Self::Create { path, errno } => write!(f, "cannot create {path}: {errno:?}"),
        }
    }
}

/// What was unpacked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Entries created.
    pub entries: usize,
    /// Bytes of file data.
    pub bytes: usize,
    /// Whether the archive was compressed.
    pub compressed: bool,
}

/// Unpacks `image` into `root`, refusing a compressed image that would decompress to more
/// than a quarter of free memory: the decompressed archive and the files unpacked from it
/// must fit side by side, and the heap rounds a large block up to a power of two.
///
/// # Errors
/// The first thing wrong with the image; entries before it stay unpacked.
pub fn unpack(image: &[u8], root: &Arc<Node>) -> Result<Unpacked, InitramfsError> {
    let free = ostd::mm::frame_stats().free.saturating_mul(ostd::mm::PAGE_SIZE);
    unpack_with_limit(image, root, free / 4)
}

/// Unpacks `image` into `root`, decompressing at most `limit` bytes.
pub fn unpack_with_limit(
    image: &[u8],
    root: &Arc<Node>,
    limit: usize,
) -> Result<Unpacked, InitramfsError> {
    let inflated;
    let (archive, compressed): (&[u8], bool) = match image {
        [0x1f, 0x8b, ..] => {
            inflated = gunzip(image, limit)?;
            (&inflated, true)
        }
        [b'0', b'7', b'0', b'7', b'0', b'1' | b'2', ..] => (image, false),
        _ => {
            let mut m = [0u8; 4];
            for (d, s) in m.iter_mut().zip(image) {
                *d = *s;
            }
            return Err(InitramfsError::UnknownFormat(m));
        }
    };
    let mut unpacked = Unpacked { compressed, ..Unpacked::default() };
    let mut by_ino: BTreeMap<u32, Arc<Node>> = BTreeMap::new();
    for entry in super::cpio::entries(archive) {
        let entry = entry.map_err(InitramfsError::BadCpio)?;
        let path = entry.name.trim_start_matches("./").trim_start_matches('/');
        if path.is_empty() || path == "." {
            continue;
        }
        let mode = entry.mode;
        let perm = mode & 0o7777;
        let kind = match mode & 0o170000 {
            0o040000 => NodeKind::Dir,
            0o120000 => NodeKind::Symlink,
            0o020000 => NodeKind::CharDev(super::devfs::makedev(entry.rdevmajor, entry.rdevminor)),
            0o060000 => NodeKind::BlockDev(super::devfs::makedev(entry.rdevmajor, entry.rdevminor)),
            0o010000 => NodeKind::Fifo,
            _ => NodeKind::File,
        };
        let fail = |errno| InitramfsError::Create { path: String::from(path), errno };
        let (dir, name) = parent_of(root, path).map_err(fail)?;
        let existing = dir.lookup(name).ok();
        let node = match (kind, existing) {
            (NodeKind::Dir, Some(n)) if n.kind() == NodeKind::Dir => n,
            (_, existing) => {
                if existing.is_some() {
                    dir.unlink(name, existing.as_ref().is_some_and(|n| n.kind() == NodeKind::Dir))
                        .map_err(fail)?;
                }
                let hard_link = (kind == NodeKind::File && entry.nlink > 1)
                    .then(|| by_ino.get(&entry.ino).cloned())
                    .flatten();
                match hard_link {
                    Some(target) => {
                        dir.link(name, target.clone()).map_err(fail)?;
                        target
                    }
                    None => {
                        let target = if kind == NodeKind::Symlink {
                            core::str::from_utf8(entry.data).unwrap_or("")
                        } else {
                            ""
                        };
                        dir.create(name, kind, perm, target).map_err(fail)?
                    }
                }
            }
        };
        node.update_metadata(|m| {
            m.perm = perm;
            m.uid = entry.uid;
            m.gid = entry.gid;
            m.mtime = super::node::Timespec { sec: i64::from(entry.mtime), nsec: 0 };
        });
        if kind == NodeKind::File {
            if entry.nlink > 1 {
                by_ino.insert(entry.ino, node.clone());
            }
            if !entry.data.is_empty() {
                node.write_at(0, entry.data).map_err(fail)?;
                unpacked.bytes += entry.data.len();
            }
        }
        unpacked.entries += 1;
    }
    if unpacked.entries == 0 {
        return Err(InitramfsError::EmptyArchive);
    }
    Ok(unpacked)
}

/// Finds (creating as needed) the directory holding `path` and returns it with the last name.
fn parent_of<'p>(root: &Arc<Node>, path: &'p str) -> Result<(Arc<Node>, &'p str), Errno> {
    let mut dir = root.clone();
    let mut parts = path.split('/').filter(|p| !p.is_empty() && *p != ".").peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return Ok((dir, part));
        }
        dir = match dir.lookup(part) {
            Ok(d) if d.kind() == NodeKind::Dir => d,
            Ok(_) => return Err(Errno::ENOTDIR),
            Err(_) => dir.create(part, NodeKind::Dir, 0o755, "")?,
        };
    }
    Err(Errno::EINVAL)
}

/// Decompresses a gzip member (RFC 1952) to at most `limit` bytes, checking the header and
/// trailer.
fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, InitramfsError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let header = data.get(..10).ok_or(InitramfsError::BadGzipHeader("shorter than 10 bytes"))?;
    if header[2] != 8 {
        return Err(InitramfsError::BadGzipHeader("compression method is not deflate"));
    }
    let flags = header[3];
    let mut at = 10;
    let truncated = InitramfsError::BadGzipHeader("optional fields run past the end");
    if flags & FEXTRA != 0 {
        let len =
            data.get(at..at + 2).ok_or(InitramfsError::BadGzipHeader("FEXTRA length missing"))?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = data
                .get(at..)
                .and_then(|d| d.iter().position(|&b| b == 0))
                .ok_or(InitramfsError::BadGzipHeader("unterminated name or comment"))?;
            at += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    // The member ends in CRC32 and ISIZE, four bytes each.
    if at > data.len() {
        return Err(truncated);
    }
    let body_end = data
        .len()
        .checked_sub(8)
        .filter(|&end| end >= at)
        .ok_or(InitramfsError::BadGzipTrailer("the 8-byte trailer is missing"))?;
    let body = &data[at..body_end];
    let isize = u32::from_le_bytes([
        data[body_end + 4],
        data[body_end + 5],
        data[body_end + 6],
        data[body_end + 7],
    ]);
    // ISIZE is the length mod 2^32, so the real length is at least ISIZE: past the limit, no
    // need to inflate anything. Below it, it sizes the buffer (one allocation, if it is honest).
    if isize as usize > limit {
        return Err(InitramfsError::TooLarge { limit });
    }
    let out = inflate_bounded(body, isize, limit)?;
    if isize != out.len() as u32 {
        return Err(InitramfsError::BadGzipTrailer("ISIZE differs from the decompressed length"));
    }
    Ok(out)
}

/// Inflates a raw deflate stream whose gzip trailer declares `isize` bytes (the length mod
/// 2^32) into a buffer of at most `limit` bytes.
///
/// The buffer is sized from `isize` up front, so an honest archive costs one allocation. A
/// stream that goes past `isize` is either lying or at least 4 GiB longer; unless `limit`
/// leaves room for that, it is refused at once rather than inflated. Every allocation is
/// fallible, so running out of memory is an error too.
fn inflate_bounded(mut input: &[u8], isize: u32, limit: usize) -> Result<Vec<u8>, InitramfsError> {
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
    let declared = isize as usize;
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut out: Vec<u8> = Vec::new();
    let mut len = 0;
    loop {
        if len == out.len() {
            // One byte past `declared` is enough to see the stream overrun it.
            let want = if len == 0 {
                declared.saturating_add(1)
            } else if declared.saturating_add(1usize << 32) > limit {
                return Err(InitramfsError::IsizeExceeded { isize });
            } else if len >= limit {
                return Err(InitramfsError::TooLarge { limit });
            } else {
                len.saturating_mul(2).min(limit)
            };
            out.try_reserve_exact(want - out.len())
                .map_err(|_| InitramfsError::OutOfMemory { bytes: want })?;
            out.resize(want, 0);
        }
        let r = inflate(&mut state, input, &mut out[len..], MZFlush::None);
        input = &input[r.bytes_consumed..];
        len += r.bytes_written;
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) | Err(MZError::Buf) if r.bytes_consumed + r.bytes_written > 0 => {}
            Ok(_) | Err(MZError::Buf) => {
                return Err(InitramfsError::Inflate("the deflate stream ends early".into()));
            }
            Err(e) => return Err(InitramfsError::Inflate(alloc::format!("{e:?}"))),
        }
    }
    out.truncate(len);
    Ok(out)
}

ostd::ktest! {
    fn initramfs_rejects_garbage_with_a_reason() {
        let root = Node::new_dir(0o755);
        assert_eq!(unpack(b"garbage!", &root), Err(InitramfsError::UnknownFormat(*b"garb")));
        // Block type 3 does not exist.
        let reserved_block =
            [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(unpack(&reserved_block, &root), Err(InitramfsError::Inflate(_))));
        assert_eq!(
            unpack(&reserved_block[..14], &root),
            Err(InitramfsError::BadGzipTrailer("the 8-byte trailer is missing"))
        );
        assert_eq!(
            unpack(&[0x1f, 0x8b], &root),
            Err(InitramfsError::BadGzipHeader("shorter than 10 bytes"))
        );
    }

    fn initramfs_unpacks_a_newc_archive() {
        // One directory and one file ("d/f" = "hi\n"), as `cpio -o -H newc` writes them.
        fn header(ino: u32, mode: u32, size: usize, name: &str) -> Vec<u8> {
            let mut h = alloc::format!(
                "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{size:08x}\
                 {:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                name.len() + 1,
                0
            )
            .into_bytes();
            h.extend_from_slice(name.as_bytes());
            h.push(0);
            while h.len() % 4 != 0 {
                h.push(0);
            }
            h
        }
        let mut a = header(1, 0o040755, 0, "d");
        a.extend(header(2, 0o100644, 3, "d/f"));
        a.extend_from_slice(b"hi\n\0");
        a.extend(header(0, 0, 0, "TRAILER!!!"));
        let root = Node::new_dir(0o755);
        let u = unpack(&a, &root).unwrap();
        assert_eq!(u.entries, 2);
        let f = root.lookup("d").unwrap().lookup("f").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(f.read_at(0, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"hi\n");
        assert_eq!(f.metadata().perm, 0o644);
    }
}
