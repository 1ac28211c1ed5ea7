//! What the prebuilt `core`, `alloc` and `compiler_builtins` expect from their environment.
//!
//! On this toolchain (no rust-src, host target) `compiler_builtins` does not export the C
//! memory functions, and `alloc` was built with unwinding, so the kernel provides both.
//! The memory functions use string instructions, which are fast on every CPU we target and
//! cannot be turned back into calls to themselves by the optimiser. Bulk copies and fills
//! move eight bytes per step (`rep movsq`/`rep stosq`), then the tail byte by byte. On
//! hardware that is as fast as `rep movsb`; under QEMU's TCG, which emulates a string
//! instruction one step at a time with a TLB look-up per access, it is up to eight times
//! faster, and a copy whose source and destination pages share a TLB slot (each step then
//! evicts the other's entry) stays usable instead of slowing to a crawl.

use core::arch::asm;

/// Copies `n` bytes forward.
///
/// # Safety
/// The C contract: `src` and `dst` are valid for `n` bytes and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid and disjoint (n/8 eight-byte steps,
    // then n%8 bytes, cover exactly them); DF is clear in Rust code (the SysV ABI requires it
    // at every call boundary).
    unsafe {
        asm!("rep movsq", "mov rcx, {tail}", "rep movsb",
             tail = in(reg) n % 8,
             inout("rcx") n / 8 => _, inout("rdi") dst => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dst
}

/// Copies `n` bytes between possibly overlapping ranges.
///
/// # Safety
/// The C contract: `src` and `dst` are valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // The destination does not start inside the source: a forward copy is safe.
        // SAFETY: same contract as memcpy; forward copying never reads a byte already written.
        unsafe { memcpy(dst, src, n) }
    } else {
        // SAFETY: both ranges are valid (caller); copying backwards with DF set reads each
        // source byte before it is overwritten, and DF is cleared again before returning.
        unsafe {
            asm!("std", "rep movsb", "cld",
                 inout("rcx") n => _,
                 inout("rdi") dst.add(n - 1) => _,
                 inout("rsi") src.add(n - 1) => _,
                 options(nostack));
        }
        dst
    }
}

/// Fills `n` bytes with `c`.
///
/// # Safety
/// The C contract: `dst` is valid for `n` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // The byte repeated in all eight lanes of rax, for the eight-byte steps.
    let pattern = u64::from(c as u8).wrapping_mul(0x0101_0101_0101_0101);
    // SAFETY: the caller guarantees `dst..dst+n` is writable (n/8 eight-byte steps, then
    // n%8 bytes, cover exactly that range); DF is clear.
    unsafe {
        asm!("rep stosq", "mov rcx, {tail}", "rep stosb",
             tail = in(reg) n % 8,
             inout("rcx") n / 8 => _, inout("rdi") dst => _, in("rax") pattern,
             options(nostack, preserves_flags));
    }
    dst
}

/// Compares `n` bytes.
///
/// # Safety
/// The C contract: both pointers are valid for `n` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: `i < n` and both ranges are readable for `n` bytes (caller).
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

/// Compares `n` bytes for equality only.
///
/// # Safety
/// Same as [`memcmp`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { memcmp(a, b, n) }
}

/// Returns the length of a NUL-terminated string.
///
/// # Safety
/// The C contract: `s` points to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated (caller), so every byte up to the NUL is readable.
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}

/// Never called: every crate of the kernel is built with `panic = "abort"`, but the prebuilt
/// `alloc` still names this symbol.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    crate::power::halt_forever()
}

/// Never called, for the same reason as [`_Unwind_Resume`].
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
