//! The write path: change an mke2fs image with this crate, then let e2fsprogs judge it.
//! `e2fsck -fn` must find nothing to fix, and debugfs must read back what was written.
#![forbid(unsafe_code)]

mod common;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use common::{Scratch, debugfs, fsck_clean, mkfs, pattern, read_all, resolve};
use ext2::{Error, FileType, Filesystem, Owner, SetAttr};

const OWNER: Owner = Owner { perm: 0o644, uid: 1000, gid: 100 };
const NOW: u32 = 1_700_000_500;

fn fixture(block_size: u32, extra: &[&str]) -> (Scratch, PathBuf) {
    let s = Scratch::new("write");
    let src = s.path("src");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::create_dir_all(src.join("empty")).unwrap();
    std::fs::create_dir_all(src.join("many")).unwrap();
    std::fs::write(src.join("one"), b"one").unwrap();
    std::fs::write(src.join("a/b/double"), pattern(1, 300 * 1024)).unwrap();
    std::fs::write(src.join("a/b/c/small"), b"small").unwrap();
    std::fs::write(src.join("a/victim"), pattern(2, 20_000)).unwrap();
    for i in 0..200 {
        std::fs::write(src.join(format!("many/file-{i:03}")), format!("{i}")).unwrap();
    }
    let img = s.path("img");
    mkfs(&src, &img, block_size, "32M", extra);
    (s, img)
}

fn open_rw(img: &Path) -> Filesystem<File> {
    let f = OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut fs = Filesystem::open(f).unwrap();
    fs.set_time(NOW);
    fs
}

fn cat(img: &Path, path: &str) -> Vec<u8> {
    debugfs(img, &format!("cat {path}"))
}

/// One run of every operation; checked by e2fsck, debugfs and a re-mount.
fn every_operation_leaves_a_clean_filesystem(block_size: u32, extra: &[&str]) {
    let (_s, img) = fixture(block_size, extra);
    let mut fs = open_rw(&img);
    let root = fs.root();

    let new = fs.create(root, b"new.txt", OWNER).unwrap();
    assert_eq!(fs.write(new, 0, &pattern(3, 5000)).unwrap(), 5000);
    assert_eq!(fs.write(new, 4000, b"overwritten").unwrap(), 11);
    let d1 = fs.mkdir(root, b"d1", Owner { perm: 0o755, ..OWNER }).unwrap();
    let d2 = fs.mkdir(d1, b"d2", Owner { perm: 0o700, ..OWNER }).unwrap();
    let big = fs.create(d2, b"big", OWNER).unwrap();
    // In pieces that straddle blocks; 300 KiB reaches double-indirect blocks at 1 KiB.
    let big_data = pattern(4, 300 * 1024 + 77);
    for chunk in big_data.chunks(7001).enumerate() {
        fs.write(big, (chunk.0 * 7001) as u64, chunk.1).unwrap();
    }
    let sparse = fs.create(root, b"sparse", OWNER).unwrap();
    fs.write(sparse, 70 * 1024 * 1024, b"far away").unwrap(); // triple indirect at 1 KiB
    fs.write(sparse, 3, b"near").unwrap();
    fs.symlink(d1, b"fast", b"../new.txt", OWNER).unwrap();
    let slow_target = "s/".repeat(100);
    fs.symlink(d1, b"slow", slow_target.as_bytes(), OWNER).unwrap();
    fs.link(new, d1, b"hard").unwrap();
    fs.mknod(d1, b"null", FileType::CharDevice, OWNER, ext2::inode::encode_dev(1, 3)).unwrap();
    fs.mknod(d1, b"fifo", FileType::Fifo, OWNER, 0).unwrap();

    let a = resolve(&fs, "/a").unwrap();
    fs.unlink(a, b"victim").unwrap();
    fs.rename(a, b"b", d1, b"moved").unwrap(); // a directory changes parent
    fs.rename(root, b"new.txt", root, b"renamed.txt").unwrap(); // same directory
    let one = resolve(&fs, "/one").unwrap();
    fs.write(one, 0, b"ONE").unwrap();
    let many = resolve(&fs, "/many").unwrap();
    fs.rename(many, b"file-007", root, b"one").unwrap(); // replaces a file
    let double = resolve(&fs, "/d1/moved/double").unwrap();
    fs.truncate(double, 100 * 1024 + 5).unwrap(); // frees the double-indirect tree
    fs.truncate(double, 200 * 1024).unwrap(); // grows with a hole, which reads as zeros
    let small = resolve(&fs, "/d1/moved/c/small").unwrap();
    fs.truncate(small, 0).unwrap();
    fs.rmdir(root, b"empty").unwrap();
    for i in 0..150 {
        let name = format!("added-with-a-long-name-{i:03}");
        let f = fs.create(many, name.as_bytes(), OWNER).unwrap();
        fs.write(f, 0, name.as_bytes()).unwrap();
    }
    for i in (0..200).step_by(2) {
        if i != 7 {
            fs.unlink(many, format!("file-{i:03}").as_bytes()).unwrap();
        }
    }
    let perm = SetAttr { perm: Some(0o600), uid: Some(7), mtime: Some(1234), ..SetAttr::default() };
    fs.set_attr(d2, &perm).unwrap();
    fs.sync().unwrap();

    // Read back through this crate before anyone else looks.
    let new = resolve(&fs, "/renamed.txt").unwrap();
    let mut want_new = pattern(3, 5000);
    want_new[4000..4011].copy_from_slice(b"overwritten");
    assert_eq!(read_all(&fs, new), want_new);
    assert_eq!(fs.stat(new).unwrap().links, 2);
    assert_eq!(read_all(&fs, resolve(&fs, "/d1/d2/big").unwrap()), big_data);
    assert_eq!(fs.readlink(resolve(&fs, "/d1/slow").unwrap()).unwrap(), slow_target.as_bytes());
    let double_now = read_all(&fs, double);
    assert_eq!(&double_now[..100 * 1024 + 5], &pattern(1, 300 * 1024)[..100 * 1024 + 5]);
    assert!(double_now[100 * 1024 + 5..].iter().all(|&b| b == 0));
    assert_eq!(fs.stat(d1).unwrap().links, 4); // ., d2, moved, and its name in /
    assert_eq!(fs.stat(a).unwrap().links, 2);
    let st = fs.stat(d2).unwrap();
    assert_eq!((st.mode, st.uid, st.mtime, st.ctime), (0o40600, 7, 1234, NOW));
    drop(fs);

    fsck_clean(&img);
    assert_eq!(cat(&img, "/renamed.txt"), want_new);
    assert_eq!(cat(&img, "/d1/hard"), want_new);
    assert_eq!(cat(&img, "/d1/d2/big"), big_data);
    assert_eq!(cat(&img, "/one"), b"7");
    assert_eq!(cat(&img, "/many/added-with-a-long-name-149"), b"added-with-a-long-name-149");
    assert_eq!(cat(&img, "/d1/moved/double"), double_now);
    let ls = String::from_utf8(debugfs(&img, "ls -l /d1")).unwrap();
    for name in ["d2", "fast", "slow", "hard", "moved", "null", "fifo"] {
        assert!(ls.contains(name), "{name} missing from:\n{ls}");
    }
    let fast = String::from_utf8(debugfs(&img, "stat /d1/fast")).unwrap();
    assert!(fast.contains("Fast link dest: \"../new.txt\""), "{fast}");
    let sp = String::from_utf8(debugfs(&img, "stat /sparse")).unwrap();
    assert!(sp.contains(&format!("Size: {}", 70 * 1024 * 1024 + 8)), "{sp}");
    let null = String::from_utf8(debugfs(&img, "stat /d1/null")).unwrap();
    assert!(null.contains("Device major/minor number: 01:03"), "{null}");
}

#[test]
fn every_operation_leaves_a_clean_filesystem_with_1k_blocks() {
    every_operation_leaves_a_clean_filesystem(1024, &[]);
}

#[test]
fn every_operation_leaves_a_clean_filesystem_with_4k_blocks() {
    every_operation_leaves_a_clean_filesystem(4096, &[]);
}

#[test]
fn every_operation_leaves_a_clean_filesystem_without_optional_features() {
    every_operation_leaves_a_clean_filesystem(1024, &["-O", "^dir_index,^resize_inode,^ext_attr"]);
    every_operation_leaves_a_clean_filesystem(
        4096,
        &["-O", "^dir_index,^resize_inode,^ext_attr,^filetype"],
    );
}

#[test]
fn changing_an_htree_directory_drops_its_index_and_stays_clean() {
    let (_s, img) = fixture(1024, &[]);
    let out = std::process::Command::new(common::tool("e2fsck")).arg("-fyD").arg(&img).output();
    assert!(out.unwrap().status.code().unwrap() <= 1);
    assert!(String::from_utf8(debugfs(&img, "stat /many")).unwrap().contains("Flags: 0x1000"));
    let mut fs = open_rw(&img);
    let many = resolve(&fs, "/many").unwrap();
    for i in 0..40 {
        fs.create(many, format!("new-{i}").as_bytes(), OWNER).unwrap();
        fs.unlink(many, format!("file-{i:03}").as_bytes()).unwrap();
    }
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    assert!(!String::from_utf8(debugfs(&img, "stat /many")).unwrap().contains("Flags: 0x1000"));
    assert_eq!(cat(&img, "/many/file-199"), b"199");
}

#[test]
fn filling_the_disk_gives_no_space_and_deleting_restores_the_counts() {
    let (_s, img) = fixture(1024, &[]);
    let mut fs = open_rw(&img);
    let before = fs.statfs();
    let root = fs.root();
    let f = fs.create(root, b"fill", OWNER).unwrap();
    let chunk = vec![0x5a; 1 << 20];
    let mut off = 0u64;
    loop {
        match fs.write(f, off, &chunk) {
            Ok(n) if n == chunk.len() => off += n as u64,
            Ok(n) => {
                off += n as u64;
                assert_eq!(fs.write(f, off, b"x"), Err(Error::NoSpace));
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(fs.statfs().free_blocks, 0);
    assert_eq!(fs.stat(f).unwrap().size, off);
    assert_eq!(fs.mkdir(root, b"nope", OWNER), Err(Error::NoSpace));
    assert_eq!(fs.lookup(root, b"nope"), Err(Error::NotFound));
    fs.sync().unwrap();
    fsck_clean(&img);
    fs.unlink(root, b"fill").unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs(), before);
    drop(fs);
    fsck_clean(&img);
}

#[test]
fn refused_operations_change_nothing() {
    let (_s, img) = fixture(4096, &[]);
    let mut fs = open_rw(&img);
    let root = fs.root();
    let a = resolve(&fs, "/a").unwrap();
    let b = resolve(&fs, "/a/b").unwrap();
    let one = resolve(&fs, "/one").unwrap();
    assert_eq!(fs.mkdir(root, b"a", OWNER), Err(Error::Exists));
    assert_eq!(fs.create(root, b"one", OWNER), Err(Error::Exists));
    assert_eq!(fs.create(root, &[b'n'; 256], OWNER), Err(Error::NameTooLong));
    assert!(matches!(fs.create(root, b"x/y", OWNER), Err(Error::InvalidArgument(_))));
    assert!(matches!(fs.create(root, b"..", OWNER), Err(Error::InvalidArgument(_))));
    assert_eq!(fs.create(one, b"x", OWNER), Err(Error::NotDir));
    assert_eq!(fs.rmdir(root, b"a"), Err(Error::NotEmpty));
    assert_eq!(fs.rmdir(root, b"one"), Err(Error::NotDir));
    assert_eq!(fs.unlink(root, b"a"), Err(Error::IsDir));
    assert_eq!(fs.unlink(root, b"missing"), Err(Error::NotFound));
    assert_eq!(fs.link(a, root, b"alias"), Err(Error::IsDir));
    assert!(matches!(fs.rename(root, b"a", b, b"inside"), Err(Error::InvalidArgument(_))));
    assert_eq!(fs.rename(root, b"a", root, b"one"), Err(Error::NotDir));
    assert_eq!(fs.rename(root, b"one", root, b"a"), Err(Error::IsDir));
    assert_eq!(fs.rename(root, b"empty", root, b"a"), Err(Error::NotEmpty));
    assert_eq!(fs.write(a, 0, b"x"), Err(Error::IsDir));
    assert_eq!(fs.write(one, u64::MAX - 1, b"xy"), Err(Error::FileTooLarge));
    assert_eq!(fs.truncate(one, u64::MAX), Err(Error::FileTooLarge));
    assert_eq!(fs.symlink(root, b"l", &[b'x'; 4096], OWNER), Err(Error::NameTooLong));
    fs.rename(root, b"one", root, b"one").unwrap();
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    assert_eq!(cat(&img, "/one"), b"one");
}

#[test]
fn directories_can_be_replaced_and_moved_up() {
    let (_s, img) = fixture(1024, &[]);
    let mut fs = open_rw(&img);
    let root = fs.root();
    let c = resolve(&fs, "/a/b/c").unwrap();
    let b = resolve(&fs, "/a/b").unwrap();
    fs.unlink(c, b"small").unwrap();
    fs.rename(b, b"c", root, b"empty").unwrap(); // c replaces the empty directory
    fs.rename(root, b"many", b, b"many").unwrap(); // and a big one moves down
    fs.sync().unwrap();
    assert_eq!(resolve(&fs, "/empty").unwrap(), c);
    assert_eq!(fs.lookup(c, b"..").unwrap(), root);
    drop(fs);
    fsck_clean(&img);
    assert_eq!(cat(&img, "/a/b/many/file-000"), b"0");
}

#[test]
fn exchange_swaps_entries_and_moves_directories_parents() {
    let (_s, img) = fixture(1024, &[]);
    let mut fs = open_rw(&img);
    let root = fs.root();
    let a = resolve(&fs, "/a").unwrap();
    let b = resolve(&fs, "/a/b").unwrap();
    let one = resolve(&fs, "/one").unwrap();
    let empty = resolve(&fs, "/empty").unwrap();
    let links = |fs: &Filesystem<File>, ino| fs.stat(ino).unwrap().links;
    let (root_links, a_links) = (links(&fs, root), links(&fs, a));
    // A directory below a and a file in the root trade places.
    fs.exchange((a, b"b"), (root, b"one")).unwrap();
    assert_eq!(resolve(&fs, "/one").unwrap(), b);
    assert_eq!(resolve(&fs, "/a/b").unwrap(), one);
    assert_eq!(fs.lookup(b, b"..").unwrap(), root);
    assert_eq!(links(&fs, root), root_links + 1);
    assert_eq!(links(&fs, a), a_links - 1);
    // Two directories in one parent; the same inode twice; a directory and its own child.
    fs.exchange((root, b"empty"), (root, b"one")).unwrap();
    assert_eq!(resolve(&fs, "/one").unwrap(), empty);
    fs.exchange((root, b"one"), (root, b"one")).unwrap();
    let c = resolve(&fs, "/empty/c").unwrap();
    assert!(matches!(fs.exchange((root, b"empty"), (b, b"c")), Err(Error::InvalidArgument(_))));
    assert_eq!(fs.exchange((root, b"none"), (root, b"one")), Err(Error::NotFound));
    assert_eq!(resolve(&fs, "/empty/c").unwrap(), c, "a refused exchange changes nothing");
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    assert_eq!(cat(&img, "/a/b"), b"one");
    assert_eq!(cat(&img, "/empty/double"), pattern(1, 300 * 1024));
}

#[test]
fn an_unlinked_file_stays_readable_until_released() {
    let (_s, img) = fixture(1024, &[]);
    let mut fs = open_rw(&img);
    let before = fs.statfs();
    fs.keep_unlinked(true);
    let root = fs.root();
    let victim = resolve(&fs, "/a/victim").unwrap();
    let a = resolve(&fs, "/a").unwrap();
    fs.unlink(a, b"victim").unwrap();
    assert_eq!(fs.lookup(a, b"victim"), Err(Error::NotFound));
    assert_eq!(fs.stat(victim).unwrap().links, 0);
    // Still a whole file: readable and writable through its inode number.
    assert_eq!(read_all(&fs, victim), pattern(2, 20_000));
    assert_eq!(fs.write(victim, 20_000, b"tail").unwrap(), 4);
    // Renaming over a file orphans it the same way.
    let one = resolve(&fs, "/one").unwrap();
    let fresh = fs.create(root, b"fresh", OWNER).unwrap();
    fs.rename(root, b"fresh", root, b"one").unwrap();
    assert_eq!(fs.lookup(root, b"one"), Ok(fresh));
    assert_eq!(read_all(&fs, one), b"one");
    let held = (fs.stat(victim).unwrap().blocks + fs.stat(one).unwrap().blocks) / 2;
    assert_eq!(fs.release_unlinked(victim), Ok(true));
    assert_eq!(fs.release_unlinked(victim), Ok(false), "released twice");
    assert_eq!(fs.release_unlinked(one), Ok(true));
    assert_eq!(fs.release_unlinked(fresh), Ok(false), "a named file is not released");
    fs.unlink(root, b"one").unwrap();
    assert_eq!(fs.release_unlinked(fresh), Ok(true));
    fs.sync().unwrap();
    let after = fs.statfs();
    let freed = (after.free_blocks - before.free_blocks, after.free_inodes - before.free_inodes);
    assert_eq!(freed, (u64::from(held), 2), "the released files' blocks and inodes are free");
    drop(fs);
    fsck_clean(&img);
}

/// A direct write: the crate allocates and says where the bytes go, the caller writes them
/// to the device itself, then the size is set. Fresh blocks the write covers only in part
/// read as zeros around it, the size does not move before the data is on the device, and
/// the result is a clean filesystem that reads back what was written.
#[test]
fn direct_writes_allocate_runs_that_the_caller_fills() {
    for block_size in [1024, 4096] {
        let (_s, img) = fixture(block_size, &[]);
        let mut fs = open_rw(&img);
        let root = fs.root();
        let file = fs.create(root, b"direct", OWNER).unwrap();
        // 300 KiB from 512 bytes in: a partly covered first block, indirect blocks.
        let (offset, data) = (512u64, pattern(7, 300 * 1024));
        let runs = fs.direct_write_runs(file, offset, data.len() as u64).unwrap().unwrap();
        assert_eq!(fs.stat(file).unwrap().size, 0, "the size waits for the data");
        let mut at = offset;
        for run in &runs {
            assert_eq!(run.file_offset, at, "runs leave a gap or overlap: {runs:?}");
            let disk = run.disk_offset.expect("a direct write's range is allocated");
            let piece = &data[(at - offset) as usize..(at - offset + run.len) as usize];
            // The caller's own path to the disk, as the kernel's block cache is.
            let mut device = OpenOptions::new().write(true).open(&img).unwrap();
            ext2::BlockDevice::write(&mut device, disk, piece).unwrap();
            at += run.len;
        }
        assert_eq!(at, offset + data.len() as u64, "runs do not cover the write");
        fs.finish_direct_write(file, at, at).unwrap();
        fs.sync().unwrap();
        let mut want = vec![0u8; offset as usize];
        want.extend_from_slice(&data);
        assert!(read_all(&fs, file) == want, "{block_size}-byte blocks: other bytes read back");
        // Overwriting allocated blocks needs no new ones and keeps the size.
        let free = fs.statfs().free_blocks;
        let again = fs.direct_write_runs(file, 0, 4096).unwrap().unwrap();
        assert!(again.iter().all(|r| r.disk_offset.is_some()));
        fs.finish_direct_write(file, 4096, 4096).unwrap();
        assert_eq!(fs.statfs().free_blocks, free);
        assert_eq!(fs.stat(file).unwrap().size, at);
        // A write that reached the device with none of its bytes gives back the blocks it
        // allocated past the end; the size stays.
        let failed = fs.direct_write_runs(file, at, 64 * 1024).unwrap().unwrap();
        assert!(fs.statfs().free_blocks < free, "{failed:?} allocated nothing");
        fs.finish_direct_write(file, at, at + 64 * 1024).unwrap();
        assert_eq!(fs.statfs().free_blocks, free, "the unfilled blocks were not freed");
        assert_eq!(fs.stat(file).unwrap().size, at);
        // A hole inside the file is left to the cached path.
        fs.truncate(file, at + 1024 * 1024).unwrap();
        assert_eq!(fs.direct_write_runs(file, at + 512 * 1024, 4096).unwrap(), None);
        fs.truncate(file, at).unwrap();
        drop(fs);
        fsck_clean(&img);
        assert!(cat(&img, "/direct") == want, "debugfs reads other bytes");
    }
}
