//! Intel TDX: DCAP collateral from local files, quote verification, exact TCB status, and
//! the checks on the certificate chains that `dcap-qvl` does not make.

mod chains;
mod collateral;
mod tcb_status;
mod verify;

pub use chains::ChainError;
pub use collateral::{CollateralError, TdxCollateral};
pub use tcb_status::TcbStatus;
pub use verify::{
    INTEL_SGX_ROOT_CA_DER, TdxError, VerifiedTdxQuote, verify_tdx_quote, verify_with_root,
};
