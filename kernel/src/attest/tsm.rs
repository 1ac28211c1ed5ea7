//! configfs-tsm, Linux's attestation-report interface (drivers/virt/coco/tsm.c, Linux 6.7+):
//! `mount -t configfs none /sys/kernel/config`, then `mkdir tsm/report/NAME` and in it
//!
//! | file | mode | what |
//! |---|---|---|
//! | `inblob` | write | the report data, at most 64 bytes (zero-padded to 64); more is EFBIG |
//! | `outblob` | read | the evidence binding it (TDX quote, SNP report, sim report); EINVAL before any `inblob` |
//! | `auxblob` | read | SNP's certificate table, re-laid out after parsing; empty elsewhere |
//! | `provider` | read | `tdx_guest`, `sev_guest`, or `cocoon_sim` under `tee=sim` |
//! | `generation` | read | how many writes `inblob` and `privlevel` have taken |
//! | `privlevel` | write | 0..=3 (SNP's VMPL); above 3 is EINVAL |
//! | `privlevel_floor` | read | 0 |
//!
//! As Linux: evidence is made at the first read after a write and then served from the cache
//! until the next write, so every reader of one generation sees the same bytes (a reader
//! that compares `generation` before and after knows it did); a write that would make the
//! write count catch up with the read count by wrapping is EBUSY; one report object's
//! requests run one at a time (a second waits; OSTD serialises the platform's requests). Without a TEE there is no provider and `mkdir` is ENXIO.
//!
//! Differences: Linux buffers a binary attribute's writes and stores them at close; here
//! each write(2) stores (at its offset) and counts as a generation, which is the same for
//! the usual single write. A privilege level above 0 is served under SNP (the report's VMPL)
//! and refused elsewhere at `outblob` (EINVAL), where Linux hides the attribute.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::Mutex;
use ostd::tee::{Platform, TeeError};
use spin::Once;

use super::evidence::EvidenceError;
use crate::error::{Errno, SysResult};
use crate::fs::node::{Generated, Node, NodeKind};

/// The most report data a request carries (Linux's `TSM_REPORT_INBLOB_MAX`).
pub const INBLOB_MAX: usize = 64;
/// The highest privilege level (Linux's `TSM_REPORT_PRIVLEVEL_MAX`).
pub const PRIVLEVEL_MAX: u32 = 3;

const TSM_INO_BASE: u64 = 0xe800_0000;
static NEXT_INO: AtomicU64 = AtomicU64::new(TSM_INO_BASE);

fn ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// The provider's name, as Linux's drivers call themselves; `None` without a TEE.
pub fn provider() -> Option<&'static str> {
    match ostd::tee::platform() {
        Platform::Tdx => Some("tdx_guest"),
        Platform::SevSnp => Some("sev_guest"),
        Platform::Sim => Some("cocoon_sim"),
        Platform::None => None,
    }
}

/// The root of a configfs mount: `tsm/report`, the same objects in every mount.
pub fn new_root() -> Arc<Node> {
    static REPORTS: Once<Arc<Node>> = Once::new();
    let reports = REPORTS
        .call_once(|| {
            Node::new_generated(NodeKind::Dir, 0o755, ino(), Reports(Mutex::new(BTreeMap::new())))
        })
        .clone();
    let tsm = Node::new_generated(
        NodeKind::Dir,
        0o755,
        ino(),
        Fixed(alloc::vec![("report".to_string(), reports)]),
    );
    Node::new_generated(NodeKind::Dir, 0o755, ino(), Fixed(alloc::vec![("tsm".to_string(), tsm)]))
}

/// A directory whose entries are fixed.
struct Fixed(Vec<(String, Arc<Node>)>);

impl Generated for Fixed {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        self.0.clone()
    }
}

/// `tsm/report`: one directory per report object, made and removed by the user.
struct Reports(Mutex<BTreeMap<String, Arc<Node>>>);

impl Generated for Reports {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        self.0.lock().iter().map(|(n, node)| (n.clone(), node.clone())).collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        self.0.lock().get(name).cloned()
    }

    fn mkdir(&self, name: &str) -> SysResult<Arc<Node>> {
        if provider().is_none() {
            return Err(Errno::ENXIO);
        }
        let mut reports = self.0.lock();
        if reports.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let state = Arc::new(Mutex::new(Report::default()));
        let attr = |attr, perm| {
            Node::new_generated(NodeKind::File, perm, ino(), Attr { attr, state: state.clone() })
        };
        let entries = alloc::vec![
            ("auxblob".to_string(), attr(Which::Auxblob, 0o444)),
            ("generation".to_string(), attr(Which::Generation, 0o444)),
            ("inblob".to_string(), attr(Which::Inblob, 0o200)),
            ("outblob".to_string(), attr(Which::Outblob, 0o444)),
            ("privlevel".to_string(), attr(Which::Privlevel, 0o200)),
            ("privlevel_floor".to_string(), attr(Which::PrivlevelFloor, 0o444)),
            ("provider".to_string(), attr(Which::Provider, 0o444)),
        ];
        let dir = Node::new_generated(NodeKind::Dir, 0o755, ino(), Fixed(entries));
        reports.insert(name.to_string(), dir.clone());
        Ok(dir)
    }

    fn rmdir(&self, name: &str) -> SysResult<Arc<Node>> {
        self.0.lock().remove(name).ok_or(Errno::ENOENT)
    }
}

/// One report object's request and its cached evidence.
#[derive(Default)]
struct Report {
    inblob: Vec<u8>,
    privlevel: u32,
    write_generation: u64,
    read_generation: u64,
    outblob: Option<Vec<u8>>,
    auxblob: Vec<u8>,
}

impl Report {
    /// Counts a write, unless the count would reach the read count by wrapping: the reader
    /// could then not tell a new request from the cached one (Linux: EBUSY).
    fn advance(&mut self) -> SysResult<()> {
        if self.write_generation == self.read_generation.wrapping_sub(1) {
            return Err(Errno::EBUSY);
        }
        self.write_generation = self.write_generation.wrapping_add(1);
        Ok(())
    }

    /// Returns the evidence for the current request: the cached one, or a new one.
    fn evidence(&mut self) -> SysResult<(&[u8], &[u8])> {
        if self.inblob.is_empty() {
            return Err(Errno::EINVAL);
        }
        if self.outblob.is_none() || self.read_generation != self.write_generation {
            let mut data = [0u8; INBLOB_MAX];
            data[..self.inblob.len()].copy_from_slice(&self.inblob);
            let evidence = super::evidence::collect_at(&data, self.privlevel).map_err(|e| {
                log::warn!("configfs-tsm: no evidence: {e}");
                match e {
                    EvidenceError::Platform(TeeError::Unsupported { .. }) => Errno::EINVAL,
                    _ => Errno::EIO,
                }
            })?;
            let auxblob = match evidence.certificates().map(|t| t.to_bytes()) {
                Some(Ok(table)) => table,
                Some(Err(_)) => return Err(Errno::EIO),
                None => Vec::new(),
            };
            self.outblob = Some(evidence.bytes().to_vec());
            self.auxblob = auxblob;
            self.read_generation = self.write_generation;
        }
        Ok((self.outblob.as_deref().unwrap_or(&[]), &self.auxblob))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Inblob,
    Outblob,
    Auxblob,
    Generation,
    Provider,
    Privlevel,
    PrivlevelFloor,
}

/// One attribute file of a report object.
struct Attr {
    attr: Which,
    state: Arc<Mutex<Report>>,
}

impl Generated for Attr {
    fn try_read(&self) -> SysResult<Vec<u8>> {
        let mut report = self.state.lock();
        match self.attr {
            Which::Inblob | Which::Privlevel => Err(Errno::EACCES),
            Which::Outblob => Ok(report.evidence()?.0.to_vec()),
            Which::Auxblob => Ok(report.evidence()?.1.to_vec()),
            Which::Generation => Ok(alloc::format!("{}\n", report.write_generation).into_bytes()),
            Which::Provider => Ok(alloc::format!("{}\n", provider().unwrap_or("")).into_bytes()),
            Which::PrivlevelFloor => Ok(b"0\n".to_vec()),
        }
    }

    fn write(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        let mut report = self.state.lock();
        match self.attr {
            Which::Inblob => {
                let end = usize::try_from(offset)
                    .ok()
                    .and_then(|o| o.checked_add(buf.len()))
                    .filter(|&end| end <= INBLOB_MAX)
                    .ok_or(Errno::EFBIG)?;
                report.advance()?;
                let start = end - buf.len();
                if start == 0 {
                    report.inblob.clear();
                }
                if report.inblob.len() < end {
                    report.inblob.resize(end, 0);
                }
                report.inblob[start..end].copy_from_slice(buf);
                Ok(buf.len())
            }
            Which::Privlevel => {
                let level = parse_uint(buf).ok_or(Errno::EINVAL)?;
                if level > PRIVLEVEL_MAX {
                    return Err(Errno::EINVAL);
                }
                report.advance()?;
                report.privlevel = level;
                Ok(buf.len())
            }
            _ => Err(Errno::EACCES),
        }
    }
}

/// Parses an unsigned number the way Linux's `kstrtouint(s, 0)` does: one optional leading
/// `+`, then decimal, `0x` hex or leading-`0` octal digits, one trailing newline allowed.
fn parse_uint(buf: &[u8]) -> Option<u32> {
    let s = core::str::from_utf8(buf).ok()?;
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    // `from_str_radix` takes a sign of its own; the kernel's parser does not, after a prefix.
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

ostd::ktest! {
    fn privlevel_parses_as_kstrtouint() {
        assert_eq!(parse_uint(b"2\n"), Some(2));
        assert_eq!(parse_uint(b"0x3"), Some(3));
        assert_eq!(parse_uint(b"010"), Some(8));
        assert_eq!(parse_uint(b"0"), Some(0));
        assert_eq!(parse_uint(b""), None);
        assert_eq!(parse_uint(b"-1"), None);
        assert_eq!(parse_uint(b"1 "), None);
        assert_eq!(parse_uint(b"+2"), Some(2), "kstrtouint takes one leading +");
        assert_eq!(parse_uint(b"0+7"), None);
        assert_eq!(parse_uint(b"0x+3"), None);
        assert_eq!(parse_uint(b"08"), None, "not octal");
    }

    fn a_report_object_serves_one_generation_s_evidence_until_the_next_write() {
        let root = new_root();
        let reports = root.lookup("tsm").unwrap().lookup("report").unwrap();
        let made = reports.create("ktest", NodeKind::Dir, 0o755, "");
        if provider().is_none() {
            assert_eq!(made.err(), Some(Errno::ENXIO));
            return;
        }
        let dir = made.unwrap();
        assert_eq!(reports.create("ktest", NodeKind::Dir, 0o755, "").err(), Some(Errno::EEXIST));
        let file = |name: &str| dir.lookup(name).unwrap();
        let read = |name: &str| -> SysResult<Vec<u8>> {
            let mut buf = alloc::vec![0u8; 64 * 1024];
            let n = file(name).read_at(0, &mut buf)?;
            buf.truncate(n);
            Ok(buf)
        };
        assert_eq!(read("outblob").err(), Some(Errno::EINVAL), "no inblob yet");
        assert_eq!(read("inblob").err(), Some(Errno::EACCES), "inblob is write-only");
        assert_eq!(file("inblob").write_at(0, &[7; 65]).err(), Some(Errno::EFBIG));
        assert_eq!(read("generation").unwrap(), b"0\n");
        file("inblob").write_at(0, &[0x5a; 32]).unwrap();
        assert_eq!(read("generation").unwrap(), b"1\n");
        let first = read("outblob").unwrap();
        assert_eq!(read("outblob").unwrap(), first, "the cached evidence, not a new one");
        if ostd::tee::platform() == Platform::Sim {
            let report_data = if ostd::tee::sim_plays_snp() {
                tee::snp::AttestationReport::from_bytes(&first).unwrap().report_data
            } else {
                tee::sim::parse(&first).unwrap().body.report_data
            };
            let mut inblob = [0u8; 64];
            inblob[..32].fill(0x5a);
            // Without registers the kernel binds its log into the report data.
            let log = super::measure::log_bytes();
            let expected = if ostd::tee::has_runtime_registers() {
                inblob
            } else {
                tee::eventlog::log_bound_report_data(&inblob, &log)
            };
            assert_eq!(report_data, expected, "the inblob, zero-padded (and log-bound)");
        }
        file("inblob").write_at(0, &[0x33; 64]).unwrap();
        assert_ne!(read("outblob").unwrap(), first, "a new write, new evidence");
        assert_eq!(file("privlevel").write_at(0, b"4").err(), Some(Errno::EINVAL));
        file("privlevel").write_at(0, b"0\n").unwrap();
        assert_eq!(read("generation").unwrap(), b"3\n");
        file("privlevel").write_at(0, b"2").unwrap();
        if ostd::tee::platform() == Platform::SevSnp || ostd::tee::sim_plays_snp() {
            let evidence = read("outblob").unwrap();
            let report = tee::snp::AttestationReport::from_bytes(&evidence).unwrap();
            assert_eq!(report.vmpl, 2, "a report at the VMPL asked for");
        } else {
            assert_eq!(read("outblob").err(), Some(Errno::EINVAL), "level 2 is SNP's alone");
        }
        assert_eq!(read("provider").unwrap(), alloc::format!("{}\n", provider().unwrap()).as_bytes());
        reports.unlink("ktest", true).unwrap();
        assert_eq!(reports.lookup("ktest").err(), Some(Errno::ENOENT));
    }
}
