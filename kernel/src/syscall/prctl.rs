//! prctl(2): the options programs use at start-up (setpriv, systemd's tools, trinity,
//! language runtimes). Each decodes its arguments as Linux does and answers EINVAL for a bad
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
