//! The debug registers in `struct user` (u_debugreg[8]), as Linux's ptrace_get_debugreg and
//! ptrace_set_debugreg (arch/x86/kernel/ptrace.c) show and check them: DR0-DR3 hold the
//! breakpoint addresses, DR6 what the last debug trap reported, DR7 which breakpoints are
//! on and for what. DR4 and DR5 read as zero and cannot be written.
//!
//! Linux turns each enabled slot into a perf breakpoint, which must be a user address
//! aligned to its length, of a memory access type; a DR7 or address that would make one
//! invalid is refused with EINVAL and changes nothing. The registers travel with the
//! tracee's [`UserContext`]; ostd loads them while it runs user code.

use ostd::user::{DR6_RESERVED, UserContext};

use crate::error::{Errno, SysResult};

/// The end of the user address space (TASK_SIZE_MAX): a breakpoint ends below it.
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
/// DR7 bits Linux ignores when it decodes the breakpoints (DR_CONTROL_RESERVED).
const DR7_RESERVED: u64 = 0xfc00;

/// Returns u_debugreg[`n`].
pub fn get(ctx: &UserContext, n: usize) -> u64 {
    match n {
        0..4 => ctx.debug.addr[n],
        // Stored in positive polarity, shown as the hardware has it.
        6 => ctx.debug_status ^ DR6_RESERVED,
        7 => ctx.debug.control,
        _ => 0,
    }
}

/// Sets u_debugreg[`n`] to `value`.
///
/// # Errors
/// EIO for DR4, DR5 (or past DR7); EINVAL for an address or DR7 that would give an enabled
/// breakpoint outside user space, misaligned, or of the I/O type or an execute breakpoint
/// longer than a byte.
pub fn set(ctx: &mut UserContext, n: usize, value: u64) -> SysResult<()> {
    match n {
        0..4 => {
            let mut addr = ctx.debug.addr;
            addr[n] = value;
            if ctx.debug.enabled(n) {
                check(&addr, ctx.debug.control, n)?;
            } else {
                // As Linux registers a slot not enabled: one byte, written.
                check_range(value, 1)?;
            }
            ctx.debug.addr = addr;
            Ok(())
        }
        6 => {
            ctx.debug_status = value ^ DR6_RESERVED;
            Ok(())
        }
        7 => {
            for i in 0..4 {
                if (value & !DR7_RESERVED) >> (2 * i) & 3 != 0 {
                    check(&ctx.debug.addr, value & !DR7_RESERVED, i)?;
                }
            }
            ctx.debug.control = value;
            Ok(())
        }
        _ => Err(Errno::EIO),
    }
}

/// Checks slot `i` of `control` at its address in `addr` as Linux's arch_bp_generic_fields
/// and hw_breakpoint_arch_parse do.
fn check(addr: &[u64; 4], control: u64, i: usize) -> SysResult<()> {
    let access = (control >> (16 + 4 * i)) & 3;
    let len_code = (control >> (18 + 4 * i)) & 3;
    let len = match (access, len_code) {
        // Execute: the length bits must say one byte (Linux's X86_BREAKPOINT_LEN_X).
        (0, 0) => 1,
        (0, _) | (2, _) => return Err(Errno::EINVAL),
        (_, 0) => 1,
        (_, 1) => 2,
        (_, 3) => 4,
        _ => 8,
    };
    if access != 0 && !addr[i].is_multiple_of(len) {
        return Err(Errno::EINVAL);
    }
    check_range(addr[i], len)
}

/// EINVAL unless `addr..addr + len` lies in user space.
fn check_range(addr: u64, len: u64) -> SysResult<()> {
    match addr.checked_add(len - 1) {
        Some(last) if last < TASK_SIZE_MAX => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}
