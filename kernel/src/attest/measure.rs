//! Measured boot: before the kernel uses its command line, its initramfs, its root disk and
//! the program it runs as init, it hashes each with SHA-384, extends the digest into the
//! OS runtime register (RTMR2 under TDX, the simulated register 2 under `tee=sim`) and
//! appends the event to a TCG2 crypto-agile event log, built with the types `tee/` parses.
//! Replaying the log reproduces the register (`tee::eventlog::replay_rtmrs`).
//!
//! # The events
//! Every event is `EV_IPL` (0xD) in CC MR index 3 (RTMR2; a CC event log numbers MRTD 0 and
//! RTMR0..3 as 1..4). Its data is UTF-8 text, `cocoon.<what> <detail>`, for people and
//! verifiers to name the event; the digest is SHA-384 of the bytes below, not of the text:
//!
//! | order | event data | SHA-384 of |
//! |---|---|---|
//! | 1 | `cocoon.cmdline <the command line>` | the command line as the kernel reads it: the loader's bytes up to the first NUL, at most 2048, tabs, CRs and newlines as spaces, other unprintable bytes as `?` (`ostd::boot::Cmdline`) |
//! | 2 | `cocoon.initramfs <n> bytes` (only with one) | the initramfs image as loaded (compressed or not) |
//! | 3 | `cocoon.root <identity>` | the identity text: `ext2 <device> ro\|rw uuid=… label=…` for a root disk (the superblock's `s_uuid` and `s_volume_name`, read before mounting), `initramfs` otherwise |
//! | (4) | `cocoon.container <n> bytes` (only for a container image) | the container's process spec (`guest_image::container::SPEC_PATH` on the root disk) as read, before it is used |
//! | 4… | `cocoon.init <path>` | the file's bytes, read before exec (once per init the kernel tries) |
//!
//! So an operator predicts RTMR2 offline from the command line, the initramfs file and the
//! disk's UUID and label: start at 48 zero bytes, and for each event in order
//! `RTMR2 = SHA-384(RTMR2 ‖ digest)`.
//!
//! SEV-SNP has no runtime registers (nor does the simulated TEE under `sim.registers=none`,
//! which plays that case in CI): there the log alone carries the measurements, and the
//! kernel binds the log into every report it asks for instead (`super::evidence::collect_at`,
//! `tee::eventlog::log_bound`). A verifier that finds the report data binding the log
//! replays the log into software registers and appraises those. Without a TEE the log is
//! kept all the same (nothing can vouch for it).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use ostd::sync::Mutex;
use ostd::tee::MrIndex;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use tee::eventlog::{AlgorithmSize, Digest, EventLog, EventType, HashAlg, PcrEvent2, SpecIdEvent};

/// The register the kernel's events extend (0-based, as OSTD numbers them): RTMR2.
pub const REGISTER: usize = 2;

/// The event type of every kernel event.
pub const EVENT_TYPE: EventType = EventType::EV_IPL;

static LOG: Mutex<Option<EventLog>> = Mutex::new(None);

/// What the kernel measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// The kernel command line.
    CommandLine,
    /// The initramfs image.
    Initramfs,
    /// The root filesystem's identity.
    Root,
    /// A container image's process spec.
    Container,
    /// A program about to run as init.
    Init,
}

impl What {
    fn tag(self) -> &'static str {
        match self {
            Self::CommandLine => "cocoon.cmdline",
            Self::Initramfs => "cocoon.initramfs",
            Self::Root => "cocoon.root",
            Self::Container => "cocoon.container",
            Self::Init => "cocoon.init",
        }
    }
}

/// The hash banks a log may declare that the kernel computes; SHA-384 is always among a
/// log's (`new_log`), since RTMR2 is extended with it.
const BANKS: [HashAlg; 3] = [HashAlg::SHA256, HashAlg::SHA384, HashAlg::SHA512];

/// The digests of one piece of content, incrementally (an init binary is read in pieces):
/// SHA-384 always, SHA-256 and SHA-512 only when the log declares them (a firmware log
/// may), so boot hashes each measured byte once per bank the log has.
pub struct Hasher {
    sha256: Option<Sha256>,
    sha384: Sha384,
    sha512: Option<Sha512>,
}

/// The digests of one piece of content.
pub struct Digests {
    sha256: Option<[u8; 32]>,
    sha384: [u8; 48],
    sha512: Option<[u8; 64]>,
}

impl Digests {
    fn get(&self, alg: HashAlg) -> Option<&[u8]> {
        match alg {
            HashAlg::SHA256 => self.sha256.as_ref().map(|d| &d[..]),
            HashAlg::SHA384 => Some(&self.sha384),
            HashAlg::SHA512 => self.sha512.as_ref().map(|d| &d[..]),
            _ => None,
        }
    }
}

impl Hasher {
    /// A hasher for the banks the log declares.
    pub fn for_log() -> Self {
        let mut log = LOG.lock();
        let algs = &log.get_or_insert_with(new_log).spec_id.algorithms;
        let has = |alg| algs.iter().any(|a| a.alg == alg);
        Self {
            sha256: has(HashAlg::SHA256).then(Sha256::new),
            sha384: Sha384::new(),
            sha512: has(HashAlg::SHA512).then(Sha512::new),
        }
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        self.sha384.update(bytes);
        if let Some(h) = &mut self.sha512 {
            h.update(bytes);
        }
    }

    /// Returns the digests.
    pub fn finish(self) -> Digests {
        Digests {
            sha256: self.sha256.map(|h| h.finalize().into()),
            sha384: self.sha384.finalize().into(),
            sha512: self.sha512.map(|h| h.finalize().into()),
        }
    }
}

/// Returns the digests of `bytes` in the log's banks.
pub fn digests(bytes: &[u8]) -> Digests {
    let mut h = Hasher::for_log();
    h.update(bytes);
    h.finish()
}

/// Measures `what`, described by `detail`, whose content has `digests`: extends the register
/// with the SHA-384 digest and logs the event, both under the log's lock so that the log's
/// order is the register's. A platform without registers (SNP, none) only logs.
///
/// # Panics
/// If the platform refuses the extend: the kernel would otherwise go on to use something
/// its register does not account for, and a verifier would be none the wiser. Measured boot
/// fails closed.
pub fn measure(what: What, detail: &str, digests: &Digests) {
    let index = MrIndex::new(REGISTER).expect("REGISTER is below MrIndex::COUNT");
    let mut log = LOG.lock();
    let log = log.get_or_insert_with(new_log);
    match ostd::tee::extend_measurement(index, &digests.sha384) {
        Ok(()) | Err(ostd::tee::TeeError::Unsupported { .. }) => {}
        Err(e) => panic!("measured boot: extending RTMR{REGISTER} for {} failed: {e}", what.tag()),
    }
    let event = PcrEvent2 {
        // CC MR index: MRTD is 0, RTMR n is n + 1.
        pcr_index: REGISTER as u32 + 1,
        event_type: EVENT_TYPE,
        // Every algorithm the log declares (`Hasher::for_log` computed each of them).
        digests: log
            .spec_id
            .algorithms
            .iter()
            .filter_map(|a| Some(Digest { alg: a.alg, bytes: digests.get(a.alg)?.to_vec() }))
            .collect(),
        event: format!("{} {detail}", what.tag()).into_bytes(),
    };
    log.events.push(event);
}

/// Returns the log so far, serialised: the firmware's events (if it left a CC event log the
/// kernel can extend), then the kernel's.
pub fn log_bytes() -> Vec<u8> {
    let mut log = LOG.lock();
    log.get_or_insert_with(new_log).to_bytes().expect("kernel events are far below u32 sizes")
}

/// Starts the log: under TDX, from the firmware's CC event log (TDVF's CCEL, whose ACPI
/// tables TDVF measured into RTMR0) when it has a SHA-384 bank and only banks in [`BANKS`],
/// so one log replays every register; else afresh, with a Spec ID event that declares
/// SHA-384 alone. Elsewhere a CCEL would be the host's word alone (SEV-SNP's ACPI tables are
/// not measured, and it has no register to catch a planted log), so it is ignored.
fn new_log() -> EventLog {
    let firmware = ostd::bus::acpi::ccel()
        .filter(|_| ostd::tee::platform() == ostd::tee::Platform::Tdx)
        .filter(|f| f.table.get(36) == Some(&tee::eventlog::CcelTable::CC_TYPE_TDX));
    if let Some(firmware) = firmware {
        let usable = |log: &EventLog| {
            let algs = &log.spec_id.algorithms;
            algs.iter().any(|a| a.alg == HashAlg::SHA384)
                && algs.iter().all(|a| BANKS.contains(&a.alg))
        };
        match EventLog::parse(&firmware.log) {
            Ok(log) if usable(&log) => return log,
            Ok(_) => log::warn!("measure: the firmware's event log's hash banks do not fit"),
            Err(e) => log::warn!("measure: the firmware's event log does not parse: {e}"),
        }
        log::warn!("measure: the kernel's events start a log of their own");
    }
    EventLog {
        spec_id: SpecIdEvent {
            pcr_index: 0,
            sha1_digest: [0; 20],
            platform_class: 0,
            spec_version_minor: 0,
            spec_version_major: 2,
            spec_errata: 0,
            uintn_size: 2,
            algorithms: vec![AlgorithmSize { alg: HashAlg::SHA384, digest_size: 48 }],
            vendor_info: Vec::new(),
        },
        events: Vec::new(),
    }
}

/// Measures the command line (event 1).
pub fn command_line(cmdline: &str) {
    measure(What::CommandLine, cmdline, &digests(cmdline.as_bytes()));
}

/// Measures the initramfs image (event 2).
pub fn initramfs(image: &[u8]) {
    measure(What::Initramfs, &format!("{} bytes", image.len()), &digests(image));
}

/// Measures the root's identity (event 3): `identity` is both the detail and what is hashed.
pub fn root(identity: &str) {
    measure(What::Root, identity, &digests(identity.as_bytes()));
}

/// Measures a container image's process spec, as read from the disk (before event 4).
pub fn container_spec(spec: &[u8]) {
    measure(What::Container, &format!("{} bytes", spec.len()), &digests(spec));
}

/// Measures the program at `path`, whose bytes `read_at` returns (event 4 on): the file is
/// hashed 64 KiB at a time, to its end.
///
/// # Errors
/// What `read_at` failed with; nothing is measured then (and the kernel does not run it).
pub fn init_binary<E>(
    path: &str,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<usize, E>,
) -> Result<(), E> {
    let mut hasher = Hasher::for_log();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = read_at(offset, &mut chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        offset += n as u64;
    }
    measure(What::Init, path, &hasher.finish());
    Ok(())
}

/// The identity text of a root disk (`ext2 /dev/vda ro uuid=… label=…`).
pub fn disk_identity(fstype: &str, device: &str, read_only: bool, volume: &str) -> String {
    format!("{fstype} {device} {} {volume}", if read_only { "ro" } else { "rw" })
}

ostd::ktest! {
    fn the_log_replays_to_the_register_and_names_each_event() {
        // Whatever boot measured, plus two events of this test.
        init_binary::<()>("/ktest/init", |offset, buf| {
            let content = b"#!/bin/sh\necho measured\n";
            let rest = content.get(offset as usize..).unwrap_or(&[]);
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            Ok(n)
        })
        .unwrap();
        root("initramfs");
        let log = EventLog::parse(&log_bytes()).unwrap();
        let last = &log.events[log.events.len() - 2..];
        assert_eq!(last[0].event, b"cocoon.init /ktest/init");
        assert_eq!(
            last[0].digest(HashAlg::SHA384).unwrap(),
            &digests(b"#!/bin/sh\necho measured\n").sha384[..],
            "a file read in pieces hashes as a whole"
        );
        assert_eq!(last[1].event, b"cocoon.root initramfs");
        let ours = log.events.iter().filter(|e| e.event.starts_with(b"cocoon."));
        assert!(ours.clone().count() >= 3, "the command line, and this test's two");
        assert!(ours.clone().all(|e| e.pcr_index == 3 && e.event_type == EVENT_TYPE));
        if let Ok(registers) = ostd::tee::measurement_registers() {
            let replayed = tee::eventlog::replay_rtmrs(&log).unwrap();
            assert_eq!(replayed[REGISTER], registers[REGISTER], "the log replays to RTMR2");
        }
    }
}
