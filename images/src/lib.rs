//! Guest-image tools, on the host.
//!
//! - [`bzimage`]: wraps the kernel ELF in a Linux boot protocol bzImage for UEFI loaders.
//! - [`ksyms`]: writes the symbol table the panic backtrace prints from into the image.
//! - [`measurements`]: predicts the kernel's measured-boot events and RTMR2 offline
//!   (`reference-values`, a reference entry for `attest serve`).
//! - `images build`: [`oci`] reads a container image (OCI layout, docker-save tar, or a plain
//!   directory), [`rootfs`] applies its layers and writes an ext2 root disk, and
//!   [`container`] turns its config into the process the kernel starts as init.
//! - `images measure`: [`measure`] predicts, from a built image alone, the reference values
//!   of a guest booting it: the kernel's events, SNP's launch digest, TDX's MRTD.
//! - `images pack`: [`pack`] makes a small container image from host files (the verifier's).
#![forbid(unsafe_code)]

pub mod build;
pub mod bzimage;
pub mod container;
pub mod ksyms;
pub mod measure;
pub mod measurements;
pub mod oci;
pub mod pack;
pub mod rootfs;
