//! ext2 disks for the guests, and the host's verdict on what a guest left on one: e2fsprogs
//! builds the image (`mke2fs -d`), checks it (`e2fsck -fn`) and reads it back (`debugfs`).
//! Nothing here uses the project's own ext2 crate, so a bug there cannot hide itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The workload's disks: 1 KiB blocks (so a 200 MB file reaches triple-indirect blocks, which
/// start at 64 MiB + 268 KiB), 320 MiB.
pub const EXT2_BLOCK_SIZE: u32 = 1024;
/// See [`EXT2_BLOCK_SIZE`].
pub const EXT2_SIZE: &str = "320M";

/// Returns the path of an e2fsprogs tool (`/usr/sbin` is not on every user's PATH).
pub fn tool(name: &str) -> Result<PathBuf, String> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.exists())
        .ok_or_else(|| format!("{name} not found: install e2fsprogs (deploy/deps.sh does)"))
}

/// Writes an ext2 image of `size` (mke2fs syntax: "300M") holding the tree `src`, with
/// `block_size`-byte blocks. The same inputs give the same bytes (fixed time, UUID and hash
/// seed), so two kernels can be handed identical disks.
pub fn make_image(src: &Path, img: &Path, block_size: u32, size: &str) -> Result<(), String> {
    const UUID: &str = "c0c0a000-0000-4000-8000-000000000e02";
    let _ = std::fs::remove_file(img);
    let out = Command::new(tool("mke2fs")?)
        .env("E2FSPROGS_FAKE_TIME", "1700000000")
        .args(["-q", "-t", "ext2", "-b", &block_size.to_string(), "-U", UUID])
        .args(["-E", &format!("root_owner=0:0,hash_seed={UUID}")])
        .arg("-d")
        .arg(src)
        .arg("-F")
        .arg(img)
        .arg(size)
        .output()
        .map_err(|e| format!("cannot run mke2fs: {e}"))?;
    if !out.status.success() {
        return Err(format!("mke2fs failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// Runs `e2fsck -fn`: Ok if it finds nothing to fix, else its report.
pub fn fsck(img: &Path) -> Result<(), String> {
    let out = Command::new(tool("e2fsck")?)
        .arg("-fn")
        .arg(img)
        .output()
        .map_err(|e| format!("cannot run e2fsck: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "e2fsck -fn {} (exit {:?}):\n{}{}",
        img.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Runs `e2fsck -fy`, which repairs what it finds. Returns its exit code when that is 0
/// (nothing to fix) or 1 (errors fixed), else its report: 4 or more means errors were left
/// or it could not run, and 2 or 3 (fixed, reboot) has no business on an image file.
pub fn repair(img: &Path) -> Result<i32, String> {
    let out = Command::new(tool("e2fsck")?)
        .arg("-fy")
        .arg(img)
        .output()
        .map_err(|e| format!("cannot run e2fsck: {e}"))?;
    match out.status.code() {
        Some(code @ (0 | 1)) => Ok(code),
        code => Err(format!(
            "e2fsck -fy {} (exit {code:?}):\n{}{}",
            img.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn debugfs(img: &Path, request: &str) -> Result<Vec<u8>, String> {
    let out = Command::new(tool("debugfs")?)
        .args(["-R", request])
        .arg(img)
        .output()
        .map_err(|e| format!("cannot run debugfs: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "debugfs -R '{request}' failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// One directory entry as `debugfs ls -p` prints it: `/ino/mode/uid/gid/name/size/`.
struct Entry {
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    name: String,
    size: u64,
}

fn list(img: &Path, dir: &str) -> Result<Vec<Entry>, String> {
    let out = String::from_utf8_lossy(&debugfs(img, &format!("ls -p \"{dir}\""))?).into_owned();
    let mut entries = Vec::new();
    for line in out.lines().filter(|l| l.starts_with('/')) {
        let f: Vec<&str> = line.split('/').collect();
        let bad = || format!("debugfs printed an entry it should not: {line:?}");
        if f.len() < 8 {
            return Err(bad());
        }
        let name = f[5..f.len() - 2].join("/");
        if name == "." || name == ".." || f[1] == "0" {
            continue;
        }
        entries.push(Entry {
            ino: f[1].parse().map_err(|_| bad())?,
            mode: u32::from_str_radix(f[2], 8).map_err(|_| bad())?,
            uid: f[3].parse().map_err(|_| bad())?,
            gid: f[4].parse().map_err(|_| bad())?,
            name,
            size: f[f.len() - 2].parse().unwrap_or(0),
        });
    }
    Ok(entries)
}

/// The entry at the absolute `path` in the image: its type bits (`mode & 0o170000`, e.g.
/// 0o040000 for a directory) and size, or None if there is no such entry (debugfs lists
/// nothing in a directory that does not exist).
pub fn lookup(img: &Path, path: &str) -> Result<Option<(u32, u64)>, String> {
    let (dir, name) = path.rsplit_once('/').ok_or_else(|| format!("{path} is not absolute"))?;
    let dir = if dir.is_empty() { "/" } else { dir };
    Ok(list(img, dir)?.into_iter().find(|e| e.name == name).map(|e| (e.mode & 0o170000, e.size)))
}

/// The contents of the regular file at the absolute `path` in the image: an error if there
/// is none, or if debugfs reads other than its size.
pub fn read_file(img: &Path, path: &str) -> Result<Vec<u8>, String> {
    match lookup(img, path)? {
        Some((0o100000, size)) => cat(img, path, size),
        Some((kind, _)) => Err(format!("{path} is not a regular file (type {kind:o})")),
        None => Err(format!("{path} does not exist")),
    }
}

/// The `size` bytes of the regular file `path`, read with debugfs.
fn cat(img: &Path, path: &str, size: u64) -> Result<Vec<u8>, String> {
    let data = debugfs(img, &format!("cat \"{path}\""))?;
    if data.len() as u64 != size {
        return Err(format!("{path}: debugfs read {} of {size} bytes", data.len()));
    }
    Ok(data)
}

/// Describes every file in the image, one line each, sorted by path: type and permissions,
/// owner, size, and the SHA-256 of a regular file or the target of a symlink. Names that
/// share an inode (hard links) say so by naming the first path of the group. Inode numbers
/// and times are left out: two kernels may allocate and stamp differently and both be right.
pub fn tree(img: &Path) -> Result<String, String> {
    let mut lines = BTreeMap::new();
    let mut names: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        for e in list(img, if dir.is_empty() { "/" } else { &dir })? {
            let path = format!("{dir}/{}", e.name);
            let kind = e.mode & 0o170000;
            let what = match kind {
                0o040000 => {
                    pending.push(path.clone());
                    String::from("dir")
                }
                0o100000 => format!("file {}", hex(&Sha256::digest(cat(img, &path, e.size)?))),
                0o120000 => {
                    let out = String::from_utf8_lossy(&debugfs(img, &format!("stat \"{path}\""))?)
                        .into_owned();
                    let target = out
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("Fast link dest: "))
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            String::from_utf8_lossy(
                                &debugfs(img, &format!("cat \"{path}\"")).unwrap_or_default(),
                            )
                            .into_owned()
                        });
                    format!("symlink -> {}", target.trim_matches('"'))
                }
                _ => format!("type {kind:o}"),
            };
            let line = format!(
                "{what} mode {:o} owner {}:{} size {}",
                e.mode & 0o7777,
                e.uid,
                e.gid,
                e.size
            );
            if kind != 0o040000 {
                names.entry(e.ino).or_default().push(path.clone());
            }
            lines.insert(path, line);
        }
    }
    // Name each hard-link group by its smallest path (traversal order differs by kernel).
    for paths in names.values() {
        let first = paths.iter().min().cloned().unwrap_or_default();
        for p in paths.iter().filter(|p| **p != first) {
            if let Some(line) = lines.get_mut(p) {
                write!(line, " same inode as {first}").unwrap_or(());
            }
        }
    }
    Ok(lines.iter().map(|(p, l)| format!("{p}: {l}\n")).collect())
}

/// `bytes` in lower-case hexadecimal (as sha256sum prints a digest).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the tree the ext2 workload starts from (`tests/ref/ext2.sh` reads it): small and
/// empty files, a file that needs double-indirect blocks at 1 KiB, a directory of many
/// entries, a symlink, a hard link, a device node's worth of oddity left out (mke2fs -d as
/// non-root cannot make one).
pub fn write_source_tree(dir: &Path) -> Result<(), String> {
    let w = |rel: &str, data: &[u8]| -> Result<(), String> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))
    };
    let _ = std::fs::remove_dir_all(dir);
    w("hello.txt", b"hello from the host\n")?;
    w("empty", b"")?;
    w("docs/readme", b"a file in a directory\n")?;
    w("docs/deep/er/still", b"three levels down\n")?;
    let big: Vec<u8> =
        (0..3 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    w("big.bin", &big)?;
    for i in 0..300 {
        w(&format!("many/entry-{i:03}"), format!("{i}\n").as_bytes())?;
    }
    std::fs::create_dir_all(dir.join("emptydir")).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink("docs/readme", dir.join("link")).map_err(|e| e.to_string())?;
    std::fs::hard_link(dir.join("hello.txt"), dir.join("hello.hard")).map_err(|e| e.to_string())?;
    Ok(())
}

/// Prepares identical ext2 disks for each name in `copies` under `work`: the workload's
/// tree in an image of `size` with `block_size`-byte blocks, built once and copied.
pub fn prepare_disks(
    work: &Path,
    block_size: u32,
    size: &str,
    copies: &[&str],
) -> Result<Vec<PathBuf>, String> {
    let src = work.join("ext2-src");
    write_source_tree(&src)?;
    let base = work.join("ext2-base.img");
    make_image(&src, &base, block_size, size)?;
    copies
        .iter()
        .map(|name| {
            let path = work.join(name);
            let status = Command::new("cp")
                .arg("--sparse=always")
                .arg(&base)
                .arg(&path)
                .status()
                .map_err(|e| format!("cannot run cp: {e}"))?;
            if !status.success() {
                return Err(format!("cp {} {} failed", base.display(), path.display()));
            }
            Ok(path)
        })
        .collect()
}

/// The host's verdict on two disks the same workload wrote: each passes `e2fsck -fn`, and
/// their trees ([`tree`]) are equal. On a difference, the first differing lines.
pub fn compare_disks(reference: &Path, ours: &Path) -> Result<(), String> {
    fsck(reference).map_err(|e| format!("the reference disk is not clean: {e}"))?;
    fsck(ours)?;
    let (theirs, mine) = (tree(reference)?, tree(ours)?);
    if theirs == mine {
        return Ok(());
    }
    let diff: Vec<String> = theirs
        .lines()
        .zip(mine.lines())
        .filter(|(a, b)| a != b)
        .take(10)
        .map(|(a, b)| format!("  linux: {a}\n  ours:  {b}"))
        .collect();
    Err(format!(
        "the trees differ ({} lines vs {}):\n{}",
        theirs.lines().count(),
        mine.lines().count(),
        diff.join("\n")
    ))
}
