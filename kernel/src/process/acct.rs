//! BSD process accounting (acct(2)): while it is on, every process that ends appends a
//! `struct acct_v3` record (64 bytes) to the accounting file, as Linux's kernel/acct.c.
//!
//! Kept small: the record has the version, the exit code (a wait status), the real user
//! and group, the pid and the parent's, the command name and the AFORK/AXSIG/ACORE flags.
//! Not yet: the controlling terminal, the start and elapsed times (the exit time stands
//! for the start, elapsed is 0), CPU times, memory and I/O counts (0), and the ASU flag
//! (Linux sets it once any capability check passed on superuser privileges). Linux's suspension of accounting when the disk runs low on space is not done
//! either.

use alloc::collections::BTreeSet;
use alloc::sync::Arc;

use ostd::sync::{Mutex, SpinLock};

use super::{ExitStatus, Pid, Process};
use crate::error::{Errno, SysResult};
use crate::fs::perm::Caller;
use crate::fs::{FileLike, NodeKind, OpenFlags};

/// The size of `struct acct_v3`.
pub const RECORD_SIZE: usize = 64;
/// ACCT_VERSION, little-endian (ACCT_BYTEORDER 0).
const ACCT_VERSION: u8 = 3;
/// ac_flag: the process forked and did not execve since.
const AFORK: u8 = 0x01;
/// ac_flag: the process dumped core.
const ACORE: u8 = 0x08;
/// ac_flag: the process was killed by a signal.
const AXSIG: u8 = 0x10;

/// The accounting file while accounting is on.
static ACCOUNTING: Mutex<Option<Arc<dyn FileLike>>> = Mutex::new(None);
/// The live processes that ran execve (Linux clears PF_FORKNOEXEC there): the others'
/// records carry AFORK.
static EXECUTED: SpinLock<BTreeSet<Pid>> = SpinLock::new(BTreeSet::new());

/// Notes that process `pid` replaced its program (execve).
pub fn program_replaced(pid: Pid) {
    EXECUTED.lock().insert(pid);
}

/// acct(path): writes records to `path` from now on, opened for appending as `caller`;
/// acct(NULL) (`None`): stops. The file given up gets a last record, of `process` (the
/// caller, still running: exit code 0), as Linux's `acct_pin_kill` writes.
///
/// # Errors
/// What opening the path for writing fails with (ENOENT, EISDIR, EACCES, EROFS, ...);
/// EACCES for a file that is not regular.
pub fn set(
    process: &Process,
    caller: &dyn Caller,
    start: &crate::fs::path::Start,
    path: Option<&str>,
) -> SysResult<()> {
    let new = match path {
        Some(path) => {
            let flags = OpenFlags::WRONLY | OpenFlags::APPEND;
            let file = crate::fs::open::open_path(caller, start, path, flags, 0)?;
            if file.node().is_none_or(|n| n.kind() != NodeKind::File) {
                return Err(Errno::EACCES);
            }
            Some(file)
        }
        None => None,
    };
    let old = core::mem::replace(&mut *ACCOUNTING.lock(), new);
    if let Some(old) = old {
        last_record(&old, process);
    }
    Ok(())
}

/// Stops accounting if its file is on mount `mount_id`, which is being unmounted: in
/// Linux the accounting file pins its mount without keeping it busy, and the unmount ends
/// accounting (with the unmounting process's record, as acct(NULL) writes one).
pub fn stop_on_unmount(mount_id: u32) {
    let on_it = {
        let accounting = ACCOUNTING.lock();
        let node = accounting.as_ref().and_then(|f| f.node().cloned());
        node.and_then(|n| crate::fs::mount::mount_of(&n)).is_some_and(|m| m.id == mount_id)
    };
    if !on_it {
        return;
    }
    let old = ACCOUNTING.lock().take();
    if let (Some(old), Some(process)) = (old, super::registry::current()) {
        last_record(&old, &process);
    }
}

/// Writes the record of `process`, still running, to the file accounting leaves.
fn last_record(file: &Arc<dyn FileLike>, process: &Process) {
    let executed = EXECUTED.lock().contains(&process.pid());
    append(file, process, ExitStatus::Exited(0), executed);
}

/// Appends the record of `process`, which ended with `status`, if accounting is on.
pub(super) fn process_exited(process: &Process, status: ExitStatus) {
    let executed = EXECUTED.lock().remove(&process.pid());
    let Some(file) = ACCOUNTING.lock().clone() else { return };
    append(&file, process, status, executed);
}

fn append(file: &Arc<dyn FileLike>, process: &Process, status: ExitStatus, executed: bool) {
    if let Err(e) = file.write(&record(process, status, executed)) {
        log::debug!("acct: record of {} not written: {e:?}", process.pid());
    }
}

/// The `struct acct_v3` of `process` (`executed`: it ran execve since its fork).
fn record(process: &Process, status: ExitStatus, executed: bool) -> [u8; RECORD_SIZE] {
    let mut r = [0u8; RECORD_SIZE];
    r[0] = match status {
        ExitStatus::Signaled(_, true) => AXSIG | ACORE,
        ExitStatus::Signaled(_, false) => AXSIG,
        ExitStatus::Exited(_) => 0,
    } | if executed { 0 } else { AFORK };
    r[1] = ACCT_VERSION;
    let creds = process.creds();
    let now = crate::time::clock::realtime().sec.clamp(0, i64::from(u32::MAX)) as u32;
    let fields: [(usize, u32); 6] = [
        (4, status.wait_status()),
        (8, creds.ruid),
        (12, creds.rgid),
        (16, process.pid() as u32),
        (20, process.ppid() as u32),
        (24, now),
    ];
    for (at, value) in fields {
        r[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    let comm = process.comm();
    let len = comm.len().min(15);
    r[48..48 + len].copy_from_slice(&comm.as_bytes()[..len]);
    r
}
