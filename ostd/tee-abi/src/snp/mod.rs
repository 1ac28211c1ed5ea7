//! AMD SEV-SNP: the guest side of the GHCB protocol and of the PSP guest messages, as data.
//!
//! Read top to bottom; each module depends only on the ones above it.
//!
//! - [`frame`]: guest frame numbers, page sizes and page-state operations, the units every
//!   request below names.
//! - [`msr_protocol`]: the GHCB MSR protocol (GHCB spec §2.3.1), used before a GHCB page
//!   exists and for the few requests that never need one: SEV information, CPUID by
//!   register, GHCB registration, one-page state change, hypervisor features, termination.
//! - [`ghcb`]: the GHCB page (GHCB spec §2.3.2): a writer for the request, a reader over a
//!   copy of the host's answer that returns a field only when the host marked it valid, the
//!   exit codes, the IOIO exit information and the SW_EXITINFO1 status convention.
//! - [`psc`]: page-state change through the GHCB shared buffer (GHCB spec §4.1.6): batches
//!   of at most 253 entries, and the check of how far the host got.
//! - [`cpuid_page`]: the CPUID page the firmware checked at launch (SNP firmware ABI, CPUID
//!   reporting), and the lookup rules that turn it into CPUID answers.
//! - [`secrets`]: the secrets page (SNP firmware ABI, "Secrets Page Format"): the VMPCKs and
//!   the OS area with the message sequence counts.
//! - [`guest_msg`]: guest messages to the PSP (SNP firmware ABI, "Guest Messages"): the
//!   header, AES-256-GCM sealing under a VMPCK, and the sequence-number discipline that
//!   disables a key for good when the host interferes.
//! - [`report`]: the MSG_REPORT_REQ and MSG_REPORT_RSP payloads.
//! - [`cc_blob`]: where the firmware put the secrets and CPUID pages.
//! - [`sev_status`]: which SEV features the guest refuses to run with.
//! - [`vc`]: what the #VC handler emulates, and the check that RIP holds the instruction
//!   the exit claims.
//!
//! OSTD executes VMGEXIT and PVALIDATE and owns the pages; this module only ever reads
//! copies it is handed, and writes into buffers the caller then copies out.

pub mod frame;
pub mod msr_protocol;

pub mod ghcb;
pub mod psc;

pub mod cpuid_page;

pub mod secrets;

pub mod guest_msg;
pub mod report;

pub mod cc_blob;
pub mod sev_status;
pub mod vc;

/// SEV_STATUS (AMD APM vol. 2, "SEV_STATUS MSR"): which SEV features are active for the guest.
pub const SEV_STATUS_MSR: u32 = 0xc001_0131;
/// SEV_STATUS bit 2: SEV-SNP is active.
pub const SEV_STATUS_SNP_ACTIVE: u64 = 1 << 2;
/// The GHCB MSR: the GHCB's address, or an MSR-protocol request and its answer.
pub const GHCB_MSR: u32 = 0xc001_0130;

mod le;
