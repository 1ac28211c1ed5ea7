//! `make bench`'s network rows: the Debian image of the network-services check
//! (tests/net/net-init with `benchmode=net`: redis-server and an iperf3 server on virtio-net)
//! under each kernel in turn, measured from the host through slirp `hostfwd`:
//! - `net_tcp_host_to_guest` and `net_tcp_guest_to_host`: the host's iperf3 against the
//!   guest's for 5 s each way (`-R` for the guest sending), as MB/s (10⁶ bytes) received;
//! - `redis_set_50c` and `redis_get_50c`: the guest's redis-benchmark over loopback, 50
//!   clients, 10,000 requests per test, as requests per second. (From the host, a burst of
//!   50 connects through slirp's hostfwd ends in resets under Linux as under ours.)
//!
//! iperf3's bytes cross slirp, QEMU's user-mode TCP/IP, on the host: both kernels pay its
//! cost, so the ratios compare the guests' stacks under the same load, not line rate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::net_services::{Payloads, build_image, cmdline};
use crate::qemu::{BootSpec, HostForward, Interactive};

/// The rows, as (name, unit).
pub const ROWS: [(&str, &str); 4] = [
    ("net_tcp_host_to_guest", "MB/s"),
    ("net_tcp_guest_to_host", "MB/s"),
    ("redis_set_50c", "req/s"),
    ("redis_get_50c", "req/s"),
];

/// The host programs the rows need (Debian's iperf3, from deploy/deps.sh).
pub const HOST_TOOLS: [&str; 1] = ["iperf3"];

/// The guest's iperf3 servers: one for each direction.
const IPERF_PORTS: [u16; 2] = [5201, 5202];
/// Failure limits: the boot up to the servers, and the end.
const READY_LIMIT: Duration = Duration::from_secs(300);
const END_LIMIT: Duration = Duration::from_secs(60);

/// Returns the host tools that are missing.
pub fn missing_host_tools() -> Vec<&'static str> {
    HOST_TOOLS
        .into_iter()
        .filter(|tool| Command::new(tool).arg("--version").output().is_err())
        .collect()
}

/// Builds the image (the Debian rootfs with net-init and Linux's virtio-net modules) in
/// `work`; `vmlinuz` is the Linux kernel the modules must match.
pub fn prepare(root: &Path, work: &Path, vmlinuz: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    build_image(root, work, vmlinuz, &Payloads::random()?)
}

/// Boots `kernel` (ours when `ours`) on `image` and measures the rows; the console goes to
/// `console`. Returns (row name, unit, value) for each row measured.
pub fn measure(
    kernel: &Path,
    ours: bool,
    image: &Path,
    memory_mib: u32,
    console: &Path,
) -> Result<Vec<(&'static str, &'static str, f64)>, String> {
    let port = |guest| HostForward::to_guest_port(guest).map_err(|e| format!("free port: {e}"));
    let iperf = [port(IPERF_PORTS[0])?, port(IPERF_PORTS[1])?];
    let spec = BootSpec {
        initrd: Some(image.into()),
        memory: format!("{memory_mib}M"),
        nic: true,
        host_forwards: iperf.to_vec(),
        console_log: Some(console.into()),
        ..BootSpec::pvh(kernel, cmdline(ours, "benchmode=net hostport=0"))
    };
    let mut guest = Interactive::start(&spec).map_err(|e| format!("cannot start qemu: {e}"))?;
    guest.expect_line("NET-READY", READY_LIMIT)?;
    let fail = |guest: &Interactive, e: String| format!("{e}; console ends:\n{}", guest.tail(10));
    let mut rows = Vec::new();
    for (forward, reverse, (name, unit)) in [(iperf[0], false, ROWS[0]), (iperf[1], true, ROWS[1])]
    {
        let rate = iperf3(forward.host, reverse).map_err(|e| fail(&guest, e))?;
        rows.push((name, unit, rate));
    }
    let csv: Vec<String> = guest
        .output()
        .lines()
        .filter_map(|l| l.strip_prefix("NET-RESULT redis-csv "))
        .map(str::to_string)
        .collect();
    for (test, (name, unit)) in [("SET", ROWS[2]), ("GET", ROWS[3])] {
        let rate = redis_csv_rate(&csv.join("\n"), test).ok_or_else(|| {
            fail(&guest, format!("the guest's redis-benchmark printed no {test} row: {csv:?}"))
        })?;
        rows.push((name, unit, rate));
    }
    guest.send(b"finish\r")?;
    guest.expect_line("NET-END", END_LIMIT)?;
    guest.wait_exit(END_LIMIT);
    Ok(rows)
}

/// Runs the host's iperf3 client for 5 s (`reverse`: the guest sends); returns MB/s received.
fn iperf3(port: u16, reverse: bool) -> Result<f64, String> {
    let mut cmd = Command::new("iperf3");
    cmd.args(["-c", "127.0.0.1", "-p", &port.to_string(), "-t", "5", "-J"]);
    if reverse {
        cmd.arg("-R");
    }
    let out = cmd.output().map_err(|e| format!("cannot run iperf3: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let bits = iperf3_received_bits_per_second(&text)
        .ok_or_else(|| format!("iperf3 (-R: {reverse}) exited with {}: {}", out.status, text))?;
    Ok(bits / 8.0 / 1e6)
}

/// Reads `end.sum_received.bits_per_second` from iperf3's JSON report.
pub fn iperf3_received_bits_per_second(json: &str) -> Option<f64> {
    let report: serde_json::Value = serde_json::from_str(json).ok()?;
    report.get("end")?.get("sum_received")?.get("bits_per_second")?.as_f64()
}

/// Reads the requests per second of `test` from redis-benchmark's `--csv` output
/// (`"SET","12345.68",...`).
pub fn redis_csv_rate(csv: &str, test: &str) -> Option<f64> {
    csv.lines().find_map(|line| {
        let mut fields = line.split(',').map(|f| f.trim_matches('"'));
        (fields.next()? == test).then_some(())?;
        fields.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iperf3_json_gives_the_received_rate() {
        let json = r#"{"start": {}, "end": {"sum_sent": {"bits_per_second": 9e8},
            "sum_received": {"bits_per_second": 8.5e8}}}"#;
        assert_eq!(iperf3_received_bits_per_second(json), Some(8.5e8));
        assert_eq!(iperf3_received_bits_per_second(r#"{"error": "unable to connect"}"#), None);
        assert_eq!(iperf3_received_bits_per_second("not json"), None);
    }

    #[test]
    fn redis_csv_rows_give_requests_per_second() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\"\n\"SET\",\"1234.57\",\"30.1\"\n\
                   \"GET\",\"2000.00\",\"20.0\"\n";
        assert_eq!(redis_csv_rate(csv, "SET"), Some(1234.57));
        assert_eq!(redis_csv_rate(csv, "GET"), Some(2000.0));
        assert_eq!(redis_csv_rate(csv, "LPUSH"), None);
    }
}
