//! Running signal handlers: the x86-64 `rt_sigframe`, laid out exactly as Linux lays it out,
//! and `rt_sigreturn`.
//!
//! Layout (arch/x86/include/asm/sigframe.h, uapi/asm/sigcontext.h):
//! ```text
//! frame+0    pretcode (the handler returns here: sa_restorer)
//! frame+8    ucontext: uc_flags, uc_link, uc_stack (24 bytes), sigcontext (256 bytes), uc_sigmask
//! frame+312  siginfo (128 bytes)
//! above      the FXSAVE image (512 bytes, 64-byte aligned), which sigcontext.fpstate points at
//! ```
//! The handler starts with rdi = signal, rsi = &siginfo, rdx = &ucontext, rsp = frame
//! (so rsp + 8 is 16-byte aligned, as at any function entry).

use ostd::user::{FpuState, UserContext};

use crate::error::{Errno, SysResult};
use crate::user_mem::UserMem;

const UC_OFFSET: u64 = 8;
const MCONTEXT_OFFSET: u64 = UC_OFFSET + 40;
const SIGMASK_OFFSET: u64 = MCONTEXT_OFFSET + 256;
const SIGINFO_OFFSET: u64 = SIGMASK_OFFSET + 8;
const FRAME_SIZE: u64 = SIGINFO_OFFSET + 128;
const FPSTATE_SIZE: u64 = 512;
const UC_FLAGS: u64 = 0x2 | 0x4; // UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
const RED_ZONE: u64 = 128;

/// si_code of a POSIX timer's expiry.
pub const SI_TIMER: i32 = -2;
/// si_code of sigqueue(3).
pub const SI_QUEUE: i32 = -1;
/// si_code of a message queue's notification (mq_notify): `pid`, `uid` and `value` are
/// the sender's PID and real UID and the value the receiver asked for.
pub const SI_MESGQ: i32 = -3;

/// What the handler is told about the signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// The signal.
    pub signo: u32,
    /// si_code (SI_USER = 0, SEGV_MAPERR = 1, CLD_EXITED = 1, ...).
    pub code: i32,
    /// Sender PID (kill, SIGCHLD).
    pub pid: i32,
    /// Sender's real UID (kill, SIGCHLD).
    pub uid: u32,
    /// For SIGCHLD: exit code or signal.
    pub status: i32,
    /// For faults: the address.
    pub addr: u64,
    /// For SI_TIMER and SI_QUEUE: the sigval the receiver asked for (then `pid` holds the
    /// timer ID and `uid` the overrun count, as Linux's union lays them out).
    pub value: u64,
    /// For a signal raised by a CPU exception: (vector, error code), which the frame's
    /// sigcontext reports as `trapno` and `err` (Linux's thread.trap_nr and error_code).
    pub trap: Option<(u64, u64)>,
    /// si_errno (seccomp's SIGSYS: the filter's data).
    pub errno: i32,
    /// For seccomp's SIGSYS: the call's number and audit arch (`addr` holds the address
    /// after the system-call instruction: si_call_addr).
    pub syscall: Option<(i32, u32)>,
    /// The union after si_code (bytes 16..48 of a siginfo), exactly as a program wrote it
    /// for rt_sigqueueinfo: reported back verbatim, whatever its layout.
    pub sent_fields: Option<[u8; SENT_FIELDS_SIZE]>,
}

/// The size of the union that `kernel_siginfo` carries (Linux's `__ARCH_SI_PREAMBLE`
/// leaves 16 bytes before it; the siginfo user space sees is 128 bytes, the rest zeros).
pub const SENT_FIELDS_SIZE: usize = 32;

impl SigInfo {
    /// Returns the ID of the POSIX timer whose expiry this is, if the kernel sent it (one a
    /// program forged with rt_sigqueueinfo names no timer of ours).
    pub fn timer_id(&self) -> Option<i32> {
        (self.code == SI_TIMER && self.sent_fields.is_none()).then_some(self.pid)
    }

    /// Returns the `siginfo_t` a handler, sigtimedwait or signalfd sees (Linux's
    /// copy_siginfo_to_user: the kernel's 48 bytes, then zeros).
    pub fn to_bytes(self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        if let Some(fields) = self.sent_fields {
            b[16..16 + SENT_FIELDS_SIZE].copy_from_slice(&fields);
        } else if let Some((nr, arch)) = self.syscall {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
            b[24..28].copy_from_slice(&nr.to_le_bytes());
            b[28..32].copy_from_slice(&arch.to_le_bytes());
        } else if self.addr != 0 {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else if matches!(self.code, SI_TIMER | SI_QUEUE | SI_MESGQ) {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            b[24..32].copy_from_slice(&self.value.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            b[24..28].copy_from_slice(&self.status.to_le_bytes());
        }
        b
    }
}

fn sigcontext(ctx: &UserContext, fpstate: u64, info: &SigInfo, oldmask: u64) -> [u8; 256] {
    let regs = [
        ctx.r8, ctx.r9, ctx.r10, ctx.r11, ctx.r12, ctx.r13, ctx.r14, ctx.r15, ctx.rdi, ctx.rsi,
        ctx.rbp, ctx.rbx, ctx.rdx, ctx.rax, ctx.rcx, ctx.rsp, ctx.rip, ctx.rflags,
    ];
    let mut b = [0u8; 256];
    for (i, r) in regs.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    // cs, gs, fs, ss as four u16s.
    b[144..146].copy_from_slice(&0x33u16.to_le_bytes());
    b[150..152].copy_from_slice(&0x2bu16.to_le_bytes());
    let (trapno, err) = info.trap.unwrap_or((0, 0));
    b[152..160].copy_from_slice(&err.to_le_bytes());
    b[160..168].copy_from_slice(&trapno.to_le_bytes());
    b[168..176].copy_from_slice(&oldmask.to_le_bytes());
    b[176..184].copy_from_slice(&info.addr.to_le_bytes());
    b[184..192].copy_from_slice(&fpstate.to_le_bytes());
    b
}

/// Builds the frame on the user stack (or `altstack_top`) and points the registers at the
/// handler. Fails with EFAULT if the stack cannot take the frame.
pub fn setup(
    mem: &UserMem,
    ctx: &mut UserContext,
    info: SigInfo,
    handler: u64,
    restorer: u64,
    oldmask: u64,
    altstack_top: Option<u64>,
) -> SysResult<()> {
    let sp = altstack_top.unwrap_or(ctx.rsp.wrapping_sub(RED_ZONE));
    let fpstate = (sp.checked_sub(FPSTATE_SIZE).ok_or(Errno::EFAULT)?) & !63;
    let frame = ((fpstate.checked_sub(FRAME_SIZE).ok_or(Errno::EFAULT)?) & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;
    mem.write(fpstate, &ctx.fpu.0)?;
    let mut f = alloc::vec![0u8; FRAME_SIZE as usize];
    f[0..8].copy_from_slice(&restorer.to_le_bytes());
    f[8..16].copy_from_slice(&UC_FLAGS.to_le_bytes());
    let mc = MCONTEXT_OFFSET as usize;
    f[mc..mc + 256].copy_from_slice(&sigcontext(ctx, fpstate, &info, oldmask));
    let sm = SIGMASK_OFFSET as usize;
    f[sm..sm + 8].copy_from_slice(&oldmask.to_le_bytes());
    let si = SIGINFO_OFFSET as usize;
    f[si..si + 128].copy_from_slice(&info.to_bytes());
    mem.write(frame, &f)?;
    ctx.rsp = frame;
    ctx.rip = handler;
    ctx.rdi = u64::from(info.signo);
    ctx.rsi = frame + SIGINFO_OFFSET;
    ctx.rdx = frame + UC_OFFSET;
    ctx.rax = 0;
    // Linux clears TF, DF and RF for the handler; AC stays as the interrupted code left it.
    ctx.rflags &= !(0x100 | 0x400 | 0x10000);
    ctx.fpu = FpuState::initial();
    Ok(())
}

/// What [`restore`] found in the frame.
pub struct Restored {
    /// The signal mask to restore.
    pub mask: u64,
    /// The frame's code or stack selector is one the return to user mode would fault on
    /// (Linux's IRET takes #GP): the caller raises SIGSEGV with the restored registers.
    pub bad_selectors: bool,
}

/// The selectors Linux gives 64-bit user code (and reports in every frame).
const USER_CS: u16 = 0x33;
const USER_DS: u16 = 0x2b;
/// uc_flags: the frame's ss is restored as is, even if it is unusable.
const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// Restores the registers saved by [`setup`] (or edited by the handler).
/// The frame is found at rsp - 8 (the handler's `ret` popped the return address).
///
/// # Errors
/// EFAULT if the frame or its FP state cannot be read, EINVAL if the FP state would fault
/// when loaded (reserved MXCSR bits: the CPU's FXRSTOR/XRSTOR takes #GP, and Linux answers
/// with SIGSEGV). On an error the registers are unchanged.
pub fn restore(mem: &UserMem, ctx: &mut UserContext) -> SysResult<Restored> {
    // rsp is the program's: a frame that would reach past 2^64 is not there.
    let frame = ctx
        .rsp
        .checked_sub(8)
        .filter(|f| f.checked_add(FRAME_SIZE).is_some())
        .ok_or(Errno::EFAULT)?;
    let mut mc = [0u8; 256];
    mem.read(frame + MCONTEXT_OFFSET, &mut mc)?;
    let word = |i: usize| u64::from_le_bytes(mc[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let half = |at: usize| u16::from_le_bytes([mc[at], mc[at + 1]]);
    let mask = mem.read_u64(frame + SIGMASK_OFFSET)?;
    let uc_flags = mem.read_u64(frame + UC_OFFSET)?;
    let fpstate = word(23);
    let fpu = if fpstate == 0 {
        // No FP state: Linux resets the registers to their initial values.
        FpuState::initial()
    } else {
        let mut fx = [0u8; 512];
        mem.read(fpstate, &mut fx).inspect_err(|_| {
            log::info!("sigreturn: fpstate {fpstate:#x} unreadable (frame {frame:#x})")
        })?;
        let fpu = FpuState(fx);
        if !fpu.mxcsr_is_valid() {
            log::info!("sigreturn: MXCSR {:#x} has reserved bits set", fpu.mxcsr());
            return Err(Errno::EINVAL);
        }
        fpu
    };
    ctx.fpu = fpu;
    (ctx.r8, ctx.r9, ctx.r10, ctx.r11, ctx.r12, ctx.r13, ctx.r14, ctx.r15) =
        (word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7));
    (ctx.rdi, ctx.rsi, ctx.rbp, ctx.rbx, ctx.rdx, ctx.rax, ctx.rcx, ctx.rsp, ctx.rip) =
        (word(8), word(9), word(10), word(11), word(12), word(13), word(14), word(15), word(16));
    // Only the user-modifiable flags come back (UserMode::execute sanitises them again).
    const USER_FLAGS: u64 = 0x0025_0fd5;
    ctx.rflags = (ctx.rflags & !USER_FLAGS) | (word(17) & USER_FLAGS);
    // cs and ss come back with RPL 3 forced. Only 64-bit code is supported: any other code
    // selector (Linux's 32-bit one included) faults on the way out. An unusable ss is
    // replaced by the user data selector unless the frame asks for it strictly.
    let (cs, ss) = (half(144) | 3, half(150) | 3);
    let bad_ss = ss != USER_DS && uc_flags & UC_STRICT_RESTORE_SS != 0;
    Ok(Restored { mask, bad_selectors: cs != USER_CS || bad_ss })
}
