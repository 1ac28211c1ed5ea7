//! Integration-test support: source policy checks and QEMU boots.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cpython;
pub mod qemu;
pub mod reference;
pub mod unsafe_policy;
