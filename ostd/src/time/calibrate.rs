//! The decisions of TSC calibration: which measurement windows to believe, and which source
//! wins. Pure arithmetic on numbers the hardware side ([`super::reference`]) collected: no
//! hardware access, no `unsafe`, no allocation, so the host-side tests compile this very file
//! (`tests/tests/tsc_calibration.rs` includes it by path).
//!
//! # Windows
//! A window is one stretch of time measured twice: by the TSC and by a reference counter
//! whose rate is known (PIT 1.193182 MHz, ACPI PM timer 3.579545 MHz, HPET as it reports).
//! Each endpoint read of the reference is bracketed by two TSC reads. Under a hypervisor
//! both clocks keep running while the host deschedules us, so a preemption stretches both
//! sides of the ratio alike and is harmless, with two exceptions that [`estimate`] rejects:
//! - a preemption *inside an endpoint bracket* leaves the instant of the reference read
//!   unknown: windows whose brackets exceed [`BRACKET_LIMIT_PPM`] of the window are dropped;
//! - a preemption between two polls that lasts half the reference's wrap period may hide a
//!   whole wrap (the PIT wraps every 55 ms), so the window undercounts reference ticks and
//!   overstates the TSC rate many times over (a boot once calibrated 208,783 MHz). Windows
//!   whose longest poll gap could have lasted that long are dropped. "Could" is judged at
//!   half the provisional median rate, floored at [`MIN_TSC_HZ`].
//!
//! Those checks are physical: a dropped window is known to be bad. The rest vote: each must
//! lie in [`MIN_TSC_HZ`]..=[`MAX_TSC_HZ`] and within [`WINDOW_TOLERANCE_PPM`] of their
//! median, and more than half of them, and at least [`MIN_ACCEPTED`], must pass. The
//! estimate is the median of those that pass ([`combine`], which the APIC timer's
//! calibration uses too).
//!
//! # Choosing between sources
//! [`choose`] applies this rule, first match wins:
//! 1. A frequency the TEE vouches for (TDX: CPUID 0x15 as the TDX module reports it; SNP:
//!    the Secure TSC frequency). The host controls every other source.
//! 2. CPUID 0x15 (present only with a nonzero crystal), unless the measured winner (step 3)
//!    differs from it by more than [`CPUID_OVERRIDE_PPM`]: then the measurement wins.
//! 3. The measured winner: among the references whose [`estimate`] succeeded, the one that
//!    the most other references agree with (within [`AGREE_PPM`]); ties go to the better
//!    reference, HPET, then the PM timer, then the PIT (longest wrap, finest resolution).
//! 4. CPUID 0x16's base frequency (nominal, not the TSC's, but usually equal).
//! 5. An assumed 1 GHz, so that time still advances.
//!
//! Every other usable source is reported as a cross-check: its deviation from the winner.

use core::fmt;
use core::ops::RangeInclusive;

/// The lowest TSC frequency believed (100 MHz).
pub const MIN_TSC_HZ: u64 = 100_000_000;
/// The highest TSC frequency believed (10 GHz).
pub const MAX_TSC_HZ: u64 = 10_000_000_000;
/// The most windows [`estimate`] takes per reference.
pub const MAX_WINDOWS: usize = 16;
/// The fewest windows an estimate rests on.
pub const MIN_ACCEPTED: usize = 3;
/// A window whose two endpoint brackets together exceed this share of it is dropped (0.1%).
pub const BRACKET_LIMIT_PPM: u64 = 1_000;
/// A window further than this from the median of the windows is dropped (1%).
pub const WINDOW_TOLERANCE_PPM: u64 = 10_000;
/// Two sources within this of each other agree (1%).
pub const AGREE_PPM: u64 = 10_000;
/// A measurement overrides CPUID 0x15 when they differ by more than this (10%).
pub const CPUID_OVERRIDE_PPM: u64 = 100_000;
/// The frequency assumed when no source is usable.
pub const ASSUMED_HZ: u64 = 1_000_000_000;

/// Where a TSC frequency came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The TEE vouches for it (TDX CPUID 0x15, SNP Secure TSC).
    Tee,
    /// CPUID leaf 0x15: crystal frequency times the TSC/crystal ratio.
    Cpuid15,
    /// Measured against the HPET main counter.
    Hpet,
    /// Measured against the ACPI PM timer.
    PmTimer,
    /// Measured against PIT channel 2.
    Pit,
    /// CPUID leaf 0x16's base frequency.
    Cpuid16,
    /// Nothing usable: [`ASSUMED_HZ`].
    Assumed,
}

impl Source {
    /// Returns the name the banner prints.
    pub fn name(self) -> &'static str {
        match self {
            Source::Tee => "TEE",
            Source::Cpuid15 => "CPUID 0x15",
            Source::Hpet => "HPET",
            Source::PmTimer => "PM timer",
            Source::Pit => "PIT",
            Source::Cpuid16 => "CPUID 0x16 base",
            Source::Assumed => "assumed",
        }
    }
}

/// A reference counter's rate and wrap period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Ticks per second.
    pub hz: u64,
    /// Ticks after which the counter reads the same again (2^bits).
    pub wrap: u64,
}

/// One measurement window, in TSC ticks and reference ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// TSC ticks between the midpoints of the two endpoint brackets.
    pub tsc: u64,
    /// Reference ticks between the two endpoint reads.
    pub ticks: u64,
    /// TSC ticks spent inside the two endpoint brackets together.
    pub bracket: u64,
    /// The longest TSC interval between two consecutive reference reads.
    pub max_gap: u64,
}

impl Window {
    /// Returns whether the endpoint brackets are short enough to believe the window.
    pub fn is_tight(&self) -> bool {
        is_tight(self.bracket, self.tsc)
    }

    /// Returns the TSC frequency this window implies, or `None` if it implies none
    /// (no reference ticks, or a value past `u64`).
    pub fn hz(&self, reference: Reference) -> Option<u64> {
        if self.ticks == 0 {
            return None;
        }
        u64::try_from(u128::from(self.tsc) * u128::from(reference.hz) / u128::from(self.ticks)).ok()
    }
}

/// A reference's verdict on the TSC frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// The median of the accepted windows, in Hz.
    pub hz: u64,
    /// Windows accepted.
    pub accepted: u8,
    /// Windows taken.
    pub taken: u8,
    /// Highest minus lowest accepted window, relative to `hz`, in parts per million.
    pub spread_ppm: u32,
}

/// Why a reference gave no estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The reference is absent or did not count.
    Unavailable,
    /// No windows were given.
    NoWindows,
    /// More than [`MAX_WINDOWS`] windows were given.
    TooManyWindows(usize),
    /// Fewer than a majority of the windows survived the checks.
    TooFewGood {
        /// Windows that survived.
        accepted: u8,
        /// Windows taken.
        taken: u8,
    },
}

/// Returns whether endpoint brackets of `bracket` TSC ticks in all are short enough, within
/// [`BRACKET_LIMIT_PPM`], for a window `span` TSC ticks long.
pub fn is_tight(bracket: u64, span: u64) -> bool {
    u128::from(bracket) * 1_000_000 <= u128::from(span) * u128::from(BRACKET_LIMIT_PPM)
}

/// Returns the median of `values` (the mean of the middle two for an even count), sorting
/// them; `None` for an empty slice.
pub fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some(
            values[n / 2 - 1] / 2
                + values[n / 2] / 2
                + (values[n / 2 - 1] % 2 + values[n / 2] % 2) / 2,
        ),
    }
}

/// Returns whether two frequencies agree, within [`AGREE_PPM`] of the first.
pub fn agree(a: u64, b: u64) -> bool {
    deviation_ppm(a, b, a) <= AGREE_PPM
}

/// Returns `|a - b|` relative to `base`, in parts per million (saturating).
pub fn deviation_ppm(a: u64, b: u64, base: u64) -> u64 {
    let diff = u128::from(a.abs_diff(b)) * 1_000_000 / u128::from(base.max(1));
    u64::try_from(diff).unwrap_or(u64::MAX)
}

/// Estimates the TSC frequency from `windows` measured against `reference`, with the checks
/// of the [module documentation](self#windows).
///
/// # Errors
/// [`Rejection`] says why no estimate is trustworthy.
pub fn estimate(windows: &[Window], reference: Reference) -> Result<Estimate, Rejection> {
    if windows.is_empty() {
        return Err(Rejection::NoWindows);
    }
    if windows.len() > MAX_WINDOWS {
        return Err(Rejection::TooManyWindows(windows.len()));
    }
    // Pass 1: a frequency, with tight endpoint brackets.
    let mut hz = [None; MAX_WINDOWS];
    for (i, w) in windows.iter().enumerate() {
        hz[i] = w.hz(reference).filter(|_| w.is_tight());
    }
    let hz = &mut hz[..windows.len()];
    let Some(provisional) = median_of(hz, MIN_TSC_HZ..=MAX_TSC_HZ) else {
        return Err(Rejection::TooFewGood { accepted: 0, taken: windows.len() as u8 });
    };

    // Pass 2: no poll gap long enough to hide a wrap, judged at half the provisional rate.
    let slowest = (provisional / 2).max(MIN_TSC_HZ);
    for (f, w) in hz.iter_mut().zip(windows) {
        // The gap lasted at most max_gap / slowest seconds; a wrap takes wrap / ref_hz.
        // Drop the window if the gap could have lasted half a wrap.
        let gap_ticks_x2 = u128::from(w.max_gap) * u128::from(reference.hz) * 2;
        if gap_ticks_x2 >= u128::from(reference.wrap) * u128::from(slowest) {
            *f = None;
        }
    }
    combine(hz, MIN_TSC_HZ..=MAX_TSC_HZ)
}

/// Combines per-window rates (`None` for a window already dropped) into one: rates outside
/// `bounds` or further than [`WINDOW_TOLERANCE_PPM`] from the median of the rest are
/// dropped; at least [`MIN_ACCEPTED`] windows, and more than half of those not dropped
/// before, must remain; the result is their median.
///
/// # Errors
/// [`Rejection::NoWindows`], [`Rejection::TooManyWindows`] or [`Rejection::TooFewGood`].
pub fn combine(rates: &[Option<u64>], bounds: RangeInclusive<u64>) -> Result<Estimate, Rejection> {
    if rates.is_empty() {
        return Err(Rejection::NoWindows);
    }
    if rates.len() > MAX_WINDOWS {
        return Err(Rejection::TooManyWindows(rates.len()));
    }
    let taken = rates.len() as u8;
    let mut kept = [None; MAX_WINDOWS];
    kept[..rates.len()].copy_from_slice(rates);
    let kept = &mut kept[..rates.len()];
    let too_few = |accepted: usize| Rejection::TooFewGood { accepted: accepted as u8, taken };
    // Windows dropped before (`None`) are known to be bad and do not vote; the rest must
    // agree by a majority, or the median may be a bad window's.
    let plausible = kept.iter().flatten().count();
    let center = median_of(kept, bounds.clone()).ok_or(too_few(0))?;
    for r in kept.iter_mut() {
        *r = r.filter(|f| {
            bounds.contains(f) && deviation_ppm(*f, center, center) <= WINDOW_TOLERANCE_PPM
        });
    }
    let accepted = kept.iter().flatten().count();
    if accepted < MIN_ACCEPTED || accepted * 2 <= plausible {
        return Err(too_few(accepted));
    }
    let result = median_of(kept, bounds).ok_or(too_few(0))?;
    let (lo, hi) = kept.iter().flatten().fold((u64::MAX, 0), |(lo, hi), &f| (lo.min(f), hi.max(f)));
    let spread_ppm = u32::try_from(deviation_ppm(hi, lo, result)).unwrap_or(u32::MAX);
    Ok(Estimate { hz: result, accepted: accepted as u8, taken, spread_ppm })
}

/// Returns the median of the rates that are present and within `bounds`.
fn median_of(rates: &[Option<u64>], bounds: RangeInclusive<u64>) -> Option<u64> {
    let mut kept = [0u64; MAX_WINDOWS];
    let mut n = 0;
    for &f in rates.iter().flatten().filter(|f| bounds.contains(f)).take(MAX_WINDOWS) {
        kept[n] = f;
        n += 1;
    }
    median(&mut kept[..n])
}

/// What each source said, for [`choose`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs {
    /// The frequency the TEE vouches for, if any.
    pub tee: Option<u64>,
    /// CPUID 0x15's frequency, if the leaf reports one with a nonzero crystal.
    pub cpuid15: Option<u64>,
    /// CPUID 0x16's base frequency in Hz, if reported.
    pub cpuid16: Option<u64>,
    /// Measured against the HPET.
    pub hpet: Option<Result<Estimate, Rejection>>,
    /// Measured against the ACPI PM timer.
    pub pm_timer: Option<Result<Estimate, Rejection>>,
    /// Measured against the PIT.
    pub pit: Option<Result<Estimate, Rejection>>,
}

/// Another source's opinion of the chosen frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossCheck {
    /// Which source.
    pub source: Source,
    /// Its frequency minus the chosen one, relative to the chosen one, in parts per million.
    pub deviation_ppm: i64,
}

/// The outcome of calibration: the frequency, where it came from, and what the other
/// sources said. Its `Display` is the banner's text: `2601 MHz (PIT, 7/7 windows, spread
/// 0.05%; HPET +0.01%)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibration {
    /// The TSC frequency in Hz, within [`MIN_TSC_HZ`]..=[`MAX_TSC_HZ`].
    pub hz: u64,
    /// The source that won.
    pub source: Source,
    /// The winner's windows, when it was measured.
    pub estimate: Option<Estimate>,
    /// The other usable sources, best first.
    pub checks: [Option<CrossCheck>; 5],
}

/// Picks the TSC frequency by the rule in the
/// [module documentation](self#choosing-between-sources).
pub fn choose(inputs: &Inputs) -> Calibration {
    let sane = |hz: Option<u64>| hz.filter(|f| (MIN_TSC_HZ..=MAX_TSC_HZ).contains(f));
    let measured: [(Source, Option<Estimate>); 3] = [
        (Source::Hpet, inputs.hpet.and_then(Result::ok)),
        (Source::PmTimer, inputs.pm_timer.and_then(Result::ok)),
        (Source::Pit, inputs.pit.and_then(Result::ok)),
    ];
    let measured = measured.map(|(s, e)| (s, e.filter(|e| sane(Some(e.hz)).is_some())));
    let agreeing =
        |hz: u64| measured.iter().filter_map(|(_, e)| *e).filter(|e| agree(hz, e.hz)).count();
    // `max_by_key` keeps the last maximum; iterate worst-first so ties go to the best.
    let best_measured = measured
        .iter()
        .rev()
        .filter_map(|(s, e)| e.map(|e| (*s, e)))
        .max_by_key(|(_, e)| agreeing(e.hz));

    let (hz, source, estimate) = if let Some(hz) = sane(inputs.tee) {
        (hz, Source::Tee, None)
    } else if let Some(hz) = sane(inputs.cpuid15)
        && best_measured.is_none_or(|(_, e)| deviation_ppm(e.hz, hz, hz) <= CPUID_OVERRIDE_PPM)
    {
        (hz, Source::Cpuid15, None)
    } else if let Some((source, e)) = best_measured {
        (e.hz, source, Some(e))
    } else if let Some(hz) = sane(inputs.cpuid16) {
        (hz, Source::Cpuid16, None)
    } else {
        (ASSUMED_HZ, Source::Assumed, None)
    };

    let others = [
        (Source::Tee, sane(inputs.tee)),
        (Source::Cpuid15, sane(inputs.cpuid15)),
        (measured[0].0, measured[0].1.map(|e| e.hz)),
        (measured[1].0, measured[1].1.map(|e| e.hz)),
        (measured[2].0, measured[2].1.map(|e| e.hz)),
        (Source::Cpuid16, sane(inputs.cpuid16)),
    ];
    let mut checks = [None; 5];
    let mut n = 0;
    for (s, other) in others {
        if let Some(other) = other
            && s != source
            && n < checks.len()
        {
            let deviation = (i128::from(other) - i128::from(hz)) * 1_000_000 / i128::from(hz);
            checks[n] = Some(CrossCheck { source: s, deviation_ppm: deviation as i64 });
            n += 1;
        }
    }
    Calibration { hz, source, estimate, checks }
}

/// Writes `ppm` as a percentage with two decimals (`0.05%`, `+1.20%` when `signed`).
fn write_percent(f: &mut fmt::Formatter<'_>, ppm: i64, signed: bool) -> fmt::Result {
    let sign = if ppm < 0 {
        "-"
    } else if signed {
        "+"
    } else {
        ""
    };
    let hundredths = (ppm.unsigned_abs() + 50) / 100;
    write!(f, "{sign}{}.{:02}%", hundredths / 100, hundredths % 100)
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} MHz ({}", self.hz / 1_000_000, self.source.name())?;
        if let Some(e) = self.estimate {
            write!(f, ", {}/{} windows, spread ", e.accepted, e.taken)?;
            write_percent(f, i64::from(e.spread_ppm), false)?;
        }
        for (i, check) in self.checks.iter().flatten().enumerate() {
            write!(f, "{} {} ", if i == 0 { ";" } else { "," }, check.source.name())?;
            write_percent(f, check.deviation_ppm, true)?;
        }
        write!(f, ")")
    }
}

/// TSC ticks to nanoseconds by one multiply and shift (Linux's clocksource mult/shift), so
/// reading the clock divides nothing: a 128-bit division costs more than the rest of a
/// context switch.
///
/// `mult` is 10⁹·2⁴⁰/hz rounded down, so a result is never above the exact `ticks·10⁹/hz`
/// and at most `ticks/2⁴⁰ + 1` ns below it (about 3 ns per hour of uptime at 3 GHz). It is
/// monotonic in `ticks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    mult: u64,
}

impl TscScale {
    const SHIFT: u32 = 40;

    /// The scale for a TSC at `hz`, clamped into [`MIN_TSC_HZ`]..=[`MAX_TSC_HZ`] (which
    /// keeps `mult` within 64 bits).
    pub fn new(hz: u64) -> Self {
        let hz = hz.clamp(MIN_TSC_HZ, MAX_TSC_HZ);
        let mult = (1_000_000_000u128 << Self::SHIFT) / u128::from(hz);
        Self { mult: mult as u64 }
    }

    /// The raw multiplier, for storing in an atomic ([`TscScale::from_raw`]).
    pub fn raw(self) -> u64 {
        self.mult
    }

    /// The scale `raw` came from.
    pub fn from_raw(raw: u64) -> Self {
        Self { mult: raw }
    }

    /// Nanoseconds in `ticks`.
    #[inline]
    pub fn ns(self, ticks: u64) -> u64 {
        ((u128::from(ticks) * u128::from(self.mult)) >> Self::SHIFT) as u64
    }
}
