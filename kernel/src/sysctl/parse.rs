//! What a write to a /proc/sys file says, read as Linux's proc handlers read it
//! (kernel/sysctl.c: `proc_get_long`, `_proc_do_string`).

use alloc::vec::Vec;

use crate::error::{Errno, SysResult};

/// The longest number Linux's parser takes, in characters (its TMPBUFLEN less one).
const MAX_NUMBER: usize = 21;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Integers written to a file holding up to `count` of them: separated and surrounded
/// by white space, decimal or C-style hex (`0x`) or octal (`0`), a '-' only when `signed`.
/// Returns the values and how many bytes of `buf` they took (the write's result: Linux
/// leaves what follows the last value it stores unconsumed).
///
/// # Errors
/// EINVAL for no value at all, a malformed or overlong number, a value past 64 bits, or
/// a number not followed by white space.
pub fn integers(buf: &[u8], count: usize, signed: bool) -> SysResult<(Vec<i64>, usize)> {
    let mut values = Vec::new();
    let mut at = 0;
    while values.len() < count {
        while at < buf.len() && is_space(buf[at]) {
            at += 1;
        }
        if at == buf.len() {
            break;
        }
        let (value, len) = integer(&buf[at..], signed)?;
        values.push(value);
        at += len;
    }
    if values.is_empty() {
        return Err(Errno::EINVAL);
    }
    while at < buf.len() && is_space(buf[at]) {
        at += 1;
    }
    Ok((values, at))
}

/// One unsigned long written to a file (Linux's `proc_doulongvec_minmax`: up to 2^64 - 1).
///
/// # Errors
/// As [`integers`], and for a '-'.
pub fn unsigned_long(buf: &[u8]) -> SysResult<(u64, usize)> {
    let mut at = 0;
    while at < buf.len() && is_space(buf[at]) {
        at += 1;
    }
    if at == buf.len() {
        return Err(Errno::EINVAL);
    }
    let (negative, magnitude, len) = number(&buf[at..], false)?;
    debug_assert!(!negative);
    at += len;
    while at < buf.len() && is_space(buf[at]) {
        at += 1;
    }
    Ok((magnitude, at))
}

/// One number at the start of `buf`, and its length.
fn integer(buf: &[u8], signed: bool) -> SysResult<(i64, usize)> {
    let (negative, magnitude, at) = number(buf, signed)?;
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude).ok_or(Errno::EINVAL)?
    } else {
        i64::try_from(magnitude).map_err(|_| Errno::EINVAL)?
    };
    Ok((value, at))
}

/// One number's sign, magnitude and length at the start of `buf`.
fn number(buf: &[u8], signed: bool) -> SysResult<(bool, u64, usize)> {
    let text = &buf[..buf.len().min(MAX_NUMBER)];
    let negative = text.first() == Some(&b'-');
    if negative && !signed {
        return Err(Errno::EINVAL);
    }
    let mut at = usize::from(negative);
    let radix = match text.get(at..at + 2) {
        Some([b'0', b'x' | b'X']) if text.get(at + 2).is_some_and(u8::is_ascii_hexdigit) => {
            at += 2;
            16
        }
        Some([b'0', _]) => 8,
        _ => 10,
    };
    let digits_start = at;
    let mut magnitude: u64 = 0;
    while let Some(digit) = text.get(at).and_then(|&b| char::from(b).to_digit(radix)) {
        magnitude = magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(digit)))
            .ok_or(Errno::EINVAL)?;
        at += 1;
    }
    if at == digits_start {
        return Err(Errno::EINVAL);
    }
    // A number cut short by the length limit, or followed by anything but white space.
    if at == MAX_NUMBER && buf.len() > MAX_NUMBER || at < buf.len() && !is_space(buf[at]) {
        return Err(Errno::EINVAL);
    }
    Ok((negative, magnitude, at))
}

/// A string written to a file holding one of at most `max` bytes: up to the first newline
/// or NUL, cut at `max` (Linux keeps what fits). Returns it and the bytes consumed (all).
pub fn string(buf: &[u8], max: usize) -> (&[u8], usize) {
    let end = buf.iter().position(|&b| b == b'\n' || b == 0).unwrap_or(buf.len());
    (&buf[..end.min(max)], buf.len())
}

ostd::ktest! {
    fn sysctl_integers_parse_as_linux_reads_them() {
        assert_eq!(integers(b"42\n", 1, false), Ok((alloc::vec![42], 3)));
        assert_eq!(integers(b"  0x10\t", 1, false), Ok((alloc::vec![16], 7)));
        assert_eq!(integers(b"010", 1, false), Ok((alloc::vec![8], 3)));
        assert_eq!(integers(b"-5\n", 1, true), Ok((alloc::vec![-5], 3)));
        assert_eq!(integers(b"-5\n", 1, false), Err(Errno::EINVAL));
        assert_eq!(integers(b"12abc", 1, false), Err(Errno::EINVAL));
        assert_eq!(integers(b"\n", 1, false), Err(Errno::EINVAL));
        assert_eq!(integers(b"12 13\n", 1, false), Ok((alloc::vec![12], 3)));
        assert_eq!(integers(b"1 2 3 4\n", 4, false), Ok((alloc::vec![1, 2, 3, 4], 8)));
        assert_eq!(integers(b"99999999999999999999", 1, false), Err(Errno::EINVAL));
        assert_eq!(string(b"cvm\n", 64), (&b"cvm"[..], 4));
    }
}
