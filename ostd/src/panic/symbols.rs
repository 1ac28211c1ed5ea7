//! Function names for backtraces, from the table `images ksyms` writes into `.ksyms`.
//!
//! Layout (see `images/src/ksyms.rs`): "KSYM", count u32, count × {addr u64, name offset u32,
//! name length u32} sorted by address, then the names. The table is read with bounds checks
//! on every field: a missing or damaged table means addresses only, never a fault in the
//! panic handler.

/// Bytes reserved for the table; `ksyms` fails the build if the table outgrows it.
const KSYMS_CAPACITY: usize = 512 * 1024;

#[used]
#[unsafe(link_section = ".ksyms")]
static KSYMS: [u8; KSYMS_CAPACITY] = [0; KSYMS_CAPACITY];

fn byte(i: usize) -> Option<u8> {
    // Volatile through the address: the build fills the section after compiling, so the
    // compiler's knowledge of the initializer (all zeros) must not be used.
    let base = &raw const KSYMS as *const u8;
    // SAFETY: `i` is checked against the static's size, which is mapped read-only data.
    (i < KSYMS_CAPACITY).then(|| unsafe { base.add(i).read_volatile() })
}

fn u32_at(i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([byte(i)?, byte(i + 1)?, byte(i + 2)?, byte(i + 3)?]))
}

fn u64_at(i: usize) -> Option<u64> {
    Some(u64::from(u32_at(i)?) | u64::from(u32_at(i + 4)?) << 32)
}

/// Returns the function containing `addr`, as (name bytes' offset and length, start address).
fn lookup(addr: u64) -> Option<(usize, usize, u64)> {
    if [byte(0)?, byte(1)?, byte(2)?, byte(3)?] != *b"KSYM" {
        return None;
    }
    let count = u32_at(4)? as usize;
    let entry = |i: usize| {
        Some((u64_at(8 + 16 * i)?, u32_at(16 + 16 * i)? as usize, u32_at(20 + 16 * i)? as usize))
    };
    // Binary search for the last entry at or below `addr`.
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry(mid)?.0 <= addr {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let (start, off, len) = entry(lo.checked_sub(1)?)?;
    (off + len <= KSYMS_CAPACITY).then_some((off, len, start))
}

/// Prints `addr` as `name+offset` if the table knows it.
pub(super) fn print_symbol(addr: u64) {
    if let Some((off, len, start)) = lookup(addr) {
        let mut name = [0u8; 160];
        let shown = len.min(name.len());
        for (k, b) in name[..shown].iter_mut().enumerate() {
            *b = byte(off + k).unwrap_or(b'?');
        }
        let name = core::str::from_utf8(&name[..shown]).unwrap_or("?");
        crate::console::emergency_print(format_args!(" {name}+{:#x}", addr - start));
    }
}
