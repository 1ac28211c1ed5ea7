//! PCI: config-space access, the bus walk, and claimed devices.
//!
//! A driver starts from [`PciDevice::claim`], which hands each function to at most one
//! owner for the kernel's lifetime. Through the claim it reads the
//! [capability list](caps::CapList), the sized [BARs](bar::Bar), and turns on memory
//! decoding and bus mastering. Config-space *writes* stay inside OSTD: BAR, command and
//! MSI-X registers name physical addresses to the device, so they are written only by the
//! typed operations here, in [`bar`] and in [`msix`].
//!
//! - [`config`]: dword access through ports 0xcf8/0xcfc or ECAM.
//! - [`enumerate`](mod@enumerate): bus 0 and the buses behind bridges.
//! - [`caps`]: the capability list (pure; host-tested).
//! - [`bar`]: BAR sizing and mapping.
//! - [`msix`]: the MSI-X table, programmed from [`IrqLine`](crate::trap::IrqLine)s.

pub mod bar;
pub mod caps;
mod config;
mod device;
mod enumerate;
pub mod msix;

pub use config::{PciAddress, has_ecam};
pub use device::PciDevice;
pub use enumerate::{PciFunction, enumerate};

pub(super) fn init() {
    config::init();
}
