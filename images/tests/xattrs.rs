//! Extended attributes from a layer's PAX records (`SCHILY.xattr.*`, as OCI layers carry
//! them) reach the disk `images build` writes: debugfs reads them back name for name and
//! byte for byte, e2fsck finds the disk clean, the same image gives the same disk, and
//! what ext2 cannot hold is reported with its reason instead.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use images::build::{BuildOptions, BuildOutput, build};
use images::oci::writer::{NewImage, write_layout};
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("images-xattrs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A file capability (`vfs_cap_data` revision 2, effective) granting CAP_NET_BIND_SERVICE:
/// binary, with NUL bytes, as `setcap cap_net_bind_service+ep` leaves it.
fn capability() -> Vec<u8> {
    [0x0200_0001u32, 1 << 10, 0, 0, 0].iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// One PAX extended-header record: `<length> <key>=<value>\n`, the length counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // the space, '=' and '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// Appends an entry (a directory if `path` ends in `/`), preceded by a PAX header holding
/// `xattrs` as `SCHILY.xattr.<name>` records.
fn append(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], xattrs: &[(&str, &[u8])]) {
    if !xattrs.is_empty() {
        let records: Vec<u8> = xattrs
            .iter()
            .flat_map(|(name, value)| pax_record(&format!("SCHILY.xattr.{name}"), value))
            .collect();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_mode(0o644);
        h.set_size(records.len() as u64);
        b.append_data(&mut h, "PaxHeaders/x", &records[..]).unwrap();
    }
    let mut h = tar::Header::new_ustar();
    let dir = path.ends_with('/');
    h.set_entry_type(if dir { tar::EntryType::Directory } else { tar::EntryType::Regular });
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

/// An image whose one layer gives attributes to a program, a directory and a file, some
/// of which ext2 cannot hold.
fn image() -> NewImage {
    let mut b = tar::Builder::new(Vec::new());
    let cap = capability();
    append(
        &mut b,
        "bin/app",
        b"#!not really a program",
        &[("user.demo", b"demo value"), ("security.capability", &cap)],
    );
    append(&mut b, "srv/", b"", &[("user.dir", b"a directory's"), ("trusted.empty", b"")]);
    let big = vec![b'x'; 5000];
    append(
        &mut b,
        "srv/odd",
        b"contents",
        &[("user.kept", b"fits"), ("foo.bar", b"no such namespace"), ("user.too_big", &big)],
    );
    NewImage {
        layers: vec![b.into_inner().unwrap()],
        run: json!({"Entrypoint": ["/bin/app"]}),
        gzip: true,
    }
}

fn build_to(input: &Path, out: &Path) -> BuildOutput {
    build(&BuildOptions { input: input.into(), out_dir: out.into(), ..Default::default() })
        .unwrap_or_else(|e| panic!("images build: {e}"))
}

/// Runs debugfs requests read-only on `disk`; fails on any error it prints.
fn debugfs(disk: &Path, request: &str) -> String {
    let out = Command::new("/sbin/debugfs").args(["-R", request]).arg(disk).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("while "), "debugfs {request}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The attribute names `debugfs ea_list` shows for `path`, in its order.
fn ea_names(disk: &Path, path: &str) -> Vec<String> {
    debugfs(disk, &format!("ea_list {path}"))
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| l.split_once(" (").unwrap().0.to_string())
        .collect()
}

/// The value of attribute `name` of `path`, as `debugfs ea_get` writes it to a file.
fn ea_get(disk: &Path, path: &str, name: &str) -> Vec<u8> {
    let out = disk.with_extension(format!("{}.value", name.replace('.', "-")));
    debugfs(disk, &format!("ea_get -f {} {path} {name}", out.display()));
    std::fs::read(&out).unwrap_or_else(|e| panic!("ea_get {path} {name}: {e}"))
}

#[test]
fn pax_xattrs_reach_the_disk_and_e2fsprogs_reads_them_back() {
    let dir = scratch("written");
    write_layout(&dir.join("layout"), &image()).unwrap();
    let first = build_to(&dir.join("layout"), &dir.join("out1"));
    let again = build_to(&dir.join("layout"), &dir.join("out2"));
    let disk = &first.disk;
    assert!(
        std::fs::read(disk).unwrap() == std::fs::read(&again.disk).unwrap(),
        "the same image gave two different disks"
    );

    // e2fsck and debugfs read the filesystem at the start of the disk; the hash tree
    // after it is outside the block count the superblock gives.
    let fsck = Command::new("/sbin/e2fsck").arg("-fn").arg(disk).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));

    // Entries in Linux's order: namespace (user 1, trusted 4, security 6), then length.
    assert_eq!(ea_names(disk, "/bin/app"), ["user.demo", "security.capability"]);
    assert_eq!(ea_get(disk, "/bin/app", "user.demo"), b"demo value");
    assert_eq!(ea_get(disk, "/bin/app", "security.capability"), capability());
    assert_eq!(ea_names(disk, "/srv"), ["user.dir", "trusted.empty"]);
    assert_eq!(ea_get(disk, "/srv", "user.dir"), b"a directory's");
    assert_eq!(ea_get(disk, "/srv", "trusted.empty"), b"");
    assert_eq!(ea_names(disk, "/srv/odd"), ["user.kept"]);
    assert_eq!(ea_get(disk, "/srv/odd", "user.kept"), b"fits");
    // Files without attributes have no attribute block.
    let stat = debugfs(disk, "stat /.cocoon/container");
    assert!(stat.contains("File ACL: 0"), "{stat}");

    // What ext2 cannot hold is named, with the reason, in name order.
    let dropped = &first.summary.dropped_xattrs;
    assert_eq!(dropped.len(), 2, "{dropped:?}");
    assert!(dropped[0].starts_with("/srv/odd: foo.bar: ") && dropped[0].contains("namespace"));
    assert!(
        dropped[1].starts_with("/srv/odd: user.too_big: ")
            && dropped[1].contains("4096-byte attribute block"),
        "{dropped:?}"
    );
}

#[test]
fn attributes_are_part_of_the_disk_s_identity() {
    let dir = scratch("identity");
    write_layout(&dir.join("with"), &image()).unwrap();
    let mut changed = image();
    // The same layer with one attribute value changed: another UUID, another disk.
    let at = changed.layers[0].windows(10).position(|w| w == b"demo value").unwrap();
    changed.layers[0][at] = b'D';
    write_layout(&dir.join("changed"), &changed).unwrap();
    let with = build_to(&dir.join("with"), &dir.join("out-with"));
    let other = build_to(&dir.join("changed"), &dir.join("out-changed"));
    assert_ne!(with.summary.uuid, other.summary.uuid);
    assert_eq!(ea_get(&other.disk, "/bin/app", "user.demo"), b"Demo value");
}
