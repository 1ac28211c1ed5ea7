//! Guest-image tools, on the host.
//!
//! - [`bzimage`]: wraps the kernel ELF in a Linux boot protocol bzImage for UEFI loaders.
//! - [`ksyms`]: writes the symbol table the panic backtrace prints from into the image.
#![forbid(unsafe_code)]

pub mod bzimage;
pub mod ksyms;
