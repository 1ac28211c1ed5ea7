//! Who a process is: user and group IDs (get/set, real/effective/saved) and supplementary
//! groups.

use super::SyscallCtx;
use crate::error::{Errno, SysResult};

/// getuid(2).
pub fn sys_getuid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(u64::from(ctx.process.creds().ruid))
}

/// geteuid(2).
pub fn sys_geteuid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(u64::from(ctx.process.creds().euid))
}

/// getgid(2).
pub fn sys_getgid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(u64::from(ctx.process.creds().rgid))
}

/// getegid(2).
pub fn sys_getegid(ctx: &mut SyscallCtx, _a: [u64; 6]) -> SysResult<u64> {
    Ok(u64::from(ctx.process.creds().egid))
}

/// Applies setresuid/setresgid rules to one (real, effective, saved) triple: root may set
/// anything; others only to one of their current three IDs. u32::MAX means "unchanged".
fn set_ids(
    ids: (u32, u32, u32),
    new: (u32, u32, u32),
    privileged: bool,
) -> SysResult<(u32, u32, u32)> {
    let allowed = |v: u32| v == u32::MAX || privileged || v == ids.0 || v == ids.1 || v == ids.2;
    if !(allowed(new.0) && allowed(new.1) && allowed(new.2)) {
        return Err(Errno::EPERM);
    }
    let pick = |v: u32, old: u32| if v == u32::MAX { old } else { v };
    Ok((pick(new.0, ids.0), pick(new.1, ids.1), pick(new.2, ids.2)))
}

/// setresuid(2).
pub fn sys_setresuid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.ruid, c.euid, c.suid) = set_ids(
            (c.ruid, c.euid, c.suid),
            (a[0] as u32, a[1] as u32, a[2] as u32),
            c.euid == 0,
        )?;
        c.fsuid = c.euid;
        Ok(0)
    })
}

/// setresgid(2).
pub fn sys_setresgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.rgid, c.egid, c.sgid) = set_ids(
            (c.rgid, c.egid, c.sgid),
            (a[0] as u32, a[1] as u32, a[2] as u32),
            c.euid == 0,
        )?;
        c.fsgid = c.egid;
        Ok(0)
    })
}

/// Applies setuid/setgid rules to one (real, effective, saved) triple: root sets all three;
/// others may set the effective ID to the real or saved one.
fn set_one_id(ids: (u32, u32, u32), id: u32, privileged: bool) -> SysResult<(u32, u32, u32)> {
    if id == u32::MAX {
        Err(Errno::EINVAL)
    } else if privileged {
        Ok((id, id, id))
    } else if id == ids.0 || id == ids.2 {
        Ok((ids.0, id, ids.2))
    } else {
        Err(Errno::EPERM)
    }
}

/// setuid(2).
pub fn sys_setuid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.ruid, c.euid, c.suid) = set_one_id((c.ruid, c.euid, c.suid), a[0] as u32, c.euid == 0)?;
        c.fsuid = c.euid;
        Ok(0)
    })
}

/// setgid(2).
pub fn sys_setgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.rgid, c.egid, c.sgid) = set_one_id((c.rgid, c.egid, c.sgid), a[0] as u32, c.euid == 0)?;
        c.fsgid = c.egid;
        Ok(0)
    })
}

/// setfsuid/setfsgid's rule on one set of IDs (real, effective, saved, filesystem): the
/// filesystem ID becomes `id` if that is one of the four or the caller is privileged; `-1`
/// only asks. Returns the ID it had (Linux answers every call, even a refused one, with it).
fn set_fs_id(ids: (u32, u32, u32, &mut u32), id: u32, privileged: bool) -> u64 {
    let (real, effective, saved, fs) = ids;
    let old = *fs;
    if id != u32::MAX && (privileged || [real, effective, saved, old].contains(&id)) {
        *fs = id;
    }
    u64::from(old)
}

/// setfsuid(2).
pub fn sys_setfsuid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.process.update_creds(|c| {
        let privileged = c.euid == 0;
        set_fs_id((c.ruid, c.euid, c.suid, &mut c.fsuid), a[0] as u32, privileged)
    }))
}

/// setfsgid(2).
pub fn sys_setfsgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    Ok(ctx.process.update_creds(|c| {
        let privileged = c.euid == 0;
        set_fs_id((c.rgid, c.egid, c.sgid, &mut c.fsgid), a[0] as u32, privileged)
    }))
}

/// Applies setreuid/setregid rules to one (real, effective, saved) triple. Unprivileged, the
/// real ID may become the real or effective one and the effective ID any of the three. The
/// saved ID follows the new effective ID when the real ID is set or the effective ID moves
/// off the old real one, as Linux does. u32::MAX means "unchanged".
fn set_re_ids(
    ids: (u32, u32, u32),
    real: u32,
    effective: u32,
    privileged: bool,
) -> SysResult<(u32, u32, u32)> {
    let real_ok = real == u32::MAX || privileged || real == ids.0 || real == ids.1;
    let effective_ok =
        effective == u32::MAX || privileged || [ids.0, ids.1, ids.2].contains(&effective);
    if !(real_ok && effective_ok) {
        return Err(Errno::EPERM);
    }
    let new_real = if real == u32::MAX { ids.0 } else { real };
    let new_effective = if effective == u32::MAX { ids.1 } else { effective };
    let saved_follows = real != u32::MAX || (effective != u32::MAX && effective != ids.0);
    Ok((new_real, new_effective, if saved_follows { new_effective } else { ids.2 }))
}

/// setreuid(2).
pub fn sys_setreuid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.ruid, c.euid, c.suid) =
            set_re_ids((c.ruid, c.euid, c.suid), a[0] as u32, a[1] as u32, c.euid == 0)?;
        c.fsuid = c.euid;
        Ok(0)
    })
}

/// setregid(2).
pub fn sys_setregid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    ctx.process.update_creds(|c| {
        (c.rgid, c.egid, c.sgid) =
            set_re_ids((c.rgid, c.egid, c.sgid), a[0] as u32, a[1] as u32, c.euid == 0)?;
        c.fsgid = c.egid;
        Ok(0)
    })
}

/// getresuid(2).
pub fn sys_getresuid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let c = ctx.process.creds();
    let mem = ctx.mem();
    for (addr, v) in [(a[0], c.ruid), (a[1], c.euid), (a[2], c.suid)] {
        mem.write_u32(addr, v)?;
    }
    Ok(0)
}

/// getresgid(2).
pub fn sys_getresgid(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let c = ctx.process.creds();
    let mem = ctx.mem();
    for (addr, v) in [(a[0], c.rgid), (a[1], c.egid), (a[2], c.sgid)] {
        mem.write_u32(addr, v)?;
    }
    Ok(0)
}

/// getgroups(2): the supplementary groups setgroups stored.
pub fn sys_getgroups(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let size = a[0] as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = ctx.process.groups();
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: alloc::vec::Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    ctx.mem().write(a[1], &bytes)?;
    Ok(groups.len() as u64)
}

/// setgroups(2): root only; at most NGROUPS_MAX (65536) groups, kept sorted as Linux keeps them.
pub fn sys_setgroups(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    use crate::process::creds::NGROUPS_MAX;
    if a[0] as i32 > NGROUPS_MAX as i32 || (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    let mut raw = alloc::vec![0u8; a[0] as usize * 4];
    ctx.mem().read(a[1], &mut raw)?;
    let mut groups: alloc::vec::Vec<u32> =
        raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    groups.sort_unstable();
    ctx.process.set_groups(groups);
    Ok(0)
}
