//! The tracee's registers as ptrace shows them: `struct user_regs_struct` (GETREGS,
//! SETREGS, NT_PRSTATUS) and the words of `struct user` (PEEKUSER, POKEUSER), as Linux's
//! arch/x86/kernel/ptrace.c lays them out and checks them.

use ostd::user::UserContext;

use super::debug_regs;
use crate::error::{Errno, SysResult};

/// sizeof(struct user_regs_struct): 27 registers.
pub const REGS_SIZE: usize = 27 * 8;
/// sizeof(struct user_i387_struct): the FXSAVE area.
pub const FPREGS_SIZE: usize = 512;
/// sizeof(struct user) on x86-64, the kernel's (two words past the u_debugreg that libc's
/// ends with: error_code and fault_address).
pub const USER_SIZE: u64 = 928;
/// offsetof(struct user, u_debugreg).
const DEBUGREG_OFFSET: u64 = 848;

/// The user code segment selector (__USER_CS) and data/stack one (__USER_DS).
const USER_CS: u64 = 0x33;
const USER_DS: u64 = 0x2b;
/// The end of the user address space (TASK_SIZE_MAX): fs_base and gs_base stay below it.
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
/// The flags a tracer may change (Linux's FLAG_MASK): CF PF AF ZF SF TF DF OF NT AC.
const FLAG_MASK: u64 = 0x0004_4dd5;
/// The trap flag, which PTRACE_SINGLESTEP sets and hides from the tracer.
pub const TF: u64 = 0x100;

/// Register indices in `struct user_regs_struct`.
const R15: usize = 0;
const RAX: usize = 10;
const ORIG_RAX: usize = 15;
const CS: usize = 17;
const EFLAGS: usize = 18;
const SS: usize = 20;
const FS_BASE: usize = 21;
const GS_BASE: usize = 22;

/// Returns register `index` of `struct user_regs_struct`.
fn get(ctx: &UserContext, orig_rax: u64, index: usize) -> u64 {
    match index {
        R15 => ctx.r15,
        1 => ctx.r14,
        2 => ctx.r13,
        3 => ctx.r12,
        4 => ctx.rbp,
        5 => ctx.rbx,
        6 => ctx.r11,
        7 => ctx.r10,
        8 => ctx.r9,
        9 => ctx.r8,
        RAX => ctx.rax,
        11 => ctx.rcx,
        12 => ctx.rdx,
        13 => ctx.rsi,
        14 => ctx.rdi,
        ORIG_RAX => orig_rax,
        16 => ctx.rip,
        CS => USER_CS,
        EFLAGS => ctx.rflags,
        19 => ctx.rsp,
        SS => USER_DS,
        FS_BASE => ctx.fs_base,
        // gs_base, ds, es, fs, gs: nothing user code here sets.
        _ => 0,
    }
}

/// Sets register `index` under Linux's putreg rules.
///
/// # Errors
/// EIO for a segment selector that is not a user one, or a base past the user space.
fn set(ctx: &mut UserContext, orig_rax: &mut u64, index: usize, value: u64) -> SysResult<()> {
    let slot = match index {
        R15 => &mut ctx.r15,
        1 => &mut ctx.r14,
        2 => &mut ctx.r13,
        3 => &mut ctx.r12,
        4 => &mut ctx.rbp,
        5 => &mut ctx.rbx,
        6 => &mut ctx.r11,
        7 => &mut ctx.r10,
        8 => &mut ctx.r9,
        9 => &mut ctx.r8,
        RAX => &mut ctx.rax,
        11 => &mut ctx.rcx,
        12 => &mut ctx.rdx,
        13 => &mut ctx.rsi,
        14 => &mut ctx.rdi,
        ORIG_RAX => orig_rax,
        16 => &mut ctx.rip,
        19 => &mut ctx.rsp,
        EFLAGS => {
            ctx.rflags = (ctx.rflags & !FLAG_MASK) | (value & FLAG_MASK);
            return Ok(());
        }
        FS_BASE | GS_BASE => {
            if value >= TASK_SIZE_MAX {
                return Err(Errno::EIO);
            }
            if index == FS_BASE {
                ctx.fs_base = value;
            }
            return Ok(());
        }
        // cs and ss must stay user selectors; ds, es, fs, gs may be null or user ones.
        CS | SS => {
            return if value & 3 == 3 { Ok(()) } else { Err(Errno::EIO) };
        }
        _ => {
            return if value == 0 || value & 3 == 3 { Ok(()) } else { Err(Errno::EIO) };
        }
    };
    *slot = value;
    Ok(())
}

/// Returns `struct user_regs_struct` as bytes.
pub fn regs_bytes(ctx: &UserContext, orig_rax: u64) -> [u8; REGS_SIZE] {
    let mut b = [0u8; REGS_SIZE];
    for (i, chunk) in b.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&get(ctx, orig_rax, i).to_le_bytes());
    }
    b
}

/// Sets the registers from `struct user_regs_struct` bytes (the first `bytes.len() / 8`
/// registers), stopping at the first one refused.
///
/// # Errors
/// EIO as [`set`] refuses a register.
pub fn set_regs(ctx: &mut UserContext, orig_rax: &mut u64, bytes: &[u8]) -> SysResult<()> {
    for (i, chunk) in bytes.chunks_exact(8).enumerate().take(REGS_SIZE / 8) {
        let value = u64::from_le_bytes(chunk.try_into().map_err(|_| Errno::EIO)?);
        set(ctx, orig_rax, i, value)?;
    }
    Ok(())
}

/// PEEKUSER: the word at `offset` in `struct user` (the registers, the debug registers;
/// zeros elsewhere).
///
/// # Errors
/// EIO if `offset` is unaligned or past the structure.
pub fn peek_user(ctx: &UserContext, orig_rax: u64, offset: u64) -> SysResult<u64> {
    if !offset.is_multiple_of(8) || offset >= USER_SIZE {
        return Err(Errno::EIO);
    }
    if offset < REGS_SIZE as u64 {
        return Ok(get(ctx, orig_rax, (offset / 8) as usize));
    }
    if (DEBUGREG_OFFSET..DEBUGREG_OFFSET + 64).contains(&offset) {
        return Ok(debug_regs::get(ctx, ((offset - DEBUGREG_OFFSET) / 8) as usize));
    }
    Ok(0)
}

/// POKEUSER: sets the word at `offset` in `struct user` (a register or a debug register).
///
/// # Errors
/// EIO if `offset` is unaligned, past the structure or outside both areas, or the value is
/// refused; EINVAL for a breakpoint Linux would not register (see [`debug_regs::set`]).
pub fn poke_user(
    ctx: &mut UserContext,
    orig_rax: &mut u64,
    offset: u64,
    value: u64,
) -> SysResult<()> {
    if !offset.is_multiple_of(8) || offset >= USER_SIZE {
        return Err(Errno::EIO);
    }
    if offset < REGS_SIZE as u64 {
        return set(ctx, orig_rax, (offset / 8) as usize, value);
    }
    if (DEBUGREG_OFFSET..DEBUGREG_OFFSET + 64).contains(&offset) {
        return debug_regs::set(ctx, ((offset - DEBUGREG_OFFSET) / 8) as usize, value);
    }
    Err(Errno::EIO)
}
