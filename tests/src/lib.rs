//! Integration-test support: source policy checks and QEMU boots.
#![forbid(unsafe_code)]

pub mod qemu;
pub mod unsafe_policy;
