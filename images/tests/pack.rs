//! `images pack`: a one-layer image from host files reads back as that image (the file at its
//! path, with its parents, the entrypoint and user in the config), and packing the same files
//! twice gives the same manifest digest.
#![forbid(unsafe_code)]

use images::oci::{Input, read};
use images::pack::{PackOptions, pack};
use images::rootfs::tree::{Kind, Tree};

#[test]
fn a_packed_image_reads_back_and_packing_is_reproducible() {
    let dir = std::env::temp_dir().join(format!("images-pack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tool = dir.join("tool");
    std::fs::write(&tool, b"#!/bin/sh\necho packed\n").unwrap();
    let opts = |out: &str| PackOptions {
        files: vec![(tool.clone(), "/usr/local/bin/tool".into())],
        entrypoint: vec!["/usr/local/bin/tool".into(), "--flag".into()],
        user: Some("65532:65532".into()),
        out: dir.join(out),
    };
    let first = pack(&opts("a")).unwrap();
    assert_eq!(pack(&opts("b")).unwrap(), first, "the same files, the same digest");
    let Input::Image(image) = read(&dir.join("a")).unwrap() else { panic!("not an image") };
    assert_eq!(
        image.config.config.entrypoint.as_deref(),
        Some(&["/usr/local/bin/tool".to_string(), "--flag".to_string()][..])
    );
    assert_eq!(image.config.config.user.as_deref(), Some("65532:65532"));
    let mut tree = Tree::new();
    tree.apply_layer(&image.layers[0].tar, 0, "packed").unwrap();
    let id = tree.lookup("usr/local/bin/tool").unwrap();
    assert!(matches!(&tree.inode(id).kind, Kind::File(b) if b.starts_with(b"#!/bin/sh")));
    assert_eq!(tree.inode(tree.lookup("usr/local").unwrap()).mode, 0o755);

    let relative = PackOptions { files: vec![(tool.clone(), "usr/bin/x".into())], ..opts("c") };
    assert!(pack(&relative).unwrap_err().contains("absolute"));
    let missing = PackOptions { files: vec![(dir.join("nope"), "/x".into())], ..opts("d") };
    assert!(pack(&missing).unwrap_err().contains("nope"));
}
