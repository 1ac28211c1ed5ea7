//! Guest-image tools, on the host.
//!
//! - [`bzimage`]: wraps the kernel ELF in a Linux boot protocol bzImage for UEFI loaders.
#![forbid(unsafe_code)]

pub mod bzimage;
