//! The TSC as a monotonic clock.
//!
//! Calibrated once at boot: from CPUID leaf 0x15 when the CPU reports it, otherwise against
//! PIT channel 2 over 20 ms. Under a TEE both sources come from the host; the clock is for
//! scheduling and timestamps, never for security decisions.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::instructions::port::Port;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_ZERO: AtomicU64 = AtomicU64::new(0);

/// Reads the time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: RDTSC has no side effects; every x86-64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Returns the TSC frequency (0 before calibration).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Returns nanoseconds since calibration.
pub fn monotonic_ns() -> u64 {
    let hz = tsc_hz();
    if hz == 0 {
        return 0;
    }
    let delta = read_tsc().saturating_sub(TSC_ZERO.load(Ordering::Relaxed));
    (u128::from(delta) * 1_000_000_000 / u128::from(hz)) as u64
}

pub(super) fn calibrate() {
    let hz = crate::cpu::features().tsc_leaf_hz.unwrap_or_else(calibrate_with_pit);
    TSC_ZERO.store(read_tsc(), Ordering::Relaxed);
    TSC_HZ.store(hz.max(1), Ordering::Relaxed);
}

fn calibrate_with_pit() -> u64 {
    const PIT_HZ: u64 = 1_193_182;
    const MS: u64 = 20;
    let count = (PIT_HZ * MS / 1000) as u16;
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: ports 0x61 (speaker gate), 0x43 (PIT command) and 0x42 (PIT channel 2) drive
    // only the PIT and the speaker; channel 2 is not used for anything else.
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        command.write(0xb0); // channel 2, lobyte/hibyte, mode 0, binary
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        let start = read_tsc();
        let mut spins = 0u64;
        while gate.read() & 0x20 == 0 && spins < 50_000_000 {
            spins += 1;
        }
        let end = read_tsc();
        if spins >= 50_000_000 {
            log::warn!("time: PIT did not count down; assuming a 1 GHz TSC");
            return 1_000_000_000;
        }
        (end - start) * 1000 / MS
    }
}
