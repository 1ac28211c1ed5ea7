//! The files of /proc/sys, sorted by path. Modes and ranges are Linux 6.1's.

use alloc::format;
use alloc::string::String;

use super::{Entry, Value, one_integer, parse};
use crate::error::{Errno, SysResult};
use crate::fs::notify::limits as inotify;
use crate::ipc::limits;
use crate::ipc::mqueue::limits as mqueue;
use crate::process::uts::{self, Which};

/// Every file, sorted by path.
pub static ENTRIES: &[Entry] = &[
    Entry {
        path: "fs/inotify/max_queued_events",
        mode: 0o644,
        value: Value::Int(&inotify::MAX_QUEUED_EVENTS),
    },
    Entry {
        path: "fs/inotify/max_user_instances",
        mode: 0o644,
        value: Value::Int(&inotify::MAX_USER_INSTANCES),
    },
    Entry {
        path: "fs/inotify/max_user_watches",
        mode: 0o644,
        value: Value::Int(&inotify::MAX_USER_WATCHES),
    },
    Entry {
        path: "fs/lease-break-time",
        mode: 0o644,
        value: Value::Int(&crate::fs::lease::LEASE_BREAK_TIME),
    },
    Entry {
        path: "fs/leases-enable",
        mode: 0o644,
        value: Value::Int(&crate::fs::lease::LEASES_ENABLE),
    },
    Entry { path: "fs/mqueue/msg_default", mode: 0o644, value: Value::Int(&mqueue::MSG_DEFAULT) },
    Entry { path: "fs/mqueue/msg_max", mode: 0o644, value: Value::Int(&mqueue::MSG_MAX) },
    Entry {
        path: "fs/mqueue/msgsize_default",
        mode: 0o644,
        value: Value::Int(&mqueue::MSGSIZE_DEFAULT),
    },
    Entry { path: "fs/mqueue/msgsize_max", mode: 0o644, value: Value::Int(&mqueue::MSGSIZE_MAX) },
    Entry { path: "fs/mqueue/queues_max", mode: 0o644, value: Value::Int(&mqueue::QUEUES_MAX) },
    Entry { path: "fs/nr_open", mode: 0o644, value: Value::Int(&crate::fs::fd_table::NR_OPEN) },
    Entry {
        path: "fs/pipe-max-size",
        mode: 0o644,
        value: Value::Custom { read: pipe_max_size, write: set_pipe_max_size },
    },
    Entry { path: "kernel/cap_last_cap", mode: 0o444, value: Value::Computed(cap_last_cap) },
    Entry {
        path: "kernel/domainname",
        mode: 0o644,
        value: Value::Custom { read: domainname, write: set_domainname },
    },
    Entry {
        path: "kernel/hostname",
        mode: 0o644,
        value: Value::Custom { read: hostname, write: set_hostname },
    },
    Entry {
        path: "kernel/msgmax",
        mode: 0o644,
        value: Value::Custom { read: msgmax, write: set_msgmax },
    },
    Entry {
        path: "kernel/msgmnb",
        mode: 0o644,
        value: Value::Custom { read: msgmnb, write: set_msgmnb },
    },
    Entry {
        path: "kernel/msgmni",
        mode: 0o644,
        value: Value::Custom { read: msgmni, write: set_msgmni },
    },
    Entry { path: "kernel/ngroups_max", mode: 0o444, value: Value::Computed(ngroups_max) },
    Entry { path: "kernel/osrelease", mode: 0o444, value: Value::Computed(osrelease) },
    Entry { path: "kernel/ostype", mode: 0o444, value: Value::Computed(ostype) },
    Entry {
        path: "kernel/pid_max",
        mode: 0o644,
        value: Value::Int(&crate::process::registry::PID_MAX),
    },
    Entry { path: "kernel/random/boot_id", mode: 0o444, value: Value::Computed(boot_id) },
    Entry { path: "kernel/random/entropy_avail", mode: 0o444, value: Value::Computed(pool_bits) },
    Entry { path: "kernel/random/poolsize", mode: 0o444, value: Value::Computed(pool_bits) },
    Entry { path: "kernel/random/uuid", mode: 0o444, value: Value::Computed(uuid) },
    Entry { path: "kernel/sem", mode: 0o644, value: Value::Custom { read: sem, write: set_sem } },
    Entry {
        path: "kernel/shmall",
        mode: 0o644,
        value: Value::Custom { read: shmall, write: set_shmall },
    },
    Entry {
        path: "kernel/shmmax",
        mode: 0o644,
        value: Value::Custom { read: shmmax, write: set_shmmax },
    },
    Entry {
        path: "kernel/shmmni",
        mode: 0o644,
        value: Value::Custom { read: shmmni, write: set_shmmni },
    },
    Entry {
        path: "kernel/tainted",
        mode: 0o644,
        value: Value::Custom { read: tainted, write: add_taint },
    },
    Entry {
        path: "kernel/threads-max",
        mode: 0o644,
        value: Value::Custom { read: threads_max, write: set_threads_max },
    },
    Entry { path: "kernel/version", mode: 0o444, value: Value::Computed(version) },
    Entry { path: "net/core/somaxconn", mode: 0o644, value: Value::Int(&crate::net::SOMAXCONN) },
    Entry {
        path: "vm/max_map_count",
        mode: 0o644,
        value: Value::Int(&crate::process::vm::MAX_MAP_COUNT),
    },
    Entry {
        path: "vm/overcommit_memory",
        mode: 0o644,
        value: Value::Int(&crate::memory::OVERCOMMIT_MEMORY),
    },
];

fn line(value: impl core::fmt::Display) -> String {
    format!("{value}\n")
}

fn pipe_max_size() -> String {
    line(crate::fs::pipe::PIPE_MAX_SIZE.get())
}

/// Linux's `proc_dopipe_max_size`: an unsigned value, rounded up as F_SETPIPE_SZ rounds a
/// pipe's size (to a power-of-two number of pages); past 2^31 it is EINVAL.
fn set_pipe_max_size(buf: &[u8]) -> SysResult<usize> {
    let (value, taken) = one_integer(buf, false)?;
    let rounded = crate::fs::pipe::round_size(value as u64).ok_or(Errno::EINVAL)?;
    crate::fs::pipe::PIPE_MAX_SIZE.set(rounded as i64)?;
    Ok(taken)
}

fn cap_last_cap() -> String {
    line(crate::process::creds::CAP_LAST_CAP)
}

fn ngroups_max() -> String {
    line(crate::process::creds::NGROUPS_MAX)
}

fn osrelease() -> String {
    line(uts::RELEASE)
}

fn ostype() -> String {
    line(uts::SYSNAME)
}

fn version() -> String {
    line(uts::VERSION)
}

fn uts_name(which: Which) -> String {
    let name = uts::get(which);
    line(String::from_utf8_lossy(name.as_bytes()))
}

fn hostname() -> String {
    uts_name(Which::Host)
}

fn domainname() -> String {
    uts_name(Which::Domain)
}

/// Linux's `proc_do_uts_string`: up to the first newline, cut to the name's size.
fn set_uts_name(which: Which, buf: &[u8]) -> SysResult<usize> {
    let (name, taken) = parse::string(buf, uts::MAX_NAME);
    uts::set(which, name)?;
    Ok(taken)
}

fn set_hostname(buf: &[u8]) -> SysResult<usize> {
    set_uts_name(Which::Host, buf)
}

fn set_domainname(buf: &[u8]) -> SysResult<usize> {
    set_uts_name(Which::Domain, buf)
}

/// A random UUID in the text form (version 4, as Linux's `generate_random_uuid`).
fn random_uuid() -> [u8; 16] {
    let mut b = [0u8; 16];
    crate::random::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}

fn uuid_text(b: &[u8; 16]) -> String {
    let hex = |range: core::ops::Range<usize>| -> String {
        b[range].iter().map(|x| format!("{x:02x}")).collect()
    };
    format!("{}-{}-{}-{}-{}\n", hex(0..4), hex(4..6), hex(6..8), hex(8..10), hex(10..16))
}

fn uuid() -> String {
    uuid_text(&random_uuid())
}

/// The same UUID for the whole boot.
fn boot_id() -> String {
    static BOOT_ID: spin::Once<[u8; 16]> = spin::Once::new();
    uuid_text(BOOT_ID.call_once(random_uuid))
}

/// entropy_avail and poolsize: Linux 5.18 and later report a full 256-bit pool, always.
fn pool_bits() -> String {
    line(256)
}

static TAINTED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn tainted() -> String {
    line(TAINTED.load(core::sync::atomic::Ordering::Relaxed))
}

/// Linux's `proc_taint`: taint flags are only ever added.
fn add_taint(buf: &[u8]) -> SysResult<usize> {
    let (value, taken) = one_integer(buf, false)?;
    TAINTED.fetch_or(value as u64, core::sync::atomic::Ordering::Relaxed);
    Ok(taken)
}

fn threads_max() -> String {
    line(crate::process::registry::threads_max())
}

/// Linux's `sysctl_max_threads`: between 1 and FUTEX_TID_MASK.
fn set_threads_max(buf: &[u8]) -> SysResult<usize> {
    let (value, taken) = one_integer(buf, true)?;
    crate::process::registry::set_threads_max(value)?;
    Ok(taken)
}

// The System V IPC limits (`crate::ipc::limits` keeps and checks them).

fn ipc_int(buf: &[u8], set: fn(i64) -> SysResult<()>) -> SysResult<usize> {
    let (value, taken) = one_integer(buf, true)?;
    set(value)?;
    Ok(taken)
}

fn ipc_ulong(buf: &[u8], set: fn(u64)) -> SysResult<usize> {
    let (value, taken) = parse::unsigned_long(buf)?;
    set(value);
    Ok(taken)
}

fn msgmax() -> String {
    line(limits::msgmax())
}

fn set_msgmax(buf: &[u8]) -> SysResult<usize> {
    ipc_int(buf, limits::set_msgmax)
}

fn msgmnb() -> String {
    line(limits::msgmnb())
}

fn set_msgmnb(buf: &[u8]) -> SysResult<usize> {
    ipc_int(buf, limits::set_msgmnb)
}

fn msgmni() -> String {
    line(limits::msgmni())
}

fn set_msgmni(buf: &[u8]) -> SysResult<usize> {
    ipc_int(buf, limits::set_msgmni)
}

fn shmmni() -> String {
    line(limits::shmmni())
}

fn set_shmmni(buf: &[u8]) -> SysResult<usize> {
    ipc_int(buf, limits::set_shmmni)
}

fn shmmax() -> String {
    line(limits::shmmax())
}

fn set_shmmax(buf: &[u8]) -> SysResult<usize> {
    ipc_ulong(buf, limits::set_shmmax)
}

fn shmall() -> String {
    line(limits::shmall())
}

fn set_shmall(buf: &[u8]) -> SysResult<usize> {
    ipc_ulong(buf, limits::set_shmall)
}

fn sem() -> String {
    let [msl, mns, opm, mni] = limits::sem();
    format!("{msl}\t{mns}\t{opm}\t{mni}\n")
}

/// kernel.sem, as Linux's `proc_ipc_sem_dointvec`: up to four values replace the first
/// ones; a SEMMNI out of range is put back and the write fails with ERANGE
/// (`sem_check_semmni`), the others staying set.
fn set_sem(buf: &[u8]) -> SysResult<usize> {
    let (written, taken) = parse::integers(buf, 4, true)?;
    let old = limits::sem().map(i64::from);
    let mut new = old;
    new[..written.len()].copy_from_slice(&written);
    if limits::set_sem(new).is_err() {
        new[3] = old[3];
        limits::set_sem(new)?;
        return Err(Errno::ERANGE);
    }
    Ok(taken)
}
