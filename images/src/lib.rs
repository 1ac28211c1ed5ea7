//! Guest-image tools, on the host.
//!
//! - [`bzimage`]: wraps the kernel ELF in a Linux boot protocol bzImage for UEFI loaders.
//! - [`ksyms`]: writes the symbol table the panic backtrace prints from into the image.
//! - [`measurements`]: predicts the kernel's measured-boot events and RTMR2 offline
//!   (`reference-values`, a reference entry for `attest serve`).
#![forbid(unsafe_code)]

pub mod bzimage;
pub mod ksyms;
pub mod measurements;
