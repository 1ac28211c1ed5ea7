//! The CPU's protection switches: write protection, no-execute, SMEP, SMAP and UMIP.
//!
//! [`enable`] turns them on once, from `cpu::init_bsp`, on both boot paths (PVH and the EFI
//! handover), after the firmware's services are gone and before the kernel page table is
//! built, since that table sets the NX bit. Each switch is turned on only when CPUID says the
//! CPU has it; [`protections`] says which ones are on, and the boot banner prints them.
//!
//! What each one asks of the rest of OSTD:
//! - **CR0.WP**: supervisor writes honour read-only entries. The kernel image maps text and
//!   rodata read-only (`mm::kspace`), and a kernel write to a read-only user page (a
//!   copy-on-write page after fork) faults into the address space's handler, which copies.
//! - **EFER.NXE**: the NX bit is valid in page tables; `mm::page_table` sets it on every
//!   mapping that is not code only when this is on.
//! - **SMEP**: the kernel never executes a user page.
//! - **SMAP**: the kernel never touches a user page except inside `mm::user_copy`, which sets
//!   RFLAGS.AC (STAC) around its one copy instruction and clears it (CLAC) after, also on the
//!   fault path. Every entry into Rust loads RFLAGS with AC clear (`trap/entry.S`, SFMASK).
//! - **UMIP**: user code cannot read the descriptor-table registers (SGDT, SIDT, SLDT, SMSW, STR).

use spin::Once;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

use super::features;

/// Which protections are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protections {
    /// CR0.WP: supervisor writes to read-only pages fault.
    pub wp: bool,
    /// EFER.NXE: no-execute pages.
    pub nx: bool,
    /// CR4.SMEP: the kernel cannot execute user pages.
    pub smep: bool,
    /// CR4.SMAP: the kernel cannot access user pages outside the user-copy routine.
    pub smap: bool,
    /// CR4.UMIP: user code cannot run SGDT, SIDT, SLDT, SMSW or STR.
    pub umip: bool,
}

impl Protections {
    /// Returns the names of the protections that are on, e.g. `wp nx smep smap umip`.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            (self.wp, "wp"),
            (self.nx, "nx"),
            (self.smep, "smep"),
            (self.smap, "smap"),
            (self.umip, "umip"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
    }
}

static PROTECTIONS: Once<Protections> = Once::new();

/// Returns the protections this CPU runs with.
///
/// # Panics
/// Before `cpu::init_bsp`, which no code outside the boot sequence can observe.
pub fn protections() -> &'static Protections {
    PROTECTIONS.get().expect("CPU protections read before they were set up")
}

/// Returns whether SMAP is on; false before the CPU is set up (no user memory exists then).
pub(crate) fn smap_enabled() -> bool {
    PROTECTIONS.get().is_some_and(|p| p.smap)
}

/// Returns whether the NX page bit is valid (EFER.NXE is on).
pub(crate) fn nx_enabled() -> bool {
    PROTECTIONS.get().is_some_and(|p| p.nx)
}

/// Turns on every protection the CPU has.
pub(super) fn enable() {
    let f = features();
    let on = Protections { wp: true, nx: f.nx, smep: f.smep, smap: f.smap, umip: f.umip };
    // The boot tables in use now are all writable; the kernel's own tables map read-only only
    // text and rodata, which nothing writes; user pages are written only by the user copy,
    // whose faults go to the address space's handler (module doc).
    // SAFETY: WP only makes supervisor writes to read-only pages fault; none are expected and
    // the user copy's are handled (above).
    unsafe { Cr0::update(|cr0| cr0.insert(Cr0Flags::WRITE_PROTECT)) };
    if on.nx {
        // SAFETY: the CPU has NX (CPUID checked). NXE only makes bit 63 of a page-table entry
        // mean no-execute; the boot page tables leave it clear, so nothing in use changes.
        unsafe { Efer::update(|efer| efer.insert(EferFlags::NO_EXECUTE_ENABLE)) };
    }
    let mut cr4 = Cr4::read();
    cr4.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, on.smep);
    cr4.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, on.smap);
    cr4.set(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION, on.umip);
    // The bits only restrict: the kernel never executes user pages (SMEP), touches user pages
    // only inside the user-copy routine with AC set (SMAP), and needs no SGDT/SIDT (UMIP).
    // SAFETY: the CPU has each bit set here (CPUID checked), none breaks the kernel (above),
    // and all other CR4 bits keep their values.
    unsafe { Cr4::write(cr4) };
    PROTECTIONS.call_once(|| on);
}

crate::ktest! {
    fn every_protection_the_cpu_has_is_on() {
        let f = features();
        let p = protections();
        assert!(Cr0::read().contains(Cr0Flags::WRITE_PROTECT), "CR0.WP is off");
        assert_eq!(Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE), f.nx, "EFER.NXE");
        let cr4 = Cr4::read();
        assert_eq!(
            cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
            f.smep,
            "CR4.SMEP"
        );
        assert_eq!(cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION), f.smap, "CR4.SMAP");
        assert_eq!(cr4.contains(Cr4Flags::USER_MODE_INSTRUCTION_PREVENTION), f.umip, "CR4.UMIP");
        assert_eq!(
            *p,
            Protections { wp: true, nx: f.nx, smep: f.smep, smap: f.smap, umip: f.umip }
        );
        // Rust code runs with AC clear, so SMAP is in force outside the user-copy routine.
        assert!(
            !x86_64::registers::rflags::read()
                .contains(x86_64::registers::rflags::RFlags::ALIGNMENT_CHECK)
        );
    }
}
