//! Time and interrupt controllers: the TSC clock, the legacy PIC (masked), the IOAPIC and
//! the local APIC timer.
//!
//! The scheduler ticks at [`hz`] (250 by default, `hz=` on the command line, 10..=1000) and
//! drives preemption; the tick is one deadline among those of [`Timer`]s and timed waits,
//! all served by the local APIC's one-shot timer (`timer`). Time itself comes from the TSC, calibrated once at boot against every
//! reference there is (`tsc`, `reference`); the choice of which to believe is `calibrate`,
//! pure logic that the host-side tests also compile.

pub mod apic;
mod calibrate;
pub mod ioapic;
mod pic;
mod reference;
pub mod rtc;
pub(crate) mod timer;
mod timer_queue;
mod tsc;

pub use calibrate::{Calibration, CrossCheck, Estimate, Source};
pub use timer::Timer;
pub use tsc::{calibration as tsc_calibration, monotonic_ns, read_tsc, tsc_hz};

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::boot::BootInfo;
use crate::trap::IrqLine;

/// The timer frequency unless `hz=` says otherwise: 250, Debian's CONFIG_HZ, so that timers
/// that fire on the tick (setitimer, timed waits) have Linux's 4 ms granularity.
const DEFAULT_HZ: u32 = 250;
static HZ: AtomicU32 = AtomicU32::new(DEFAULT_HZ);
static TICKS: AtomicU64 = AtomicU64::new(0);
static TIMER_LINE: spin::Once<IrqLine> = spin::Once::new();

/// Returns the timer frequency.
pub fn hz() -> u32 {
    HZ.load(Ordering::Relaxed)
}

/// Returns the timer interrupts since boot.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Returns the address of the tick counter (for the red-zone test's assembly).
pub(crate) fn ticks_counter_addr() -> u64 {
    &TICKS as *const AtomicU64 as u64
}

/// Returns milliseconds since the TSC was calibrated, or 0 before that.
pub(crate) fn uptime_ms_if_ready() -> u64 {
    if tsc_hz() == 0 { 0 } else { monotonic_ns() / 1_000_000 }
}

/// Returns milliseconds since the kernel's first instruction.
pub fn ms_since_entry() -> u64 {
    let entry = crate::boot::boot_info().entry_tsc;
    let hz = tsc_hz().max(1);
    (u128::from(read_tsc().saturating_sub(entry)) * 1000 / u128::from(hz)) as u64
}

pub(crate) fn init(info: &BootInfo) {
    if let Some(hz) = info.cmdline.value("hz") {
        match hz.parse::<u32>() {
            Ok(v @ 10..=1000) => HZ.store(v, Ordering::Relaxed),
            _ => log::warn!("time: ignoring hz={hz}: want an integer in 10..=1000"),
        }
    }
    pic::disable();
    // FADT and the HPET table name two of the calibration references (and MADT the IOAPIC);
    // `bus::init` later finds the tables already read.
    crate::bus::acpi::init(info);
    tsc::calibrate(tee_vouched_tsc_hz());
    apic::init();
    ioapic::init();
    let line = TIMER_LINE
        .call_once(|| IrqLine::claim(crate::trap::irq::TIMER_VECTOR).expect("timer vector taken"));
    line.on_active(|| {
        let due = timer::on_interrupt();
        if due > 0 {
            TICKS.fetch_add(due, Ordering::Relaxed);
            crate::task::timer_tick();
            crate::iommu::poll_faults_on_tick();
        }
    });
    apic::start_oneshot_timer();
    timer::start(hz());
}

/// Returns the TSC frequency the TEE vouches for, if any.
///
/// Under TDX, CPUID 0x15 is answered by the TDX module, not the host, from the TD's
/// configured TSC frequency, and the TDX module keeps the virtual TSC at that rate. Under
/// SEV-SNP the counterpart is Secure TSC (the GUEST_TSC_FREQ MSR), which needs the
/// SecureTsc feature negotiated at launch; there is no SNP path yet, so SNP guests fall back
/// to measuring the host's references like an ordinary VM.
fn tee_vouched_tsc_hz() -> Option<u64> {
    match crate::tee::platform() {
        crate::tee::Platform::Tdx => crate::cpu::features().tsc_leaf_hz,
        _ => None,
    }
}

crate::ktest! {
    fn timer_interrupts_arrive() {
        let start = ticks();
        let deadline = monotonic_ns() + 2_000_000_000;
        while ticks() < start + 3 && monotonic_ns() < deadline {
            x86_64::instructions::hlt();
        }
        assert!(ticks() >= start + 3, "only {} timer ticks in 2 s", ticks() - start);
    }

    fn monotonic_clock_advances_and_agrees_with_ticks() {
        let (t0, k0) = (monotonic_ns(), ticks());
        while ticks() < k0 + 5 {
            x86_64::instructions::hlt();
        }
        let elapsed_ns = monotonic_ns() - t0;
        let period_ns = 1_000_000_000 / u64::from(hz());
        // Ticks are accounted from the clock's own deadlines, so five of them cannot pass in
        // less than four whole periods (t0 may fall late in the first). No upper bound: the
        // host may stall the guest for as long as it likes between two interrupts.
        assert!(
            elapsed_ns >= 4 * period_ns,
            "5 ticks passed in {elapsed_ns} ns by the clock, less than 4 periods of {period_ns} ns"
        );
    }
}
