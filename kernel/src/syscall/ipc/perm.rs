//! `struct ipc64_perm` (x86-64, 48 bytes): key, uid, gid, cuid, cgid, mode (32 bits each),
//! seq (16 bits), padding, two unused longs. It opens `struct msqid64_ds` and
//! `struct semid64_ds`; IPC_SET reads uid, gid and mode back from it.

use crate::error::SysResult;
use crate::ipc::ids::Perm;
use crate::user_mem::UserMem;

/// The size of `struct ipc64_perm`.
pub const PERM_SIZE: usize = 48;

/// `p` as `struct ipc64_perm`, at the start of `out`.
pub fn write_perm(out: &mut [u8], p: &Perm) {
    let words = [p.key as u32, p.uid, p.gid, p.cuid, p.cgid, p.mode];
    for (i, v) in words.into_iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out[24..26].copy_from_slice(&p.seq().to_le_bytes());
}

/// The owner and mode IPC_SET asks for: uid, gid and mode of the `struct ipc64_perm` that
/// opens the `len`-byte structure at `addr` (read whole, so that a structure that does not
/// fit answers EFAULT as Linux's copy_from_user does).
pub fn read_owner(
    mem: &UserMem,
    addr: u64,
    len: usize,
) -> SysResult<(u32, u32, u32, alloc::vec::Vec<u8>)> {
    let mut raw = alloc::vec![0u8; len];
    mem.read(addr, &mut raw)?;
    let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    let (uid, gid, mode) = (word(4), word(8), word(20));
    Ok((uid, gid, mode, raw))
}

/// The `i`th 64-bit word of `raw` (for fields after the permissions).
pub fn u64_at(raw: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&raw[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Writes the 64-bit `v` at byte `at` of `out`.
pub fn put_u64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
