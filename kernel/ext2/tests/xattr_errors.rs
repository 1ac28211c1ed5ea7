//! Extended attributes that cannot be stored, and attribute blocks that lie: each gives
//! its own error, nothing panics, and a refused change leaves the disk as it was.
#![forbid(unsafe_code)]

mod common;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use common::{Scratch, debugfs, fsck_clean, mkfs, resolve};
use ext2::{Error, Filesystem, FormatParams, InodeNo, Owner};

const OWNER: Owner = Owner { perm: 0o644, uid: 0, gid: 0 };
const NOW: u32 = 1_700_000_500;

/// Formats a 4 KiB-block filesystem with a file /f holding two attributes and an ACL;
/// returns the image and the attribute block's number.
fn image_with_attributes(s: &Scratch) -> (PathBuf, u32) {
    let img = s.path("img");
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(&img).unwrap();
    f.set_len(8 << 20).unwrap();
    let params = FormatParams { time: NOW, ..FormatParams::default() };
    let mut fs = Filesystem::format(f, &params).unwrap();
    let root = fs.root();
    let file = fs.create(root, b"f", OWNER).unwrap();
    fs.set_xattr(file, b"user.first", b"one").unwrap();
    fs.set_xattr(file, b"user.second", b"two").unwrap();
    // user::rw- group::r-- other::r--
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm) in [(0x01u16, 6u16), (0x04, 4), (0x20, 4)] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&u32::MAX.to_le_bytes());
    }
    fs.set_xattr(file, b"system.posix_acl_access", &acl).unwrap();
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    let stat = String::from_utf8(debugfs(&img, "stat /f")).unwrap();
    let acl_line = stat.lines().find_map(|l| l.strip_prefix("File ACL: ")).unwrap();
    let block = acl_line.split_whitespace().next().unwrap().parse().unwrap();
    (img, block)
}

/// Bytes a value of a new `user.x` can take in the block `image_with_attributes` makes:
/// the block, less the header (32) and the terminator (4), the entries (`user.first` and
/// `user.second` 24 each, the ACL's 16, the new one's 20) and the padded values (4, 4, and
/// 16 for the ACL in ext2's form).
const ROOM_FOR_USER_X: usize = 4096 - 32 - 4 - (24 + 24 + 16 + 20) - (4 + 4 + 16);

fn open_rw(img: &Path) -> Filesystem<File> {
    let f = OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut fs = Filesystem::open(f).unwrap();
    fs.set_time(NOW + 1);
    fs
}

#[test]
fn names_and_values_that_ext2_cannot_hold_are_refused_and_change_nothing() {
    let s = Scratch::new("xattr-refused");
    let (img, _) = image_with_attributes(&s);
    let before = std::fs::read(&img).unwrap();
    let mut fs = open_rw(&img);
    let f = resolve(&fs, "/f").unwrap();

    for name in [&b"foo.bar"[..], b"userx", b"USER.x", b"system_x", b"", b"gnu.x"] {
        assert_eq!(fs.set_xattr(f, name, b"v"), Err(Error::UnknownAttributeNamespace));
        assert_eq!(fs.get_xattr(f, name), Err(Error::UnknownAttributeNamespace));
        assert_eq!(fs.remove_xattr(f, name), Err(Error::UnknownAttributeNamespace));
    }
    assert!(matches!(fs.set_xattr(f, b"user.", b"v"), Err(Error::InvalidArgument(_))));
    assert!(matches!(fs.set_xattr(f, b"user.a\0b", b"v"), Err(Error::InvalidArgument(_))));
    let long = [b"trusted.".as_slice(), &[b'n'; 256]].concat();
    assert_eq!(fs.set_xattr(f, &long, b"v"), Err(Error::NameTooLong));
    let longest = [b"trusted.".as_slice(), &[b'n'; 255]].concat();
    assert_eq!(fs.get_xattr(f, &longest), Err(Error::NoSuchAttribute));

    // A value as large as the block cannot fit beside the header and its entry.
    let err = fs.set_xattr(f, b"user.big", &vec![7u8; 4096]).unwrap_err();
    let Error::AttributesTooLarge { needed, block_size } = err else { panic!("{err:?}") };
    assert_eq!(block_size, 4096);
    assert!(needed > 4096, "{needed}");
    assert!(err.to_string().contains("4096-byte attribute block"), "{err}");
    // Nor can a value that would fit alone, beside the ones already there.
    assert!(matches!(
        fs.set_xattr(f, b"user.x", &vec![1u8; ROOM_FOR_USER_X + 1]),
        Err(Error::AttributesTooLarge { .. })
    ));
    assert_eq!(fs.get_xattr(f, b"user.x"), Err(Error::NoSuchAttribute));

    // ACL values that are not POSIX ACLs in the xattr form.
    let not_acls: [&[u8]; 6] = [
        b"",
        &[1, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0], // ext2's own version
        &[2, 0, 0, 0],                         // no entries
        &[2, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0],    // an entry cut short
        &[2, 0, 0, 0, 0x40, 0, 6, 0, 0, 0, 0, 0], // an unknown tag
        &[2, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0], // a permission bit above rwx
    ];
    for bad in not_acls {
        assert!(
            matches!(
                fs.set_xattr(f, b"system.posix_acl_access", bad),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(fs.remove_xattr(f, b"user.missing"), Err(Error::NoSuchAttribute));
    assert_eq!(fs.get_xattr(f, b"trusted.missing"), Err(Error::NoSuchAttribute));
    drop(fs);

    let mut ro = Filesystem::open_read_only(File::open(&img).unwrap()).unwrap();
    let f = resolve(&ro, "/f").unwrap();
    assert_eq!(ro.set_xattr(f, b"user.x", b"v"), Err(Error::ReadOnly));
    assert_eq!(ro.remove_xattr(f, b"user.first"), Err(Error::ReadOnly));
    assert_eq!(ro.get_xattr(f, b"user.first").unwrap(), b"one");
    assert!(std::fs::read(&img).unwrap() == before, "a refused change wrote to the disk");
}

#[test]
fn the_room_left_in_a_block_is_used_to_the_last_byte() {
    let s = Scratch::new("xattr-full");
    let (img, _) = image_with_attributes(&s);
    let mut fs = open_rw(&img);
    let f = resolve(&fs, "/f").unwrap();
    fs.set_xattr(f, b"user.x", &vec![1u8; ROOM_FOR_USER_X]).unwrap();
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    let fs = open_rw(&img);
    assert_eq!(fs.get_xattr(f, b"user.x").unwrap(), vec![1u8; ROOM_FOR_USER_X]);
}

/// Returns a copy of `image` with `damage` done to attribute block `block`.
fn damaged(image: &[u8], block: u32, damage: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut copy = image.to_vec();
    let at = block as usize * 4096;
    damage(&mut copy[at..at + 4096]);
    copy
}

/// Checks that every attribute operation on /f refuses `img` as corrupt, naming `what`.
fn refused_as_corrupt(img: Vec<u8>, what: &str, ops_on_acl: bool) {
    let mut fs = Filesystem::open(img).unwrap();
    let f: InodeNo = resolve(&fs, "/f").unwrap();
    let is_corrupt = |r: Result<(), Error>| match r {
        Err(Error::Corrupt { what: w, .. }) => assert!(w.contains(what), "{w:?} for {what:?}"),
        other => panic!("{other:?} for {what:?}"),
    };
    if ops_on_acl {
        is_corrupt(fs.get_xattr(f, b"system.posix_acl_access").map(drop));
        return;
    }
    is_corrupt(fs.list_xattrs(f).map(drop));
    is_corrupt(fs.get_xattr(f, b"user.first").map(drop));
    is_corrupt(fs.set_xattr(f, b"user.new", b"v"));
    is_corrupt(fs.remove_xattr(f, b"user.first"));
}

/// Runs one debugfs request that writes, failing on any error it prints.
fn debugfs_w(img: &Path, request: &str) {
    let out = std::process::Command::new(common::tool("debugfs"))
        .args(["-w", "-R", request])
        .arg(img)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("while "), "debugfs {request}: {stderr}");
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn damaged_attribute_blocks_are_refused_as_corrupt() {
    let s = Scratch::new("xattr-corrupt");
    let (img, block) = image_with_attributes(&s);
    let image = std::fs::read(&img).unwrap();
    // The first entry (sorted: user.first) starts after the 32-byte header.
    let first = 32;

    refused_as_corrupt(damaged(&image, block, |b| b[0] ^= 1), "bad magic", false);
    refused_as_corrupt(damaged(&image, block, |b| put32(b, 8, 2)), "h_blocks", false);
    // Entries with no terminator: every entry header repeated to the block's end.
    let endless = damaged(&image, block, |b| {
        for at in (first..4096).step_by(16) {
            b[at..at + 16].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        }
    });
    refused_as_corrupt(endless, "crosses the block end", false);
    // A name so long the entry would end past the block.
    // Empty-named entries up to where a 255-byte name no longer fits, then that name.
    let long_name = damaged(&image, block, |b| {
        b[first..].fill(0);
        for at in (first..3840).step_by(16) {
            b[at + 1] = 1;
        }
        b[3840] = 255;
        b[3841] = 1;
    });
    refused_as_corrupt(long_name, "crosses the block end", false);
    refused_as_corrupt(
        damaged(&image, block, |b| put16(b, first + 2, 4094)),
        "runs past the block end",
        false,
    );
    refused_as_corrupt(
        damaged(&image, block, |b| put32(b, first + 8, 0xffff_ffff)),
        "runs past the block end",
        false,
    );
    refused_as_corrupt(
        damaged(&image, block, |b| put16(b, first + 2, 40)),
        "overlaps the entries",
        false,
    );
    refused_as_corrupt(damaged(&image, block, |b| put32(b, first + 4, 12)), "ea_inode", false);
    // The ACL, stored in ext2's form, with a wrong version or a cut-short entry.
    let acl_entry = first + 16 + 8 + 16 + 8;
    let acl_at = |b: &[u8]| u16::from_le_bytes([b[acl_entry + 2], b[acl_entry + 3]]) as usize;
    refused_as_corrupt(
        damaged(&image, block, |b| {
            let at = acl_at(b);
            put32(b, at, 7);
        }),
        "version 1",
        true,
    );
    refused_as_corrupt(damaged(&image, block, |b| put32(b, acl_entry + 8, 6)), "cut short", true);

    // A pointer to the group descriptor table instead of an attribute block.
    let pointed = s.path("pointed");
    std::fs::write(&pointed, &image).unwrap();
    debugfs_w(&pointed, "sif /f file_acl 1");
    let mut fs = Filesystem::open(std::fs::read(&pointed).unwrap()).unwrap();
    let f = resolve(&fs, "/f").unwrap();
    assert!(
        matches!(fs.list_xattrs(f), Err(Error::Corrupt { what, .. }) if what.contains("metadata")),
        "{:?}",
        fs.list_xattrs(f)
    );
    assert!(matches!(fs.set_xattr(f, b"user.x", b"v"), Err(Error::Corrupt { .. })));
}

#[test]
fn a_revision_0_filesystem_refuses_attributes_it_cannot_record() {
    let s = Scratch::new("xattr-rev0");
    let src = s.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"x").unwrap();
    let img = s.path("img");
    mkfs(&src, &img, 1024, "4M", &["-r", "0"]);
    let before = std::fs::read(&img).unwrap();
    let mut fs = open_rw(&img);
    let f = resolve(&fs, "/f").unwrap();
    assert!(matches!(fs.set_xattr(f, b"user.x", b"v"), Err(Error::Unsupported { .. })));
    assert_eq!(fs.list_xattrs(f).unwrap(), Vec::<Vec<u8>>::new());
    drop(fs);
    assert!(std::fs::read(&img).unwrap() == before);
    fsck_clean(&img);
}
