//! The measurement registers where Linux shows them (tsm-mr, Linux 6.16):
//! `/sys/devices/virtual/misc/<device>/measurements/<MR>[:<hash>]` (and through the link
//! `/sys/class/misc/<device>`), each file the register's raw bytes.
//!
//! - Under TDX the device is `tdx_guest`, with Linux's files: `mrtd:sha384`, `mrconfigid`,
//!   `mrowner`, `mrownerconfig` (from a TDREPORT) and `rtmr0:sha384`..`rtmr3:sha384`.
//! - Under `tee=sim` the device is `cocoon_sim`, with its four registers as
//!   `rtmr0:sha384`..`rtmr3:sha384`.
//! - SEV-SNP has no runtime registers, and no device shows any.
//!
//! Writing 48 bytes to `rtmr3:sha384` extends RTMR3 with them (`RTMR = SHA-384(RTMR ‖
//! data)`); any other length is EINVAL. Linux lets RTMR2 be extended from user space too;
//! here it is the kernel's, whose measured-boot log (`data/CCEL`) must keep replaying to it,
//! so it is read-only (EACCES), as are RTMR0 and RTMR1, which the firmware extends.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::tee::{MrIndex, Platform};

use crate::error::{Errno, SysResult};
use crate::fs::node::{Generated, Node, NodeKind};

const MR_INO_BASE: u64 = 0xe900_0000;
static NEXT_INO: AtomicU64 = AtomicU64::new(MR_INO_BASE);

fn ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// The register user space may extend.
const WRITABLE: usize = 3;

/// Returns `(device, its directory)` for /sys/devices/virtual/misc, if this platform shows
/// registers.
pub fn misc_device() -> Option<(&'static str, Arc<Node>)> {
    let (device, static_mrs): (_, &[(&str, StaticMr)]) = match ostd::tee::platform() {
        Platform::Tdx => (
            "tdx_guest",
            &[
                ("mrconfigid", StaticMr::ConfigId),
                ("mrowner", StaticMr::Owner),
                ("mrownerconfig", StaticMr::OwnerConfig),
                ("mrtd:sha384", StaticMr::Td),
            ],
        ),
        // `sim.registers=none` plays SNP: no registers to show.
        Platform::Sim if !ostd::tee::has_runtime_registers() => return None,
        Platform::Sim => ("cocoon_sim", &[]),
        Platform::SevSnp | Platform::None => return None,
    };
    let mut entries: Vec<(String, Arc<Node>)> = static_mrs
        .iter()
        .map(|&(name, mr)| (name.to_string(), file(0o444, Register::Static(mr))))
        .collect();
    for index in 0..MrIndex::COUNT {
        let perm = if index == WRITABLE { 0o644 } else { 0o444 };
        entries.push((alloc::format!("rtmr{index}:sha384"), file(perm, Register::Runtime(index))));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let measurements = dir(entries);
    Some((device, dir(alloc::vec![("measurements".to_string(), measurements)])))
}

fn file(perm: u32, register: Register) -> Arc<Node> {
    Node::new_generated(NodeKind::File, perm, ino(), register)
}

fn dir(entries: Vec<(String, Arc<Node>)>) -> Arc<Node> {
    Node::new_generated(NodeKind::Dir, 0o755, ino(), Fixed(entries))
}

struct Fixed(Vec<(String, Arc<Node>)>);

impl Generated for Fixed {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        self.0.clone()
    }
}

/// TDX's registers that only a TDREPORT shows.
#[derive(Clone, Copy)]
enum StaticMr {
    Td,
    ConfigId,
    Owner,
    OwnerConfig,
}

enum Register {
    Static(StaticMr),
    Runtime(usize),
}

impl Generated for Register {
    fn try_read(&self) -> SysResult<Vec<u8>> {
        match *self {
            Register::Runtime(index) => {
                let registers = ostd::tee::measurement_registers().map_err(|_| Errno::EIO)?;
                Ok(registers[index].to_vec())
            }
            Register::Static(mr) => {
                let bytes = ostd::tee::report(&[0; 64]).map_err(|_| Errno::EIO)?;
                let info = tee::tdx::TdReport::from_bytes(&bytes).map_err(|_| Errno::EIO)?.td_info;
                Ok(match mr {
                    StaticMr::Td => info.mr_td,
                    StaticMr::ConfigId => info.mr_config_id,
                    StaticMr::Owner => info.mr_owner,
                    StaticMr::OwnerConfig => info.mr_owner_config,
                }
                .to_vec())
            }
        }
    }

    fn write(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        match *self {
            Register::Runtime(WRITABLE) => {
                let digest: &[u8; 48] = buf.try_into().map_err(|_| Errno::EINVAL)?;
                if offset != 0 {
                    return Err(Errno::EINVAL);
                }
                let index = MrIndex::new(WRITABLE).ok_or(Errno::EINVAL)?;
                ostd::tee::extend_measurement(index, digest).map_err(|_| Errno::EIO)?;
                Ok(buf.len())
            }
            _ => Err(Errno::EACCES),
        }
    }
}

ostd::ktest! {
    fn measurement_register_files_read_and_extend_as_tsm_mr() {
        let Some((device, dir)) = misc_device() else {
            assert!(!ostd::tee::has_runtime_registers());
            return;
        };
        assert_eq!(device == "cocoon_sim", ostd::tee::platform() == Platform::Sim);
        let mrs = dir.lookup("measurements").unwrap();
        let read = |name: &str| {
            let mut buf = [0u8; 64];
            let n = mrs.lookup(name).unwrap().read_at(0, &mut buf).unwrap();
            buf[..n].to_vec()
        };
        let before = read("rtmr3:sha384");
        assert_eq!(before, ostd::tee::measurement_registers().unwrap()[3].to_vec());
        let rtmr3 = mrs.lookup("rtmr3:sha384").unwrap();
        assert_eq!(rtmr3.write_at(0, &[1; 47]).err(), Some(Errno::EINVAL));
        rtmr3.write_at(0, &[0x42; 48]).unwrap();
        let after = read("rtmr3:sha384");
        let expected = tee::eventlog::extend_rtmr(&before.try_into().unwrap(), &[0x42; 48]);
        assert_eq!(after, expected.to_vec(), "RTMR = SHA-384(RTMR ‖ data)");
        let rtmr2 = mrs.lookup("rtmr2:sha384").unwrap();
        assert_eq!(rtmr2.write_at(0, &[0x42; 48]).err(), Some(Errno::EACCES), "the kernel's");
    }
}
