//! The local APIC: x2APIC (MSRs) where the CPU has it, xAPIC (MMIO) otherwise.

use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;
use x86_64::registers::model_specific::Msr;

use super::calibrate::{MAX_WINDOWS, Rejection, combine, is_tight};
use crate::mm::IoMem;
use crate::trap::irq::{SPURIOUS_VECTOR, TIMER_VECTOR};

const IA32_APIC_BASE: u32 = 0x1b;
const REG_ID: u32 = 0x20;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_ICR_LOW: u32 = 0x300;
const REG_ICR_HIGH: u32 = 0x310;
const REG_LVT_TIMER: u32 = 0x320;
const REG_TIMER_INIT: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3e0;
const X2APIC_SELF_IPI_MSR: u32 = 0x83f;
const LVT_MASKED: u32 = 1 << 16;

enum Apic {
    X2,
    Mmio(IoMem),
}

static APIC: Once<Apic> = Once::new();
/// The timer's measured rate (counts per second, after the divider); 0 until measured.
static TIMER_RATE: AtomicU64 = AtomicU64::new(0);

/// Returns whether the APIC runs in x2APIC mode.
pub fn is_x2apic() -> bool {
    matches!(APIC.get(), Some(Apic::X2))
}

fn read(reg: u32) -> u32 {
    match APIC.get() {
        // SAFETY: reading an x2APIC register MSR (0x800 + reg/16) has no side effects for
        // the registers this file reads (ID, timer count).
        Some(Apic::X2) => unsafe { Msr::new(0x800 + (reg >> 4)).read() as u32 },
        Some(Apic::Mmio(mmio)) => mmio.read::<u32>(reg as usize),
        None => 0,
    }
}

fn write(reg: u32, value: u32) {
    match APIC.get() {
        // SAFETY: writing x2APIC register MSRs affects only interrupt delivery to this CPU,
        // which this module owns.
        Some(Apic::X2) => unsafe { Msr::new(0x800 + (reg >> 4)).write(u64::from(value)) },
        Some(Apic::Mmio(mmio)) => mmio.write::<u32>(reg as usize, value),
        None => {}
    }
}

pub(super) fn init() {
    let mut base_msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86-64 CPU; reading it has no side effects.
    let base = unsafe { base_msr.read() };
    let apic = if crate::cpu::features().x2apic {
        // SAFETY: setting EN and EXTD switches this CPU's APIC to x2APIC mode, which the
        // CPU supports (CPUID); nothing else uses the APIC yet.
        unsafe { base_msr.write(base | (1 << 11) | (1 << 10)) };
        Apic::X2
    } else {
        // SAFETY: setting EN keeps the APIC at its current MMIO base.
        unsafe { base_msr.write(base | (1 << 11)) };
        let mmio = IoMem::map(base & 0xf_ffff_f000, 4096).unwrap_or_else(|e| {
            crate::early_println!("FATAL: the local APIC's MMIO base is unusable: {e}");
            crate::power::exit_qemu(crate::power::ExitCode::Failure)
        });
        Apic::Mmio(mmio)
    };
    APIC.call_once(|| apic);
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
    write(REG_LVT_TIMER, LVT_MASKED);
}

/// Returns this CPU's APIC ID.
pub fn apic_id() -> u32 {
    let id = read(REG_ID);
    if is_x2apic() { id } else { id >> 24 }
}

/// Acknowledges the interrupt being serviced.
pub(crate) fn end_of_interrupt() {
    write(REG_EOI, 0);
}

/// Sends `vector` to this CPU as a fixed interrupt.
pub(crate) fn self_interrupt(vector: u8) {
    match APIC.get() {
        // SAFETY: the x2APIC SELF IPI register only raises `vector` on this CPU.
        Some(Apic::X2) => unsafe { Msr::new(X2APIC_SELF_IPI_MSR).write(u64::from(vector)) },
        Some(Apic::Mmio(_)) => {
            write(REG_ICR_HIGH, 0);
            write(REG_ICR_LOW, u32::from(vector) | (1 << 18)); // destination shorthand: self
        }
        None => {}
    }
}

/// The APIC timer's rate after the divide-by-16 that [`start_oneshot_timer`] sets:
/// 100 kHz (a 1.6 MHz bus) to 1 GHz (a 16 GHz bus), a range wider than any real one.
const TIMER_RATE_BOUNDS: core::ops::RangeInclusive<u64> = 100_000..=1_000_000_000;
/// The APIC timer's rate is measured in windows of 2 ms of TSC time, until this many have
/// tight endpoint brackets or [`MAX_WINDOWS`] have been taken.
const TIGHT_WINDOWS: usize = 5;

/// Calibrates the timer against the TSC and sets it up one-shot on the timer vector,
/// disarmed ([`arm_oneshot_ns`] arms it).
pub(super) fn start_oneshot_timer() {
    write(REG_TIMER_DIVIDE, 0x3); // divide by 16
    write(REG_LVT_TIMER, LVT_MASKED);
    let rate = match measure_timer_rate() {
        Ok(estimate) => estimate.hz,
        Err(why) => {
            // 62.5 MHz: QEMU's and KVM's 1 GHz APIC bus, divided by 16.
            log::warn!("time: APIC timer calibration failed ({why:?}); assuming 62.5 MHz");
            62_500_000
        }
    };
    TIMER_RATE.store(rate, Ordering::Relaxed);
    // LVT timer mode 00: one-shot.
    write(REG_LVT_TIMER, u32::from(TIMER_VECTOR));
}

/// Arms the one-shot timer to fire once, `delay_ns` from now (at least one count: a
/// count of 0 would disarm it instead).
pub(super) fn arm_oneshot_ns(delay_ns: u64) {
    let rate = TIMER_RATE.load(Ordering::Relaxed);
    if rate == 0 {
        return;
    }
    let counts = (u128::from(delay_ns) * u128::from(rate)).div_ceil(1_000_000_000);
    write(REG_TIMER_INIT, counts.clamp(1, u128::from(u32::MAX)) as u32);
}

/// Measures the APIC timer's rate (ticks per second) against the TSC, over several
/// one-shot windows combined as TSC calibration combines its windows.
///
/// The timer counts down from `u32::MAX` (masked, so it raises nothing); both ends of a
/// window read the current count between two TSC reads, and a window whose reads were
/// stretched (the host preempted us mid-read) is dropped. A preemption between the reads
/// is harmless: both clocks run on.
fn measure_timer_rate() -> Result<super::Estimate, Rejection> {
    let tsc_hz = super::tsc_hz();
    let window_tsc = tsc_hz / 500; // 2 ms
    let mut rates = [None; MAX_WINDOWS];
    let (mut taken, mut tight) = (0, 0);
    while taken < MAX_WINDOWS && tight < TIGHT_WINDOWS {
        write(REG_TIMER_INIT, u32::MAX);
        let (s0, start, s1) = (super::read_tsc(), read(REG_TIMER_CURRENT), super::read_tsc());
        while super::read_tsc().saturating_sub(s1) < window_tsc {
            core::hint::spin_loop();
        }
        let (e0, end, e1) = (super::read_tsc(), read(REG_TIMER_CURRENT), super::read_tsc());
        // Saturating: the host could make the TSC step back; that window then measures nothing.
        let mid = |a: u64, b: u64| a + b.saturating_sub(a) / 2;
        let tsc = mid(e0, e1).saturating_sub(mid(s0, s1));
        let bracket = s1.saturating_sub(s0) + e1.saturating_sub(e0);
        // A count of 0 means the one-shot ran out: the window measured nothing.
        if let Some(ticks) = start.checked_sub(end)
            && is_tight(bracket, tsc)
            && end != 0
            && tsc != 0
        {
            rates[taken] =
                u64::try_from(u128::from(ticks) * u128::from(tsc_hz) / u128::from(tsc)).ok();
            tight += 1;
        }
        taken += 1;
    }
    write(REG_TIMER_INIT, 0);
    combine(&rates[..taken], TIMER_RATE_BOUNDS)
}
