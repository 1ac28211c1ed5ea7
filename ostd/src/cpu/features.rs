//! CPU features the kernel cares about, read once with CPUID.

use super::cpuid;
use spin::Once;

/// The CPU's identity and the features the kernel uses or reports.
#[derive(Clone, Debug)]
pub struct CpuFeatures {
    /// The vendor string, e.g. "GenuineIntel".
    pub vendor: [u8; 12],
    /// The brand string, e.g. "QEMU Virtual CPU version 2.5+".
    pub brand: [u8; 48],
    /// x2APIC mode is available.
    pub x2apic: bool,
    /// The APIC timer has TSC-deadline mode.
    pub tsc_deadline: bool,
    /// The TSC runs at a constant rate.
    pub invariant_tsc: bool,
    /// RDRAND.
    pub rdrand: bool,
    /// RDSEED.
    pub rdseed: bool,
    /// XSAVE.
    pub xsave: bool,
    /// AVX.
    pub avx: bool,
    /// 1 GiB pages.
    pub page1gb: bool,
    /// The no-execute page bit (EFER.NXE).
    pub nx: bool,
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// User-mode instruction prevention.
    pub umip: bool,
    /// FSGSBASE instructions.
    pub fsgsbase: bool,
    /// Running under a hypervisor (CPUID.1:ECX.31).
    pub hypervisor: bool,
    /// Crystal clock (Hz) and TSC/crystal ratio from leaf 0x15, if reported.
    pub tsc_leaf_hz: Option<u64>,
    /// Physical-address width in bits (CPUID 0x80000008 EAX[7:0]; 36, the architectural
    /// default, when the leaf is absent).
    pub phys_addr_bits: u8,
}

static FEATURES: Once<CpuFeatures> = Once::new();

/// Returns the features detected at boot.
pub fn features() -> &'static CpuFeatures {
    FEATURES.get().expect("cpu features read before detection")
}

pub(super) fn detect() {
    FEATURES.call_once(|| {
        let mut f = CpuFeatures {
            vendor: [0; 12],
            brand: [0; 48],
            x2apic: false,
            tsc_deadline: false,
            invariant_tsc: false,
            rdrand: false,
            rdseed: false,
            xsave: false,
            avx: false,
            page1gb: false,
            nx: false,
            smep: false,
            smap: false,
            umip: false,
            fsgsbase: false,
            hypervisor: false,
            tsc_leaf_hz: None,
            phys_addr_bits: 36,
        };
        let l0 = cpuid(0, 0);
        f.vendor[0..4].copy_from_slice(&l0.ebx.to_le_bytes());
        f.vendor[4..8].copy_from_slice(&l0.edx.to_le_bytes());
        f.vendor[8..12].copy_from_slice(&l0.ecx.to_le_bytes());
        let max = l0.eax;
        let l1 = cpuid(1, 0);
        f.x2apic = l1.ecx & (1 << 21) != 0;
        f.tsc_deadline = l1.ecx & (1 << 24) != 0;
        f.xsave = l1.ecx & (1 << 26) != 0;
        f.avx = l1.ecx & (1 << 28) != 0;
        f.rdrand = l1.ecx & (1 << 30) != 0;
        f.hypervisor = l1.ecx & (1 << 31) != 0;
        if max >= 7 {
            let l7 = cpuid(7, 0);
            f.fsgsbase = l7.ebx & 1 != 0;
            f.smep = l7.ebx & (1 << 7) != 0;
            f.rdseed = l7.ebx & (1 << 18) != 0;
            f.smap = l7.ebx & (1 << 20) != 0;
            f.umip = l7.ecx & (1 << 2) != 0;
        }
        if max >= 0x15 {
            let l15 = cpuid(0x15, 0);
            if l15.eax != 0 && l15.ebx != 0 && l15.ecx != 0 {
                f.tsc_leaf_hz = Some(u64::from(l15.ecx) * u64::from(l15.ebx) / u64::from(l15.eax));
            }
        }
        let ext_max = cpuid(0x8000_0000, 0).eax;
        if ext_max >= 0x8000_0001 {
            let l81 = cpuid(0x8000_0001, 0);
            f.nx = l81.edx & (1 << 20) != 0;
            f.page1gb = l81.edx & (1 << 26) != 0;
        }
        if ext_max >= 0x8000_0004 {
            for (i, leaf) in (0x8000_0002..=0x8000_0004).enumerate() {
                let r = cpuid(leaf, 0);
                for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
                    f.brand[i * 16 + j * 4..][..4].copy_from_slice(&reg.to_le_bytes());
                }
            }
        }
        if ext_max >= 0x8000_0007 {
            f.invariant_tsc = cpuid(0x8000_0007, 0).edx & (1 << 8) != 0;
        }
        if ext_max >= 0x8000_0008 {
            f.phys_addr_bits = cpuid(0x8000_0008, 0).eax as u8;
        }
        f
    });
}

impl CpuFeatures {
    /// Returns the vendor as text.
    pub fn vendor_str(&self) -> &str {
        core::str::from_utf8(&self.vendor).unwrap_or("?")
    }

    /// Returns the brand string as text, trimmed.
    pub fn brand_str(&self) -> &str {
        let end = self.brand.iter().position(|&b| b == 0).unwrap_or(self.brand.len());
        core::str::from_utf8(&self.brand[..end]).unwrap_or("?").trim()
    }

    /// Returns the names of the notable features present.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (self.x2apic, "x2apic"),
            (self.tsc_deadline, "tsc-deadline"),
            (self.invariant_tsc, "invariant-tsc"),
            (self.xsave, "xsave"),
            (self.avx, "avx"),
            (self.rdrand, "rdrand"),
            (self.rdseed, "rdseed"),
            (self.page1gb, "1g-pages"),
            (self.nx, "nx"),
            (self.smep, "smep"),
            (self.smap, "smap"),
            (self.umip, "umip"),
            (self.fsgsbase, "fsgsbase"),
            (self.hypervisor, "hypervisor"),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
    }
}
