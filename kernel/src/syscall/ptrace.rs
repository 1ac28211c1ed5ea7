//! ptrace(2): decodes a request and hands it to `process::ptrace`.
//!
//! Checks come in Linux's order: TRACEME, ATTACH and SEIZE stand alone; every other request
//! needs a tracee of the caller's that is stopped (ESRCH otherwise; KILL and INTERRUPT
//! also take a running one), and then answers EIO for what it does not know.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::ptrace::state::{O_MASK, Stop};
use crate::process::ptrace::user_area::{self, FPREGS_SIZE, REGS_SIZE};
use crate::process::ptrace::{Event, Resume, Step, SyscallStop, control, remote_mem};
use crate::process::sigframe::SigInfo;
use crate::process::signal;

const PTRACE_TRACEME: u64 = 0;
const PTRACE_PEEKTEXT: u64 = 1;
const PTRACE_PEEKDATA: u64 = 2;
const PTRACE_PEEKUSER: u64 = 3;
const PTRACE_POKETEXT: u64 = 4;
const PTRACE_POKEDATA: u64 = 5;
const PTRACE_POKEUSER: u64 = 6;
const PTRACE_CONT: u64 = 7;
const PTRACE_KILL: u64 = 8;
const PTRACE_SINGLESTEP: u64 = 9;
const PTRACE_GETREGS: u64 = 12;
const PTRACE_SETREGS: u64 = 13;
const PTRACE_GETFPREGS: u64 = 14;
const PTRACE_SETFPREGS: u64 = 15;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_DETACH: u64 = 17;
const PTRACE_SYSCALL: u64 = 24;
const PTRACE_SETOPTIONS: u64 = 0x4200;
const PTRACE_GETEVENTMSG: u64 = 0x4201;
const PTRACE_GETSIGINFO: u64 = 0x4202;
const PTRACE_SETSIGINFO: u64 = 0x4203;
const PTRACE_GETREGSET: u64 = 0x4204;
const PTRACE_SETREGSET: u64 = 0x4205;
const PTRACE_SEIZE: u64 = 0x4206;
const PTRACE_INTERRUPT: u64 = 0x4207;
const PTRACE_LISTEN: u64 = 0x4208;
const PTRACE_PEEKSIGINFO: u64 = 0x4209;
const PTRACE_GETSIGMASK: u64 = 0x420a;
const PTRACE_SETSIGMASK: u64 = 0x420b;
const PTRACE_GET_SYSCALL_INFO: u64 = 0x420e;

/// Register sets for GETREGSET/SETREGSET.
const NT_PRSTATUS: u64 = 1;
const NT_PRFPREG: u64 = 2;
/// AUDIT_ARCH_X86_64.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// ptrace(2).
pub fn sys_ptrace(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (request, pid, addr, data) = (a[0] & 0xffff_ffff, a[1] as i32, a[2], a[3]);
    match request {
        PTRACE_TRACEME => return control::trace_me(ctx.process).map(|()| 0),
        PTRACE_ATTACH => return control::attach(ctx.process, pid, false, 0).map(|()| 0),
        PTRACE_SEIZE => {
            if addr != 0 || data & !u64::from(O_MASK) != 0 {
                return Err(Errno::EIO);
            }
            return control::attach(ctx.process, pid, true, data as u32).map(|()| 0);
        }
        _ => {}
    }
    let running_ok = matches!(request, PTRACE_KILL | PTRACE_INTERRUPT);
    let tracee = control::tracee(ctx.process, pid, running_ok)?;
    let signal_arg = || -> SysResult<u32> {
        if data > u64::from(signal::NSIG) { Err(Errno::EIO) } else { Ok(data as u32) }
    };
    let resume = |step: Step| -> SysResult<u64> {
        control::resume(&tracee, Resume { sig: signal_arg()?, step, listen: false });
        Ok(0)
    };
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let mut word = [0u8; 8];
            remote_mem::read(tracee.vm().space(), addr, &mut word)?;
            ctx.mem().write(data, &word)?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            remote_mem::write(tracee.vm().space(), addr, &data.to_le_bytes())?;
            Ok(0)
        }
        PTRACE_PEEKUSER => {
            let word = control::with_stop(&tracee, |s, _| {
                user_area::peek_user(&s.regs, s.orig_rax, addr)
            })??;
            ctx.mem().write_u64(data, word)?;
            Ok(0)
        }
        PTRACE_POKEUSER => {
            control::with_stop(&tracee, |s, _| {
                user_area::poke_user(&mut s.regs, &mut s.orig_rax, addr, data)
            })??;
            Ok(0)
        }
        PTRACE_GETREGS => {
            let regs =
                control::with_stop(&tracee, |s, _| user_area::regs_bytes(&s.regs, s.orig_rax))?;
            ctx.mem().write(data, &regs)?;
            Ok(0)
        }
        PTRACE_SETREGS => {
            let mut regs = [0u8; REGS_SIZE];
            ctx.mem().read(data, &mut regs)?;
            control::with_stop(&tracee, |s, _| {
                user_area::set_regs(&mut s.regs, &mut s.orig_rax, &regs)
            })??;
            Ok(0)
        }
        PTRACE_GETFPREGS => {
            let fp = control::with_stop(&tracee, |s, _| s.regs.fpu.0)?;
            ctx.mem().write(data, &fp)?;
            Ok(0)
        }
        PTRACE_SETFPREGS => {
            let mut fp = [0u8; FPREGS_SIZE];
            ctx.mem().read(data, &mut fp)?;
            control::with_stop(&tracee, |s, _| s.regs.fpu.0 = fp)?;
            Ok(0)
        }
        PTRACE_GETREGSET | PTRACE_SETREGSET => regset(ctx, &tracee, request, addr, data),
        PTRACE_CONT => resume(Step::Continue),
        PTRACE_SYSCALL => resume(Step::Syscall),
        PTRACE_SINGLESTEP => resume(Step::Single),
        PTRACE_KILL => {
            control::kill(&tracee);
            Ok(0)
        }
        PTRACE_DETACH => {
            let sig = signal_arg()?;
            control::detach(&tracee, sig);
            Ok(0)
        }
        PTRACE_SETOPTIONS => {
            if data & !u64::from(O_MASK) != 0 {
                return Err(Errno::EINVAL);
            }
            control::with_stop(&tracee, |_, t| t.options = data as u32)?;
            Ok(0)
        }
        PTRACE_GETEVENTMSG => {
            let message = control::with_stop(&tracee, |_, t| t.message)?;
            ctx.mem().write_u64(data, message)?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = control::with_stop(&tracee, |s, _| s.siginfo)?.ok_or(Errno::EINVAL)?;
            ctx.mem().write(data, &info.to_bytes())?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let info = read_siginfo(ctx, data)?;
            control::with_stop(&tracee, |s, _| match &mut s.siginfo {
                Some(slot) => {
                    *slot = info;
                    Ok(())
                }
                None => Err(Errno::EINVAL),
            })??;
            Ok(0)
        }
        PTRACE_INTERRUPT => {
            if !control::is_seized(&tracee) {
                return Err(Errno::EIO);
            }
            control::interrupt(&tracee);
            Ok(0)
        }
        PTRACE_LISTEN => {
            // Only from an event stop (Linux looks at the siginfo's code).
            let event_stop = control::with_stop(&tracee, |s, _| {
                s.siginfo.is_some_and(|i| i.code >> 8 == Event::Stop as i32)
            })?;
            if !event_stop {
                return Err(Errno::EIO);
            }
            control::resume(&tracee, Resume { sig: 0, step: Step::Continue, listen: true });
            Ok(0)
        }
        PTRACE_PEEKSIGINFO => peek_siginfo(ctx, &tracee, addr, data),
        PTRACE_GETSIGMASK | PTRACE_SETSIGMASK => {
            // addr is the size of the set: the kernel's sigset_t, 8 bytes.
            if addr != 8 {
                return Err(Errno::EINVAL);
            }
            let thread = crate::process::registry::thread_of(tracee.pid(), tracee.pid())
                .ok_or(Errno::ESRCH)?;
            if request == PTRACE_GETSIGMASK {
                ctx.mem().write_u64(data, thread.blocked())?;
            } else {
                let mask = ctx.mem().read_u64(data)? & !signal::UNBLOCKABLE;
                thread.set_blocked(mask);
            }
            Ok(0)
        }
        PTRACE_GET_SYSCALL_INFO => {
            let info = control::with_stop(&tracee, |s, t| syscall_info(s, t.message))?;
            let len = (addr as usize).min(info.1);
            ctx.mem().write(data, &info.0[..len])?;
            Ok(info.1 as u64)
        }
        _ => Err(Errno::EIO),
    }
}

/// PTRACE_PEEKSIGINFO: copies queued siginfos (the thread's own, or with
/// PTRACE_PEEKSIGINFO_SHARED the process's) from index `off` on, at most `nr` of them, and
/// returns how many it copied.
fn peek_siginfo(
    ctx: &mut SyscallCtx,
    tracee: &crate::process::Process,
    args: u64,
    out: u64,
) -> SysResult<u64> {
    const SHARED: u32 = 1;
    let mem = ctx.mem();
    let mut raw = [0u8; 16];
    mem.read(args, &mut raw)?;
    let off = u64::from_le_bytes(raw[0..8].try_into().map_err(|_| Errno::EFAULT)?);
    let flags = u32::from_le_bytes(raw[8..12].try_into().map_err(|_| Errno::EFAULT)?);
    let nr = i32::from_le_bytes(raw[12..16].try_into().map_err(|_| Errno::EFAULT)?);
    if flags & !SHARED != 0 || nr < 0 {
        return Err(Errno::EINVAL);
    }
    let infos: alloc::vec::Vec<SigInfo> = if flags & SHARED != 0 {
        tracee.with_signals(|s| s.shared.queued().copied().collect())
    } else {
        let thread =
            crate::process::registry::thread_of(tracee.pid(), tracee.pid()).ok_or(Errno::ESRCH)?;
        thread.with_signals(|t| t.private.queued().copied().collect())
    };
    let mut copied = 0u64;
    for info in infos.iter().skip(off.min(usize::MAX as u64) as usize).take(nr as usize) {
        let at = out.checked_add(copied * 128).ok_or(Errno::EFAULT)?;
        if let Err(e) = mem.write(at, &info.to_bytes()) {
            return if copied == 0 { Err(e) } else { Ok(copied) };
        }
        copied += 1;
    }
    Ok(copied)
}

/// GETREGSET and SETREGSET: NT_PRSTATUS (the registers) and NT_PRFPREG (the FXSAVE area),
/// through a `struct iovec` whose length is updated to what was copied.
fn regset(
    ctx: &mut SyscallCtx,
    tracee: &crate::process::Process,
    request: u64,
    kind: u64,
    iov: u64,
) -> SysResult<u64> {
    let mem = ctx.mem();
    let base = mem.read_u64(iov)?;
    let len = mem.read_u64(iov.checked_add(8).ok_or(Errno::EFAULT)?)? as usize;
    let size = match kind {
        NT_PRSTATUS => REGS_SIZE,
        NT_PRFPREG => FPREGS_SIZE,
        _ => return Err(Errno::EINVAL),
    };
    let n = len.min(size);
    if request == PTRACE_GETREGSET {
        let bytes = control::with_stop(tracee, |s, _| {
            let mut b = [0u8; FPREGS_SIZE];
            if kind == NT_PRSTATUS {
                b[..REGS_SIZE].copy_from_slice(&user_area::regs_bytes(&s.regs, s.orig_rax));
            } else {
                b = s.regs.fpu.0;
            }
            b
        })?;
        mem.write(base, &bytes[..n])?;
    } else {
        let mut bytes = [0u8; FPREGS_SIZE];
        mem.read(base, &mut bytes[..n])?;
        control::with_stop(tracee, |s, _| {
            if kind == NT_PRSTATUS {
                user_area::set_regs(&mut s.regs, &mut s.orig_rax, &bytes[..n])
            } else {
                s.regs.fpu.0[..n].copy_from_slice(&bytes[..n]);
                Ok(())
            }
        })??;
    }
    mem.write_u64(iov + 8, n as u64)?;
    Ok(0)
}

/// Builds `struct ptrace_syscall_info` for the stop; returns it with the length Linux
/// reports (the part that means something for this kind of stop).
fn syscall_info(stop: &Stop, message: u64) -> ([u8; 88], usize) {
    const OP_NONE: u8 = 0;
    const OP_ENTRY: u8 = 1;
    const OP_EXIT: u8 = 2;
    const OP_SECCOMP: u8 = 3;
    let mut b = [0u8; 88];
    b[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    b[8..16].copy_from_slice(&stop.regs.rip.to_le_bytes());
    b[16..24].copy_from_slice(&stop.regs.rsp.to_le_bytes());
    // Linux tells syscall stops apart by their siginfo: only TRACESYSGOOD's SIGTRAP|0x80.
    let sysgood = stop.siginfo.is_some_and(|i| i.code == (signal::SIGTRAP | 0x80) as i32);
    match stop.syscall {
        SyscallStop::Entry if sysgood => {
            b[0] = OP_ENTRY;
            b[24..32].copy_from_slice(&stop.orig_rax.to_le_bytes());
            for (i, arg) in stop.regs.syscall_args().iter().enumerate() {
                b[32 + i * 8..40 + i * 8].copy_from_slice(&arg.to_le_bytes());
            }
            (b, 80)
        }
        SyscallStop::Seccomp => {
            b[0] = OP_SECCOMP;
            b[24..32].copy_from_slice(&stop.orig_rax.to_le_bytes());
            for (i, arg) in stop.regs.syscall_args().iter().enumerate() {
                b[32 + i * 8..40 + i * 8].copy_from_slice(&arg.to_le_bytes());
            }
            b[80..84].copy_from_slice(&(message as u32).to_le_bytes());
            (b, 84)
        }
        SyscallStop::Exit if sysgood => {
            b[0] = OP_EXIT;
            let rax = stop.regs.rax as i64;
            let is_error = (-4095..0).contains(&rax);
            b[24..32].copy_from_slice(&rax.to_le_bytes());
            b[32] = u8::from(is_error);
            (b, 33)
        }
        _ => {
            b[0] = OP_NONE;
            (b, 24)
        }
    }
}

/// Reads a siginfo for PTRACE_SETSIGINFO: its number and code, and the fields after them
/// as they are.
fn read_siginfo(ctx: &SyscallCtx, addr: u64) -> SysResult<SigInfo> {
    let mut raw = [0u8; 48];
    ctx.mem().read(addr, &mut raw)?;
    let word = |at: usize| i32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    let mut fields = [0u8; crate::process::sigframe::SENT_FIELDS_SIZE];
    fields.copy_from_slice(&raw[16..48]);
    Ok(SigInfo {
        signo: word(0) as u32,
        errno: word(4),
        code: word(8),
        pid: word(16),
        uid: word(20) as u32,
        sent_fields: Some(fields),
        ..SigInfo::default()
    })
}
