//! Intel TDX evidence: the TDREPORT a TD gets from the TDX module, and the quote a
//! Quoting Enclave makes from it.
//!
//! - [`report`]: the 1024-byte `TDREPORT_STRUCT` (`TDG.MR.REPORT`, `/dev/tdx_guest`).
//! - [`quote`]: quote versions 4 and 5 and their certification data.

pub mod quote;
pub mod report;

pub use quote::{Quote, QuoteBytes};
pub use report::{TdReport, TdReportBytes};
