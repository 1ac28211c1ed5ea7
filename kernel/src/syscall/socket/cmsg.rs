//! Control messages (`msg_control`): SCM_RIGHTS, the files a Unix socket message carries.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::SyscallCtx;
use super::opt::SOL_SOCKET;
use crate::error::{Errno, SysResult};
use crate::fs::file::FileLike;

const MSG_CTRUNC: u32 = 0x8;
const SCM_RIGHTS: i32 = 1;
/// The most descriptors one SCM_RIGHTS message may carry (Linux's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

/// Reads the SCM_RIGHTS descriptors of a control buffer as the files they name.
pub(super) fn read_rights(
    ctx: &SyscallCtx,
    control: u64,
    len: u64,
) -> SysResult<Vec<Arc<dyn FileLike>>> {
    let mut rights = Vec::new();
    if control == 0 || len == 0 {
        return Ok(rights);
    }
    let mut raw = alloc::vec![0u8; (len as usize).min(64 * 1024)];
    ctx.mem().read(control, &mut raw)?;
    let mut at = 0;
    while at + 16 <= raw.len() {
        let cmsg_len = u64::from_le_bytes(raw[at..at + 8].try_into().expect("8 bytes")) as usize;
        let level = i32::from_le_bytes(raw[at + 8..at + 12].try_into().expect("4 bytes"));
        let kind = i32::from_le_bytes(raw[at + 12..at + 16].try_into().expect("4 bytes"));
        if cmsg_len < 16 || at + cmsg_len > raw.len() {
            return Err(Errno::EINVAL);
        }
        if level as u64 == SOL_SOCKET && kind == SCM_RIGHTS {
            let fds = &raw[at + 16..at + cmsg_len];
            ctx.process.with_files(|files| {
                for fd in fds.chunks_exact(4) {
                    rights.push(files.get(i32::from_le_bytes(fd.try_into().expect("4 bytes")))?);
                }
                SysResult::Ok(())
            })?;
            if rights.len() > SCM_MAX_FD {
                return Err(Errno::EINVAL);
            }
        } else if level as u64 != SOL_SOCKET || kind != 2 {
            return Err(Errno::EINVAL);
        }
        at += (cmsg_len + 7) & !7;
    }
    Ok(rights)
}

/// Installs received files as descriptors and writes their SCM_RIGHTS message into the
/// control buffer at `control` (`control_len` bytes); what does not fit is dropped and
/// MSG_CTRUNC set. Returns the control bytes used.
pub(super) fn deliver_rights(
    ctx: &SyscallCtx,
    control: u64,
    control_len: u64,
    rights: Vec<Arc<dyn FileLike>>,
    cloexec: bool,
    msg_flags: &mut u32,
) -> SysResult<u64> {
    if rights.is_empty() {
        return Ok(0);
    }
    let room = if control == 0 { 0 } else { control_len as usize };
    let fit = room.saturating_sub(16) / 4;
    if fit < rights.len() {
        *msg_flags |= MSG_CTRUNC;
    }
    let mut fds = Vec::new();
    ctx.process.with_files(|files| {
        for file in rights.into_iter().take(fit) {
            match files.insert(file, cloexec) {
                Ok(fd) => fds.push(fd),
                Err(_) => {
                    *msg_flags |= MSG_CTRUNC;
                    break;
                }
            }
        }
    });
    if fds.is_empty() {
        return Ok(0);
    }
    let cmsg_len = 16 + 4 * fds.len();
    let mut raw = Vec::with_capacity(cmsg_len);
    raw.extend_from_slice(&(cmsg_len as u64).to_le_bytes());
    raw.extend_from_slice(&(SOL_SOCKET as i32).to_le_bytes());
    raw.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
    for fd in &fds {
        raw.extend_from_slice(&fd.to_le_bytes());
    }
    ctx.mem().write(control, &raw)?;
    Ok(((cmsg_len + 7) & !7).min(room) as u64)
}
