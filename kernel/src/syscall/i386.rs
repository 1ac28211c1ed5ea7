//! `int $0x80` from 64-bit code: the i386 syscall gate.
//!
//! Linux 6.1 (IA32_EMULATION, as Debian builds it) keeps the gate open to 64-bit programs and
//! runs the i386 call: number in eax, arguments in ebx, ecx, edx, esi, edi, ebp (32 bits
//! each), the result in rax, every other register kept. This kernel runs no 32-bit code, so
//! only calls whose i386 and x86-64 forms take the same arguments are translated (integers,
//! and pointers to the same bytes); any other number answers ENOSYS, where Linux would run
//! its compat version. Interrupted calls are not restarted.

use alloc::sync::Arc;

use ostd::user::UserMode;

use crate::error::Errno;
use crate::process::run::AfterSyscall;
use crate::process::{Process, Thread};

/// (i386 number, x86-64 number) for the calls translated. Not here: anything that takes a
/// struct whose i386 layout differs, or that replaces or copies the register set (execve,
/// fork, clone, sigreturn).
const CALLS: &[(u32, u64)] = &[
    (1, 60),    // exit
    (3, 0),     // read
    (4, 1),     // write
    (5, 2),     // open
    (6, 3),     // close
    (10, 87),   // unlink
    (12, 80),   // chdir
    (15, 90),   // chmod
    (20, 39),   // getpid
    (27, 37),   // alarm
    (29, 34),   // pause
    (33, 21),   // access
    (36, 162),  // sync
    (37, 62),   // kill
    (38, 82),   // rename
    (39, 83),   // mkdir
    (40, 84),   // rmdir
    (41, 32),   // dup
    (57, 109),  // setpgid
    (60, 95),   // umask
    (63, 33),   // dup2
    (64, 110),  // getppid
    (65, 111),  // getpgrp
    (66, 112),  // setsid
    (83, 88),   // symlink
    (85, 89),   // readlink
    (132, 121), // getpgid
    (147, 124), // getsid
    (158, 24),  // sched_yield
    (199, 102), // getuid32
    (200, 104), // getgid32
    (201, 107), // geteuid32
    (202, 108), // getegid32
    (224, 186), // gettid
    (238, 200), // tkill
    (252, 231), // exit_group
    (270, 234), // tgkill
];

/// Runs the i386 call the registers name; see the module doc.
pub fn dispatch(process: &Arc<Process>, thread: &Arc<Thread>, user: &mut UserMode) -> AfterSyscall {
    let saved = user.context().clone();
    if thread.seccomp_on() {
        // Filters see the i386 number, arch and argument registers, as on Linux.
        let call = crate::seccomp::Call {
            nr: saved.rax as i32,
            arch: crate::seccomp::ARCH_I386,
            instruction_pointer: saved.rip,
            args: [saved.rbx, saved.rcx, saved.rdx, saved.rsi, saved.rdi, saved.rbp],
        };
        if let Some(after) = super::seccomp::judge(process, thread, user, &call) {
            return after;
        }
    }
    let Some(&(_, nr)) =
        CALLS.iter().find(|&&(i386, _)| u64::from(i386) == saved.rax & 0xffff_ffff)
    else {
        user.context_mut().rax = (-(Errno::ENOSYS as i64)) as u64;
        return AfterSyscall::Return;
    };
    let low = |r: u64| r & 0xffff_ffff;
    {
        let ctx = user.context_mut();
        (ctx.rax, ctx.rdi, ctx.rsi, ctx.rdx, ctx.r10, ctx.r8, ctx.r9) = (
            nr,
            low(saved.rbx),
            low(saved.rcx),
            low(saved.rdx),
            low(saved.rsi),
            low(saved.rdi),
            low(saved.rbp),
        );
    }
    let flow = super::execute(process, thread, user);
    // Only rax changes; the registers used to pass the arguments come back as they were.
    let ctx = user.context_mut();
    (ctx.rdi, ctx.rsi, ctx.rdx, ctx.r10, ctx.r8, ctx.r9) =
        (saved.rdi, saved.rsi, saved.rdx, saved.r10, saved.r8, saved.r9);
    flow
}
