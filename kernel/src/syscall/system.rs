//! Syscalls about the machine as a whole: uname and the names it reports, sysinfo, getrandom, reboot, and the
//! capability sets (capget, capset).

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::process::uts::{self, Which};

/// uname(2).
pub fn sys_uname(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (host, domain) = (uts::get(Which::Host), uts::get(Which::Domain));
    let fields: [&[u8]; 6] = [
        uts::SYSNAME.as_bytes(),
        host.as_bytes(),
        uts::RELEASE.as_bytes(),
        uts::VERSION.as_bytes(),
        b"x86_64",
        domain.as_bytes(),
    ];
    const FIELD: usize = uts::MAX_NAME + 1;
    let mut b = [0u8; FIELD * 6];
    for (i, f) in fields.iter().enumerate() {
        b[i * FIELD..i * FIELD + f.len()].copy_from_slice(f);
    }
    ctx.mem().write(a[0], &b)?;
    Ok(0)
}

/// sethostname(2).
pub fn sys_sethostname(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_uts_name(ctx, Which::Host, a[0], a[1])
}

/// setdomainname(2).
pub fn sys_setdomainname(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    set_uts_name(ctx, Which::Domain, a[0], a[1])
}

/// Both setters, in Linux's order of checks: CAP_SYS_ADMIN (root here) is EPERM, a length
/// (an int) outside 0..=64 is EINVAL, then the copy (EFAULT).
fn set_uts_name(ctx: &mut SyscallCtx, which: Which, name: u64, len: u64) -> SysResult<u64> {
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    let len = len as i32;
    let len = usize::try_from(len).ok().filter(|&l| l <= uts::MAX_NAME).ok_or(Errno::EINVAL)?;
    let mut buf = [0u8; uts::MAX_NAME];
    ctx.mem().read(name, &mut buf[..len])?;
    uts::set(which, &buf[..len])?;
    Ok(0)
}

/// getrandom(2).
pub fn sys_getrandom(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if a[2] & !0x7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = (a[1] as usize).min(32 * 1024 * 1024);
    let mut buf = alloc::vec![0u8; len.min(64 * 1024)];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len());
        crate::random::fill(&mut buf[..n]);
        ctx.mem().write(a[0] + done as u64, &buf[..n])?;
        done += n;
    }
    Ok(len as u64)
}

/// sysinfo(2).
pub fn sys_sysinfo(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let frames = ostd::mm::frame_stats();
    let mut b = [0u8; 112];
    let uptime = crate::time::monotonic().sec as u64;
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    b[32..40].copy_from_slice(&((frames.total * 4096) as u64).to_le_bytes());
    b[40..48].copy_from_slice(&((frames.free * 4096) as u64).to_le_bytes());
    b[80..82].copy_from_slice(&(crate::process::registry::all().len() as u16).to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    ctx.mem().write(a[0], &b)?;
    Ok(0)
}

/// reboot(2): power-off and restart end the machine (QEMU exits); init's way out.
pub fn sys_reboot(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MAGIC1: u64 = 0xfee1_dead;
    const MAGICS2: [u64; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
    const CMD_RESTART: u64 = 0x0123_4567;
    const CMD_HALT: u64 = 0xcdef_0123;
    const CMD_POWER_OFF: u64 = 0x4321_fedc;
    const CMD_CAD_ON: u64 = 0x89ab_cdef;
    const CMD_CAD_OFF: u64 = 0;
    // CAP_SYS_BOOT (root here) comes first, before the magic numbers, as on Linux: anyone
    // else could otherwise power the machine off.
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    if a[0] as u32 as u64 != MAGIC1 || !MAGICS2.contains(&(a[1] as u32 as u64)) {
        return Err(Errno::EINVAL);
    }
    match a[2] as u32 as u64 {
        CMD_CAD_ON | CMD_CAD_OFF => Ok(0),
        CMD_RESTART | CMD_HALT | CMD_POWER_OFF => {
            log::info!("reboot: powering off");
            ostd::power::exit_qemu(ostd::power::ExitCode::Success)
        }
        _ => Err(Errno::EINVAL),
    }
}

use crate::process::creds::ALL_CAPABILITIES;
const CAPABILITY_V1: u32 = 0x1998_0330;
const CAPABILITY_V2: u32 = 0x2007_1026;
const CAPABILITY_V3: u32 = 0x2008_0522;

/// Reads capget/capset's header: the version (EINVAL, with the preferred version written
/// back, if unknown) and the pid.
fn capability_header(ctx: &SyscallCtx, header: u64) -> SysResult<(u32, i32)> {
    let mem = ctx.mem();
    let version = mem.read_u32(header)?;
    if ![CAPABILITY_V1, CAPABILITY_V2, CAPABILITY_V3].contains(&version) {
        mem.write_u32(header, CAPABILITY_V3)?;
        return Err(Errno::EINVAL);
    }
    let pid = mem.read_u32(header + 4)? as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    Ok((version, pid))
}

/// capget(2): no capability model beyond "root holds all": root's sets are full, every
/// other user's empty.
pub fn sys_capget(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (version, pid) = capability_header(ctx, a[0])?;
    let target = if pid == 0 {
        ctx.process.clone()
    } else {
        ctx.process.global_for(pid).and_then(crate::process::registry::get).ok_or(Errno::ESRCH)?
    };
    if a[1] == 0 {
        return Ok(0);
    }
    let caps = if target.creds().euid == 0 { ALL_CAPABILITIES } else { 0 };
    let words = if version == CAPABILITY_V1 { 1 } else { 2 };
    let mut data = alloc::vec::Vec::new();
    for word in 0..words {
        let bits = (caps >> (32 * word)) as u32;
        for set in [bits, bits, 0] {
            // effective, permitted, inheritable
            data.extend_from_slice(&set.to_le_bytes());
        }
    }
    ctx.mem().write(a[1], &data)?;
    Ok(0)
}

/// capset(2): a process may keep or drop what it has; nothing can be gained.
pub fn sys_capset(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (version, pid) = capability_header(ctx, a[0])?;
    if pid != 0 && pid != ctx.process.pid() {
        return Err(Errno::EPERM);
    }
    let held = if ctx.process.creds().euid == 0 { ALL_CAPABILITIES } else { 0 };
    let mem = ctx.mem();
    let words = if version == CAPABILITY_V1 { 1 } else { 2 };
    for word in 0..words {
        let at = a[1] + 12 * word;
        let (effective, permitted) = (
            u64::from(mem.read_u32(at)?) << (32 * word),
            u64::from(mem.read_u32(at + 4)?) << (32 * word),
        );
        if permitted & !held != 0 || effective & !permitted != 0 {
            return Err(Errno::EPERM);
        }
    }
    Ok(0)
}

/// personality(2): returns the old persona; 0xffffffff only asks.
pub fn sys_personality(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let persona = a[0] as u32;
    let old = ctx.process.update_attrs(|attrs| {
        let old = attrs.personality;
        if persona != u32::MAX {
            attrs.personality = persona;
        }
        old
    });
    Ok(u64::from(old))
}

/// getcpu(2): there is one CPU, on node 0. Either pointer may be null.
pub fn sys_getcpu(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    for addr in [a[0], a[1]] {
        if addr != 0 {
            ctx.mem().write_u32(addr, 0)?;
        }
    }
    Ok(0)
}

/// iopl(2): a level above 3 is EINVAL; level 0, the one every process has, is kept; any
/// other is EPERM, even for root: a confidential guest gives no program the host's I/O
/// ports.
pub fn sys_iopl(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    match a[0] as u32 {
        0 => Ok(0),
        1..=3 => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// ioperm(2): a range past port 65535 is EINVAL; turning ports off is allowed (none is
/// ever on), turning them on is EPERM, as for iopl.
pub fn sys_ioperm(_ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const IO_BITMAP_BITS: u64 = 65536;
    let (from, num) = (a[0], a[1]);
    match from.checked_add(num) {
        Some(end) if end > from && end <= IO_BITMAP_BITS => {}
        _ => return Err(Errno::EINVAL),
    }
    if a[2] as u32 == 0 { Ok(0) } else { Err(Errno::EPERM) }
}

/// acct(2): root only (CAP_SYS_PACCT); a path turns BSD process accounting on into that
/// file, NULL turns it off.
pub fn sys_acct(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    if ctx.process.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    if a[0] == 0 {
        let caller = super::fs::caller(ctx);
        return crate::process::acct::set(ctx.process, &caller, &ctx.process.start(), None)
            .map(|()| 0);
    }
    let path = super::fs::path_arg(ctx, a[0])?;
    let (caller, start) = super::fs::caller_at(ctx, super::fs::AT_FDCWD, &path)?;
    crate::process::acct::set(ctx.process, &caller, &start, Some(&path)).map(|()| 0)
}
