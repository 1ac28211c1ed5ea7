//! The Linux boot protocol's `boot_params` ("zero page"), as a loader such as OVMF fills it.
//!
//! Offsets from Documentation/arch/x86/boot.rst and zero-page.rst. The block is copied out
//! whole, then read field by field from the copy.

use super::BootError;
use super::cmdline::Cmdline;
use super::info::PhysRange;
use super::phys::{self, u32_at, u64_at};

const HDR_MAGIC: u32 = 0x5372_6448; // "HdrS"

/// What the kernel takes from `boot_params`.
pub(super) struct LinuxBootParams {
    pub cmdline: Cmdline,
    /// The initrd's physical address and length, unchecked (see `BootInfo::set_initrd`).
    pub initrd: Option<(u64, u64)>,
    pub rsdp: Option<u64>,
    pub self_range: PhysRange,
}

pub(super) fn read(paddr: u64) -> Result<LinuxBootParams, BootError> {
    let bp: [u8; 4096] = phys::read_array("boot_params", paddr)?;
    let magic = u32_at(&bp, 0x202);
    if magic != HDR_MAGIC {
        return Err(BootError::BadBootParams { magic });
    }
    let cmdline_paddr = u64::from(u32_at(&bp, 0x228)) | u64::from(u32_at(&bp, 0x0c8)) << 32;
    let cmdline = if cmdline_paddr == 0 {
        Cmdline::from_raw(&[])
    } else {
        let mut raw = [0u8; Cmdline::CAPACITY + 1];
        phys::read("command line", cmdline_paddr, &mut raw)?;
        Cmdline::from_raw(&raw)
    };
    let initrd_start = u64::from(u32_at(&bp, 0x218)) | u64::from(u32_at(&bp, 0x0c0)) << 32;
    let initrd_len = u64::from(u32_at(&bp, 0x21c)) | u64::from(u32_at(&bp, 0x0c4)) << 32;
    let initrd = (initrd_start != 0 && initrd_len != 0).then_some((initrd_start, initrd_len));
    let rsdp = Some(u64_at(&bp, 0x070)).filter(|&p| p != 0);
    Ok(LinuxBootParams {
        cmdline,
        initrd,
        rsdp,
        self_range: PhysRange { start: paddr, end: paddr + 4096 },
    })
}
