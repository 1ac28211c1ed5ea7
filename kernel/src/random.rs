//! Randomness for AT_RANDOM, getrandom and /dev/urandom.
//!
//! RDRAND where the CPU has it: under TDX and SNP it comes from the CPU, out of the host's
//! reach. Without it (some TCG CPU models) a SplitMix64 stream seeded from the TSC stands in;
//! that is not cryptographic, and boot logs a warning once.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static FALLBACK_STATE: AtomicU64 = AtomicU64::new(0);
static WARNED: AtomicBool = AtomicBool::new(false);

fn fallback_u64() -> u64 {
    if !WARNED.swap(true, Ordering::Relaxed) {
        log::warn!("random: no RDRAND; using a TSC-seeded non-cryptographic generator");
        FALLBACK_STATE.store(ostd::time::read_tsc(), Ordering::Relaxed);
    }
    let mut z = FALLBACK_STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let v = ostd::cpu::rdrand64().unwrap_or_else(fallback_u64);
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}
