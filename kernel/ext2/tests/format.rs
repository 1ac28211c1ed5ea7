//! mkfs: `Filesystem::format` on empty files, judged by e2fsprogs. `e2fsck -fn` must have
//! nothing to say, `dumpe2fs` must show the requested shape and the same group layout as
//! mke2fs with the same options, and the result must take files through the ordinary API.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, debugfs, pattern, read_all, resolve, tool};
use ext2::{BlockDevice, Error, FileType, Filesystem, FormatParams, IoError, Owner};

const TIME: u32 = 1_700_000_000;
const UUID: [u8; 16] = *b"\x6b\x1f\x04\x2e\x9a\x55\x4c\x0d\x8e\x31\x22\x7a\x90\xc4\x5e\x13";
const UUID_TEXT: &str = "6b1f042e-9a55-4c0d-8e31-227a90c45e13";
const MIB: u64 = 1024 * 1024;

fn params(block_size: u32) -> FormatParams {
    let mut label = [0u8; 16];
    label[..6].copy_from_slice(b"cocoon");
    FormatParams { block_size, label, uuid: UUID, time: TIME, ..FormatParams::default() }
}

/// Creates a zero-filled (sparse) file of `size` bytes.
fn empty_file(path: &Path, size: u64) -> File {
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(path).unwrap();
    f.set_len(size).unwrap();
    f
}

fn format_file(path: &Path, size: u64, p: &FormatParams) -> Filesystem<File> {
    Filesystem::format(empty_file(path, size), p).unwrap_or_else(|e| panic!("format: {e}"))
}

/// Runs `e2fsck -fn` and fails unless it exits 0 and prints nothing but its five passes
/// and the summary line.
fn fsck_silent(img: &Path) {
    let out = Command::new(tool("e2fsck")).arg("-fn").arg(img).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let chatter: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("Pass ") && !l.contains(" files (") && !l.is_empty())
        .collect();
    assert!(
        out.status.success() && chatter.is_empty(),
        "e2fsck -fn (exit {:?}):\n{stdout}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Returns `dumpe2fs` output: the `Key: value` header lines as a map, and the group lines.
fn dumpe2fs(img: &Path) -> (BTreeMap<String, String>, Vec<String>) {
    let out = Command::new(tool("dumpe2fs")).arg(img).output().unwrap();
    assert!(out.status.success(), "dumpe2fs: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, groups) = text.split_at(text.find("\nGroup 0:").expect("no groups"));
    let header = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    (header, groups.lines().map(str::to_string).collect())
}

/// Makes the filesystem mke2fs makes with the options this crate's format corresponds to.
fn mke2fs(img: &Path, size: u64, block_size: u32) {
    empty_file(img, size);
    let out = Command::new(tool("mke2fs"))
        .env("E2FSPROGS_FAKE_TIME", TIME.to_string())
        .args(["-q", "-t", "ext2", "-b", &block_size.to_string(), "-I", "128", "-i", "16384"])
        .args(["-O", "none,filetype,sparse_super,large_file", "-m", "5", "-F"])
        .arg(img)
        .output()
        .unwrap();
    assert!(out.status.success(), "mke2fs: {}", String::from_utf8_lossy(&out.stderr));
}

/// Formats a file of `size` bytes and checks it from every side: e2fsck, dumpe2fs against
/// the request and against mke2fs, a mount, and e2fsck again after adding files.
fn format_and_check(size: u64, block_size: u32, blocks: u32, inodes: u32, groups: usize) {
    let s = Scratch::new("format");
    let img = s.path("img");
    let fs = format_file(&img, size, &params(block_size));
    assert_eq!(fs.statfs().blocks, blocks);
    drop(fs);
    fsck_silent(&img);

    let (header, layout) = dumpe2fs(&img);
    let expect = [
        ("Block count", blocks.to_string()),
        ("Inode count", inodes.to_string()),
        ("Block size", block_size.to_string()),
        ("Inode size", "128".to_string()),
        ("Filesystem features", "filetype sparse_super large_file".to_string()),
        ("Filesystem revision #", "1 (dynamic)".to_string()),
        ("Filesystem UUID", UUID_TEXT.to_string()),
        ("Filesystem volume name", "cocoon".to_string()),
        ("Filesystem state", "clean".to_string()),
        ("Errors behavior", "Continue".to_string()),
        ("Filesystem OS type", "Linux".to_string()),
        ("Maximum mount count", "-1".to_string()),
        ("First inode", "11".to_string()),
        ("Reserved block count", (u64::from(blocks) * 5 / 100).to_string()),
    ];
    for (key, want) in expect {
        assert_eq!(header.get(key), Some(&want), "dumpe2fs {key}");
    }
    assert_eq!(layout.iter().filter(|l| l.starts_with("Group ")).count(), groups);

    // mke2fs makes the same groups: same places, same free counts, same free ranges.
    let reference = s.path("mke2fs");
    mke2fs(&reference, size, block_size);
    let (ref_header, ref_layout) = dumpe2fs(&reference);
    assert_eq!(layout, ref_layout, "group layout differs from mke2fs");
    for key in ["Inodes per group", "Free blocks", "Free inodes", "Reserved block count"] {
        assert_eq!(header.get(key), ref_header.get(key), "dumpe2fs {key} differs from mke2fs");
    }

    populate_and_check(&img);
}

/// Adds a directory, a multi-block file, a symlink and a hard link through the ordinary
/// API, then checks with e2fsck, debugfs and a second mount.
fn populate_and_check(img: &Path) {
    let f = OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut fs = Filesystem::open(f).unwrap();
    fs.set_time(TIME + 60);
    let root = fs.root();
    let owner = Owner { perm: 0o644, uid: 1000, gid: 1000 };
    let etc = fs.mkdir(root, b"etc", Owner { perm: 0o755, ..owner }).unwrap();
    let data = fs.create(etc, b"data", owner).unwrap();
    let bytes = pattern(7, 70 * 1024 + 5); // past the 12 direct blocks with 1 KiB blocks
    assert_eq!(fs.write(data, 0, &bytes).unwrap(), bytes.len());
    fs.symlink(root, b"link", b"etc/data", owner).unwrap();
    fs.link(data, root, b"hard").unwrap();
    fs.sync().unwrap();
    drop(fs);
    fsck_silent(img);

    let listing = String::from_utf8(debugfs(img, "ls -l /")).unwrap();
    for name in ["lost+found", "etc", "link", "hard"] {
        assert!(listing.contains(name), "debugfs ls -l / lacks {name}:\n{listing}");
    }
    let fs = Filesystem::open_read_only(File::open(img).unwrap()).unwrap();
    assert_eq!(read_all(&fs, resolve(&fs, "/hard").unwrap()), bytes);
    assert_eq!(fs.readlink(resolve(&fs, "/link").unwrap()).unwrap(), b"etc/data");
    assert_eq!(fs.stat(resolve(&fs, "/etc/data").unwrap()).unwrap().links, 2);
}

#[test]
fn one_mib_with_1k_blocks_is_one_clean_group() {
    format_and_check(MIB, 1024, 1024, 64, 1);
}

#[test]
fn sixty_four_mib_with_1k_blocks_has_eight_groups_and_a_short_last_one() {
    format_and_check(64 * MIB, 1024, 65536, 4096, 8);
}

#[test]
fn forty_mib_with_2k_blocks_has_two_groups() {
    format_and_check(40 * MIB, 2048, 20480, 2560, 2);
}

#[test]
fn sixty_four_mib_with_4k_blocks_is_one_clean_group() {
    format_and_check(64 * MIB, 4096, 16384, 4096, 1);
}

#[test]
fn three_hundred_mib_with_4k_blocks_has_three_groups_and_a_short_last_one() {
    format_and_check(300 * MIB, 4096, 76800, 19200, 3);
}

#[test]
fn a_last_group_too_short_for_its_metadata_is_left_out_as_mke2fs_does() {
    // 20 blocks past one full group: too few for bitmaps, inode table and 50 data blocks.
    // The inode count is still sized from the whole device: 8197, rounded up to 8224.
    format_and_check((32768 + 20) * 4096, 4096, 32768, 8224, 1);
}

#[test]
fn the_lost_and_found_and_root_directories_are_as_mke2fs_makes_them() {
    for (block_size, lost_found_blocks) in [(1024u32, 12u64), (2048, 8), (4096, 4)] {
        let s = Scratch::new("format-dirs");
        let fs = format_file(&s.path("img"), 8 * MIB, &params(block_size));
        let root = fs.stat(fs.root()).unwrap();
        assert_eq!((root.mode, root.links, root.uid, root.gid), (0o040755, 3, 0, 0));
        assert_eq!((root.atime, root.mtime, root.ctime), (TIME, TIME, TIME));
        let lf = fs.lookup(fs.root(), b"lost+found").unwrap();
        assert_eq!(lf.get(), 11);
        let m = fs.stat(lf).unwrap();
        let size = lost_found_blocks * u64::from(block_size);
        assert_eq!((m.mode, m.links, m.size), (0o040700, 2, size));
        let names: Vec<Vec<u8>> = fs.read_dir(lf).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, [b".".to_vec(), b"..".to_vec()]);
        let kinds: Vec<FileType> =
            fs.read_dir(fs.root()).unwrap().iter().map(|e| e.file_type).collect();
        assert_eq!(kinds, [FileType::Directory; 3]);
    }
}

#[test]
fn formatting_twice_gives_identical_bytes_on_any_device() {
    let s = Scratch::new("format-twice");
    let (a, b) = (s.path("a"), s.path("b"));
    let p = params(1024);
    drop(format_file(&a, 64 * MIB, &p));
    drop(format_file(&b, 64 * MIB, &p));
    let bytes = std::fs::read(&a).unwrap();
    assert!(bytes == std::fs::read(&b).unwrap(), "two formats differ");
    let in_memory = Filesystem::format(vec![0u8; 64 * MIB as usize], &p).ok().unwrap();
    assert!(in_memory.into_device() == bytes, "a Vec<u8> device got other bytes than a file");
}

#[test]
fn formatting_over_old_bytes_still_gives_a_clean_filesystem() {
    // Every metadata block is written whole, so leftovers of an earlier image do not show.
    let s = Scratch::new("format-dirty");
    let img = s.path("img");
    std::fs::write(&img, vec![0xA5u8; 20 * MIB as usize]).unwrap();
    let f = OpenOptions::new().read(true).write(true).open(&img).unwrap();
    drop(Filesystem::format(f, &params(1024)).ok().unwrap());
    fsck_silent(&img);
}

/// A device that is far too large to touch: any access is a test failure.
struct Huge(u64);

impl BlockDevice for Huge {
    fn size(&self) -> u64 {
        self.0
    }
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError> {
        panic!("read of {} bytes at {offset}", buf.len())
    }
    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError> {
        panic!("write of {} bytes at {offset}", buf.len())
    }
}

/// Returns the reason a format was refused, checking that it wrote nothing.
fn refusal(size: usize, p: &FormatParams) -> &'static str {
    let mut dev = vec![0u8; size];
    let reason = match Filesystem::format(&mut dev, p) {
        Err(Error::InvalidArgument(why)) => why,
        Err(e) => panic!("format failed with {e}, not InvalidArgument"),
        Ok(_) => panic!("format of {size} bytes with {p:?} succeeded"),
    };
    assert!(dev.iter().all(|&b| b == 0), "a refused format wrote to the device");
    reason
}

#[test]
fn bad_parameters_and_devices_are_refused_before_anything_is_written() {
    for block_size in [0, 512, 3000, 8192, 65536] {
        assert!(refusal(MIB as usize, &params(block_size)).contains("block size"));
    }
    // The smallest group of 1 KiB blocks: superblock, descriptors, two bitmaps, two blocks
    // of inode table and 50 more, after the boot block. One block less is refused.
    for size in [0, 2048, 8 * 1024, 56 * 1024] {
        assert!(refusal(size, &params(1024)).contains("too small"), "{size} bytes");
    }
    assert!(Filesystem::format(vec![0u8; 57 * 1024], &params(1024)).is_ok());
    let reserved = FormatParams { reserved_percent: 51, ..params(4096) };
    assert!(refusal(MIB as usize * 4, &reserved).contains("reserved"));
    // One group of 1 KiB blocks holds at most 8192 inodes.
    let crowded = FormatParams { inodes: Some(8193), ..params(1024) };
    assert!(refusal(MIB as usize, &crowded).contains("inode"));
    // 8192 inodes fit the bitmap, but their 1024-block table leaves no room in 1 MiB.
    let table_too_big = FormatParams { inodes: Some(8192), ..params(1024) };
    assert!(refusal(MIB as usize, &table_too_big).contains("too small"));
    let everything = FormatParams { inodes: Some(u32::MAX), ..params(4096) };
    assert!(refusal(64 * MIB as usize, &everything).contains("inode"));
    // More blocks than 32 bits count, and, with 1 KiB blocks, more descriptors than fit in
    // a group: refused from the size alone.
    for (size, block_size) in [(1u64 << 50, 4096), (1 << 41, 1024)] {
        match Filesystem::format(Huge(size), &params(block_size)) {
            Err(Error::InvalidArgument(_)) => {}
            Err(e) => panic!("{size} bytes: {e}"),
            Ok(_) => panic!("{size} bytes: formatted"),
        }
    }
}

#[test]
fn a_small_inode_count_is_rounded_up_to_fill_the_inode_tables() {
    let s = Scratch::new("format-inodes");
    let img: PathBuf = s.path("img");
    let few = FormatParams { inodes: Some(1), ..params(4096) };
    let fs = format_file(&img, 300 * MIB, &few);
    // 12 inodes at least, over 3 groups, a whole 4 KiB block of 128-byte inodes each.
    assert_eq!(fs.statfs().inodes, 3 * 32);
    assert_eq!(fs.statfs().free_inodes, 3 * 32 - 11);
    drop(fs);
    fsck_silent(&img);
}
