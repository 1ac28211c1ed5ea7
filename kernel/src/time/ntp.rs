//! The NTP state adjtimex(2) and clock_adjtime(2) report and change (Linux's
//! kernel/time/ntp.c): status, frequency, error estimates, time constant, tick, TAI
//! offset, and adjtime(3)'s pending adjustment.
//!
//! Reading is exact: the same fields, scaled the same way, as Linux reports them, with
//! TIME_ERROR while the clock is unsynchronised (STA_UNSYNC, as after boot). Writing is
//! recorded and reported back, and ADJ_SETOFFSET steps CLOCK_REALTIME; but the clock's rate
//! is the TSC's and is not slewed: a frequency, tick or PLL offset changes nothing but
//! what is read back, and adjtime's offset does not decay. A confidential guest's time
//! comes from the platform, and an NTP daemon steering it is the host's business.

use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};

/// `struct timex` on x86-64: 208 bytes.
pub const TIMEX_SIZE: usize = 208;

const ADJ_OFFSET: u32 = 0x0001;
const ADJ_FREQUENCY: u32 = 0x0002;
const ADJ_MAXERROR: u32 = 0x0004;
const ADJ_ESTERROR: u32 = 0x0008;
const ADJ_STATUS: u32 = 0x0010;
const ADJ_TIMECONST: u32 = 0x0020;
const ADJ_TAI: u32 = 0x0080;
const ADJ_SETOFFSET: u32 = 0x0100;
const ADJ_MICRO: u32 = 0x1000;
const ADJ_NANO: u32 = 0x2000;
const ADJ_TICK: u32 = 0x4000;
/// adjtime(3)'s single-shot offset (with ADJ_OFFSET_READONLY: only read it).
const ADJ_ADJTIME: u32 = 0x8000;
const ADJ_OFFSET_READONLY: u32 = 0x2000;

const STA_PLL: i32 = 0x0001;
const STA_UNSYNC: i32 = 0x0040;
const STA_NANO: i32 = 0x2000;
/// The status bits only the kernel sets.
const STA_RONLY: i32 = 0xff00;
/// Bits that make the clock's state an error (PPS bits are never set here).
const STA_ERROR: i32 = STA_UNSYNC | 0x0800 /* PPSERROR */ | 0x1000 /* CLOCKERR */;

const TIME_OK: i32 = 0;
const TIME_ERROR: i32 = 5;

/// Linux's NTP_PHASE_LIMIT: the error bound of an unsynchronised clock (µs).
const PHASE_LIMIT: i64 = 16_000_000;
/// MAXFREQ (500 ppm in ns/s) scaled by 2^32, and the ppm scale of `freq` (2^16 per ppm, in
/// ns): how Linux stores and reports the frequency.
const MAXFREQ_SCALED: i64 = 500_000 << 32;
const PPM_SCALE: i64 = 1000 << 16;
const PPM_SCALE_INV_SHIFT: u32 = 19;
const PPM_SCALE_INV: i64 = (1 << (PPM_SCALE_INV_SHIFT + 32)) / PPM_SCALE + 1;
/// The largest PLL offset (ns).
const MAXPHASE: i64 = 500_000_000;
/// The longest time constant, and the largest TAI offset.
const MAXTC: i64 = 10;
const MAX_TAI_OFFSET: i64 = 100_000;
/// USER_HZ's tick in µs, and the ±10% a tick may be set within.
const TICK_USEC: i64 = 10_000;
const TICK_MIN: i64 = 9_000;
const TICK_MAX: i64 = 11_000;

struct State {
    status: i32,
    /// Frequency, in ns/s scaled by 2^32.
    freq: i64,
    maxerror: i64,
    esterror: i64,
    constant: i64,
    /// The PLL's offset, in ns.
    offset: i64,
    tick: i64,
    tai: i64,
    /// adjtime(3)'s pending offset, in µs.
    adjust: i64,
}

static STATE: SpinLock<State> = SpinLock::new(State {
    status: STA_UNSYNC,
    freq: 0,
    maxerror: PHASE_LIMIT,
    esterror: PHASE_LIMIT,
    constant: 2,
    offset: 0,
    tick: TICK_USEC,
    tai: 0,
    adjust: 0,
});

/// `struct timex`, the fields this kernel reads or writes (the PPS fields are always 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timex {
    pub modes: u32,
    pub offset: i64,
    pub freq: i64,
    pub maxerror: i64,
    pub esterror: i64,
    pub status: i32,
    pub constant: i64,
    pub precision: i64,
    pub tolerance: i64,
    pub time_sec: i64,
    /// Microseconds, or nanoseconds with ADJ_NANO / STA_NANO.
    pub time_frac: i64,
    pub tick: i64,
    pub tai: i32,
}

fn long_at(b: &[u8; TIMEX_SIZE], off: usize) -> i64 {
    i64::from_le_bytes(b[off..off + 8].try_into().unwrap_or_default())
}

fn int_at(b: &[u8; TIMEX_SIZE], off: usize) -> i32 {
    i32::from_le_bytes(b[off..off + 4].try_into().unwrap_or_default())
}

impl Timex {
    /// Reads the fields from the user's bytes.
    pub fn parse(b: &[u8; TIMEX_SIZE]) -> Self {
        Self {
            modes: int_at(b, 0) as u32,
            offset: long_at(b, 8),
            freq: long_at(b, 16),
            maxerror: long_at(b, 24),
            esterror: long_at(b, 32),
            status: int_at(b, 40),
            constant: long_at(b, 48),
            precision: long_at(b, 56),
            tolerance: long_at(b, 64),
            time_sec: long_at(b, 72),
            time_frac: long_at(b, 80),
            tick: long_at(b, 88),
            tai: int_at(b, 160),
        }
    }

    /// Writes the fields back over the user's bytes (the PPS fields become 0).
    pub fn store(&self, b: &mut [u8; TIMEX_SIZE]) {
        let mut long = |off: usize, v: i64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
        long(8, self.offset);
        long(16, self.freq);
        long(24, self.maxerror);
        long(32, self.esterror);
        long(48, self.constant);
        long(56, self.precision);
        long(64, self.tolerance);
        long(72, self.time_sec);
        long(80, self.time_frac);
        long(88, self.tick);
        for off in [96, 104, 120, 128, 136, 144, 152] {
            long(off, 0); // ppsfreq, jitter, stabil, jitcnt, calcnt, errcnt, stbcnt
        }
        b[0..4].copy_from_slice(&self.modes.to_le_bytes());
        b[40..44].copy_from_slice(&self.status.to_le_bytes());
        b[112..116].copy_from_slice(&0i32.to_le_bytes()); // shift
        b[160..164].copy_from_slice(&self.tai.to_le_bytes());
    }
}

/// The clock was set: what NTP knew of it no longer holds (Linux's ntp_clear): no pending
/// adjustment or offset, unsynchronised, the error bounds at their limit.
pub fn clear() {
    let mut s = STATE.lock();
    s.adjust = 0;
    s.offset = 0;
    s.status |= STA_UNSYNC;
    s.maxerror = PHASE_LIMIT;
    s.esterror = PHASE_LIMIT;
}

/// Linux's shift_right: an arithmetic shift that rounds toward zero.
fn shift_right(value: i64, shift: u32) -> i64 {
    if value < 0 { -((-value) >> shift) } else { value >> shift }
}

/// Checks a request as Linux's timekeeping_validate_timex does, before anything changes:
/// EPERM to change anything (or read adjtime's offset other than read-only) without
/// CAP_SYS_TIME, EINVAL for a tick off by more than 10%, an ADJ_SETOFFSET fraction out of
/// range, or a frequency whose scaling would overflow.
fn validate(tx: &Timex, privileged: bool) -> SysResult<()> {
    if tx.modes & ADJ_ADJTIME != 0 {
        if tx.modes & ADJ_OFFSET_READONLY == 0 && !privileged {
            return Err(Errno::EPERM);
        }
    } else {
        if tx.modes != 0 && !privileged {
            return Err(Errno::EPERM);
        }
        if tx.modes & ADJ_TICK != 0 && !(TICK_MIN..=TICK_MAX).contains(&tx.tick) {
            return Err(Errno::EINVAL);
        }
    }
    if tx.modes & ADJ_SETOFFSET != 0 {
        let limit = if tx.modes & ADJ_NANO != 0 { 1_000_000_000 } else { 1_000_000 };
        if !(0..limit).contains(&tx.time_frac) {
            return Err(Errno::EINVAL);
        }
    }
    if tx.modes & ADJ_FREQUENCY != 0 && tx.freq.checked_mul(PPM_SCALE).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// adjtimex(2) on CLOCK_REALTIME: validates, steps the clock for ADJ_SETOFFSET, applies
/// the other modes, and fills `tx` with the state. Returns the clock state (TIME_OK, or
/// TIME_ERROR while unsynchronised).
pub fn adjust(tx: &mut Timex, privileged: bool) -> SysResult<i32> {
    validate(tx, privileged)?;
    if tx.modes & ADJ_SETOFFSET != 0 {
        let scale = if tx.modes & ADJ_NANO != 0 { 1 } else { 1000 };
        let delta = i128::from(tx.time_sec) * 1_000_000_000 + i128::from(tx.time_frac * scale);
        let now = super::clock::realtime();
        let target = i128::from(now.sec) * 1_000_000_000 + i128::from(now.nsec) + delta;
        let target = i64::try_from(target).ok().filter(|&t| t >= 0).ok_or(Errno::EINVAL)?;
        super::clock::set_realtime_ns(target);
        clear();
    }
    let mut s = STATE.lock();
    if tx.modes & ADJ_ADJTIME != 0 {
        let previous = s.adjust;
        if tx.modes & ADJ_OFFSET_READONLY == 0 {
            s.adjust = tx.offset;
        }
        tx.offset = previous;
    } else {
        if tx.modes != 0 {
            apply(&mut s, tx);
        }
        // Linux divides through u32 in microsecond mode, negative offsets included.
        tx.offset =
            if s.status & STA_NANO != 0 { s.offset } else { i64::from(s.offset as u32 / 1000) };
    }
    tx.freq = shift_right((s.freq >> PPM_SCALE_INV_SHIFT) * PPM_SCALE_INV, 32);
    tx.maxerror = s.maxerror;
    tx.esterror = s.esterror;
    tx.status = s.status;
    tx.constant = s.constant;
    tx.precision = 1;
    tx.tolerance = MAXFREQ_SCALED / PPM_SCALE;
    tx.tick = s.tick;
    tx.tai = s.tai as i32;
    let now = super::clock::realtime();
    tx.time_sec = now.sec;
    tx.time_frac = if s.status & STA_NANO != 0 { now.nsec } else { now.nsec / 1000 };
    Ok(if s.status & STA_ERROR != 0 { TIME_ERROR } else { TIME_OK })
}

/// Linux's process_adjtimex_modes, without the PLL's effect on the clock.
fn apply(s: &mut State, tx: &Timex) {
    if tx.modes & ADJ_STATUS != 0 {
        if s.status & STA_PLL != 0 && tx.status & STA_PLL == 0 {
            s.status = STA_UNSYNC;
        }
        s.status &= STA_RONLY;
        s.status |= tx.status & !STA_RONLY;
    }
    if tx.modes & ADJ_NANO != 0 {
        s.status |= STA_NANO;
    }
    if tx.modes & ADJ_MICRO != 0 {
        s.status &= !STA_NANO;
    }
    if tx.modes & ADJ_FREQUENCY != 0 {
        s.freq = (tx.freq * PPM_SCALE).clamp(-MAXFREQ_SCALED, MAXFREQ_SCALED);
    }
    if tx.modes & ADJ_MAXERROR != 0 {
        s.maxerror = tx.maxerror;
    }
    if tx.modes & ADJ_ESTERROR != 0 {
        s.esterror = tx.esterror;
    }
    if tx.modes & ADJ_TIMECONST != 0 {
        let constant =
            if s.status & STA_NANO == 0 { tx.constant.saturating_add(4) } else { tx.constant };
        s.constant = constant.clamp(0, MAXTC);
    }
    if tx.modes & ADJ_TAI != 0 && (0..=MAX_TAI_OFFSET).contains(&tx.constant) {
        s.tai = tx.constant;
    }
    if tx.modes & ADJ_OFFSET != 0 && s.status & STA_PLL != 0 {
        let ns = if s.status & STA_NANO != 0 { tx.offset } else { tx.offset.saturating_mul(1000) };
        s.offset = ns.clamp(-MAXPHASE, MAXPHASE);
    }
    if tx.modes & ADJ_TICK != 0 {
        s.tick = tx.tick;
    }
}

ostd::ktest! {
    fn adjtimex_reports_linux_scaling_of_the_frequency() {
        // What Linux reports for a frequency it was given (values from its arithmetic).
        let reported = |freq: i64| {
            let scaled = (freq * PPM_SCALE).clamp(-MAXFREQ_SCALED, MAXFREQ_SCALED);
            shift_right((scaled >> PPM_SCALE_INV_SHIFT) * PPM_SCALE_INV, 32)
        };
        assert_eq!(reported(1), 1);
        assert_eq!(reported(65536), 65536);
        assert_eq!(reported(-65536), -65536);
        assert_eq!(reported(40_000_000), 32_768_000, "clamped to 500 ppm");
        assert_eq!(MAXFREQ_SCALED / PPM_SCALE, 32_768_000);
    }
}
