//! Intel TDX, guest side: which TDCALL to make with which registers, and what the answers
//! mean. OSTD executes TDCALL (through `tdx-guest`'s raw call); everything else is here.
//!
//! Sources: Intel TDX Module ABI specification (TDCALL leaves, register layouts, completion
//! status codes, TD-scope metadata), the TDX Guest-Hypervisor Communication Interface
//! (GHCI) specification (TDG.VP.VMCALL sub-functions, the GetQuote buffer), and Linux's
//! guest code (`arch/x86/coco/tdx/tdx.c`, `arch/x86/include/asm/shared/tdx.h`,
//! `drivers/virt/coco/tdx-guest/`) where it pins down a choice the specs leave open.
//!
//! # The flow, top down
//!
//! **Boot.** The first TDCALL is TDG.VP.INFO ([`tdcall::vp_info`]). Its answer
//! ([`td_info::decode_vp_info`]) gives the GPA width and so the shared bit
//! ([`gpa::SharedBit`]): every later address built for the host depends on it. Then the
//! SEPT #VE decision ([`sept_ve`]): read TDCS.CONFIG_FLAGS with TDG.VM.RD, [`sept_ve::plan`]
//! from it and the attributes, maybe read TDCS.TD_CTLS and [`sept_ve::decide_from_td_ctls`],
//! and either write TD_CTLS ([`sept_ve::disable_write`]), go on, or stop: a production TD
//! must never take #VE on private memory. Linux also turns notification #VEs off
//! ([`tdcall::disable_notifications`]).
//!
//! **Converting memory.** To share pages with the host (DMA buffers, the GetQuote buffer),
//! the guest asks the VMM to remap them with MapGPA ([`map_gpa::MapGpa`], which checks the
//! VMM's retry answers) and then maps the shared alias. To take pages back, MapGPA to
//! private, then accept each page with TDG.MEM.PAGE.ACCEPT ([`tdcall::mem_page_accept`],
//! reacting to its status with [`accept_page::accept_outcome`]; for a whole range,
//! [`accept_range::RangeAcceptor`] runs that loop). Memory the firmware left
//! unaccepted at boot is tracked by [`crate::accept`] and accepted on first use through the
//! same leaf.
//!
//! **#VE.** CPUID, HLT, port I/O, MSR accesses and MMIO raise #VE. The handler first calls
//! TDG.VP.VEINFO.GET ([`tdcall::vp_veinfo_get`], [`tdcall::decode_veinfo`]), classifies
//! the exception ([`ve::classify`]), emulates it with the matching TDG.VP.VMCALL
//! ([`tdvmcall`]), and advances RIP. An EPT violation on private memory is never emulated.
//!
//! **Attestation.** TDG.MR.RTMR.EXTEND ([`tdcall::mr_rtmr_extend`]) measures into a
//! runtime register; TDG.MR.REPORT ([`tdcall::mr_report`]) makes a TDREPORT bound to 64
//! bytes of REPORTDATA; GetQuote ([`quote`]) sends the TDREPORT through a shared buffer to
//! the host's quoting service and reads the signed quote back from a private copy.
//!
//! Every value that crosses from the host (the VMM's registers, the GetQuote buffer, a
//! #VE's GPA) is checked before use as a length, index or address, and a bad one becomes a
//! [`TdxError`] that names the field and the value.

pub mod accept_page;
pub mod accept_range;
pub mod error;
pub mod gpa;
pub mod map_gpa;
pub mod quote;
pub mod sept_ve;
pub mod status;
pub mod td_info;
pub mod tdcall;
pub mod tdreport;
pub mod tdvmcall;
pub mod ve;

pub use error::TdxError;
pub use gpa::{Gpa, GpaWidth, PageLevel, SharedBit};
pub use status::TdxStatus;
pub use tdcall::{TdcallLeaf, TdcallRegs};
pub use tdvmcall::{TdvmcallRegs, VmcallSubfunction};
