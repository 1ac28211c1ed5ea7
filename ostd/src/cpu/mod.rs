//! The CPU: segments and the TSS, the per-CPU area, feature detection, and FPU/SSE state.
//!
//! One CPU (the bootstrap processor) runs today; per-CPU data already lives behind GS so the
//! entry code needs no change when more CPUs come up.

mod features;
mod gdt;
pub(crate) mod local;
mod protection;

pub use features::{CpuFeatures, features};
pub(crate) use gdt::{
    IST_DOUBLE_FAULT, IST_NMI, IST_TRAMPOLINE, KERNEL_CS, KERNEL_DS, USER_CS, USER_SS,
};
pub use protection::{Protections, protections};
pub(crate) use protection::{nx_enabled, smap_enabled};

/// Returns 64 random bits from RDRAND, or `None` if the CPU has no RDRAND or it keeps
/// failing (the instruction may transiently run dry; ten tries, as Intel recommends).
pub fn rdrand64() -> Option<u64> {
    if !features().rdrand {
        return None;
    }
    for _ in 0..10 {
        let mut value = 0u64;
        // SAFETY: the CPU supports RDRAND (CPUID checked above); the intrinsic writes only
        // `value`.
        if unsafe { core::arch::x86_64::_rdrand64_step(&mut value) } == 1 {
            return Some(value);
        }
    }
    None
}

/// Sets up this CPU's GDT, TSS and protection switches (its per-CPU area came first:
/// [`init_local`]).
pub(crate) fn init_bsp() {
    features::detect();
    gdt::init();
    protection::enable();
}

/// CPUID (`leaf`, `subleaf`): the instruction, or under SEV-SNP the answer of the CPUID page
/// the PSP checked at launch (the instruction would raise a #VC, and its answer would be the
/// host's).
pub(crate) fn cpuid(leaf: u32, subleaf: u32) -> core::arch::x86_64::CpuidResult {
    if crate::tee::snp::active_at_boot() {
        let r = crate::tee::snp::kernel_cpuid(leaf, subleaf);
        core::arch::x86_64::CpuidResult { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
    } else {
        core::arch::x86_64::__cpuid_count(leaf, subleaf)
    }
}

/// Points GS at the bootstrap CPU's per-CPU block: the first thing the kernel does, since
/// every lock counts its interrupt guard there.
pub(crate) fn init_local() {
    local::init();
}
