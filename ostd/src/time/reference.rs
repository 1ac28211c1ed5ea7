//! The reference counters the TSC is measured against, and the measurement of one window.
//!
//! Three counters, each read by polling and none by interrupt: PIT channel 2 (free-running
//! in mode 2, its count latched and read), the ACPI PM timer (a port named by FADT) and the
//! HPET main counter (MMIO named by the HPET table). What a window's numbers mean, and which
//! windows to believe, is [`super::calibrate`]'s business.

use crate::io_port::Port;

use super::calibrate::{Reference, Source, Window};
use super::read_tsc;
use crate::mm::IoMem;

const PIT_HZ: u64 = 1_193_182;
const PM_TIMER_HZ: u64 = 3_579_545;
/// The HPET spec caps the tick period at 100 ns (0x05F5E100 fs).
const HPET_MAX_PERIOD_FS: u64 = 100_000_000;
const HPET_CAPABILITIES: usize = 0x00;
const HPET_CONFIG: usize = 0x10;
const HPET_COUNTER: usize = 0xf0;
const HPET_ENABLE: u32 = 1;

/// A reference counter, set up to count; dropping it puts the hardware back as it was.
pub(super) enum Counter {
    /// PIT channel 2; holds port 0x61's value from before.
    Pit { gate_before: u8 },
    /// The ACPI PM timer at `port`, `bits` wide.
    PmTimer { port: u16, bits: u8 },
    /// The HPET; `enabled_here` when calibration started the main counter.
    Hpet { mmio: IoMem, hz: u64, enabled_here: bool },
}

impl Counter {
    /// Starts PIT channel 2 free-running: mode 2 (rate generator), reload 65536, speaker off.
    pub(super) fn pit() -> Self {
        let mut gate = Port::<u8>::new(0x61);
        // Gate on (bit 0), speaker data off (bit 1); command 0xb4 selects channel 2,
        // low-then-high byte, mode 2, binary; a reload of 0 means 65536.
        // SAFETY: ports 0x61 (speaker gate), 0x43 (PIT command) and 0x42 (PIT channel 2)
        // drive only the PIT and the speaker; nothing else in the kernel uses either.
        let gate_before = unsafe {
            let before = gate.read();
            gate.write((before & !0x02) | 0x01);
            Port::<u8>::new(0x43).write(0xb4);
            let mut channel2 = Port::<u8>::new(0x42);
            channel2.write(0);
            channel2.write(0);
            before
        };
        Counter::Pit { gate_before }
    }

    /// Returns the PM timer named by FADT, if any.
    pub(super) fn pm_timer() -> Option<Self> {
        let block = crate::bus::acpi::pm_timer()?;
        Some(Counter::PmTimer { port: block.port, bits: block.bits })
    }

    /// Maps the HPET named by ACPI and starts its main counter, if it has a sane period.
    pub(super) fn hpet() -> Option<Self> {
        let base = crate::bus::acpi::hpet_base()?;
        let mmio = match IoMem::map(base, 1024) {
            Ok(mmio) => mmio,
            Err(e) => {
                log::warn!("time: ignoring the HPET at {base:#x}: {e}");
                return None;
            }
        };
        let period_fs = u64::from(mmio.read::<u32>(HPET_CAPABILITIES + 4));
        if period_fs == 0 || period_fs > HPET_MAX_PERIOD_FS {
            log::warn!("time: HPET reports a period of {period_fs} fs; not using it");
            return None;
        }
        let config = mmio.read::<u32>(HPET_CONFIG);
        let enabled_here = config & HPET_ENABLE == 0;
        if enabled_here {
            // The timers' own interrupt enables are left alone (clear after reset), so
            // starting the main counter raises nothing.
            mmio.write::<u32>(HPET_CONFIG, config | HPET_ENABLE);
        }
        Some(Counter::Hpet { hz: 1_000_000_000_000_000 / period_fs, mmio, enabled_here })
    }

    /// Returns which calibration source this counter is.
    pub(super) fn source(&self) -> Source {
        match self {
            Counter::Pit { .. } => Source::Pit,
            Counter::PmTimer { .. } => Source::PmTimer,
            Counter::Hpet { .. } => Source::Hpet,
        }
    }

    /// Returns the counter's rate and wrap period.
    pub(super) fn reference(&self) -> Reference {
        match self {
            Counter::Pit { .. } => Reference { hz: PIT_HZ, wrap: 1 << 16 },
            Counter::PmTimer { bits, .. } => Reference { hz: PM_TIMER_HZ, wrap: 1 << bits },
            // Only the low 32 bits are read: one access, no torn 64-bit value.
            Counter::Hpet { hz, .. } => Reference { hz: *hz, wrap: 1 << 32 },
        }
    }

    /// Reads the counter, as a value that counts up modulo the wrap period.
    fn read(&mut self) -> u64 {
        match self {
            Counter::Pit { .. } => {
                // SAFETY: as in `pit`: 0x43/0x42 reach only PIT channel 2. 0x80 latches
                // channel 2's count, which then reads low byte first.
                let count = unsafe {
                    Port::<u8>::new(0x43).write(0x80);
                    let mut channel2 = Port::<u8>::new(0x42);
                    u16::from_le_bytes([channel2.read(), channel2.read()])
                };
                u64::from(0u16.wrapping_sub(count)) // it counts down
            }
            Counter::PmTimer { port, bits } => {
                // SAFETY: FADT names this port as the PM timer, a read-only counter whose
                // reads have no side effects.
                let value = unsafe { Port::<u32>::new(*port).read() };
                u64::from(value) & ((1 << *bits) - 1)
            }
            Counter::Hpet { mmio, .. } => u64::from(mmio.read::<u32>(HPET_COUNTER)),
        }
    }

    /// Returns the counter value and the TSC ticks just before and just after reading it.
    fn bracketed_read(&mut self) -> (u64, u64, u64) {
        let before = read_tsc();
        let value = self.read();
        (before, value, read_tsc())
    }

    /// Measures one window of at least `ticks` reference ticks, polling the counter, or
    /// `None` if the counter stands still.
    pub(super) fn window(&mut self, ticks: u64) -> Option<Window> {
        // A counter that has not moved in this many reads is dead: at 1 MHz, even a read
        // of 10 ns would see a tick every 100 reads.
        const STUCK_READS: u32 = 1_000_000;
        let mask = self.reference().wrap - 1;
        let (s0, first, s1) = self.bracketed_read();
        let (mut prev_value, mut prev_tsc) = (first, s1);
        // TSC differences saturate: should the host step the TSC back, the window measures
        // nothing (and is then dropped) rather than a huge wrapped difference.
        let (mut counted, mut max_gap, mut still) = (0u64, s1.saturating_sub(s0), 0u32);
        loop {
            let (e0, value, e1) = self.bracketed_read();
            max_gap = max_gap.max(e1.saturating_sub(prev_tsc));
            let step = value.wrapping_sub(prev_value) & mask;
            counted += step;
            still = if step == 0 { still + 1 } else { 0 };
            if still >= STUCK_READS {
                return None;
            }
            (prev_value, prev_tsc) = (value, e1);
            if counted >= ticks {
                let mid = |a: u64, b: u64| a + b.saturating_sub(a) / 2;
                let bracket = s1.saturating_sub(s0) + e1.saturating_sub(e0);
                return Some(Window {
                    tsc: mid(e0, e1).saturating_sub(mid(s0, s1)),
                    ticks: counted,
                    bracket,
                    max_gap,
                });
            }
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        match self {
            // SAFETY: restores port 0x61 (speaker gate) to its value before `pit`.
            Counter::Pit { gate_before } => unsafe { Port::<u8>::new(0x61).write(*gate_before) },
            Counter::PmTimer { .. } => {}
            Counter::Hpet { mmio, enabled_here, .. } => {
                if *enabled_here {
                    mmio.write::<u32>(HPET_CONFIG, mmio.read::<u32>(HPET_CONFIG) & !HPET_ENABLE);
                }
            }
        }
    }
}
