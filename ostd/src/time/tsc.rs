//! The TSC as a monotonic clock, calibrated once at boot.
//!
//! [`calibrate`] gathers every source there is: the frequency a TEE vouches for, CPUID
//! leaves 0x15 and 0x16, and measurements against the HPET, the ACPI PM timer and PIT
//! channel 2 ([`super::reference`]), several short windows each (the PIT only when the
//! other two are not both there and in agreement). [`super::calibrate`]
//! decides which windows to believe and which source wins; [`calibration`] says what it
//! decided, and the boot banner prints it.
//!
//! Without a TEE every source comes from the host, which may lie or, on a busy machine,
//! simply deschedule us mid-measurement: the clock is for scheduling and timestamps, never
//! for security decisions.

use crate::cpu::cpuid;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use super::calibrate::{
    self, Calibration, Estimate, Inputs, MAX_WINDOWS, Rejection, TscScale, Window,
};
use super::reference::Counter;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_ZERO: AtomicU64 = AtomicU64::new(0);
/// `TscScale::raw` of the calibrated frequency (0 before calibration).
static TSC_SCALE: AtomicU64 = AtomicU64::new(0);
static CALIBRATION: Once<Calibration> = Once::new();

/// Each reference is measured in windows of [`WINDOW_US`], until [`TIGHT_WINDOWS`] have
/// tight endpoint brackets and the windows give an estimate, or [`MAX_WINDOWS`] have been
/// taken: on a busy host many reads are stretched by preemption, and those windows do not
/// count.
const TIGHT_WINDOWS: usize = 5;
const WINDOW_US: u64 = 2_000;

/// Reads the time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: RDTSC has no side effects; every x86-64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Returns the TSC frequency (0 before calibration).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Returns how the TSC frequency was found (`None` before calibration).
pub fn calibration() -> Option<&'static Calibration> {
    CALIBRATION.get()
}

/// Returns nanoseconds since calibration.
pub fn monotonic_ns() -> u64 {
    let scale = TSC_SCALE.load(Ordering::Relaxed);
    let delta = read_tsc().saturating_sub(TSC_ZERO.load(Ordering::Relaxed));
    TscScale::from_raw(scale).ns(delta)
}

/// Calibrates the TSC. `vouched` is the frequency the TEE guarantees, if it does: it wins
/// over everything else, and the host-controlled references are then not measured at all.
pub(super) fn calibrate(vouched: Option<u64>) {
    let mut inputs = Inputs {
        tee: vouched,
        cpuid15: crate::cpu::features().tsc_leaf_hz,
        cpuid16: cpuid16_base_hz(),
        ..Inputs::default()
    };
    if vouched.is_none() {
        inputs.hpet = Counter::hpet().map(measure);
        inputs.pm_timer = Counter::pm_timer().map(measure);
        // Two references that agree settle the matter: the PIT could only tip the choice
        // between them, and they agree within 1%. So the PIT, the slowest to read and the
        // quickest to wrap, is then not measured.
        let hz = |r: Option<Result<Estimate, Rejection>>| r.and_then(Result::ok).map(|e| e.hz);
        if !matches!(
            (hz(inputs.hpet), hz(inputs.pm_timer)),
            (Some(a), Some(b)) if calibrate::agree(a, b)
        ) {
            inputs.pit = Some(measure(Counter::pit()));
        }
    }
    for (name, result) in
        [("HPET", inputs.hpet), ("PM timer", inputs.pm_timer), ("PIT", inputs.pit)]
    {
        if let Some(Err(why)) = result {
            log::warn!("time: TSC calibration against the {name} failed: {why:?}");
        }
    }
    let chosen = calibrate::choose(&inputs);
    if chosen.checks.iter().flatten().any(|c| c.deviation_ppm.unsigned_abs() > calibrate::AGREE_PPM)
    {
        log::warn!("time: TSC clock sources disagree: {chosen}");
    }
    TSC_ZERO.store(read_tsc(), Ordering::Relaxed);
    TSC_HZ.store(chosen.hz, Ordering::Relaxed);
    TSC_SCALE.store(TscScale::new(chosen.hz).raw(), Ordering::Relaxed);
    CALIBRATION.call_once(|| chosen);
}

/// Measures the TSC against `counter`, in windows as [`TIGHT_WINDOWS`] says.
fn measure(mut counter: Counter) -> Result<Estimate, Rejection> {
    let reference = counter.reference();
    let ticks = reference.hz * WINDOW_US / 1_000_000;
    let dead = |counter: &Counter| {
        log::warn!("time: the {} does not count", counter.source().name());
        Err(Rejection::Unavailable)
    };
    // A first, discarded window: under an emulator the first reads are slow (the code is
    // being translated), which would stretch the first real window's brackets.
    if counter.window(1).is_none() {
        return dead(&counter);
    }
    let mut windows = [Window { tsc: 0, ticks: 0, bracket: 0, max_gap: 0 }; MAX_WINDOWS];
    let (mut taken, mut tight) = (0, 0);
    loop {
        let Some(window) = counter.window(ticks) else { return dead(&counter) };
        tight += usize::from(window.is_tight());
        windows[taken] = window;
        taken += 1;
        if tight >= TIGHT_WINDOWS || taken == MAX_WINDOWS {
            let estimate = calibrate::estimate(&windows[..taken], reference);
            if estimate.is_ok() || taken == MAX_WINDOWS {
                return estimate;
            }
        }
    }
}

/// Returns CPUID leaf 0x16's base frequency in Hz, if the leaf exists and reports one.
fn cpuid16_base_hz() -> Option<u64> {
    if cpuid(0, 0).eax < 0x16 {
        return None;
    }
    let mhz = cpuid(0x16, 0).eax & 0xffff;
    (mhz != 0).then(|| u64::from(mhz) * 1_000_000)
}
