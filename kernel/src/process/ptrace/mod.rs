//! ptrace(2): one process tracing another.
//!
//! A tracee records its tracer and what it was asked to report ([`state`]). At the points
//! Linux reports (syscall entry and exit, a signal about to be delivered, fork/exec/exit
//! events, a group stop, PTRACE_INTERRUPT) its own task stops in [`stop`]: it publishes a
//! copy of its registers, tells the tracer, and sleeps until the tracer resumes it (or
//! SIGKILL, or the tracer going away). The tracer works on the stopped tracee from its
//! own task through [`control`]: it reads and changes the published registers
//! ([`user_area`]) and the tracee's memory ([`remote_mem`]), and hears of stops in wait4
//! and waitid.
//!
//! Tracing is per process: a tracee's threads share one tracer and one stop (the programs
//! traced here are single-threaded; Linux traces each thread).

pub mod control;
pub mod debug_regs;
pub mod remote_mem;
pub mod state;
pub mod stop;
mod test;
pub mod user_area;

pub use state::{Event, Resume, Step, SyscallStop, TraceCell};
