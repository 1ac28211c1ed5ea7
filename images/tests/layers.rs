//! Layers applied as the OCI image spec says: later entries replace earlier ones, `.wh.`
//! whiteouts and opaque directories hide the layers below, hard links share an inode, and a
//! path that would leave the root (`..`, or through a symlink) is refused naming the layer
//! and the path.
#![forbid(unsafe_code)]

mod common;

use common::{E, layer};
use images::rootfs::tree::{Kind, Tree, TreeError};

fn file(tree: &Tree, path: &str) -> Option<Vec<u8>> {
    match &tree.inode(tree.lookup(path)?).kind {
        Kind::File(data) => Some(data.clone()),
        _ => None,
    }
}

#[test]
fn later_layers_replace_whiteouts_delete_and_opaque_directories_hide_the_layers_below() {
    let mut tree = Tree::new();
    let bottom = layer(&[
        E::Dir("etc/"),
        E::File("etc/keep", b"kept"),
        E::File("etc/gone", b"deleted by a whiteout"),
        E::Dir("var/cache/"),
        E::File("var/cache/old", b"hidden by the opaque marker"),
        E::File("bin/tool", b"v1"),
    ]);
    tree.apply_layer(&bottom, 0, "bottom").unwrap();
    let top = layer(&[
        E::File("etc/.wh.gone", b""),
        E::Dir("var/cache/"),
        E::File("var/cache/.wh..wh..opq", b""),
        E::File("var/cache/new", b"same layer as the marker"),
        E::File("bin/tool", b"v2"),
        E::File(".wh.never-existed", b""),
    ]);
    tree.apply_layer(&top, 1, "top").unwrap();
    assert_eq!(file(&tree, "etc/keep").as_deref(), Some(&b"kept"[..]));
    assert_eq!(tree.lookup("etc/gone"), None);
    assert_eq!(tree.lookup("var/cache/old"), None);
    assert_eq!(file(&tree, "var/cache/new").as_deref(), Some(&b"same layer as the marker"[..]));
    assert_eq!(file(&tree, "bin/tool").as_deref(), Some(&b"v2"[..]));
    // Modes (with set-uid), owners and times come from the headers; missing parents (bin/)
    // are made 0755 and root's.
    let tool = tree.inode(tree.lookup("bin/tool").unwrap());
    assert_eq!((tool.mode, tool.uid, tool.gid, tool.mtime), (0o4755, 1000, 100, 1_700_000_000));
    let bin = tree.inode(tree.lookup("bin").unwrap());
    assert_eq!((bin.mode, bin.uid), (0o755, 0));
    // A directory over a directory keeps its children and takes the new metadata.
    assert_eq!(tree.inode(tree.lookup("var/cache").unwrap()).mode, 0o750);
}

#[test]
fn a_hard_link_is_a_second_name_for_the_same_inode() {
    let mut tree = Tree::new();
    let l = layer(&[E::File("usr/bin/a", b"program"), E::Link("usr/bin/b", "usr/bin/a")]);
    tree.apply_layer(&l, 0, "l").unwrap();
    assert_eq!(tree.lookup("usr/bin/a"), tree.lookup("usr/bin/b"));
    let bad = layer(&[E::Link("x", "missing")]);
    let err = Tree::new().apply_layer(&bad, 0, "bad-layer").unwrap_err();
    assert_eq!(
        err,
        TreeError::BadHardLink {
            layer: "bad-layer".into(),
            path: "x".into(),
            target: "missing".into()
        }
    );
}

#[test]
fn paths_that_leave_the_root_are_refused_naming_the_layer_and_the_path() {
    // `..` in a path (written raw: the tar crate's builder refuses it, as a careful tool does).
    let mut raw = layer(&[E::File("aaaaaaaaaaaaaaaa", b"x")]);
    raw[..16].copy_from_slice(b"../escape\0\0\0\0\0\0\0");
    let mut h = tar::Header::from_byte_slice(&raw[..512]).clone();
    h.set_cksum();
    raw[..512].copy_from_slice(h.as_bytes());
    let err = Tree::new().apply_layer(&raw, 0, "evil").unwrap_err();
    assert_eq!(err, TreeError::Escapes { layer: "evil".into(), path: "../escape".into() });

    // A symlink to the host's /etc, then a write through it.
    let mut tree = Tree::new();
    tree.apply_layer(&layer(&[E::Symlink("etc", "/etc")]), 0, "one").unwrap();
    let err = tree.apply_layer(&layer(&[E::File("etc/passwd", b"root::0:0")]), 1, "two");
    assert_eq!(
        err.unwrap_err(),
        TreeError::ThroughSymlink {
            layer: "two".into(),
            path: "etc/passwd".into(),
            symlink: "etc".into()
        }
    );
    // The symlink itself is kept verbatim.
    assert!(
        matches!(&tree.inode(tree.lookup("etc").unwrap()).kind, Kind::Symlink(t) if t == b"/etc")
    );

    // A corrupt tar names the layer.
    let mut corrupt = layer(&[E::File("f", b"data")]);
    corrupt[148] ^= 0x55; // the header checksum
    assert!(
        matches!(Tree::new().apply_layer(&corrupt, 0, "broken"), Err(TreeError::Tar { layer, .. }) if layer == "broken")
    );
}

#[test]
fn whiteouts_and_opaque_markers_hide_only_the_layers_below_wherever_they_stand() {
    let mut tree = Tree::new();
    let below = layer(&[
        E::File("a/d/old", b"below"),
        E::File("b/keep", b"below"),
        E::File("b/x", b"below"),
    ]);
    tree.apply_layer(&below, 0, "below").unwrap();
    // This layer writes a/d/new and b/x, then (later in the tar) marks a/ opaque and b/x
    // whited out: its own entries must stay, the lower ones go.
    let top = layer(&[
        E::File("a/d/new", b"this layer"),
        E::File("b/x", b"this layer"),
        E::File("a/.wh..wh..opq", b""),
        E::File("b/.wh.x", b""),
        E::File("nowhere/.wh.y", b""),
    ]);
    tree.apply_layer(&top, 1, "top").unwrap();
    assert_eq!(file(&tree, "a/d/new").as_deref(), Some(&b"this layer"[..]));
    assert_eq!(tree.lookup("a/d/old"), None);
    assert_eq!(file(&tree, "b/x").as_deref(), Some(&b"this layer"[..]));
    assert_eq!(file(&tree, "b/keep").as_deref(), Some(&b"below"[..]));
    // A whiteout in a directory nobody made creates nothing.
    assert_eq!(tree.lookup("nowhere"), None);
}

#[test]
fn resolve_follows_symlinks_as_the_kernel_does() {
    let mut tree = Tree::new();
    let l = layer(&[
        E::File("x/y/prog", b"P"),
        E::File("x/b", b"B"),
        E::Symlink("a", "/x/y"),
        E::Symlink("x/y/rel", "../b"),
        E::Symlink("loop1", "loop2"),
        E::Symlink("loop2", "loop1"),
    ]);
    tree.apply_layer(&l, 0, "l").unwrap();
    assert_eq!(tree.resolve("/a/prog"), tree.lookup("x/y/prog"));
    // `..` after a symlinked directory is the target's parent, as on Linux.
    assert_eq!(tree.resolve("/a/../b"), tree.lookup("x/b"));
    assert_eq!(tree.resolve("/x/y/rel"), tree.lookup("x/b"));
    assert_eq!(tree.resolve("/../../x/b"), tree.lookup("x/b"));
    assert_eq!(tree.resolve("/loop1"), None);
    assert_eq!(tree.resolve("/a/missing"), None);
}

#[test]
fn names_that_are_not_utf8_and_devices_linux_cannot_number_are_refused() {
    let mut raw = layer(&[E::File("aaaa", b"x")]);
    raw[..4].copy_from_slice(b"caf\xe9");
    let mut h = tar::Header::from_byte_slice(&raw[..512]).clone();
    h.set_cksum();
    raw[..512].copy_from_slice(h.as_bytes());
    let err = Tree::new().apply_layer(&raw, 0, "latin1").unwrap_err();
    assert!(
        matches!(err, TreeError::Unsupported { ref what, .. } if what.contains("UTF-8")),
        "{err}"
    );

    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Char);
    h.set_mode(0o600);
    h.set_size(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_device_major(5000).unwrap();
    h.set_device_minor(1).unwrap();
    b.append_data(&mut h, "dev/huge", &[][..]).unwrap();
    let err = Tree::new().apply_layer(&b.into_inner().unwrap(), 0, "dev").unwrap_err();
    assert!(err.to_string().contains("5000:1"), "{err}");
}
