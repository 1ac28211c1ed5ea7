//! The CMOS real-time clock, read once at boot for the wall-clock epoch.
//!
//! Under a TEE the RTC is the host's, so wall time is untrusted; it is only a starting
//! point for `CLOCK_REALTIME`. Values are read until two reads agree (the RTC may be
//! mid-update), and BCD is decoded when the status register says so.

use crate::io_port::Port;

fn read_register(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index/data pair; bit 7 of the index (NMI disable)
    // is left clear. Reading RTC registers has no side effects.
    unsafe {
        Port::<u8>::new(0x70).write(reg);
        Port::<u8>::new(0x71).read()
    }
}

fn snapshot() -> [u8; 7] {
    // Wait out an update in progress (status A bit 7), bounded.
    for _ in 0..10_000 {
        if read_register(0x0a) & 0x80 == 0 {
            break;
        }
    }
    [
        read_register(0x00),
        read_register(0x02),
        read_register(0x04),
        read_register(0x07),
        read_register(0x08),
        read_register(0x09),
        read_register(0x32),
    ]
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's algorithm: days since 1970-01-01 for a proleptic Gregorian date.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Returns the RTC's time as seconds since the Unix epoch, or `None` if it reads as nonsense.
pub fn read_unix_time() -> Option<i64> {
    let mut a = snapshot();
    for _ in 0..5 {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = read_register(0x0b);
    let bcd = status_b & 0x04 == 0;
    let dec = |v: u8| if bcd { i64::from((v & 0x0f) + (v >> 4) * 10) } else { i64::from(v) };
    let (sec, min, mut hour) = (dec(a[0]), dec(a[1]), dec(a[2] & 0x7f));
    if status_b & 0x02 == 0 && a[2] & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour mode, PM
    }
    let (day, month, year) = (dec(a[3]), dec(a[4]), dec(a[5]));
    let century = match dec(a[6]) {
        c @ 19..=21 => c,
        _ => 20,
    };
    let year = century * 100 + year;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}
