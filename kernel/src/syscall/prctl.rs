//! prctl(2): the options programs use at start-up (setpriv, systemd's tools, trinity,
//! language runtimes, container inits such as tini that make themselves child subreapers). Each decodes its arguments as Linux does and answers EINVAL for a bad
//! one; options whose effect this kernel does not model answer EINVAL, as an unknown option
//! does, rather than pretending to succeed.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::signal::NSIG;

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_SET_DUMPABLE: u64 = 4;
const PR_GET_KEEPCAPS: u64 = 7;
const PR_SET_KEEPCAPS: u64 = 8;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_GET_SECCOMP: u64 = 21;
const PR_SET_SECCOMP: u64 = 22;
const PR_CAPBSET_READ: u64 = 23;
const PR_GET_TIMERSLACK: u64 = 30;
const PR_SET_TIMERSLACK: u64 = 29;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_NO_NEW_PRIVS: u64 = 39;
const PR_SET_TIMING: u64 = 14;
const PR_GET_TIMING: u64 = 13;
const PR_GET_SECUREBITS: u64 = 27;
const PR_TASK_PERF_EVENTS_DISABLE: u64 = 31;
const PR_TASK_PERF_EVENTS_ENABLE: u64 = 32;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
const PR_GET_TID_ADDRESS: u64 = 40;
const PR_SET_THP_DISABLE: u64 = 41;
const PR_GET_THP_DISABLE: u64 = 42;
const PR_CAP_AMBIENT: u64 = 47;
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
/// PR_TIMING_STATISTICAL: the only process timing Linux has.
const PR_TIMING_STATISTICAL: u64 = 0;

/// The length of a task name, with its terminating NUL.
const TASK_COMM_LEN: usize = 16;

/// prctl(2).
pub fn sys_prctl(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (option, arg2) = (a[0], a[1]);
    let process = ctx.process;
    match option {
        PR_SET_PDEATHSIG => {
            if arg2 > u64::from(NSIG) {
                return Err(Errno::EINVAL);
            }
            process.update_attrs(|a| a.parent_death_signal = arg2 as u32);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = process.attrs().parent_death_signal;
            ctx.mem().write_u32(arg2, sig)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(process.attrs().dumpable)),
        PR_SET_DUMPABLE => {
            let dumpable = decode_bool(arg2)?;
            process.update_attrs(|a| a.dumpable = dumpable);
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(u64::from(process.attrs().keep_caps)),
        PR_SET_KEEPCAPS => {
            let keep_caps = decode_bool(arg2)?;
            process.update_attrs(|a| a.keep_caps = keep_caps);
            Ok(0)
        }
        PR_SET_NAME => {
            let mut raw = [0u8; TASK_COMM_LEN];
            read_name(ctx, arg2, &mut raw)?;
            let len = raw.iter().position(|&b| b == 0).unwrap_or(TASK_COMM_LEN - 1);
            process.set_comm(alloc::string::String::from_utf8_lossy(&raw[..len]).into_owned());
            Ok(0)
        }
        PR_GET_NAME => {
            let mut raw = [0u8; TASK_COMM_LEN];
            let comm = process.comm();
            let len = comm.len().min(TASK_COMM_LEN - 1);
            raw[..len].copy_from_slice(&comm.as_bytes()[..len]);
            ctx.mem().write(arg2, &raw)?;
            Ok(0)
        }
        PR_GET_SECCOMP => Ok(u64::from(ctx.thread.seccomp().mode.number())),
        PR_SET_SECCOMP => super::seccomp::prctl_set(ctx, arg2, a[2]),
        // Every capability is in the bounding set (none can be dropped from it yet).
        PR_CAPBSET_READ => {
            if arg2 <= crate::process::creds::CAP_LAST_CAP {
                Ok(1)
            } else {
                Err(Errno::EINVAL)
            }
        }
        PR_GET_TIMERSLACK => Ok(process.attrs().timer_slack_ns),
        PR_SET_TIMERSLACK => {
            let slack =
                if arg2 == 0 { crate::process::attrs::DEFAULT_TIMER_SLACK_NS } else { arg2 };
            process.update_attrs(|a| a.timer_slack_ns = slack);
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 || a[2..5].iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            process.update_attrs(|a| a.no_new_privs = true);
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a[1..5].iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(process.attrs().no_new_privs))
        }
        PR_GET_TIMING => Ok(PR_TIMING_STATISTICAL),
        PR_SET_TIMING => {
            if arg2 == PR_TIMING_STATISTICAL {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        // No securebits are set, and nothing here sets them.
        PR_GET_SECUREBITS => Ok(0),
        // There are no perf events to enable or disable.
        PR_TASK_PERF_EVENTS_DISABLE | PR_TASK_PERF_EVENTS_ENABLE => Ok(0),
        PR_SET_CHILD_SUBREAPER => {
            process.update_attrs(|a| a.child_subreaper = arg2 != 0);
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let subreaper = u32::from(process.attrs().child_subreaper);
            ctx.mem().write_u32(arg2, subreaper)?;
            Ok(0)
        }
        PR_GET_TID_ADDRESS => {
            let address = ctx.thread.clear_child_tid();
            ctx.mem().write_u64(arg2, address)?;
            Ok(0)
        }
        PR_SET_THP_DISABLE => {
            if a[2..5].iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            process.update_attrs(|a| a.thp_disabled = arg2 != 0);
            Ok(0)
        }
        PR_GET_THP_DISABLE => {
            if a[1..5].iter().any(|&x| x != 0) {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(process.attrs().thp_disabled))
        }
        PR_CAP_AMBIENT => ambient_capability(a),
        _ => Err(Errno::EINVAL),
    }
}

/// PR_CAP_AMBIENT, with Linux's checks. The ambient set is empty and stays so: raising a
/// capability needs it in the inheritable set, which is empty here too (EPERM).
fn ambient_capability(a: [u64; 6]) -> SysResult<u64> {
    let (op, cap) = (a[1], a[2]);
    if op == PR_CAP_AMBIENT_CLEAR_ALL {
        return if a[2..5].iter().any(|&x| x != 0) { Err(Errno::EINVAL) } else { Ok(0) };
    }
    if cap > crate::process::creds::CAP_LAST_CAP || a[3] != 0 || a[4] != 0 {
        return Err(Errno::EINVAL);
    }
    match op {
        PR_CAP_AMBIENT_IS_SET | PR_CAP_AMBIENT_LOWER => Ok(0),
        PR_CAP_AMBIENT_RAISE => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

fn decode_bool(arg: u64) -> SysResult<bool> {
    match arg {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Errno::EINVAL),
    }
}

/// Reads a task name as Linux does (strncpy_from_user of 15 bytes): a longer string is cut.
fn read_name(ctx: &SyscallCtx, addr: u64, raw: &mut [u8; TASK_COMM_LEN]) -> SysResult<()> {
    let limit = TASK_COMM_LEN - 1;
    match ctx.mem().read_cstring(addr, limit) {
        Ok(name) => {
            let len = name.len().min(limit);
            raw[..len].copy_from_slice(&name.as_bytes()[..len]);
            Ok(())
        }
        Err(Errno::ENAMETOOLONG) => ctx.mem().read(addr, &mut raw[..limit]),
        Err(e) => Err(e),
    }
}
