//! Real network programs from Debian, in the guest, driven from the host (`make test`'s
//! network-services check; alone: `cargo run -p tests --bin net-services -- KERNEL_ELF`).
//!
//! The Debian image boots with `rdinit=/net-init` (tests/net/net-init) on a virtio-net NIC
//! behind QEMU's user networking, with hostfwd rules to free host ports. The guest:
//! - serves files from /srv/www with busybox httpd and with nginx (nginx-light), which the
//!   host fetches over HTTP/1.0 and compares by SHA-256 with the originals;
//! - fetches a file from a server the host runs (slirp's 10.0.2.2 is the host's 127.0.0.1)
//!   with busybox wget and with python3's urllib, and prints its SHA-256;
//! - runs redis-server: redis-cli and redis-benchmark use it over loopback in the guest,
//!   and the host sets and reads keys through hostfwd (and runs its own redis-benchmark when
//!   the host has one).
//!
//! The same image runs under Debian's Linux 6.1 at the same time (it loads virtio_net and
//! configures eth0 itself): it must pass the same steps, which shows the test is sound.
//! Every file's content is random per run, so no cached or stale copy can match.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::net_clients::{FileServer, RedisClient, Resp, http_get};
use crate::qemu::{BootSpec, EXIT_SUCCESS, HostForward, Interactive};
use crate::reference::{VIRTIO_NET_MODULES, debian_image, linux_kernel, linux_modules};

/// The guest's ports: busybox httpd, nginx, redis (tests/net/net-init).
const HTTPD_PORT: u16 = 8080;
const NGINX_PORT: u16 = 8081;
const REDIS_PORT: u16 = 6379;

/// The files the guest serves, as (name, size): a page, an odd size, and a few MB.
const SERVED: [(&str, usize); 3] =
    [("index.html", 0), ("odd.bin", 100_003), ("big.bin", 3 * 1024 * 1024 + 17)];

/// The size of the file the guest fetches from the host.
const TO_GUEST_SIZE: usize = 2 * 1024 * 1024 + 5;

/// Failure limits: boot and start the servers; each later guest step.
const READY_LIMIT: Duration = Duration::from_secs(300);
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// The two kernels' runs, side by side.
struct Kernels<T> {
    linux: T,
    ours: T,
}

/// The files of one run, random per run.
pub struct Payloads {
    /// What the guest serves, as (name, content).
    served: Vec<(String, Vec<u8>)>,
    /// What the host serves to the guest.
    to_guest: Vec<u8>,
}

/// What one kernel's session measured.
struct Session {
    /// Bytes fetched from the guest by the host, and how long that took.
    fetched_bytes: usize,
    fetch_time: Duration,
    /// redis-benchmark's summary lines in the guest (over loopback).
    guest_benchmark: Vec<String>,
    /// redis-benchmark's summary lines on the host (through hostfwd), if it is installed.
    host_benchmark: Option<Vec<String>>,
    elapsed: Duration,
}

/// Runs the check under Linux 6.1 and under ours (`elf`) at the same time. Ours must pass
/// every step; so must Linux, or the test itself is wrong.
pub fn run(root: &Path, elf: &Path) -> Result<String, String> {
    let work = root.join("target/net-services");
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let linux = linux_kernel(&root.join("target/linux"))?;
    let payloads = Payloads::random()?;
    let image = build_image(root, &work, &linux, &payloads)?;
    let server = FileServer::start("payload.bin", payloads.to_guest.clone())?;
    let extra = format!("hostport={}", server.port());
    let (linux_cmdline, ours_cmdline) = (cmdline(false, &extra), cmdline(true, &extra));
    let both = std::thread::scope(|scope| {
        let theirs = scope.spawn(|| {
            session(&linux, &linux_cmdline, &image, &work.join("linux.console"), &payloads, false)
        });
        let ours = session(elf, &ours_cmdline, &image, &work.join("ours.console"), &payloads, true);
        let linux = theirs.join().unwrap_or_else(|_| Err("the Linux session panicked".into()));
        Kernels { linux, ours }
    });
    let ours = both.ours.map_err(|e| format!("our kernel: {e}"))?;
    let linux = both.linux.map_err(|e| {
        format!("Linux 6.1 (the same steps; the test or the host is at fault): {e}")
    })?;
    // Each run fetched the file twice (wget, urllib).
    if server.served() < 4 {
        return Err(format!(
            "the host's server answered {} whole requests, not the 4 of wget and urllib under \
             each kernel",
            server.served()
        ));
    }
    Ok(summary(&Kernels { linux, ours }))
}

/// The command line that boots the image into net-init under our kernel (eth0 from `ip=`) or
/// Linux (which loads virtio-net and configures eth0 itself), with `extra` words.
pub fn cmdline(ours: bool, extra: &str) -> String {
    if ours {
        format!(
            "console=ttyS0 quiet rdinit=/net-init ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off \
             {extra}"
        )
    } else {
        format!("console=ttyS0 panic=-1 quiet rdinit=/net-init linux_modules=1 {extra}")
    }
}

impl Payloads {
    /// New files of random content.
    pub fn random() -> Result<Self, String> {
        let mut served = Vec::new();
        for (name, size) in SERVED {
            let content = if size == 0 {
                format!("<html><body>cocoon net check {}</body></html>\n", hex(&random_bytes(8)?))
                    .into_bytes()
            } else {
                random_bytes(size)?
            };
            served.push((name.to_string(), content));
        }
        Ok(Self { served, to_guest: random_bytes(TO_GUEST_SIZE)? })
    }
}

fn random_bytes(len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0; len];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?,
        &mut bytes,
    )
    .map_err(|e| format!("read /dev/urandom: {e}"))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The Debian image with net-init, the nginx configuration, the served files and Linux's
/// virtio-net modules (in /usr/lib: /lib is a link to it in Debian).
pub fn build_image(
    root: &Path,
    work: &Path,
    linux: &Path,
    payloads: &Payloads,
) -> Result<PathBuf, String> {
    let www = work.join("www");
    let _ = std::fs::remove_dir_all(&www);
    std::fs::create_dir_all(&www).map_err(|e| format!("mkdir {}: {e}", www.display()))?;
    let mut files: Vec<(String, String)> = vec![
        ("tests/net/net-init".into(), "net-init".into()),
        ("tests/net/nginx.conf".into(), "etc/nginx/cocoon-test.conf".into()),
    ];
    for (name, content) in &payloads.served {
        let path = www.join(name);
        std::fs::write(&path, content).map_err(|e| format!("write {}: {e}", path.display()))?;
        files.push((path.display().to_string(), format!("srv/www/{name}")));
    }
    for module in linux_modules(linux, &VIRTIO_NET_MODULES)? {
        let name = module.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        files.push((module.display().to_string(), format!("usr/lib/ref-modules/{name}")));
    }
    let pairs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    debian_image(root, work, &pairs)
}

/// Boots `kernel` and drives one session: wait for the guest's servers, fetch and compare,
/// talk to redis, tell the guest to finish, check what it reported and how it ended.
fn session(
    kernel: &Path,
    cmdline: &str,
    image: &Path,
    console: &Path,
    payloads: &Payloads,
    ours: bool,
) -> Result<Session, String> {
    let start = Instant::now();
    let ports = HostForward::to_guest_ports(&[HTTPD_PORT, NGINX_PORT, REDIS_PORT])
        .map_err(|e| format!("free port: {e}"))?;
    let (httpd, nginx, redis) = (ports[0], ports[1], ports[2]);
    let spec = BootSpec {
        initrd: Some(image.into()),
        memory: "2G".into(),
        nic: true,
        host_forwards: vec![httpd, nginx, redis],
        console_log: Some(console.into()),
        ..BootSpec::pvh(kernel, cmdline)
    };
    let mut guest = Interactive::start(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    let fail = |guest: &Interactive, step: &str, e: String| {
        format!("{step}: {e}\n      console ({}) ends:\n{}", console.display(), guest.tail(20))
    };
    guest.expect_line("NET-READY", READY_LIMIT).map_err(|e| format!("boot to NET-READY: {e}"))?;

    // Host → guest: every file from both servers, byte for byte.
    let fetch_start = Instant::now();
    let mut fetched_bytes = 0;
    for (server, forward) in [("busybox httpd", httpd), ("nginx", nginx)] {
        for (name, content) in &payloads.served {
            let step = format!("host fetches /{name} from the guest's {server}");
            let body =
                http_get(forward.host, &format!("/{name}")).map_err(|e| fail(&guest, &step, e))?;
            if body != *content {
                let e = format!(
                    "{} bytes with SHA-256 {}, the original is {} bytes with {}",
                    body.len(),
                    sha256_hex(&body),
                    content.len(),
                    sha256_hex(content)
                );
                return Err(fail(&guest, &step, e));
            }
            fetched_bytes += body.len();
        }
    }
    let fetch_time = fetch_start.elapsed();

    // Host → guest redis: a key the guest reads back after `finish`, one the guest set.
    let token = format!(
        "host-value-{}",
        hex(&random_bytes(6).map_err(|e| fail(&guest, "make a random key value", e))?)
    );
    let step = "host SET/GET through hostfwd to the guest's redis";
    host_redis(redis.host, &token).map_err(|e| fail(&guest, step, e))?;
    let host_benchmark = host_redis_benchmark(redis.host).map_err(|e| fail(&guest, step, e))?;

    guest.send(b"finish\r").map_err(|e| fail(&guest, "tell the guest to finish", e))?;
    guest.expect_line("NET-END", STEP_LIMIT).map_err(|e| format!("after finish: {e}"))?;
    let status = guest.wait_exit(STEP_LIMIT);
    if ours && status != Some(EXIT_SUCCESS) {
        return Err(fail(&guest, "power-off", format!("qemu status {status:?}, not success")));
    }
    let results = results(&guest.output());
    let guest_benchmark = check_guest_results(&results, payloads, &token)
        .map_err(|e| fail(&guest, "the guest's own steps", e))?;
    Ok(Session {
        fetched_bytes,
        fetch_time,
        guest_benchmark,
        host_benchmark,
        elapsed: start.elapsed(),
    })
}

/// SET a key from the host and read it back; read the key the guest set.
fn host_redis(port: u16, token: &str) -> Result<(), String> {
    let mut client = RedisClient::connect(port)?;
    let ok = Resp::Simple("OK".into());
    let reply = client.command(&["SET", "host-key", token])?;
    if reply != ok {
        return Err(format!("SET host-key answered {reply:?}"));
    }
    let reply = client.command(&["GET", "host-key"])?;
    if reply != Resp::Bulk(Some(token.as_bytes().to_vec())) {
        return Err(format!("GET host-key answered {reply:?}, not {token:?}"));
    }
    let reply = client.command(&["GET", "guest-key"])?;
    if reply != Resp::Bulk(Some(b"guest-value-42".to_vec())) {
        return Err(format!("GET guest-key answered {reply:?}, not the guest's guest-value-42"));
    }
    Ok(())
}

/// Runs the host's redis-benchmark (Debian's redis-tools), if installed, against the guest;
/// returns its summary lines, which must be there for both tests.
fn host_redis_benchmark(port: u16) -> Result<Option<Vec<String>>, String> {
    let Ok(out) = std::process::Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "-n", "2000", "-c", "10"])
        .args(["-t", "set,get"])
        .output()
    else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    let lines = summary_lines(&text);
    if !out.status.success() || lines.len() != 2 {
        return Err(format!(
            "the host's redis-benchmark exited with {} and printed {:?}, stderr {:?}",
            out.status,
            crate::reference::tail(&text, 5),
            crate::reference::tail(&String::from_utf8_lossy(&out.stderr), 5)
        ));
    }
    Ok(Some(lines))
}

/// redis-benchmark's `SET: N requests per second, ...` and `GET: ...` lines in `text`.
fn summary_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            (l.starts_with("SET: ") || l.starts_with("GET: ")) && l.contains("requests per second")
        })
        .map(str::to_string)
        .collect()
}

/// The guest's `NET-RESULT key value` lines, as (key, value), in order.
fn results(console: &str) -> Vec<(String, String)> {
    console
        .lines()
        .filter_map(|l| l.strip_prefix("NET-RESULT "))
        .map(|rest| {
            let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
            (key.to_string(), value.trim().to_string())
        })
        .collect()
}

/// Checks the guest's own results; returns its redis-benchmark summary lines.
fn check_guest_results(
    results: &[(String, String)],
    payloads: &Payloads,
    token: &str,
) -> Result<Vec<String>, String> {
    let get = |key: &str| {
        results.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("<none>")
    };
    let expected = sha256_hex(&payloads.to_guest);
    for (key, what) in [("wget", "busybox wget"), ("urllib", "python3 urllib")] {
        if get(key) != expected {
            return Err(format!(
                "{what} fetched the host's file with SHA-256 {:?}, the original has {expected}",
                get(key)
            ));
        }
    }
    let checks = [
        ("redis-set", "OK", "redis-cli SET in the guest"),
        ("redis-get", "guest-value-42", "redis-cli GET in the guest"),
        (
            "redis-get6",
            "guest-value-42",
            "redis-cli GET over ::1 (redis's dual-stack default bind)",
        ),
        ("host-key", token, "redis-cli GET of the key the host set"),
    ];
    for (key, want, what) in checks {
        if get(key) != want {
            return Err(format!("{what} printed {:?}, not {want:?}", get(key)));
        }
    }
    let bench: Vec<String> =
        results.iter().filter(|(k, _)| k == "redis-benchmark").map(|(_, v)| v.clone()).collect();
    if summary_lines(&bench.join("\n")).len() != 2 {
        return Err(format!(
            "redis-benchmark in the guest printed {bench:?}, not a SET and a GET line"
        ));
    }
    Ok(bench)
}

/// The verdict line: what matched, and the figures of both kernels.
fn summary(both: &Kernels<Session>) -> String {
    let rate = |s: &Session| s.fetched_bytes as f64 / 1e6 / s.fetch_time.as_secs_f64().max(1e-9);
    let bench = |lines: &[String]| -> String {
        lines
            .iter()
            .filter_map(|l| {
                let (test, rest) = l.split_once(": ")?;
                Some(format!("{test} {}", rest.split_whitespace().next()?))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!(
        "{} files from busybox httpd and nginx matched SHA-256 ({} bytes), guest wget and \
         urllib matched, redis SET/GET from guest and host; host fetch MB/s ours {:.1} / Linux \
         {:.1}; guest redis-benchmark req/s ours {} / Linux {}",
        2 * SERVED.len(),
        both.ours.fetched_bytes,
        rate(&both.ours),
        rate(&both.linux),
        bench(&both.ours.guest_benchmark),
        bench(&both.linux.guest_benchmark),
    );
    if let (Some(ours), Some(linux)) = (&both.ours.host_benchmark, &both.linux.host_benchmark) {
        text.push_str(&format!(
            "; host redis-benchmark req/s ours {} / Linux {}",
            bench(ours),
            bench(linux)
        ));
    }
    text.push_str(&format!(
        " (ours {:.1} s, Linux {:.1} s)",
        both.ours.elapsed.as_secs_f64(),
        both.linux.elapsed.as_secs_f64()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_split_into_key_and_value() {
        let console = "noise\nNET-RESULT wget abc123\nNET-RESULT redis-benchmark SET: 10 \
                       requests per second, p50=1.0 msec\nNET-RESULT empty\n";
        let got = results(console);
        assert_eq!(got[0], ("wget".into(), "abc123".into()));
        assert_eq!(got[1].1, "SET: 10 requests per second, p50=1.0 msec");
        assert_eq!(got[2], ("empty".into(), String::new()));
    }

    #[test]
    fn benchmark_summaries_are_whole_set_and_get_lines() {
        let text = "SET: rps=0.0 (overall: nan) avg_msec=nan\n  SET: 1234.57 requests per \
                    second, p50=7.1 msec\nGET: 2000.00 requests per second, p50=4.0 msec\n";
        assert_eq!(summary_lines(text).len(), 2);
        assert!(summary_lines("SET: rps=1.0 (overall: 2.0)\n").is_empty());
    }
}
