//! Container images of Debian's own server programs, served to the host (`make
//! test-containers`; issue 16's "real workloads"). The Debian root the other checks use
//! (`images/debian/mkimage.sh`: debootstrap with python3 and redis-server) goes through
//! `images build` twice, as a plain directory with an entrypoint given on the command line:
//!
//! - `python3 -m http.server 8000` in `/usr/share/doc`: the host fetches a file through
//!   hostfwd and it must equal the file in the root it was built from;
//! - `redis-server` on port 6379: the host sends PING, SET and GET through hostfwd.
//!
//! Each guest boots our kernel on the checked root disk (its hash tree, the command line's
//! root hash), with the entrypoint started by the kernel itself.

use std::path::Path;
use std::time::{Duration, Instant};

use images::build::{BuildOptions, build};
use images::container::Overrides;

use crate::net_clients::{RedisClient, Resp, http_get};
use crate::qemu::{BootSpec, Disk, HostForward, Interactive};

/// How long a guest has to start its server (python3 under TCG takes seconds).
const READY: Duration = Duration::from_secs(180);

/// Builds and serves both images; returns a summary with the build and start times.
pub fn run(root: &Path, elf: &Path, scratch: &Path) -> Result<String, String> {
    let rootfs = root.join("target/debian/rootfs");
    if !rootfs.join(".cocoon-packages").exists() {
        crate::reference::debian_image(root, &scratch.join("debian"), &[])?;
    }
    let work =
        std::path::absolute(scratch.join("container-services")).map_err(|e| e.to_string())?;
    let mut summary = Vec::new();

    // python3 -m http.server.
    let (http, took) = build_image(
        &rootfs,
        &work.join("python"),
        &["python3", "-m", "http.server", "8000"],
        "/usr/share/doc",
    )?;
    let forward = HostForward::to_guest_port(8000).map_err(|e| format!("free port: {e}"))?;
    let (mut guest, started) = serve(elf, &http, forward, "Serving HTTP on")?;
    let want = std::fs::read(rootfs.join("usr/share/doc/base-files/copyright"))
        .map_err(|e| e.to_string())?;
    let got = http_get(forward.host, "/base-files/copyright")
        .map_err(|e| format!("{e}\n{}", guest.tail(20)))?;
    if got != want {
        return Err(format!(
            "http.server sent {} bytes, the file has {}\n{}",
            got.len(),
            want.len(),
            guest.tail(20)
        ));
    }
    let _ = guest.send(b"\x03");
    summary.push(format!(
        "python3 -m http.server: {} MiB disk built in {:.1} s, serving after {:.1} s, a file fetched byte for byte",
        http.summary.size >> 20,
        took.as_secs_f64(),
        started.as_secs_f64()
    ));
    drop(guest);

    // redis-server.
    let args = ["redis-server", "--port", "6379", "--protected-mode", "no", "--save", ""];
    let (redis, took) = build_image(&rootfs, &work.join("redis"), &args, "/tmp")?;
    let forward = HostForward::to_guest_port(6379).map_err(|e| format!("free port: {e}"))?;
    let (guest, started) = serve(elf, &redis, forward, "Ready to accept connections")?;
    let mut client = RedisClient::connect(forward.host)?;
    let ping = client.command(&["PING"])?;
    let set = client.command(&["SET", "cocoon", "container"])?;
    let get = client.command(&["GET", "cocoon"])?;
    if ping != Resp::Simple("PONG".into())
        || set != Resp::Simple("OK".into())
        || get != Resp::Bulk(Some(b"container".to_vec()))
    {
        return Err(format!("redis answered {ping:?}, {set:?}, {get:?}\n{}", guest.tail(20)));
    }
    summary.push(format!(
        "redis-server: {} MiB disk built in {:.1} s, serving after {:.1} s, PING/SET/GET from the host",
        redis.summary.size >> 20,
        took.as_secs_f64(),
        started.as_secs_f64()
    ));
    Ok(summary.join("; "))
}

/// `images build` of `rootfs` with `args` as the entrypoint, in `workdir`.
fn build_image(
    rootfs: &Path,
    out: &Path,
    args: &[&str],
    workdir: &str,
) -> Result<(images::build::BuildOutput, Duration), String> {
    let start = Instant::now();
    let built = build(&BuildOptions {
        input: rootfs.into(),
        out_dir: out.into(),
        overrides: Overrides {
            entrypoint: Some(vec![args[0].into()]),
            cmd: Some(args[1..].iter().map(|a| a.to_string()).collect()),
            workdir: Some(workdir.into()),
            ..Default::default()
        },
        append: "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off".into(),
        ..Default::default()
    })?;
    Ok((built, start.elapsed()))
}

/// Boots `image` with `forward` and waits for `ready` on its console.
fn serve(
    elf: &Path,
    image: &images::build::BuildOutput,
    forward: HostForward,
    ready: &str,
) -> Result<(Interactive, Duration), String> {
    let spec = BootSpec {
        disks: vec![Disk::readonly(&image.disk)],
        memory: "1G".into(),
        nic: true,
        host_forwards: vec![forward],
        ..BootSpec::pvh(elf, &image.cmdline)
    };
    let start = Instant::now();
    let mut guest = Interactive::start(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    guest.expect(ready, READY).map_err(|e| format!("{e}\n{}", guest.tail(20)))?;
    Ok((guest, start.elapsed()))
}
