//! Shared helpers for the integration tests: scratch directories, and e2fsprogs (mke2fs to
//! build fixtures, e2fsck and debugfs to judge what this crate wrote).
//!
//! The tools are required: `deploy/deps.sh` installs e2fsprogs. A missing tool fails the
//! test with a message saying so, rather than letting it pass without checking anything.
#![allow(dead_code, reason = "each test binary uses a different subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use ext2::{FileType, Filesystem, InodeNo};

/// A directory under the system temp dir, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("ext2-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Returns the path of an e2fsprogs tool, or fails the test saying how to get it.
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: these tests need e2fsprogs (deploy/deps.sh installs it)");
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Builds an ext2 image of `size` (mke2fs syntax, e.g. "16M") from directory `src`.
pub fn mkfs(src: &Path, img: &Path, block_size: u32, size: &str, extra: &[&str]) {
    let out = run(Command::new(tool("mke2fs"))
        .env("E2FSPROGS_FAKE_TIME", "1700000000")
        .args(["-q", "-t", "ext2", "-b", &block_size.to_string()])
        .args(extra)
        .arg("-d")
        .arg(src)
        .arg("-F")
        .arg(img)
        .arg(size));
    assert!(out.status.success(), "mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `e2fsck -fn` and fails the test with its report unless the image is clean.
pub fn fsck_clean(img: &Path) {
    let out = run(Command::new(tool("e2fsck")).arg("-fn").arg(img));
    assert!(
        out.status.success(),
        "e2fsck -fn found problems (exit {:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a debugfs request on the image and returns its output.
pub fn debugfs(img: &Path, request: &str) -> Vec<u8> {
    let out = run(Command::new(tool("debugfs")).arg("-R").arg(request).arg(img));
    assert!(out.status.success(), "debugfs {request} failed");
    out.stdout
}

/// Resolves an absolute path (no symlinks followed) to an inode.
pub fn resolve<D: ext2::BlockDevice>(
    fs: &Filesystem<D>,
    path: &str,
) -> Result<InodeNo, ext2::Error> {
    let mut cur = fs.root();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = fs.lookup(cur, part.as_bytes())?;
    }
    Ok(cur)
}

/// Reads a whole regular file.
pub fn read_all<D: ext2::BlockDevice>(fs: &Filesystem<D>, ino: InodeNo) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut buf = vec![0u8; size];
    assert_eq!(fs.read(ino, 0, &mut buf).unwrap(), size);
    buf
}

/// Deterministic bytes that differ per file and per offset (so misplaced blocks show).
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Returns the crate's file type for a host file.
pub fn host_type(m: &std::fs::Metadata) -> FileType {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        FileType::Directory
    } else if t.is_symlink() {
        FileType::Symlink
    } else if t.is_file() {
        FileType::Regular
    } else if t.is_fifo() {
        FileType::Fifo
    } else if t.is_char_device() {
        FileType::CharDevice
    } else if t.is_block_device() {
        FileType::BlockDevice
    } else {
        FileType::Socket
    }
}
