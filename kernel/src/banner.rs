//! The boot banner: one screen that says what the kernel found.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ostd::boot::{BootInfo, boot_info};

/// The kernel's name and version, as the banner and `uname` report them.
pub const KERNEL_NAME: &str = "cocoon";
pub const KERNEL_VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn print() {
    let info = boot_info();
    let cpu = ostd::cpu::features();
    let frames = ostd::mm::frame_stats();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{KERNEL_NAME} {KERNEL_VERSION}: booted via {} in {} ms",
        info.protocol,
        ostd::time::ms_since_entry()
    );
    let _ = writeln!(out, "  TEE platform: {}", ostd::tee::platform());
    let _ = writeln!(
        out,
        "  image: physical {:#x}..{:#x}",
        info.kernel_image().start,
        info.kernel_image().end
    );
    let _ = writeln!(
        out,
        "  memory: {} MiB usable in {} map regions, {} MiB free",
        info.memory.usable_bytes() >> 20,
        info.memory.regions().len(),
        (frames.free * 4096) >> 20,
    );
    let features: Vec<&str> = cpu.names().collect();
    let _ = writeln!(
        out,
        "  CPU: {} \"{}\" [{}]",
        cpu.vendor_str(),
        cpu.brand_str(),
        features.join(" ")
    );
    let protections = ostd::cpu::protections().names().collect::<Vec<_>>().join(" ");
    let _ = writeln!(
        out,
        "  protections: {}",
        if protections.is_empty() { "none" } else { &protections }
    );
    let _ = write!(
        out,
        "  timer: {} one-shot (deadlines; {} Hz tick), TSC ",
        if ostd::time::apic::is_x2apic() { "x2APIC" } else { "xAPIC" },
        ostd::time::hz()
    );
    let _ = match ostd::time::tsc_calibration() {
        Some(calibration) => writeln!(out, "{calibration}"),
        None => writeln!(out, "{} MHz", ostd::time::tsc_hz() / 1_000_000),
    };
    let pci = ostd::bus::pci::enumerate();
    let _ = writeln!(
        out,
        "  PCI: {} functions via {}",
        pci.len(),
        if ostd::bus::pci::has_ecam() { "ECAM" } else { "port I/O" }
    );
    let _ = writeln!(out, "  cmdline: \"{}\"{}", info.cmdline.as_str(), cmdline_notes(info));
    let _ = writeln!(out, "  initrd: {}", describe_initrd(info));
    ostd::early_print!("{out}");
}

fn cmdline_notes(info: &BootInfo) -> String {
    let mut notes = String::new();
    if info.cmdline.replaced > 0 {
        let _ = write!(notes, " ({} non-printable bytes shown as '?')", info.cmdline.replaced);
    }
    if info.cmdline.truncated > 0 {
        let _ = write!(
            notes,
            " ({} bytes past {} dropped)",
            info.cmdline.truncated,
            ostd::boot::Cmdline::CAPACITY
        );
    }
    notes
}

fn describe_initrd(info: &BootInfo) -> String {
    let Some(bytes) = ostd::boot::initrd_bytes() else {
        return match &info.initrd_refused {
            Some(e) => alloc::format!("none (refused: {e})"),
            None => String::from("none"),
        };
    };
    let kind = match bytes {
        [0x1f, 0x8b, ..] => "gzip",
        [b'0', b'7', b'0', b'7', b'0', b'1', ..] => "cpio newc",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd (not supported yet)",
        _ => "unrecognised format",
    };
    let range = info.initrd.unwrap_or_default();
    let mut s = String::new();
    let _ = write!(s, "{} bytes at {:#x}, {kind}", bytes.len(), range.start);
    s
}
