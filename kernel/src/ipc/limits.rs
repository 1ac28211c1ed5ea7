//! The System V IPC tunables (Linux's kernel.msgmax, msgmnb, msgmni, sem, shmmax, shmall and
//! shmmni sysctls): one atomic each per IPC namespace (a new namespace starts with the
//! defaults, as Linux's msg_init_ns and its kin set them), read where the limit is enforced
//! and written by /proc/sys/kernel, always the caller's namespace's. The setters refuse what
//! Linux 6.1's sysctl handlers refuse (EINVAL), so a value stored here is always one the IPC
//! code can use.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::error::{Errno, SysResult};

/// Linux's IPCMNI: at most this many objects of one kind (indices 0..IPCMNI).
pub const IPCMNI: i32 = 32768;
/// The largest semaphore value (SEMVMX).
pub const SEMVMX: i32 = 32767;

/// One IPC namespace's tunables.
pub struct IpcLimits {
    msgmax: AtomicI32,
    msgmnb: AtomicI32,
    msgmni: AtomicI32,
    /// kernel.sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI, in that order (the sysctl's order).
    sem: [AtomicI32; 4],
    shmmax: AtomicU64,
    shmall: AtomicU64,
    shmmni: AtomicI32,
}

impl IpcLimits {
    /// Linux's defaults.
    pub const fn new() -> Self {
        Self {
            msgmax: AtomicI32::new(8192),
            msgmnb: AtomicI32::new(16384),
            msgmni: AtomicI32::new(32000),
            sem: [
                AtomicI32::new(32000),
                AtomicI32::new(1_024_000_000),
                AtomicI32::new(500),
                AtomicI32::new(32000),
            ],
            shmmax: AtomicU64::new(u64::MAX - (1 << 24)),
            shmall: AtomicU64::new(u64::MAX - (1 << 24)),
            shmmni: AtomicI32::new(4096),
        }
    }
}

/// Runs `f` on the caller's namespace's tunables.
fn with<R>(f: impl FnOnce(&IpcLimits) -> R) -> R {
    f(&super::namespace::current().limits)
}

/// The largest message (bytes) msgsnd accepts.
pub fn msgmax() -> i32 {
    with(|l| l.msgmax.load(Ordering::Relaxed))
}

/// A new queue's byte limit (msg_qbytes), and the most an unprivileged IPC_SET may set.
pub fn msgmnb() -> i32 {
    with(|l| l.msgmnb.load(Ordering::Relaxed))
}

/// The most message queues.
pub fn msgmni() -> i32 {
    with(|l| l.msgmni.load(Ordering::Relaxed))
}

/// Semaphores per set (SEMMSL).
pub fn semmsl() -> i32 {
    with(|l| l.sem[0].load(Ordering::Relaxed))
}

/// Semaphores in all sets (SEMMNS).
pub fn semmns() -> i32 {
    with(|l| l.sem[1].load(Ordering::Relaxed))
}

/// Operations per semop call (SEMOPM).
pub fn semopm() -> i32 {
    with(|l| l.sem[2].load(Ordering::Relaxed))
}

/// The most semaphore sets (SEMMNI).
pub fn semmni() -> i32 {
    with(|l| l.sem[3].load(Ordering::Relaxed))
}

/// The largest shared memory segment (bytes).
pub fn shmmax() -> u64 {
    with(|l| l.shmmax.load(Ordering::Relaxed))
}

/// Pages of all shared memory segments.
pub fn shmall() -> u64 {
    with(|l| l.shmall.load(Ordering::Relaxed))
}

/// The most shared memory segments.
pub fn shmmni() -> i32 {
    with(|l| l.shmmni.load(Ordering::Relaxed))
}

/// Sets kernel.msgmax (0 to INT_MAX).
pub fn set_msgmax(v: i64) -> SysResult<()> {
    let value = in_range(v, 0, i32::MAX)?;
    with(|l| l.msgmax.store(value, Ordering::Relaxed));
    Ok(())
}

/// Sets kernel.msgmnb (0 to INT_MAX).
pub fn set_msgmnb(v: i64) -> SysResult<()> {
    let value = in_range(v, 0, i32::MAX)?;
    with(|l| l.msgmnb.store(value, Ordering::Relaxed));
    Ok(())
}

/// Sets kernel.msgmni (0 to IPCMNI).
pub fn set_msgmni(v: i64) -> SysResult<()> {
    let value = in_range(v, 0, IPCMNI)?;
    with(|l| l.msgmni.store(value, Ordering::Relaxed));
    Ok(())
}

/// The four values of kernel.sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI.
pub fn sem() -> [i32; 4] {
    [semmsl(), semmns(), semopm(), semmni()]
}

/// Sets kernel.sem. Linux takes any int for the first three and 0 to IPCMNI for SEMMNI,
/// checking after the values are read: a bad SEMMNI rejects the whole write here.
pub fn set_sem(values: [i64; 4]) -> SysResult<()> {
    let mut checked = [0i32; 4];
    for (i, v) in values.into_iter().enumerate() {
        let max = if i == 3 { IPCMNI } else { i32::MAX };
        let min = if i == 3 { 0 } else { i32::MIN };
        checked[i] = in_range(v, min, max)?;
    }
    with(|l| {
        for (slot, v) in l.sem.iter().zip(checked) {
            slot.store(v, Ordering::Relaxed);
        }
    });
    Ok(())
}

/// Sets kernel.shmmax (any unsigned long).
pub fn set_shmmax(v: u64) {
    let value = v;
    with(|l| l.shmmax.store(value, Ordering::Relaxed));
}

/// Sets kernel.shmall (any unsigned long).
pub fn set_shmall(v: u64) {
    let value = v;
    with(|l| l.shmall.store(value, Ordering::Relaxed));
}

/// Sets kernel.shmmni (0 to IPCMNI).
pub fn set_shmmni(v: i64) -> SysResult<()> {
    let value = in_range(v, 0, IPCMNI)?;
    with(|l| l.shmmni.store(value, Ordering::Relaxed));
    Ok(())
}

fn in_range(v: i64, min: i32, max: i32) -> SysResult<i32> {
    i32::try_from(v).ok().filter(|v| (min..=max).contains(v)).ok_or(Errno::EINVAL)
}
