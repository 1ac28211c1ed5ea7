//! `images build` end to end on the host: an image written as an OCI layout directory, the
//! same layout as a tar, and the same layers as a `docker save` tar all give the same disk,
//! byte for byte, twice; `e2fsck` finds it clean; the container's process spec on it is the
//! image config resolved against the image's own /etc/passwd and /etc/group; bad inputs are
//! refused naming the file and the reason, with nothing written.
#![forbid(unsafe_code)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{E, layer};
use guest_image::container::ContainerSpec;
use images::build::{BuildOptions, build};
use images::oci::writer::{NewImage, write_layout};
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("images-build-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Two layers: a base with /etc/passwd, /etc/group and a file the top layer deletes; a top
/// layer with the app and a whiteout.
fn image(gzip: bool) -> NewImage {
    let base = layer(&[
        E::Dir("etc/"),
        E::File("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n"),
        E::File("etc/group", b"root:x:0:\napp:x:1000:\nwheel:x:10:app,other\n"),
        E::File("srv/old", b"removed by the next layer"),
        E::File("bin/sh", b"#!not really a shell"),
    ]);
    let top = layer(&[
        E::File("srv/.wh.old", b""),
        E::File("srv/app.py", b"print('hello')\n"),
        E::Link("bin/sh2", "bin/sh"),
        E::Symlink("usr/bin/python", "/usr/bin/python3"),
        E::File("usr/bin/python3", b"not really python"),
    ]);
    let run = json!({
        "Entrypoint": ["/usr/bin/python", "-u"],
        "Cmd": ["app.py"],
        "Env": ["PATH=/usr/bin:/bin", "GREETING=hello world"],
        "WorkingDir": "/srv",
        "User": "app",
    });
    NewImage { layers: vec![base, top], run, gzip }
}

fn build_to(input: &Path, out: &Path) -> Result<images::build::BuildOutput, String> {
    build(&BuildOptions { input: input.into(), out_dir: out.into(), ..Default::default() })
}

/// `docker save`'s form of `image`: manifest.json, the config, one directory per layer.
fn docker_save(image: &NewImage, layout: &Path, tar_path: &Path) {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let blob =
        |digest: &str| std::fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let config = blob(manifest["config"]["digest"].as_str().unwrap());
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, bytes).unwrap();
    };
    add("config.json", &config);
    let mut names = Vec::new();
    for (i, tar) in image.layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        add(&name, tar);
        names.push(name);
    }
    add(
        "manifest.json",
        json!([{"Config": "config.json", "RepoTags": ["t:1"], "Layers": names}])
            .to_string()
            .as_bytes(),
    );
    std::fs::write(tar_path, b.into_inner().unwrap()).unwrap();
}

/// Tars directory `dir` (an OCI layout) into `out`.
fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", dir).unwrap();
    std::fs::write(out, b.into_inner().unwrap()).unwrap();
}

#[test]
fn every_input_form_gives_the_same_disk_twice_and_e2fsck_finds_it_clean() {
    let dir = scratch("forms");
    let img = image(true);
    write_layout(&dir.join("layout"), &img).unwrap();
    tar_dir(&dir.join("layout"), &dir.join("layout.tar"));
    docker_save(&img, &dir.join("layout"), &dir.join("docker.tar"));

    let first = build_to(&dir.join("layout"), &dir.join("out1")).unwrap();
    let again = build_to(&dir.join("layout"), &dir.join("out2")).unwrap();
    let from_tar = build_to(&dir.join("layout.tar"), &dir.join("out3")).unwrap();
    let from_docker = build_to(&dir.join("docker.tar"), &dir.join("out4")).unwrap();
    let disk = std::fs::read(&first.disk).unwrap();
    for other in [&again, &from_tar, &from_docker] {
        assert!(std::fs::read(&other.disk).unwrap() == disk, "{} differs", other.disk.display());
    }
    // Uncompressed layers are the same layers: the same disk again.
    write_layout(&dir.join("plain"), &image(false)).unwrap();
    let plain = build_to(&dir.join("plain"), &dir.join("out5")).unwrap();
    assert!(std::fs::read(&plain.disk).unwrap() == disk);

    let fsck = Command::new("/sbin/e2fsck").arg("-fn").arg(&first.disk).output().unwrap();
    assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
    let cmdline = std::fs::read_to_string(dir.join("out1/cmdline")).unwrap();
    assert!(cmdline.starts_with("console=ttyS0 root=/dev/vda ro verity.root="), "{cmdline}");

    // The hash tree after the filesystem is dm-verity's: veritysetup checks the whole disk
    // with the command line's parameters, and refuses it with one byte of a file changed.
    let param = |key: &str| {
        cmdline.split_whitespace().find_map(|w| w.strip_prefix(key)).unwrap().to_owned()
    };
    let (root, salt, blocks) =
        (param("verity.root="), param("verity.salt="), param("verity.data_blocks="));
    let verify = |disk: &Path| {
        let offset = blocks.parse::<u64>().unwrap() * 4096;
        Command::new("veritysetup")
            .args(["verify", "--no-superblock", "--format=1", "--hash=sha256"])
            .arg(format!("--salt={salt}"))
            .arg(format!("--data-blocks={blocks}"))
            .arg(format!("--hash-offset={offset}"))
            .arg(disk)
            .arg(disk)
            .arg(&root)
            .output()
            .unwrap()
    };
    let ok = verify(&first.disk);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let at = disk.windows(14).position(|w| w == b"print('hello')").unwrap();
    let mut changed = disk.clone();
    changed[at] ^= 1;
    let changed_path = dir.join("changed.ext2");
    std::fs::write(&changed_path, changed).unwrap();
    assert!(!verify(&changed_path).status.success(), "a changed byte passed veritysetup");
}

#[test]
fn the_spec_on_the_disk_is_the_config_resolved_against_the_image_s_own_users() {
    let dir = scratch("spec");
    write_layout(&dir.join("layout"), &image(true)).unwrap();
    let out = build_to(&dir.join("layout"), &dir.join("out")).unwrap();
    let expected = ContainerSpec {
        args: vec![b"/usr/bin/python".to_vec(), b"-u".to_vec(), b"app.py".to_vec()],
        env: vec![b"PATH=/usr/bin:/bin".to_vec(), b"GREETING=hello world".to_vec()],
        cwd: b"/srv".to_vec(),
        uid: 1000,
        gid: 1000,
        groups: vec![10],
    };
    assert_eq!(out.spec, expected);
    // What the kernel reads, read back with e2fsprogs: the spec, the whiteout applied, the
    // hard link, the mount points.
    let debugfs = |request: &str| {
        let o =
            Command::new("/sbin/debugfs").args(["-R", request]).arg(&out.disk).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(debugfs("cat /.cocoon/container").as_bytes(), &expected.encode()[..]);
    let srv = debugfs("ls /srv");
    assert!(srv.contains("app.py") && !srv.contains("old"), "{srv}");
    let root = debugfs("ls /");
    for dir in ["proc", "sys", "dev", "tmp", ".cocoon"] {
        assert!(root.contains(dir), "no /{dir}: {root}");
    }
    let sh = debugfs("stat /bin/sh");
    assert!(sh.contains("Links: 2"), "{sh}");
}

#[test]
fn bad_inputs_are_refused_naming_the_file_and_the_reason_and_nothing_is_written() {
    let dir = scratch("bad");
    let out = dir.join("out");
    let refused = |input: &Path| {
        let e = build_to(input, &out).unwrap_err();
        assert!(!out.join("rootfs.ext2").exists(), "{e}");
        e
    };
    // Not a tar at all.
    std::fs::write(dir.join("garbage.tar"), vec![0x42; 2048]).unwrap();
    let e = refused(&dir.join("garbage.tar"));
    assert!(e.contains("garbage.tar") && e.contains("corrupt tar"), "{e}");

    // A layer blob whose bytes are not its digest.
    write_layout(&dir.join("tampered"), &image(false)).unwrap();
    let blobs = dir.join("tampered/blobs/sha256");
    let mut biggest: Vec<_> =
        std::fs::read_dir(&blobs).unwrap().map(|e| e.unwrap().path()).collect();
    biggest.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let layer_blob = biggest.last().unwrap().clone();
    let mut bytes = std::fs::read(&layer_blob).unwrap();
    bytes[600] ^= 1;
    std::fs::write(&layer_blob, bytes).unwrap();
    let e = refused(&dir.join("tampered"));
    assert!(
        e.contains(&layer_blob.file_name().unwrap().to_string_lossy().to_string())
            && e.contains("its descriptor says"),
        "{e}"
    );

    // A missing config blob.
    write_layout(&dir.join("no-config"), &image(false)).unwrap();
    let config_blob = {
        let layout = dir.join("no-config");
        let json = |p: PathBuf| -> serde_json::Value {
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
        };
        let index = json(layout.join("index.json"));
        let manifest = json(
            layout
                .join("blobs/sha256")
                .join(&index["manifests"][0]["digest"].as_str().unwrap()[7..]),
        );
        layout.join("blobs/sha256").join(&manifest["config"]["digest"].as_str().unwrap()[7..])
    };
    std::fs::remove_file(&config_blob).unwrap();
    let e = refused(&dir.join("no-config"));
    assert!(
        e.contains("missing") && e.contains(&*config_blob.file_name().unwrap().to_string_lossy()),
        "{e}"
    );

    // A layer that writes through a symlink to the host's /etc.
    let evil = NewImage {
        layers: vec![
            layer(&[E::Symlink("etc", "/etc")]),
            layer(&[E::File("etc/cron.d/x", b"* * * * * root sh")]),
        ],
        run: json!({"Cmd": ["/bin/sh"]}),
        gzip: false,
    };
    write_layout(&dir.join("evil"), &evil).unwrap();
    let e = refused(&dir.join("evil"));
    assert!(e.contains("etc/cron.d/x") && e.contains("symlink \"etc\""), "{e}");

    // Nothing to run.
    let idle = NewImage { layers: vec![layer(&[E::File("a", b"")])], run: json!({}), gzip: false };
    write_layout(&dir.join("idle"), &idle).unwrap();
    let e = refused(&dir.join("idle"));
    assert!(e.contains("no Entrypoint or Cmd"), "{e}");

    // An entrypoint the image does not have (the boot would fail; the build says so).
    let absent = NewImage {
        layers: vec![layer(&[E::File("bin/sh", b"")])],
        run: json!({"Entrypoint": ["/usr/bin/python3"]}),
        gzip: false,
    };
    write_layout(&dir.join("absent"), &absent).unwrap();
    let e = refused(&dir.join("absent"));
    assert!(e.contains("\"/usr/bin/python3\" is not a file in the image"), "{e}");

    // Nothing was written beside the output directory.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in names {
        assert!(
            ["garbage.tar", "tampered", "no-config", "evil", "idle", "absent", "out"]
                .contains(&name.as_str()),
            "{name}"
        );
    }
}
