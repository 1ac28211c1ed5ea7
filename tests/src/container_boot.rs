//! A container image boots as the guest: an OCI image made here (Debian's static busybox, an
//! /etc/passwd with a user `app`, a config with Entrypoint, Cmd, Env, WorkingDir and User)
//! goes through `images build`, and our kernel boots the disk with the command line the
//! build wrote. The kernel reads the container spec and starts the entrypoint itself: it
//! must run as `app` (with the supplementary group /etc/group gives it), in the working
//! directory, with the environment, with /proc, /sys and a writable /tmp mounted, and its
//! exit status 0 must power the machine off cleanly. The disk carries its hash tree and the
//! command line its root hash: one byte changed in a file reads as EIO. A disk whose spec
//! says another version, or names a program only root may run (hashed anew, so only the
//! spec is wrong), must stop the boot, saying why.

use std::path::Path;

use images::build::{BuildOptions, build};
use images::oci::writer::{NewImage, write_layout};
use serde_json::json;

use crate::layer::Layer;
use crate::qemu::{BootOutcome, BootSpec, Disk, boot};

/// What the entrypoint prints, one fact per line; the check wants these lines exactly.
/// The groups are runc's: those /etc/group lists the user in, without the primary group.
const EXPECTED: [&str; 7] = [
    "id: uid=1000(app) gid=1000(app) groups=10(wheel)",
    "cwd: /srv",
    "greeting: hello from the image",
    "pid 1: /bin/busybox",
    "mounts: proc sysfs tmpfs",
    "tmp: writable",
    "message: a message read from the disk",
];

/// Builds the image, boots it, checks the entrypoint's output.
pub fn run(
    elf: &Path,
    scratch: &Path,
    describe: fn(&BootOutcome, &str) -> String,
) -> Result<String, String> {
    let work = std::path::absolute(scratch.join("container-boot")).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let layout = work.join("busybox.oci");
    write_layout(&layout, &busybox_image()?)?;
    let out = build(&BuildOptions {
        input: layout,
        out_dir: work.join("guest"),
        append: "quiet".into(),
        ..Default::default()
    })?;
    let spec =
        BootSpec { disks: vec![Disk::readonly(&out.disk)], ..BootSpec::pvh(elf, &out.cmdline) };
    let booted = boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    for line in EXPECTED {
        if !booted.output.lines().any(|l| l.trim_end() == line) {
            return Err(describe(&booted, &format!("the entrypoint did not print {line:?}")));
        }
    }
    if !booted.succeeded() {
        return Err(describe(&booted, "the entrypoint's exit 0 did not power off cleanly"));
    }
    let disk = std::fs::read(&out.disk).map_err(|e| e.to_string())?;
    let boot_disk = |name: &str, bytes: &[u8], cmdline: &str| {
        let path = work.join(name);
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        let spec = BootSpec { disks: vec![Disk::readonly(&path)], ..BootSpec::pvh(elf, cmdline) };
        boot(&spec).map_err(|e| format!("cannot start qemu: {e}"))
    };

    // One byte of a file changed on the disk: the hash tree catches it on read (EIO), and
    // the rest of the disk still reads.
    let mut flipped = disk.clone();
    let at = find(&flipped, MESSAGE)?;
    flipped[at] ^= 0x20;
    let caught = boot_disk("flipped.ext2", &flipped, &out.cmdline)?;
    let eio = caught
        .output
        .lines()
        .any(|l| l.trim_end() == "message: cat: read error: Input/output error");
    if !eio
        || !caught.output.contains("does not match the hash tree")
        || !caught.output.contains("cwd: /srv")
    {
        return Err(describe(&caught, "a changed byte in /srv/message did not read as EIO"));
    }

    // Specs a builder got wrong, the disk hashed anew after the edit (so the tree vouches
    // for it and only the spec is wrong): the kernel must refuse each, naming why, and run
    // nothing. Another version; a program the container's user may not execute.
    let rehashed = |from: &[u8], to: &[u8]| -> Result<(Vec<u8>, String), String> {
        let data_len = data_blocks(&out.cmdline)? * guest_image::verity::BLOCK_SIZE;
        let mut data = disk.get(..data_len).ok_or("the disk is shorter than its data")?.to_vec();
        let at = find(&data, from)?;
        data[at..at + to.len()].copy_from_slice(to);
        let salt = [0x5a; 32];
        let (tree, params) =
            guest_image::verity::build_tree(&data, &salt).map_err(|e| e.to_string())?;
        data.extend_from_slice(&tree);
        let base = out.cmdline.split(" verity.").next().unwrap_or_default();
        let cmdline = format!(
            "{base} verity.root={} verity.salt={} verity.data_blocks={} quiet",
            hex::encode(params.root),
            hex::encode(salt),
            params.data_blocks
        );
        Ok((data, cmdline))
    };
    let cases: [(&str, &[u8], &[u8], &str); 2] = [
        (
            "another version",
            b"cocoon-container v1",
            b"cocoon-container v9",
            "container: /.cocoon/container: line 1 is not",
        ),
        (
            "a root-only program",
            b"arg /bin/sh",
            b"arg /srv/x0",
            "container: /srv/x0: uid 1000 may not execute it",
        ),
    ];
    for (what, from, to, said) in cases {
        let (data, cmdline) = rehashed(from, to)?;
        let refused = boot_disk("bad-spec.ext2", &data, &cmdline)?;
        if refused.succeeded()
            || !refused.output.contains(said)
            || refused.output.contains("greeting:")
        {
            return Err(describe(
                &refused,
                &format!("a spec with {what} was not refused ({said:?})"),
            ));
        }
    }
    if booted.output.contains("whiteout ignored") {
        return Err(describe(&booted, "a file the top layer whited out is on the disk"));
    }
    Ok(format!(
        "a {} MiB disk from a 2-layer OCI image, with its hash tree; the entrypoint ran as app \
         (1000:1000, groups wheel) in /srv with its Env, /proc, /sys and /tmp, and powered off \
         with its status in {:.1} s; one byte changed in a file read as EIO; specs of another \
         version and with a root-only program refused, naming why",
        out.summary.size >> 20,
        booted.elapsed.as_secs_f64()
    ))
}

/// Where `what` first appears in `bytes`.
fn find(bytes: &[u8], what: &[u8]) -> Result<usize, String> {
    bytes
        .windows(what.len())
        .position(|w| w == what)
        .ok_or_else(|| format!("{:?} is not on the disk", String::from_utf8_lossy(what)))
}

/// `verity.data_blocks=` of a command line.
fn data_blocks(cmdline: &str) -> Result<usize, String> {
    cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("verity.data_blocks="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no verity.data_blocks= in {cmdline:?}"))
}

/// A file only the entrypoint reads (so one byte of it can be changed).
const MESSAGE: &[u8] = b"a message read from the disk";

/// Busybox and its applet links in one layer; users, the app directory and a file the
/// second layer deletes in another.
fn busybox_image() -> Result<NewImage, String> {
    let applets = ["sh", "id", "cat", "echo", "readlink", "awk", "touch", "sed", "sort", "tr"];
    let base = Layer::new()
        .busybox(&applets)?
        .dir("etc/", 0o755, 0)?
        .file(
            "etc/passwd",
            0o644,
            0,
            b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n",
        )?
        .file("etc/group", 0o644, 0, b"root:x:0:\nwheel:x:10:app\napp:x:1000:\n")?
        .dir("srv/", 0o755, 1000)?
        .file("srv/stale", 0o644, 1000, b"deleted by the top layer")?
        .file("srv/message", 0o644, 1000, MESSAGE)?
        .file("srv/x0", 0o700, 0, b"#!/bin/sh\necho root only\n")?
        .finish()?;
    let top = Layer::new().file("srv/.wh.stale", 0o644, 0, b"")?.finish()?;
    let script = "echo \"id: $(id)\"; echo \"cwd: $(pwd)\"; echo \"greeting: $GREETING\"; \
                  echo \"pid 1: $(readlink /proc/1/exe)\"; \
                  echo \"mounts: $(awk '$2 == \"/proc\" || $2 == \"/sys\" || $2 == \"/tmp\" {print $3}' /proc/mounts | sort | tr '\\n' ' ' | sed 's/ $//')\"; \
                  touch /tmp/probe && echo 'tmp: writable'; \
                  echo \"message: $(cat /srv/message 2>&1)\"; \
                  [ -e /srv/stale ] && echo 'whiteout ignored'; exit 0";
    Ok(NewImage {
        layers: vec![base, top],
        run: json!({
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": [script],
            "Env": ["GREETING=hello from the image"],
            "WorkingDir": "/srv",
            "User": "app",
        }),
        gzip: true,
    })
}
