//! The platform attestation devices of Linux, with its ioctl numbers and structure layouts,
//! so that tools written for Linux (`snpguest`, `trustauthority-cli`, Go's go-sev-guest and
//! go-tdx-guest) run unmodified:
//!
//! - `/dev/tdx_guest` (misc 10:125 here; Linux assigns it dynamically), under TDX only:
//!   `TDX_CMD_GET_REPORT0` (`include/uapi/linux/tdx-guest.h`).
//! - `/dev/sev-guest` (misc 10:126 here), under SEV-SNP, and under the simulated TEE when it
//!   plays SNP (`tee=sim sim.registers=none`: reports in SNP's layout, no certificates):
//!   `SNP_GET_REPORT` and `SNP_GET_EXT_REPORT` (`include/uapi/linux/sev-guest.h`). `SNP_GET_DERIVED_KEY` is not
//!   served (ENOTTY): OSTD sends no key requests.
//!
//! Errors are Linux's: EFAULT for memory the caller cannot lend, EINVAL for null buffers,
//! a zero `msg_version` (refused before `exitinfo2` is written back) or a certificate length
//! not in whole pages up to 16 KiB, ENOTTY for other commands (on `/dev/sev-guest` after the
//! argument is read, as there), EIO when the platform refused, with SW_EXITINFO2 in
//! `exitinfo2` for `/dev/sev-guest` when it is not zero (0xff, "no firmware call", when none
//! was made; a served request leaves the field as the caller set it), and for a certificate
//! buffer too small, EIO with `vmm_error` 1 (INVALID_LEN) and the length needed written back
//! into `certs_len`. Only `msg_version` 1 exists for reports, so others are EINVAL.
//!
//! Differences from Linux: a PSP that answers with a non-zero status (a VMPL below the
//! guest's, say) is EIO here with `exitinfo2` 0xff, where Linux returns 0 and the raw
//! response with its status, because OSTD refuses such a response before it reaches this
//! file; and a host that needs more than OSTD's 16 KiB certificate buffer gives a report
//! with an empty certificate table, where Linux returns EIO with INVALID_LEN.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;
use ostd::tee::Platform;

use crate::error::{Errno, SysResult};
use crate::fs::devfs::makedev;
use crate::fs::file::{FileLike, OpenFlags, Stat};
use crate::fs::node::Node;
use crate::user_mem::UserMem;

/// `/dev/tdx_guest`'s device number.
pub const TDX_GUEST: u32 = makedev(10, 125);
/// `/dev/sev-guest`'s device number.
pub const SEV_GUEST: u32 = makedev(10, 126);

/// Linux's `_IOWR(type, nr, size)`.
const fn iowr(kind: u8, nr: u8, size: usize) -> u32 {
    (3 << 30) | ((size as u32) << 16) | ((kind as u32) << 8) | nr as u32
}

/// `struct tdx_report_req`: report data in, TDREPORT out.
const TDX_REPORT_REQ_SIZE: usize = 64 + 1024;
/// `TDX_CMD_GET_REPORT0`.
pub const TDX_CMD_GET_REPORT0: u32 = iowr(b'T', 1, TDX_REPORT_REQ_SIZE);

/// `struct snp_guest_request_ioctl`: msg_version u8 (padded to 8), req_data u64, resp_data
/// u64, exitinfo2 u64 (fw_error u32, vmm_error u32).
const SNP_IOCTL_SIZE: usize = 32;
/// `SNP_GET_REPORT`.
pub const SNP_GET_REPORT: u32 = iowr(b'S', 0, SNP_IOCTL_SIZE);
/// `SNP_GET_DERIVED_KEY` (not served).
pub const SNP_GET_DERIVED_KEY: u32 = iowr(b'S', 1, SNP_IOCTL_SIZE);
/// `SNP_GET_EXT_REPORT`.
pub const SNP_GET_EXT_REPORT: u32 = iowr(b'S', 2, SNP_IOCTL_SIZE);

/// `struct snp_report_req`: user_data [64], vmpl u32, reserved [28].
const SNP_REPORT_REQ_SIZE: usize = 96;
/// `struct snp_ext_report_req`: the report request, certs_address u64, certs_len u32 (and
/// 4 bytes of padding).
const SNP_EXT_REPORT_REQ_SIZE: usize = 112;
/// `struct snp_report_resp`: the decrypted MSG_REPORT_RSP, zero-padded.
const SNP_REPORT_RESP_SIZE: usize = 4000;
/// Linux's `SEV_FW_BLOB_MAX_SIZE`: the largest certificate buffer.
const CERTS_MAX: u32 = 16 * 1024;
/// SW_EXITINFO2 when no firmware call was made (Linux's `SEV_RET_NO_FW_CALL`).
const NO_FW_CALL: u64 = 0xff;
/// The VMM error for a certificate buffer too small (`SNP_GUEST_VMM_ERR_INVALID_LEN`).
const VMM_ERR_INVALID_LEN: u64 = 1;

/// Whether the device `rdev` exists on this platform (devfs makes only those nodes).
pub fn present(rdev: u32) -> bool {
    match ostd::tee::platform() {
        Platform::Tdx => rdev == TDX_GUEST,
        Platform::SevSnp => rdev == SEV_GUEST,
        // Playing SNP, the sim speaks SNP's report layout, so tools can read it.
        Platform::Sim => ostd::tee::sim_plays_snp() && rdev == SEV_GUEST,
        Platform::None => false,
    }
}

/// Opens `/dev/tdx_guest` or `/dev/sev-guest`; ENXIO where the platform has no such device.
pub fn open(rdev: u32, node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    if !present(rdev) {
        return Err(Errno::ENXIO);
    }
    Ok(Arc::new(GuestDevice { rdev, node, flags: SpinLock::new(flags) }))
}

struct GuestDevice {
    rdev: u32,
    node: Arc<Node>,
    flags: SpinLock<OpenFlags>,
}

impl Drop for GuestDevice {
    fn drop(&mut self) {
        // The description's flock and OFD locks go with it.
        let description = self as *const Self as *const u8 as usize;
        crate::fs::file::release_description_locks(&self.node, description);
    }
}

impl FileLike for GuestDevice {
    fn stat(&self) -> Stat {
        Stat::of_node(&self.node)
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match (self.rdev, cmd) {
            (TDX_GUEST, TDX_CMD_GET_REPORT0) => tdx_get_report0(arg, mem),
            // As Linux, every command on /dev/sev-guest reads the argument first.
            (SEV_GUEST, _) => snp_guest_request(cmd, arg, mem),
            _ => Err(Errno::ENOTTY),
        }
    }
}

fn tdx_get_report0(arg: u64, mem: &UserMem) -> SysResult<u64> {
    let mut report_data = [0u8; 64];
    mem.read(arg, &mut report_data)?;
    let report_data = super::evidence::requested_report_data(&report_data);
    let tdreport = ostd::tee::report(&report_data).map_err(|e| {
        log::warn!("/dev/tdx_guest: {e}");
        Errno::EIO
    })?;
    if tdreport.len() != 1024 {
        return Err(Errno::EIO);
    }
    mem.write(arg + 64, &tdreport)?;
    Ok(0)
}

/// `struct snp_guest_request_ioctl`, decoded.
#[derive(Debug, PartialEq, Eq)]
struct SnpIoctl {
    msg_version: u8,
    req_data: u64,
    resp_data: u64,
    exitinfo2: u64,
}

impl SnpIoctl {
    fn decode(b: &[u8; SNP_IOCTL_SIZE]) -> Self {
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
        Self {
            msg_version: b[0],
            req_data: u64_at(8),
            resp_data: u64_at(16),
            exitinfo2: u64_at(24),
        }
    }
}

fn snp_guest_request(cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
    let mut raw = [0u8; SNP_IOCTL_SIZE];
    mem.read(arg, &mut raw)?;
    let io = SnpIoctl::decode(&raw);
    // As Linux: a zero version is refused before anything is written back.
    if io.msg_version == 0 {
        return Err(Errno::EINVAL);
    }
    // The caller learns "no firmware call" unless one is made.
    let mut exitinfo2 = NO_FW_CALL;
    let result = match cmd {
        SNP_GET_REPORT | SNP_GET_EXT_REPORT if io.msg_version != 1 => Err(Errno::EINVAL),
        SNP_GET_REPORT | SNP_GET_EXT_REPORT => snp_report(cmd, &io, mem, &mut exitinfo2),
        _ => Err(Errno::ENOTTY),
    };
    // As Linux: exitinfo2 goes back only when it is not zero (a served request leaves the
    // caller's field as it was).
    if exitinfo2 != 0 {
        mem.write(arg + 24, &exitinfo2.to_le_bytes())?;
    }
    result
}

fn snp_report(cmd: u32, io: &SnpIoctl, mem: &UserMem, exitinfo2: &mut u64) -> SysResult<u64> {
    if io.req_data == 0 || io.resp_data == 0 {
        return Err(Errno::EINVAL);
    }
    let extended = cmd == SNP_GET_EXT_REPORT;
    let mut req = [0u8; SNP_EXT_REPORT_REQ_SIZE];
    let req_len = if extended { SNP_EXT_REPORT_REQ_SIZE } else { SNP_REPORT_REQ_SIZE };
    mem.read(io.req_data, &mut req[..req_len])?;
    let user_data: [u8; 64] = req[..64].try_into().unwrap_or([0; 64]);
    let vmpl = u32::from_le_bytes(req[64..68].try_into().unwrap_or_default());
    let certs_address = u64::from_le_bytes(req[96..104].try_into().unwrap_or_default());
    let certs_len = u32::from_le_bytes(req[104..108].try_into().unwrap_or_default());
    // As Linux: a zero address or length asks for no certificates, and is not checked.
    let wants_certs = extended && certs_address != 0 && certs_len != 0;
    if wants_certs && (certs_len > CERTS_MAX || certs_len % 4096 != 0) {
        return Err(Errno::EINVAL);
    }
    // SNP has no runtime registers: the kernel binds its log into the report data.
    let user_data = super::evidence::requested_report_data(&user_data);
    let quote = ostd::tee::quote_at(&user_data, vmpl).map_err(|e| {
        log::warn!("/dev/sev-guest: {e}");
        *exitinfo2 = e.snp_exit_info2().unwrap_or(*exitinfo2);
        Errno::EIO
    })?;
    *exitinfo2 = 0;
    if wants_certs {
        // The certificates as the verifier reads them: parsed (bounds, overlaps), laid out
        // anew. A report without them is only what a plain request would have had.
        let table: Vec<u8> = match quote.certificates.as_deref().map(tee::snp::CertTable::parse) {
            Some(Ok(table)) => table.to_bytes().map_err(|_| Errno::EIO)?,
            Some(Err(_)) => return Err(Errno::EIO),
            None => Vec::new(),
        };
        if table.len() > certs_len as usize {
            // Too small: say how much is needed, as Linux passes on the host's INVALID_LEN.
            *exitinfo2 = VMM_ERR_INVALID_LEN << 32;
            let needed = (table.len() as u32).div_ceil(4096) * 4096;
            mem.write(io.req_data + 104, &needed.to_le_bytes())?;
            return Err(Errno::EIO);
        }
        let mut certs = table;
        certs.resize(certs_len as usize, 0);
        mem.write(certs_address, &certs)?;
    }
    mem.write(io.resp_data, &report_response(&quote.evidence))?;
    Ok(0)
}

/// The MSG_REPORT_RSP payload Linux copies out: status 0, the report's size, 24 reserved
/// bytes, the report, zeros to 4000 bytes. (OSTD checked the PSP's status and size already;
/// this lays the same fields out again.)
fn report_response(report: &[u8]) -> Vec<u8> {
    let mut resp = alloc::vec![0u8; SNP_REPORT_RESP_SIZE];
    resp[4..8].copy_from_slice(&(report.len() as u32).to_le_bytes());
    let n = report.len().min(SNP_REPORT_RESP_SIZE - 32);
    resp[32..32 + n].copy_from_slice(&report[..n]);
    resp
}

ostd::ktest! {
    fn attestation_ioctl_numbers_are_linux_s() {
        // The values Linux's headers produce (checked against `_IOWR` by hand: direction 3 in
        // bits 31:30, the size in 29:16, the type in 15:8, the number in 7:0).
        assert_eq!(TDX_CMD_GET_REPORT0, 0xc440_5401);
        assert_eq!(SNP_GET_REPORT, 0xc020_5300);
        assert_eq!(SNP_GET_DERIVED_KEY, 0xc020_5301);
        assert_eq!(SNP_GET_EXT_REPORT, 0xc020_5302);
    }

    fn the_snp_ioctl_struct_decodes_at_linux_s_offsets() {
        let mut raw = [0u8; SNP_IOCTL_SIZE];
        raw[0] = 1;
        raw[8..16].copy_from_slice(&0x1111_2222u64.to_le_bytes());
        raw[16..24].copy_from_slice(&0x3333_4444u64.to_le_bytes());
        raw[24..32].copy_from_slice(&0xffu64.to_le_bytes());
        assert_eq!(
            SnpIoctl::decode(&raw),
            SnpIoctl { msg_version: 1, req_data: 0x1111_2222, resp_data: 0x3333_4444, exitinfo2: 0xff }
        );
        let resp = report_response(&[0xab; 1184]);
        assert_eq!(resp.len(), 4000);
        assert_eq!(&resp[..8], &[0, 0, 0, 0, 0xa0, 0x04, 0, 0], "status 0, size 1184");
        assert!(resp[32..32 + 1184].iter().all(|&b| b == 0xab) && resp[1216..].iter().all(|&b| b == 0));
    }

    fn the_guest_devices_exist_only_on_their_platform() {
        let expected = match ostd::tee::platform() {
            Platform::Tdx => (true, false),
            Platform::SevSnp => (false, true),
            Platform::Sim => (false, ostd::tee::sim_plays_snp()),
            Platform::None => (false, false),
        };
        assert_eq!((present(TDX_GUEST), present(SEV_GUEST)), expected);
    }
}
