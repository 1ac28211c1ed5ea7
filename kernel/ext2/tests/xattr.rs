//! Extended attributes against e2fsprogs, both ways: what this crate writes, `e2fsck -fn`
//! finds clean and debugfs (`ea_list`, `ea_get`) reads back name for name and byte for
//! byte; what debugfs's `ea_set` writes, this crate reads back. Then the block's life:
//! replaced values, removal down to no block at all, a deleted file, a block Linux shares
//! between two inodes.
#![forbid(unsafe_code)]

mod common;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, debugfs, fsck_clean, mkfs, resolve, tool};
use ext2::{Filesystem, FormatParams, InodeNo, Owner};

const OWNER: Owner = Owner { perm: 0o644, uid: 1000, gid: 100 };
const NOW: u32 = 1_700_000_500;

/// POSIX ACL tags (`ACL_USER_OBJ` and the others).
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;

/// An ACL entry: tag, permissions, id (`u32::MAX` where the tag has none, as Linux's
/// `getxattr` reports it).
type AclEntry = (u16, u16, u32);

/// `user::rw- user:1000:r-- group::r-- group:100:rw- mask::rw- other::---`
const ACCESS_ACL: [AclEntry; 6] = [
    (USER_OBJ, 6, u32::MAX),
    (USER, 4, 1000),
    (GROUP_OBJ, 4, u32::MAX),
    (GROUP, 6, 100),
    (MASK, 6, u32::MAX),
    (OTHER, 0, u32::MAX),
];

/// `user::rwx group::r-x other::r-x`
const DEFAULT_ACL: [AclEntry; 3] =
    [(USER_OBJ, 7, u32::MAX), (GROUP_OBJ, 5, u32::MAX), (OTHER, 5, u32::MAX)];

/// The ACL as `setxattr` takes it: version 2, then 8 bytes per entry.
fn acl_xattr(entries: &[AclEntry]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

/// The ACL as Linux's ext2 stores it: version 1, ids only for named users and groups.
fn acl_on_disk(entries: &[AclEntry]) -> Vec<u8> {
    let mut v = 1u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        if matches!(tag, USER | GROUP) {
            v.extend_from_slice(&id.to_le_bytes());
        }
    }
    v
}

/// The ACL as e2fsprogs converts it back: like `acl_xattr`, with 0 where there is no id.
fn acl_from_e2fsprogs(entries: &[AclEntry]) -> Vec<u8> {
    let zeroed: Vec<AclEntry> = entries
        .iter()
        .map(|&(t, p, id)| (t, p, if matches!(t, USER | GROUP) { id } else { 0 }))
        .collect();
    acl_xattr(&zeroed)
}

/// A file capability (`vfs_cap_data` revision 2) granting CAP_NET_BIND_SERVICE, effective.
fn capability() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

fn open_rw(img: &Path) -> Filesystem<File> {
    let f = OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut fs = Filesystem::open(f).unwrap();
    fs.set_time(NOW);
    fs
}

/// A filesystem made by this crate's own mkfs (which sets no `ext_attr` feature).
fn formatted(s: &Scratch, block_size: u32) -> PathBuf {
    let img = s.path("img");
    let f = OpenOptions::new().read(true).write(true).create_new(true).open(&img).unwrap();
    f.set_len(16 << 20).unwrap();
    let params = FormatParams { block_size, time: NOW - 100, ..FormatParams::default() };
    Filesystem::format(f, &params).unwrap().sync().unwrap();
    img
}

/// A filesystem made by mke2fs with 128-byte inodes (so e2fsprogs keeps attributes in
/// blocks, where Linux's ext2 and this crate look for them), holding /f and /d.
fn made_by_mke2fs(s: &Scratch, block_size: u32) -> PathBuf {
    let src = s.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("f"), b"contents").unwrap();
    let img = s.path("img");
    mkfs(&src, &img, block_size, "16M", &["-I", "128"]);
    img
}

/// Runs debugfs requests from a command file (several in one run, and arguments that
/// the `-R` parser would split); fails on any error it prints.
fn debugfs_script(img: &Path, write: bool, script: &str) {
    let cmds = img.with_extension("cmds");
    std::fs::write(&cmds, script).unwrap();
    let mut cmd = Command::new(tool("debugfs"));
    if write {
        cmd.arg("-w");
    }
    let out = cmd.arg("-f").arg(&cmds).arg(img).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("while ") && !stderr.contains("Usage"),
        "debugfs {script}: {stderr}"
    );
}

/// Returns what `debugfs ea_get` reads for `name` of `path`: the value as e2fsprogs hands
/// it to programs, or (`raw`) as stored.
fn ea_get(img: &Path, path: &str, name: &str, raw: bool) -> Vec<u8> {
    let out = img.with_extension("value");
    let _ = std::fs::remove_file(&out);
    let flag = if raw { "-r " } else { "" };
    debugfs_script(img, false, &format!("ea_get {flag}-f {} {path} {name}\n", out.display()));
    std::fs::read(&out).unwrap_or_else(|e| panic!("ea_get {path} {name}: {e}"))
}

/// Returns the names and sizes `debugfs ea_list` shows for `path`, in its order.
fn ea_list(img: &Path, path: &str) -> Vec<(String, usize)> {
    let text = String::from_utf8(debugfs(img, &format!("ea_list {path}"))).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| {
            let (name, rest) = l.split_once(" (").unwrap();
            let size = rest.split_once(')').unwrap().0.parse().unwrap();
            (name.to_string(), size)
        })
        .collect()
}

/// Returns the attribute block `debugfs stat` shows for `path` (0 for none).
fn file_acl(img: &Path, path: &str) -> u32 {
    let text = String::from_utf8(debugfs(img, &format!("stat {path}"))).unwrap();
    let line = text.lines().find(|l| l.starts_with("File ACL: ")).unwrap();
    line["File ACL: ".len()..].split_whitespace().next().unwrap().parse().unwrap()
}

/// Sets `attrs` on `ino` and checks this crate reads each back.
fn set_all(fs: &mut Filesystem<File>, ino: InodeNo, attrs: &[(&str, Vec<u8>)]) {
    for (name, value) in attrs {
        fs.set_xattr(ino, name.as_bytes(), value).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, value) in attrs {
        assert_eq!(&fs.get_xattr(ino, name.as_bytes()).unwrap(), value, "{name}");
    }
}

/// The order Linux's ext2 keeps entries in: namespace index, name length, name.
fn linux_order(names: &[&str]) -> Vec<String> {
    fn index(n: &str) -> (u8, &str) {
        match n {
            "system.posix_acl_access" => (2, ""),
            "system.posix_acl_default" => (3, ""),
            _ => [("user.", 1), ("trusted.", 4), ("security.", 6), ("system.", 7)]
                .iter()
                .find_map(|&(p, i)| n.strip_prefix(p).map(|rest| (i, rest)))
                .unwrap(),
        }
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_by_key(|n| {
        let (i, rest) = index(n);
        (i, rest.len(), rest.to_string())
    });
    sorted.into_iter().map(str::to_string).collect()
}

/// Sets attributes of every namespace on a file, a directory and a fast symlink, replaces
/// and removes some, and checks the result with e2fsck and debugfs.
fn attributes_written_here_are_read_by_e2fsprogs(img: &Path) {
    let mut fs = open_rw(img);
    let root = fs.root();
    let file = match resolve(&fs, "/f") {
        Ok(f) => f,
        Err(_) => fs.create(root, b"f", OWNER).unwrap(),
    };
    let dir = match resolve(&fs, "/d") {
        Ok(d) => d,
        Err(_) => fs.mkdir(root, b"d", OWNER).unwrap(),
    };
    let link = fs.symlink(root, b"l", b"f", OWNER).unwrap();
    let blob: Vec<u8> = (0..=255).collect();
    let file_attrs = [
        ("user.mime_type", b"text/plain".to_vec()),
        ("user.empty", Vec::new()),
        ("user.replaced", b"a first value, longer than the second".to_vec()),
        ("user.removed", b"gone soon".to_vec()),
        ("trusted.blob", blob.clone()),
        ("security.capability", capability()),
        ("system.posix_acl_access", acl_xattr(&ACCESS_ACL)),
    ];
    set_all(&mut fs, file, &file_attrs);
    fs.set_xattr(file, b"user.replaced", b"second").unwrap();
    fs.remove_xattr(file, b"user.removed").unwrap();
    let dir_attrs = [
        ("user.dir", b"yes".to_vec()),
        ("system.posix_acl_default", acl_xattr(&DEFAULT_ACL)),
        ("system.posix_acl_access", acl_xattr(&DEFAULT_ACL)),
    ];
    set_all(&mut fs, dir, &dir_attrs);
    set_all(&mut fs, link, &[("trusted.overlay.opaque", b"y".to_vec())]);
    // A name byte above 0x7f: Linux hashes it sign-extended, which e2fsck must accept.
    fs.set_xattr(file, "user.café".as_bytes(), b"accent").unwrap();
    assert_eq!(fs.readlink(link).unwrap(), b"f", "a fast symlink with an attribute block");
    let file_names = [
        "user.mime_type",
        "user.empty",
        "user.replaced",
        "user.café",
        "trusted.blob",
        "security.capability",
        "system.posix_acl_access",
    ];
    let listed: Vec<String> =
        fs.list_xattrs(file).unwrap().into_iter().map(|n| String::from_utf8(n).unwrap()).collect();
    assert_eq!(listed, linux_order(&file_names));
    fs.sync().unwrap();
    drop(fs);

    fsck_clean(img);
    // debugfs prints a name that is not printable text as hex bytes.
    let as_debugfs_prints = |n: &String| match n.is_ascii() {
        true => n.clone(),
        false => n.bytes().map(|b| format!("{b:02x} ")).collect(),
    };
    let on_disk: Vec<String> = ea_list(img, "/f").into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> = linux_order(&file_names).iter().map(as_debugfs_prints).collect();
    assert_eq!(on_disk, want, "ea_list /f");
    assert_eq!(ea_get(img, "/f", "user.mime_type", false), b"text/plain");
    assert_eq!(ea_get(img, "/f", "user.empty", false), b"");
    assert_eq!(ea_get(img, "/f", "user.replaced", false), b"second");
    assert_eq!(ea_get(img, "/f", "user.café", false), b"accent");
    assert_eq!(ea_get(img, "/f", "trusted.blob", false), blob);
    assert_eq!(ea_get(img, "/f", "security.capability", false), capability());
    // ACLs: stored in ext2's form, handed out by e2fsprogs in the xattr form.
    assert_eq!(ea_get(img, "/f", "system.posix_acl_access", true), acl_on_disk(&ACCESS_ACL));
    assert_eq!(
        ea_get(img, "/f", "system.posix_acl_access", false),
        acl_from_e2fsprogs(&ACCESS_ACL)
    );
    let dir_listed: Vec<String> = ea_list(img, "/d").into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        dir_listed,
        ["user.dir", "system.posix_acl_access", "system.posix_acl_default"].map(String::from)
    );
    assert_eq!(ea_get(img, "/d", "user.dir", false), b"yes");
    assert_eq!(ea_get(img, "/d", "system.posix_acl_default", true), acl_on_disk(&DEFAULT_ACL));
    assert_eq!(ea_get(img, "/l", "trusted.overlay.opaque", false), b"y");

    // And this crate reads back what it wrote, after a fresh mount.
    let fs = Filesystem::open_read_only(File::open(img).unwrap()).unwrap();
    let file = resolve(&fs, "/f").unwrap();
    assert_eq!(fs.get_xattr(file, b"user.replaced").unwrap(), b"second");
    assert_eq!(fs.get_xattr(file, b"user.removed"), Err(ext2::Error::NoSuchAttribute));
    assert_eq!(fs.get_xattr(file, b"system.posix_acl_access").unwrap(), acl_xattr(&ACCESS_ACL));
}

#[test]
fn attributes_written_here_are_read_by_e2fsprogs_on_our_mkfs_with_4k_blocks() {
    let s = Scratch::new("xattr-ours");
    let img = formatted(&s, 4096);
    attributes_written_here_are_read_by_e2fsprogs(&img);
    let features = String::from_utf8(
        Command::new(tool("dumpe2fs")).arg("-h").arg(&img).output().unwrap().stdout,
    )
    .unwrap();
    assert!(
        features.lines().any(|l| l.starts_with("Filesystem features:") && l.contains("ext_attr")),
        "the first attribute block sets ext_attr:\n{features}"
    );
}

#[test]
fn attributes_written_here_are_read_by_e2fsprogs_on_mke2fs_with_1k_blocks() {
    let s = Scratch::new("xattr-mke2fs");
    attributes_written_here_are_read_by_e2fsprogs(&made_by_mke2fs(&s, 1024));
}

#[test]
fn attributes_written_by_e2fsprogs_are_read_here_and_can_be_changed() {
    let s = Scratch::new("xattr-theirs");
    let img = made_by_mke2fs(&s, 4096);
    let acl = s.path("acl");
    std::fs::write(&acl, acl_xattr(&ACCESS_ACL)).unwrap();
    let cap = s.path("cap");
    std::fs::write(&cap, capability()).unwrap();
    debugfs_script(
        &img,
        true,
        &format!(
            "ea_set /f user.origin debugfs\n\
             ea_set /f trusted.empty \"\"\n\
             ea_set -f {} /f security.capability\n\
             ea_set -f {} /f system.posix_acl_access\n\
             ea_set /d user.on_a_directory yes\n",
            cap.display(),
            acl.display()
        ),
    );
    fsck_clean(&img);

    let mut fs = open_rw(&img);
    let file = resolve(&fs, "/f").unwrap();
    let mut names: Vec<Vec<u8>> = fs.list_xattrs(file).unwrap();
    names.sort();
    let mut want: Vec<Vec<u8>> =
        ["user.origin", "trusted.empty", "security.capability", "system.posix_acl_access"]
            .iter()
            .map(|n| n.as_bytes().to_vec())
            .collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(fs.get_xattr(file, b"user.origin").unwrap(), b"debugfs");
    assert_eq!(fs.get_xattr(file, b"trusted.empty").unwrap(), b"");
    assert_eq!(fs.get_xattr(file, b"security.capability").unwrap(), capability());
    // e2fsprogs stored the ACL in ext2's form; it comes back as Linux's getxattr gives it.
    assert_eq!(fs.get_xattr(file, b"system.posix_acl_access").unwrap(), acl_xattr(&ACCESS_ACL));
    let dir = resolve(&fs, "/d").unwrap();
    assert_eq!(fs.list_xattrs(dir).unwrap(), vec![b"user.on_a_directory".to_vec()]);
    assert_eq!(fs.get_xattr(dir, b"user.on_a_directory").unwrap(), b"yes");

    // Changing e2fsprogs's block: rewritten in place, still clean, still readable there.
    let block = file_acl(&img, "/f");
    fs.set_xattr(file, b"user.added", b"by the crate").unwrap();
    fs.remove_xattr(file, b"user.origin").unwrap();
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    assert_eq!(file_acl(&img, "/f"), block, "an unshared block is changed where it is");
    let listed: Vec<String> = ea_list(&img, "/f").into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        listed,
        linux_order(&[
            "user.added",
            "trusted.empty",
            "security.capability",
            "system.posix_acl_access"
        ])
    );
    assert_eq!(ea_get(&img, "/f", "user.added", false), b"by the crate");
    assert_eq!(ea_get(&img, "/f", "system.posix_acl_access", true), acl_on_disk(&ACCESS_ACL));
}

#[test]
fn removing_the_last_attribute_or_the_file_frees_the_block() {
    let s = Scratch::new("xattr-free");
    let img = formatted(&s, 1024);
    let mut fs = open_rw(&img);
    let root = fs.root();
    let before = fs.statfs();
    let f = fs.create(root, b"f", OWNER).unwrap();
    fs.write(f, 0, b"data").unwrap();
    let data_only = fs.stat(f).unwrap().blocks;
    fs.set_xattr(f, b"user.a", b"1").unwrap();
    fs.set_xattr(f, b"user.b", b"2").unwrap();
    // One attribute block, counted in i_blocks in 512-byte sectors as Linux counts it.
    assert_eq!(fs.stat(f).unwrap().blocks, data_only + 2);
    assert_eq!(fs.statfs().free_blocks, before.free_blocks - 2);
    fs.set_time(NOW + 10);
    fs.remove_xattr(f, b"user.a").unwrap();
    assert_eq!(fs.stat(f).unwrap().ctime, NOW + 10, "a change to attributes is a change");
    fs.remove_xattr(f, b"user.b").unwrap();
    assert_eq!(fs.stat(f).unwrap().blocks, data_only);
    assert_eq!(fs.statfs().free_blocks, before.free_blocks - 1);
    assert_eq!(fs.list_xattrs(f).unwrap(), Vec::<Vec<u8>>::new());
    assert_eq!(fs.remove_xattr(f, b"user.b"), Err(ext2::Error::NoSuchAttribute));
    fs.sync().unwrap();
    fsck_clean(&img);
    assert_eq!(file_acl(&img, "/f"), 0);

    // A file deleted with its attributes gives back its block too.
    fs.set_xattr(f, b"security.selinux", b"system_u:object_r:etc_t:s0\0").unwrap();
    fs.sync().unwrap();
    fsck_clean(&img);
    fs.unlink(root, b"f").unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs(), before);
    drop(fs);
    fsck_clean(&img);
}

#[test]
fn a_block_linux_shares_between_inodes_is_copied_before_it_changes() {
    let s = Scratch::new("xattr-shared");
    let img = made_by_mke2fs(&s, 4096);
    let mut fs = open_rw(&img);
    let root = fs.root();
    fs.create(root, b"g", OWNER).unwrap();
    let f = resolve(&fs, "/f").unwrap();
    fs.set_xattr(f, b"user.same", b"on both").unwrap();
    fs.sync().unwrap();
    drop(fs);
    let shared = file_acl(&img, "/f");
    share_with_g(&img, shared);

    let mut fs = open_rw(&img);
    let g = resolve(&fs, "/g").unwrap();
    assert_eq!(fs.get_xattr(g, b"user.same").unwrap(), b"on both");
    fs.set_xattr(g, b"user.only_g", b"mine").unwrap();
    assert_eq!(fs.stat(g).unwrap().blocks, 8, "one attribute block for another");
    assert_eq!(fs.list_xattrs(f).unwrap(), vec![b"user.same".to_vec()]);
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
    assert_eq!(file_acl(&img, "/f"), shared);
    assert_ne!(file_acl(&img, "/g"), shared);
    assert_eq!(refcount(&img, shared), 1, "the shared block lost a user");
    assert_eq!(ea_get(&img, "/g", "user.only_g", false), b"mine");
    assert_eq!(ea_get(&img, "/g", "user.same", false), b"on both");
    assert_eq!(ea_get(&img, "/f", "user.same", false), b"on both");

    // /g drops its own block, shares /f's again, and loses its attribute; then /f is
    // deleted. Each drops a reference, and the last one frees the block.
    let mut fs = open_rw(&img);
    for name in [&b"user.only_g"[..], b"user.same"] {
        fs.remove_xattr(g, name).unwrap();
    }
    fs.sync().unwrap();
    drop(fs);
    share_with_g(&img, shared);
    let mut fs = open_rw(&img);
    let before = fs.statfs().free_blocks;
    fs.remove_xattr(g, b"user.same").unwrap();
    assert_eq!(fs.stat(g).unwrap().blocks, 0);
    assert_eq!(fs.statfs().free_blocks, before, "the block still has a user");
    fs.sync().unwrap();
    assert_eq!(refcount(&img, shared), 1);
    let root = fs.root();
    fs.unlink(root, b"f").unwrap();
    assert_eq!(fs.statfs().free_blocks, before + 2, "the file's data block and the shared block");
    fs.sync().unwrap();
    drop(fs);
    fsck_clean(&img);
}

/// Makes the empty /g share attribute block `shared` as Linux's mbcache would: /g points
/// at it and counts it in its i_blocks, and the block counts one more user.
fn share_with_g(img: &Path, shared: u32) {
    debugfs_script(img, true, &format!("sif /g file_acl {shared}\nsif /g blocks 8\n"));
    let users = refcount(img, shared);
    let mut bytes = std::fs::read(img).unwrap();
    let at = shared as usize * 4096 + 4;
    bytes[at..at + 4].copy_from_slice(&(users + 1).to_le_bytes());
    std::fs::write(img, &bytes).unwrap();
    fsck_clean(img);
}

/// Returns `h_refcount` of attribute block `block` (4 KiB blocks).
fn refcount(img: &Path, block: u32) -> u32 {
    let bytes = std::fs::read(img).unwrap();
    let at = block as usize * 4096 + 4;
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}
