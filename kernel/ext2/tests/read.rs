//! The read path against images built by mke2fs from a host directory: every name, type,
//! permission, owner, size, link count, mtime and byte must match what was put in.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use common::{Scratch, host_type, mkfs, pattern, read_all, resolve};
use ext2::{BlockDevice, Error, FileType, Filesystem, InodeNo};

/// Writes `data` at each offset of a new file whose size is `size` (the rest are holes).
fn sparse_file(path: &Path, size: u64, pieces: &[(u64, &[u8])]) {
    let mut f = File::create(path).unwrap();
    f.set_len(size).unwrap();
    for (off, data) in pieces {
        f.seek(SeekFrom::Start(*off)).unwrap();
        f.write_all(data).unwrap();
    }
}

/// Builds the source tree every read test uses.
fn build_tree(root: &Path) {
    let w = |rel: &str, data: &[u8]| std::fs::write(root.join(rel), data).unwrap();
    std::fs::create_dir_all(root.join("a/b/c/d")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::create_dir_all(root.join("many")).unwrap();
    w("zero", b"");
    w("one", b"x");
    for (i, len) in
        [1023usize, 1024, 1025, 4095, 4096, 4097, 12 * 1024 + 1, 50_000].iter().enumerate()
    {
        w(&format!("a/size{len}"), &pattern(i as u32, *len));
    }
    w("a/b/c/d/deep", b"deep file\n");
    // Past 12 + 256 blocks at 1 KiB: needs the double-indirect block.
    w("a/b/double", &pattern(99, 300 * 1024 + 123));
    // Past 12 + 1024 blocks at 4 KiB too.
    w("a/b/bigger", &pattern(98, 4200 * 1024 + 7));
    // Holes at the start, middle and end; at 1 KiB blocks the tail needs triple indirect
    // (12 + 256 + 65536 blocks reach 64.3 MiB).
    sparse_file(
        &root.join("sparse"),
        70 * 1024 * 1024 + 100,
        &[(5000, b"middle"), (300 * 1024, &pattern(7, 3000)), (70 * 1024 * 1024, b"tail")],
    );
    sparse_file(&root.join("holes-only"), 1 << 20, &[]);
    symlink("a/b/c/d/deep", root.join("fast-link")).unwrap();
    let long = "x".repeat(59);
    symlink(&long, root.join("fast-59")).unwrap();
    let slow: String = format!("a/{}", "long-component/".repeat(12));
    symlink(&slow, root.join("slow-link")).unwrap();
    symlink("x".repeat(60), root.join("slow-60")).unwrap();
    std::fs::hard_link(root.join("a/size4096"), root.join("hard")).unwrap();
    std::fs::hard_link(root.join("a/size4096"), root.join("a/b/hard2")).unwrap();
    for i in 0..300 {
        w(&format!("many/entry-with-a-longish-name-{i:04}"), format!("{i}").as_bytes());
    }
    let modes = [("a/size1023", 0o600), ("a/size1024", 0o4755), ("one", 0o400), ("empty", 0o1777)];
    for (rel, mode) in modes {
        std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Compares the filesystem subtree at `ino` with the host directory `host`.
fn compare<D: BlockDevice>(fs: &Filesystem<D>, ino: InodeNo, host: &Path, seen: &mut usize) {
    let entries = fs.read_dir(ino).unwrap();
    let mut ours: BTreeMap<Vec<u8>, (InodeNo, FileType)> = BTreeMap::new();
    for e in &entries {
        assert!(ours.insert(e.name.clone(), (e.ino, e.file_type)).is_none(), "duplicate name");
    }
    assert_eq!(ours.remove(&b"."[..]).map(|e| e.0), Some(ino), "`.` of {host:?}");
    assert!(ours.remove(&b".."[..]).is_some(), "`..` of {host:?}");
    if ino == fs.root() {
        // mke2fs adds it; the source tree has none.
        let (lf, ty) = ours.remove(&b"lost+found"[..]).expect("lost+found");
        assert_eq!((ty, fs.read_dir(lf).unwrap().len()), (FileType::Directory, 2));
    }
    let mut theirs: Vec<_> = std::fs::read_dir(host).unwrap().map(|e| e.unwrap()).collect();
    theirs.sort_by_key(|e| e.file_name());
    let names: Vec<Vec<u8>> = theirs.iter().map(|e| e.file_name().into_encoded_bytes()).collect();
    assert_eq!(ours.keys().cloned().collect::<Vec<_>>(), names, "names in {host:?}");
    for e in theirs {
        *seen += 1;
        let path = e.path();
        let hm = std::fs::symlink_metadata(&path).unwrap();
        let (child, dirent_type) = ours[&e.file_name().into_encoded_bytes()];
        assert_eq!(fs.lookup(ino, e.file_name().as_encoded_bytes()).unwrap(), child);
        let st = fs.stat(child).unwrap();
        let ty = host_type(&hm);
        assert_eq!(st.file_type, ty, "{path:?}");
        assert_eq!(dirent_type, ty, "directory entry type of {path:?}");
        assert_eq!(u32::from(st.mode), hm.mode(), "mode of {path:?}");
        assert_eq!((st.uid, st.gid), (hm.uid(), hm.gid()), "owner of {path:?}");
        assert_eq!(i64::from(st.mtime), hm.mtime(), "mtime of {path:?}");
        if ty != FileType::Directory {
            assert_eq!(u64::from(st.links), hm.nlink(), "links of {path:?}");
        }
        match ty {
            FileType::Directory => compare(fs, child, &path, seen),
            FileType::Regular => {
                assert_eq!(st.size, hm.len(), "size of {path:?}");
                assert!(read_all(fs, child) == std::fs::read(&path).unwrap(), "bytes of {path:?}");
            }
            FileType::Symlink => {
                let target = std::fs::read_link(&path).unwrap().into_os_string();
                assert_eq!(fs.readlink(child).unwrap(), target.into_encoded_bytes(), "{path:?}");
            }
            _ => {}
        }
    }
}

fn image(block_size: u32, extra: &[&str]) -> (Scratch, std::path::PathBuf) {
    let s = Scratch::new("read");
    build_tree(&s.path("src"));
    let img = s.path("img");
    mkfs(&s.path("src"), &img, block_size, "32M", extra);
    (s, img)
}

fn whole_tree_matches(block_size: u32, extra: &[&str]) {
    let (s, img) = image(block_size, extra);
    let fs = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    assert_eq!(fs.geometry().block_size, block_size);
    let mut seen = 0;
    compare(&fs, fs.root(), &s.path("src"), &mut seen);
    assert!(seen > 320, "walked only {seen} entries");
}

#[test]
fn tree_matches_source_with_1k_blocks() {
    whole_tree_matches(1024, &[]);
}

#[test]
fn tree_matches_source_with_4k_blocks() {
    whole_tree_matches(4096, &[]);
}

#[test]
fn tree_matches_source_without_optional_features() {
    whole_tree_matches(1024, &["-O", "^dir_index,^resize_inode,^ext_attr"]);
    whole_tree_matches(4096, &["-O", "^dir_index,^resize_inode,^ext_attr"]);
}

#[test]
fn tree_matches_source_with_128_byte_inodes_and_2k_blocks() {
    whole_tree_matches(2048, &["-I", "128"]);
}

#[test]
fn htree_indexed_directories_read_linearly() {
    let (s, img) = image(1024, &[]);
    // -D builds htree indexes for every directory large enough to have one.
    let out = std::process::Command::new(common::tool("e2fsck")).arg("-fyD").arg(&img).output();
    assert!(out.unwrap().status.code().unwrap() <= 1);
    let fs = Filesystem::open(File::open(&img).unwrap()).unwrap();
    let many = resolve(&fs, "/many").unwrap();
    let flags = common::debugfs(&img, "stat /many");
    assert!(String::from_utf8_lossy(&flags).contains("Flags: 0x1000"), "no htree index built");
    let mut seen = 0;
    compare(&fs, many, &s.path("src/many"), &mut seen);
    assert_eq!(seen, 300);
}

#[test]
fn reads_at_offsets_cross_block_boundaries_and_stop_at_eof() {
    let (s, img) = image(1024, &[]);
    let fs = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    let want = std::fs::read(s.path("src/a/b/double")).unwrap();
    let ino = resolve(&fs, "/a/b/double").unwrap();
    for (off, len) in
        [(0, 1), (1023, 2), (12 * 1024 - 5, 10), (268 * 1024 - 3, 7000), (300 * 1024, 500)]
    {
        let mut buf = vec![0xAAu8; len];
        let n = fs.read(ino, off as u64, &mut buf).unwrap();
        let end = (off + len).min(want.len());
        assert_eq!(n, end - off);
        assert_eq!(&buf[..n], &want[off..end], "offset {off}");
    }
    assert_eq!(fs.read(ino, want.len() as u64, &mut [0; 10]).unwrap(), 0);
    assert_eq!(fs.read(ino, u64::MAX, &mut [0; 10]).unwrap(), 0);
}

#[test]
fn sparse_files_keep_their_holes_and_use_triple_indirect_blocks() {
    let (_s, img) = image(1024, &[]);
    let fs = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    let ino = resolve(&fs, "/sparse").unwrap();
    let st = fs.stat(ino).unwrap();
    assert!(st.blocks < 64, "holes were filled: {} sectors", st.blocks);
    let mut tail = [0u8; 8];
    assert_eq!(fs.read(ino, 70 * 1024 * 1024 - 2, &mut tail).unwrap(), 8);
    assert_eq!(&tail, b"\0\0tail\0\0");
    assert!(String::from_utf8_lossy(&common::debugfs(&img, "stat /sparse")).contains("(TIND)"));
    // Its runs: data where the pieces are, holes between them, covering the range exactly,
    // and each data run reading as the file does.
    let size = st.size;
    let runs = fs.data_runs(ino, 0, u64::MAX).unwrap();
    let mut at = 0;
    for run in &runs {
        assert_eq!(run.file_offset, at, "runs leave a gap or overlap: {runs:?}");
        at += run.len;
        if let Some(disk) = run.disk_offset {
            let len = run.len.min(64 * 1024) as usize;
            let (mut direct, mut through) = (vec![0u8; len], vec![0u8; len]);
            ext2::BlockDevice::read(&File::open(&img).unwrap(), disk, &mut direct).unwrap();
            fs.read(ino, run.file_offset, &mut through).unwrap();
            assert!(direct == through, "run at {} reads other bytes", run.file_offset);
        }
    }
    assert_eq!(at, size, "runs do not end at the end of the file");
    assert!(runs.iter().filter(|r| r.disk_offset.is_none()).count() >= 2, "{runs:?}");
    // Cut at the end of the file.
    let near_end = size - 50;
    let tail = fs.data_runs(ino, near_end, 100).unwrap();
    assert_eq!(tail.iter().map(|r| r.len).sum::<u64>(), 50);
}

#[test]
fn wrong_kinds_of_inode_are_refused() {
    let (_s, img) = image(4096, &[]);
    let fs = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    let root = fs.root();
    let file = resolve(&fs, "/one").unwrap();
    assert_eq!(fs.read(root, 0, &mut [0; 4]), Err(Error::IsDir));
    assert_eq!(fs.read_dir(file), Err(Error::NotDir));
    assert_eq!(fs.lookup(file, b"x"), Err(Error::NotDir));
    assert_eq!(fs.readlink(file), Err(Error::NotSymlink));
    assert_eq!(fs.lookup(root, b"missing"), Err(Error::NotFound));
    assert_eq!(fs.lookup(root, &[b'a'; 256]), Err(Error::NameTooLong));
    assert!(matches!(fs.inode_no(0), Err(Error::Corrupt { .. })));
    assert!(matches!(fs.inode_no(fs.geometry().inodes_count + 1), Err(Error::Corrupt { .. })));
}

#[test]
fn statfs_matches_the_superblock_counts() {
    let (_s, img) = image(4096, &[]);
    let fs = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    let out = String::from_utf8(common::debugfs(&img, "stats")).unwrap();
    let field = |name: &str| -> u64 {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let st = fs.statfs();
    assert_eq!(st.free_blocks, field("Free blocks:"));
    assert_eq!(st.free_inodes, field("Free inodes:"));
    assert_eq!(u64::from(st.blocks), field("Block count:"));
    assert_eq!(u64::from(st.reserved_blocks), field("Reserved block count:"));
    // The overhead is checked against Linux's statfs by tests/ref/ext2.sh.
    assert!(st.overhead_blocks > 0 && st.overhead_blocks < st.blocks);
}

mod superblock {
    use super::*;

    fn patched(img: &Path, off: usize, bytes: &[u8]) -> Vec<u8> {
        let mut v = std::fs::read(img).unwrap();
        v[1024 + off..1024 + off + bytes.len()].copy_from_slice(bytes);
        v
    }

    #[test]
    fn unknown_incompat_feature_refuses_the_mount() {
        let (_s, img) = image(1024, &[]);
        let v = patched(&img, 96, &(0x2u32 | 0x40).to_le_bytes()); // filetype + extents
        assert!(matches!(
            Filesystem::open(v).err(),
            Some(Error::Unsupported { what: "INCOMPAT feature", value: 0x40 })
        ));
    }

    #[test]
    fn unknown_ro_compat_feature_mounts_read_only() {
        let (_s, img) = image(1024, &[]);
        let v = patched(&img, 100, &(0x3u32 | 0x400).to_le_bytes()); // + quota
        let mut fs = Filesystem::open(v).unwrap();
        assert!(fs.is_read_only());
        let root = fs.root();
        let owner = ext2::Owner { perm: 0o644, uid: 0, gid: 0 };
        assert_eq!(fs.create(root, b"new", owner), Err(Error::ReadOnly));
        assert!(resolve(&fs, "/a/b/c/d/deep").is_ok());
    }

    #[test]
    fn bad_magic_and_block_size_are_rejected() {
        let (_s, img) = image(1024, &[]);
        assert!(matches!(
            Filesystem::open(patched(&img, 56, &[0, 0])).err(),
            Some(Error::Corrupt { .. })
        ));
        assert!(matches!(
            Filesystem::open(patched(&img, 24, &7u32.to_le_bytes())).err(),
            Some(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn device_shorter_than_the_filesystem_is_rejected() {
        let (_s, img) = image(1024, &[]);
        let mut v = std::fs::read(&img).unwrap();
        v.truncate(v.len() / 2);
        assert!(matches!(Filesystem::open(v).err(), Some(Error::Corrupt { .. })));
    }
}

#[test]
fn volume_identity_is_the_uuid_and_label_mke2fs_was_given() {
    let s = Scratch::new("identity");
    std::fs::create_dir_all(s.path("src")).unwrap();
    let img = s.path("fs.img");
    let uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff";
    mkfs(&s.path("src"), &img, 1024, "2M", &["-U", uuid, "-L", "cocoon-root"]);
    let bytes = std::fs::read(&img).unwrap();
    let sb: &[u8; ext2::superblock::SUPERBLOCK_SIZE] = bytes[1024..2048].try_into().unwrap();
    ext2::superblock::Geometry::parse(sb, bytes.len() as u64).unwrap();
    let identity = ext2::superblock::VolumeIdentity::of(sb);
    assert_eq!(identity.to_string(), format!("uuid={uuid} label=cocoon-root"));
    assert_eq!(identity.label_str(), Some("cocoon-root"));
}
