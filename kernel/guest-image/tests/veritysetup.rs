//! The hash tree against another implementation: `veritysetup` (cryptsetup, Debian's
//! `cryptsetup-bin`) formats the same data with the same salt, and its root hash and hash
//! area must equal ours byte for byte; `veritysetup verify` accepts our tree and refuses it
//! once a data byte changes.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use guest_image::verity::{BLOCK_SIZE, build_tree};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("verity-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn veritysetup(args: &[&str], files: &[&Path]) -> (bool, String) {
    let out = Command::new("veritysetup")
        .args(args)
        .args(files)
        .output()
        .expect("veritysetup (Debian's cryptsetup-bin; deploy/deps.sh installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

const FORMAT: [&str; 6] = [
    "--no-superblock",
    "--hash=sha256",
    "--data-block-size=4096",
    "--hash-block-size=4096",
    "--format=1",
    "--salt=0123456789abcdef",
];

#[test]
fn our_tree_and_root_hash_are_veritysetup_s_byte_for_byte() {
    let dir = scratch("same");
    // One level, two, and three (more than 128 * 128 blocks).
    for blocks in [2usize, 128, 129, 300, 128 * 128 + 5] {
        let data: Vec<u8> =
            (0..blocks * BLOCK_SIZE).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let (data_path, hash_path) = (dir.join("data.img"), dir.join("hash.img"));
        std::fs::write(&data_path, &data).unwrap();
        let _ = std::fs::remove_file(&hash_path);
        let (ok, text) =
            veritysetup(&[&["format"][..], &FORMAT].concat(), &[&data_path, &hash_path]);
        assert!(ok, "{text}");
        let theirs = text
            .lines()
            .find_map(|l| l.strip_prefix("Root hash:"))
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|| panic!("no root hash in {text}"));
        let salt = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let (tree, params) = build_tree(&data, &salt).unwrap();
        assert_eq!(hex(&params.root), theirs, "{blocks} blocks");
        assert!(
            std::fs::read(&hash_path).unwrap() == tree,
            "hash area differs for {blocks} blocks"
        );
    }
}

#[test]
fn veritysetup_verify_accepts_our_tree_and_refuses_it_after_a_changed_byte() {
    let dir = scratch("verify");
    let mut data: Vec<u8> = (0..40 * BLOCK_SIZE).map(|i| (i % 253) as u8).collect();
    let (tree, params) =
        build_tree(&data, &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]).unwrap();
    let (data_path, hash_path) = (dir.join("data.img"), dir.join("hash.img"));
    std::fs::write(&data_path, &data).unwrap();
    std::fs::write(&hash_path, &tree).unwrap();
    let root = hex(&params.root);
    let verify = [&["verify"][..], &FORMAT].concat();
    let (ok, text) = veritysetup(&verify, &[&data_path, &hash_path, Path::new(&root)]);
    assert!(ok, "{text}");
    data[17 * BLOCK_SIZE + 5] ^= 1;
    std::fs::write(&data_path, &data).unwrap();
    let (ok, text) = veritysetup(&verify, &[&data_path, &hash_path, Path::new(&root)]);
    assert!(!ok, "a changed byte was accepted: {text}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
