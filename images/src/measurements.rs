//! Predicting the kernel's measured boot offline: the events it logs and the register they
//! extend (RTMR2 under TDX, sim register 2 under `tee=sim`), from the same inputs the guest
//! is given. The kernel's side, and the table of what each event hashes, is
//! `kernel/src/attest/measure.rs`; this is that table in code, for operators and tests.

use sha2::{Digest as _, Sha384};

/// One predicted event: its data (the text the log carries) and its SHA-384 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `cocoon.<what> <detail>`.
    pub description: String,
    /// SHA-384 of the measured bytes (not of the description).
    pub sha384: [u8; 48],
}

/// What the guest boots with.
pub struct Boot<'a> {
    /// The command line as given to the loader (sanitised here as the kernel does).
    pub cmdline: &'a [u8],
    /// The initramfs file, if any.
    pub initramfs: Option<&'a [u8]>,
    /// The root's identity text: `initramfs`, or `ext2 <device> ro|rw uuid=… label=…`.
    pub root: &'a str,
    /// A container image's process spec (`/.cocoon/container`), as on the disk.
    pub container_spec: Option<&'a [u8]>,
    /// Each program the kernel tries as init, in order, with its path (each is measured
    /// before it is loaded, so one that then fails to run is logged too).
    pub inits: &'a [(&'a str, &'a [u8])],
}

/// The longest command line the kernel keeps (`ostd::boot::Cmdline::CAPACITY`).
const CMDLINE_CAPACITY: usize = 2048;

/// Returns the command line as the kernel reads it: up to the first NUL, at most 2048 bytes,
/// tab, CR and LF as spaces, any other byte outside printable ASCII as `?`.
pub fn sanitised_cmdline(raw: &[u8]) -> String {
    let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
    raw.iter()
        .take(CMDLINE_CAPACITY)
        .map(|&b| match b {
            b'\t' | b'\n' | b'\r' => ' ',
            0x20..=0x7e => char::from(b),
            _ => '?',
        })
        .collect()
}

/// Returns the events the kernel logs for `boot`, in order.
pub fn events(boot: &Boot<'_>) -> Vec<Event> {
    let event = |description: String, bytes: &[u8]| Event {
        description,
        sha384: Sha384::digest(bytes).into(),
    };
    let cmdline = sanitised_cmdline(boot.cmdline);
    let mut out = vec![event(format!("cocoon.cmdline {cmdline}"), cmdline.as_bytes())];
    if let Some(image) = boot.initramfs {
        out.push(event(format!("cocoon.initramfs {} bytes", image.len()), image));
    }
    out.push(event(format!("cocoon.root {}", boot.root), boot.root.as_bytes()));
    if let Some(spec) = boot.container_spec {
        out.push(event(format!("cocoon.container {} bytes", spec.len()), spec));
    }
    for (path, bytes) in boot.inits {
        out.push(event(format!("cocoon.init {path}"), bytes));
    }
    out
}

/// Returns the register the events extend to, from 48 zero bytes:
/// `R = SHA-384(R ‖ digest)` for each event.
pub fn register(events: &[Event]) -> [u8; 48] {
    events.iter().fold([0u8; 48], |r, e| {
        Sha384::new().chain_update(r).chain_update(e.sha384).finalize().into()
    })
}

/// Returns a reference entry for `attest serve --reference-values`: `pinned` (the registers
/// that identify the firmware and kernel, which the caller supplies), RTMR2 and each event,
/// so a denial can name the event that differs.
///
/// RTMR2 alone identifies nothing: any kernel can extend it with the same digests. An entry
/// must therefore pin what the firmware measured of the kernel too (see [`launch_values`]).
pub fn reference_entry(
    name: &str,
    tee: &str,
    pinned: &[(String, String)],
    events: &[Event],
) -> serde_json::Value {
    let listed: Vec<_> = events
        .iter()
        .map(|e| {
            serde_json::json!({"register": "rtmr2", "description": e.description,
                               "sha384": hex::encode(e.sha384)})
        })
        .collect();
    let mut values = serde_json::Map::new();
    for (register, value) in pinned {
        values.insert(register.clone(), serde_json::Value::String(value.to_ascii_lowercase()));
    }
    values.insert("rtmr2".into(), hex::encode(register(events)).into());
    serde_json::json!({"name": name, "tee": tee, "values": values, "events": listed})
}

/// The simulated TEE's launch measurement for `cmdline` (what its "firmware" measured:
/// SHA-384 of the command line as the kernel reads it; `tee_abi::sim::launch_measurement`).
pub fn sim_launch_measurement(cmdline: &[u8]) -> String {
    hex::encode(Sha384::digest(sanitised_cmdline(cmdline).as_bytes()))
}

/// The registers a TEE's entry must pin besides RTMR2, by name: `measurement` for sim
/// (predicted here), `mr_td`, `rtmr0` and `rtmr1` for TDX (from the firmware and the kernel
/// image; an operator takes them from a known-good launch or a TDVF measurement tool).
pub fn launch_values(tee: &str) -> &'static [&'static str] {
    match tee {
        "sim" => &["measurement"],
        "tdx" => &["mr_td", "rtmr0", "rtmr1"],
        _ => &[],
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_command_line_is_sanitised_as_the_kernel_does() {
        assert_eq!(sanitised_cmdline(b"a\tb\nc\x01d\0ignored"), "a b c?d");
        assert_eq!(sanitised_cmdline(&[b'x'; 3000]).len(), 2048);
    }

    #[test]
    fn the_register_is_the_fold_of_the_digests_in_order() {
        let boot = Boot {
            cmdline: b"quiet",
            initramfs: Some(b"img"),
            root: "initramfs",
            container_spec: None,
            inits: &[("/init", b"#!/bin/sh")],
        };
        let ev = events(&boot);
        let names: Vec<_> = ev.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(
            names,
            [
                "cocoon.cmdline quiet",
                "cocoon.initramfs 3 bytes",
                "cocoon.root initramfs",
                "cocoon.init /init"
            ]
        );
        // Independently, with Python's hashlib: fold SHA-384(r ‖ SHA-384(b)) from 48 zero
        // bytes over b"quiet", b"img", b"initramfs", b"#!/bin/sh".
        let want = "2f6c86c1ccab75f5171e25287a9b1af147eb082e9da91bfdf778689addd3d606\
                    3e70b4708f303f28ac661f60ccdb5ea7";
        assert_eq!(hex::encode(register(&ev)), want);
        assert_ne!(register(&ev), register(&ev[..3]));
    }
}
