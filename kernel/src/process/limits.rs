//! Resource limits (getrlimit, setrlimit, prlimit64, /proc/PID/limits): each process's
//! soft and hard limit per resource, inherited by fork and kept across execve, changed as
//! Linux's do_prlimit allows. RLIMIT_NOFILE is enforced by the descriptor table, which the
//! process hands its limit with each use (a table may be shared by processes with
//! different limits, clone's CLONE_FILES); the rest are enforced where the resource is
//! taken: FSIZE by file
//! writes and truncation, DATA and AS by mmap, brk and mremap, NPROC by fork and clone,
//! MEMLOCK by mlock, CPU by the CPU-time tick, SIGPENDING by the signal queues, MSGQUEUE by
//! POSIX message queues. CORE is kept (no core file is ever written); STACK is kept but the
//! main stack's size is fixed; RSS and LOCKS, as on Linux, limit nothing; NICE, RTPRIO and
//! RTTIME are kept but not enforced.

use alloc::format;
use alloc::string::String;

use crate::error::{Errno, SysResult};

/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;
/// The number of resources.
pub const COUNT: usize = 16;

pub const CPU: usize = 0;
pub const FSIZE: usize = 1;
pub const DATA: usize = 2;
pub const STACK: usize = 3;
pub const CORE: usize = 4;
pub const NPROC: usize = 6;
pub const NOFILE: usize = 7;
pub const MEMLOCK: usize = 8;
pub const AS: usize = 9;
pub const SIGPENDING: usize = 11;
pub const MSGQUEUE: usize = 12;

/// One resource's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

impl Limit {
    const fn both(value: u64) -> Self {
        Self { soft: value, hard: value }
    }

    const fn unlimited() -> Self {
        Self::both(RLIM_INFINITY)
    }
}

/// A process's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits([Limit; COUNT]);

impl Limits {
    /// What init starts with (Linux's INIT_RLIMITS; NPROC and SIGPENDING at half of
    /// threads-max, as fork_init sets them).
    pub fn initial() -> Self {
        let half_threads = (super::registry::threads_max() / 2) as u64;
        let mut limits = [Limit::unlimited(); COUNT];
        limits[STACK] = Limit { soft: super::vm::STACK_SIZE, hard: RLIM_INFINITY };
        limits[CORE] = Limit { soft: 0, hard: RLIM_INFINITY };
        limits[NPROC] = Limit::both(half_threads);
        limits[NOFILE] = Limit {
            soft: crate::fs::fd_table::DEFAULT_NOFILE as u64,
            hard: crate::fs::fd_table::DEFAULT_NOFILE_HARD as u64,
        };
        limits[MEMLOCK] = Limit::both(8 << 20);
        limits[SIGPENDING] = Limit::both(half_threads);
        limits[MSGQUEUE] = Limit::both(819_200);
        limits[13] = Limit::both(0); // NICE
        limits[14] = Limit::both(0); // RTPRIO
        Self(limits)
    }

    /// The limits of `resource` (a checked index below [`COUNT`]).
    pub fn get(&self, resource: usize) -> Limit {
        self.0[resource]
    }

    /// Sets the limits of `resource` as Linux's do_prlimit does (RLIMIT_NOFILE's ceiling,
    /// fs.nr_open, is the caller's to check).
    ///
    /// # Errors
    /// EINVAL if the soft limit is above the hard one; EPERM if the hard limit would rise
    /// and the caller is not privileged.
    pub fn set(&mut self, resource: usize, new: Limit, privileged: bool) -> SysResult<()> {
        check(self.0[resource], new, privileged)?;
        self.0[resource] = new;
        Ok(())
    }

    /// /proc/PID/limits, in Linux's layout.
    pub fn proc_text(&self) -> String {
        const ROWS: [(&str, &str); COUNT] = [
            ("Max cpu time", "seconds"),
            ("Max file size", "bytes"),
            ("Max data size", "bytes"),
            ("Max stack size", "bytes"),
            ("Max core file size", "bytes"),
            ("Max resident set", "bytes"),
            ("Max processes", "processes"),
            ("Max open files", "files"),
            ("Max locked memory", "bytes"),
            ("Max address space", "bytes"),
            ("Max file locks", "locks"),
            ("Max pending signals", "signals"),
            ("Max msgqueue size", "bytes"),
            ("Max nice priority", ""),
            ("Max realtime priority", ""),
            ("Max realtime timeout", "us"),
        ];
        let value = |v: u64| {
            if v == RLIM_INFINITY { String::from("unlimited") } else { format!("{v}") }
        };
        let mut out =
            format!("{:<25} {:<20} {:<20} {:<10}\n", "Limit", "Soft Limit", "Hard Limit", "Units");
        for (i, (name, unit)) in ROWS.iter().enumerate() {
            let limit = self.0[i];
            out += &format!("{name:<25} {:<20} {:<20} ", value(limit.soft), value(limit.hard));
            if !unit.is_empty() {
                out += &format!("{unit:<10}");
            }
            out.push('\n');
        }
        out
    }
}

/// Linux's do_prlimit rules for replacing `old` with `new`.
pub fn check(old: Limit, new: Limit, privileged: bool) -> SysResult<()> {
    if new.soft > new.hard {
        return Err(Errno::EINVAL);
    }
    if new.hard > old.hard && !privileged {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The calling process's RLIMIT_FSIZE soft limit (none outside a process).
pub fn file_size_limit() -> u64 {
    super::registry::current().map_or(RLIM_INFINITY, |p| p.limit(FSIZE).soft)
}

/// Checks growing a regular file to `end` bytes against RLIMIT_FSIZE, as Linux's
/// inode_newsize_ok does for truncate: past the limit, SIGXFSZ and EFBIG.
pub fn check_file_growth(end: u64) -> SysResult<()> {
    if end > file_size_limit() {
        file_too_big();
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// What a write or truncate past RLIMIT_FSIZE does besides failing: SIGXFSZ to the caller.
pub fn file_too_big() {
    if let Some(p) = super::registry::current() {
        super::signal::send(&p, super::signal::SIGXFSZ);
    }
}

/// Whether `process` may map `pages` more pages (in a data mapping if `data`): Linux's
/// may_expand_vm, RLIMIT_AS over all pages and RLIMIT_DATA over data mappings (with its
/// exception for a soft RLIMIT_DATA of 0 under a higher hard one).
pub fn may_expand(process: &super::Process, pages: u64, data: bool) -> bool {
    let page = ostd::mm::PAGE_SIZE as u64;
    let (total, data_pages) = process.vm().areas().usage();
    let (address_space, data_limit) = (process.limit(AS), process.limit(DATA));
    if total + pages > address_space.soft / page {
        return false;
    }
    if data && data_pages + pages > data_limit.soft / page {
        return data_limit.soft == 0 && data_pages + pages <= data_limit.hard / page;
    }
    true
}

/// Whether `process` may create another task (fork or clone): RLIMIT_NPROC bounds the tasks
/// of its real user, except for root's and a privileged caller's (Linux's copy_process).
pub fn may_create_task(process: &super::Process) -> bool {
    let creds = process.creds();
    creds.ruid == 0
        || creds.euid == 0
        || (super::registry::tasks_of_user(creds.ruid) as u64) < process.limit(NPROC).soft
}

/// A process's limits.
impl super::Process {
    /// Returns the limits of `resource` (below [`COUNT`]).
    pub fn limit(&self, resource: usize) -> Limit {
        self.limits.lock().get(resource)
    }

    /// Sets the limits of `resource` under Linux's rules ([`Limits::set`]; RLIMIT_NOFILE's
    /// ceiling, fs.nr_open, is the caller's to check).
    pub fn set_limit(&self, resource: usize, new: Limit, privileged: bool) -> SysResult<()> {
        self.limits.lock().set(resource, new, privileged)
    }

    /// After SIGXCPU, RLIMIT_CPU's soft limit moves one second on (up to the hard one), so
    /// the next comes a second later (Linux's check_process_timers).
    pub fn raise_cpu_soft_limit(&self) {
        let mut limits = self.limits.lock();
        let limit = limits.get(CPU);
        if limit.soft < limit.hard {
            // Within the hard limit: the rules cannot refuse it.
            let _ = limits.set(CPU, Limit { soft: limit.soft + 1, ..limit }, true);
        }
    }

    /// /proc/PID/limits.
    pub fn limits_text(&self) -> String {
        self.limits.lock().proc_text()
    }
}
