//! A container image boots as the guest: an OCI image made here (Debian's static busybox, an
//! /etc/passwd with a user `app`, a config with Entrypoint, Cmd, Env, WorkingDir and User)
//! goes through `images build`, and our kernel boots the disk with the command line the
//! build wrote. The kernel reads the container spec and starts the entrypoint itself: it
//! must run as `app` (with the supplementary group /etc/group gives it), in the working
//! directory, with the environment, with /proc, /sys and a writable /tmp mounted, and its
//! exit status 0 must power the machine off cleanly. A disk whose spec says another version
//! must stop the boot, naming the line.

use std::path::Path;

use images::build::{BuildOptions, build};
use images::oci::writer::{NewImage, write_layout};
use serde_json::json;

use crate::qemu::{BootOutcome, BootSpec, Disk, boot};

/// What the entrypoint prints, one fact per line; the check wants these lines exactly.
/// The groups are runc's: those /etc/group lists the user in, without the primary group.
const EXPECTED: [&str; 6] = [
    "id: uid=1000(app) gid=1000(app) groups=10(wheel)",
    "cwd: /srv",
    "greeting: hello from the image",
    "pid 1: /bin/busybox",
    "mounts: proc sysfs tmpfs",
    "tmp: writable",
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
    // The same disk with the spec's version changed: the kernel must refuse it, naming the
    // file and the line, and power off with a failure rather than run anything.
    let mut disk = std::fs::read(&out.disk).map_err(|e| e.to_string())?;
    let magic = guest_image::container::MAGIC.as_bytes();
    let at = disk.windows(magic.len()).position(|w| w == magic).ok_or("no spec on the disk")?;
    disk[at + magic.len() - 1] = b'9';
    let bad_disk = work.join("bad-spec.ext2");
    std::fs::write(&bad_disk, disk).map_err(|e| e.to_string())?;
    let refused = boot(&BootSpec {
        disks: vec![Disk::readonly(&bad_disk)],
        ..BootSpec::pvh(elf, &out.cmdline)
    })
    .map_err(|e| format!("cannot start qemu: {e}"))?;
    let named = refused.output.contains("container: /.cocoon/container: line 1 is not");
    if refused.succeeded() || !named || refused.output.contains("greeting:") {
        return Err(describe(&refused, "a spec with another version was not refused by line"));
    }
    Ok(format!(
        "a {} MiB disk from a 2-layer OCI image; the entrypoint ran as app (1000:1000, groups \
         wheel) in /srv with its Env, /proc, /sys and /tmp, and powered off with its status in \
         {:.1} s; a spec of another version refused naming its line",
        out.summary.size >> 20,
        booted.elapsed.as_secs_f64()
    ))
}

/// Busybox and its applet links in one layer; users, the app directory and a file the
/// second layer deletes in another.
fn busybox_image() -> Result<NewImage, String> {
    let busybox = std::fs::read("/bin/busybox").map_err(|e| format!("/bin/busybox: {e}"))?;
    let mut base = tar::Builder::new(Vec::new());
    let mut add = |path: &str,
                   kind: tar::EntryType,
                   mode: u32,
                   owner: u64,
                   data: &[u8],
                   link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner);
        h.set_gid(owner);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        match link {
            Some(target) => base.append_link(&mut h, path, target),
            None => base.append_data(&mut h, path, data),
        }
        .map_err(|e| format!("layer: {path}: {e}"))
    };
    use tar::EntryType::{Directory, Regular, Symlink};
    add("bin/", Directory, 0o755, 0, b"", None)?;
    add("bin/busybox", Regular, 0o755, 0, &busybox, None)?;
    for applet in ["sh", "id", "cat", "echo", "readlink", "awk", "touch", "sed", "sort", "tr"] {
        add(&format!("bin/{applet}"), Symlink, 0o777, 0, b"", Some("busybox"))?;
    }
    add("etc/", Directory, 0o755, 0, b"", None)?;
    add(
        "etc/passwd",
        Regular,
        0o644,
        0,
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n",
        None,
    )?;
    add("etc/group", Regular, 0o644, 0, b"root:x:0:\nwheel:x:10:app\napp:x:1000:\n", None)?;
    add("srv/", Directory, 0o755, 1000, b"", None)?;
    add("srv/stale", Regular, 0o644, 1000, b"deleted by the top layer", None)?;
    let base = base.into_inner().map_err(|e| e.to_string())?;
    let mut top = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(0);
    h.set_mtime(1_700_000_000);
    top.append_data(&mut h, "srv/.wh.stale", &[][..]).map_err(|e| e.to_string())?;
    let top = top.into_inner().map_err(|e| e.to_string())?;
    let script = "echo \"id: $(id)\"; echo \"cwd: $(pwd)\"; echo \"greeting: $GREETING\"; \
                  echo \"pid 1: $(readlink /proc/1/exe)\"; \
                  echo \"mounts: $(awk '$2 == \"/proc\" || $2 == \"/sys\" || $2 == \"/tmp\" {print $3}' /proc/mounts | sort | tr '\\n' ' ' | sed 's/ $//')\"; \
                  touch /tmp/probe && echo 'tmp: writable'; \
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
