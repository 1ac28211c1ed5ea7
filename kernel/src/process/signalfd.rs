//! signalfd: pending signals read as a file (signalfd(2), Linux's fs/signalfd.c).
//!
//! The file holds only a mask. Reading takes pending signals in that mask from the *reader's*
//! queues (its thread's own first, then its process's, as delivery takes them), so a
//! signalfd inherited across fork reads the child's signals, and polling asks about the
//! poller's. Each signal becomes one 128-byte `struct signalfd_siginfo`.
//!
//! Nothing wakes a signalfd reader or poller by name: sending a signal interrupts every
//! sleeping thread of the receiving process (`Process::interrupt_sleep`), and the reader or
//! poller, being one of them, looks again.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::sigframe::SigInfo;
use super::{Process, Thread, registry, signal};
use crate::error::{Errno, SysResult};
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};

/// The size of one `struct signalfd_siginfo`.
pub const RECORD_SIZE: usize = 128;

/// A signalfd.
pub struct SignalFd {
    /// The signals it reads (never SIGKILL or SIGSTOP).
    mask: SpinLock<u64>,
    flags: SpinLock<OpenFlags>,
}

impl SignalFd {
    /// A signalfd reading the signals in `mask`; `flags` holds NONBLOCK if asked for.
    pub fn new(mask: u64, flags: OpenFlags) -> Arc<Self> {
        Arc::new(Self {
            mask: SpinLock::new(mask & !signal::UNBLOCKABLE),
            flags: SpinLock::new(flags | OpenFlags::RDWR),
        })
    }

    /// Replaces the mask (signalfd on an existing signalfd), and lets a reader that sleeps
    /// in this process look again with it.
    pub fn set_mask(&self, process: &Process, mask: u64) {
        *self.mask.lock() = mask & !signal::UNBLOCKABLE;
        process.interrupt_sleep();
    }

    /// Returns the mask, as /proc/PID/fdinfo shows it.
    pub fn mask(&self) -> u64 {
        *self.mask.lock()
    }

    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }
}

/// The signalfd behind `file`, if it is one.
pub fn signalfd_of(file: &dyn FileLike) -> Option<&SignalFd> {
    file.as_any()?.downcast_ref::<SignalFd>()
}

/// Takes one pending signal in `mask` from `thread`'s queue, then from its process's.
fn take(process: &Process, thread: &Thread, mask: u64) -> Option<SigInfo> {
    let info = process.with_signal_states(thread, |s, t| {
        t.private.take_in(mask).or_else(|| s.shared.take_in(mask))
    })?;
    if let Some(timer) = info.timer_id() {
        super::posix_timer::signal_taken(process, timer);
    }
    Some(info)
}

impl FileLike for SignalFd {
    /// Reads as many records as fit: the first may wait for a signal (unless non-blocking),
    /// the others only take what is already pending (Linux's signalfd_read).
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.len() < RECORD_SIZE {
            return Err(Errno::EINVAL);
        }
        let (process, thread) = registry::current_thread().ok_or(Errno::EINVAL)?;
        let mask = self.mask();
        let first = if self.nonblocking() {
            take(&process, &thread, mask).ok_or(Errno::EAGAIN)?
        } else {
            // Interrupted by a signal it does not read: EINTR, which the return to user
            // mode turns into a restart if the handler asks for one (Linux's ERESTARTSYS).
            crate::wait::until_signal_or_deadline(
                || match take(&process, &thread, self.mask()) {
                    Some(info) => Some(Ok(info)),
                    None => process.has_signal_for(Some(&thread)).then_some(Err(Errno::EINTR)),
                },
                None,
            )
            .unwrap_or(Err(Errno::EINTR))?
        };
        // A signal is taken only when a record is free for it: one not read stays pending.
        let mut filled = 0;
        let mut next = Some(first);
        for record in buf.chunks_exact_mut(RECORD_SIZE) {
            let Some(info) = next.take().or_else(|| take(&process, &thread, mask)) else { break };
            record.copy_from_slice(&record_of(info));
            filled += 1;
        }
        Ok(filled * RECORD_SIZE)
    }

    fn stat(&self) -> Stat {
        // An anonymous inode, as Linux gives signalfds.
        Stat { mode: 0o600, nlink: 1, blksize: 4096, dev: 13, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    /// Readable while a signal in the mask is pending for the asking thread or its process
    /// (Linux's signalfd_poll looks at `current`); never writable.
    fn readiness(&self) -> Readiness {
        let mask = self.mask();
        let pending = registry::current_thread().is_some_and(|(process, thread)| {
            process.with_signal_states(&thread, |s, t| {
                (s.shared.pending() | t.private.pending()) & mask != 0
            })
        });
        Readiness { readable: pending, ..Readiness::default() }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// What `siginfo_layout` (Linux's kernel/signal.c) says the union after si_code holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// si_pid, si_uid (kill, and any code it does not know).
    Kill,
    /// si_tid, si_overrun, si_value (a POSIX timer).
    Timer,
    /// si_band, si_fd (SIGPOLL, SIGIO).
    Poll,
    /// si_addr (a fault).
    Fault,
    /// si_addr, si_addr_lsb (a machine-check SIGBUS).
    FaultMceErr,
    /// si_pid, si_uid, si_status, si_utime, si_stime (SIGCHLD).
    Child,
    /// si_pid, si_uid, si_value (sigqueue and other negative codes).
    Rt,
    /// si_call_addr, si_syscall, si_arch (seccomp's SIGSYS).
    Sys,
}

/// si_code of a queued SIGIO (F_SETSIG).
const SI_SIGIO: i32 = -5;
/// The number of SIGPOLL codes (POLL_IN..POLL_HUP).
const NSIGPOLL: i32 = 6;

/// Returns the layout of a siginfo with `signo` and `code`, as Linux's siginfo_layout.
fn layout(signo: u32, code: i32) -> Layout {
    if code > signal::SI_USER && code < signal::SI_KERNEL {
        // Signals whose positive codes have a meaning of their own, up to their last code.
        let specific = match signo {
            4 => Some((11, Layout::Fault)), // SIGILL: NSIGILL
            5 => Some((6, Layout::Fault)),  // SIGTRAP: NSIGTRAP
            7 => Some((5, Layout::Fault)),  // SIGBUS: NSIGBUS
            8 => Some((15, Layout::Fault)), // SIGFPE: NSIGFPE
            11 => Some((9, Layout::Fault)), // SIGSEGV: NSIGSEGV
            17 => Some((6, Layout::Child)), // SIGCHLD: NSIGCHLD
            29 => Some((6, Layout::Poll)),  // SIGPOLL: NSIGPOLL
            31 => Some((2, Layout::Sys)),   // SIGSYS: NSIGSYS
            _ => None,
        };
        match specific {
            // BUS_MCEERR_AR and BUS_MCEERR_AO carry the address's low bit.
            Some(_) if signo == signal::SIGBUS && (4..=5).contains(&code) => Layout::FaultMceErr,
            Some((limit, layout)) if code <= limit => layout,
            Some(_) => Layout::Kill,
            None if code <= NSIGPOLL => Layout::Poll,
            None => Layout::Kill,
        }
    } else if code == super::sigframe::SI_TIMER {
        Layout::Timer
    } else if code == SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

/// Returns the `struct signalfd_siginfo` for `info`, filled as Linux's signalfd_copyinfo
/// fills it: the fields of the siginfo's layout, zeros elsewhere.
///
/// ```text
/// 0 signo  4 errno  8 code  12 pid  16 uid  20 fd  24 tid  28 band  32 overrun  36 trapno
/// 40 status  44 int  48 ptr  56 utime  64 stime  72 addr  80 addr_lsb  84 syscall
/// 88 call_addr  96 arch  100..128 padding
/// ```
fn record_of(info: SigInfo) -> [u8; RECORD_SIZE] {
    let si = info.to_bytes();
    let mut r = [0u8; RECORD_SIZE];
    let mut copy =
        |to: usize, from: usize, len: usize| r[to..to + len].copy_from_slice(&si[from..from + len]);
    // signo, errno, code are where a siginfo has them.
    copy(0, 0, 12);
    // The union starts at byte 16 of a siginfo.
    match layout(info.signo, info.code) {
        Layout::Kill => {
            copy(12, 16, 4);
            copy(16, 20, 4);
        }
        Layout::Timer => {
            copy(24, 16, 4); // tid
            copy(32, 20, 4); // overrun
            copy(48, 24, 8); // ptr
            copy(44, 24, 4); // int
        }
        Layout::Poll => {
            copy(28, 16, 4); // band (a long, cut to 32 bits)
            copy(20, 24, 4); // fd
        }
        Layout::Fault => copy(72, 16, 8),
        Layout::FaultMceErr => {
            copy(72, 16, 8);
            copy(80, 24, 2); // addr_lsb
        }
        Layout::Child => {
            copy(12, 16, 4);
            copy(16, 20, 4);
            copy(40, 24, 4); // status
            copy(56, 32, 8); // utime
            copy(64, 40, 8); // stime
        }
        Layout::Rt => {
            copy(12, 16, 4);
            copy(16, 20, 4);
            copy(48, 24, 8); // ptr
            copy(44, 24, 4); // int
        }
        Layout::Sys => {
            copy(88, 16, 8); // call_addr
            copy(84, 24, 4); // syscall
            copy(96, 28, 4); // arch
        }
    }
    r
}
