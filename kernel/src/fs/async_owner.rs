//! The owner and signal of an open file description's asynchronous I/O (`fcntl(2)`
//! F_SETOWN/F_GETOWN, F_SETOWN_EX/F_GETOWN_EX, F_SETSIG/F_GETSIG).
//!
//! Linux keeps them in `struct file`, so a dup or a fork sees the same owner. Here they are
//! a table keyed by the address of the open file, holding a `Weak` to it: while the entry
//! exists the address cannot be reused by another file, and an entry whose file is gone
//! reads as the defaults and is pruned on the next change.
//!
//! The owner gets message signals ([`send_message_signal`]) from dnotify and lease breaks.
//! Not yet: SIGIO for I/O. With O_ASYNC set (F_SETFL or FIOASYNC) the owner and signal are
//! recorded and reported, but no signal is sent when I/O becomes possible. nginx, for one, sets both
//! on its master–worker channels and never depends on the signal.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use ostd::sync::SpinLock;

use super::file::FileLike;

/// SIGIO (SIGPOLL), the default signal.
const SIGIO: u32 = 29;
/// si_code of a SIGIO-style signal for a message (POLL_MSG), and its band.
const POLL_MSG: i32 = 3;
const BAND_MSG: u64 = 0x001 | 0x040 | 0x400; // POLLIN | POLLRDNORM | POLLMSG

/// Who the owner is (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    /// One thread.
    Thread = 0,
    /// A process.
    Process = 1,
    /// A process group.
    Group = 2,
}

/// A description's owner and signal. A description never given one reads as Linux's
/// zeroed `f_owner`: a thread owner with id 0, signal 0 (SIGIO).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncOwner {
    /// What `id` names.
    pub kind: OwnerKind,
    /// The thread, process or group id (0: none).
    pub id: i32,
    /// F_SETSIG's signal (0: SIGIO).
    pub signal: u32,
}

impl Default for AsyncOwner {
    fn default() -> Self {
        Self { kind: OwnerKind::Thread, id: 0, signal: 0 }
    }
}

/// An open file description, weakly, with its owner.
type Owned = (Weak<dyn FileLike>, AsyncOwner);

static OWNERS: SpinLock<BTreeMap<usize, Owned>> = SpinLock::new(BTreeMap::new());

fn key(file: &Arc<dyn FileLike>) -> usize {
    Arc::as_ptr(file) as *const u8 as usize
}

/// Returns `file`'s owner and signal.
pub fn get(file: &Arc<dyn FileLike>) -> AsyncOwner {
    let owners = OWNERS.lock();
    owners
        .get(&key(file))
        .filter(|(weak, _)| weak.strong_count() > 0)
        .map_or_else(AsyncOwner::default, |(_, o)| *o)
}

/// Changes `file`'s owner and signal through `f`.
pub fn update(file: &Arc<dyn FileLike>, f: impl FnOnce(&mut AsyncOwner)) {
    let mut owners = OWNERS.lock();
    owners.retain(|_, (weak, _)| weak.strong_count() > 0);
    let mut owner = owners.get(&key(file)).map_or_else(AsyncOwner::default, |(_, o)| *o);
    f(&mut owner);
    if owner == AsyncOwner::default() {
        owners.remove(&key(file));
    } else {
        owners.insert(key(file), (Arc::downgrade(file), owner));
    }
}

/// F_SETOWN: a process, a process group as `-pgid`, or none (0).
pub fn set_owner(file: &Arc<dyn FileLike>, owner: i32) {
    update(file, |o| {
        (o.kind, o.id) =
            if owner < 0 { (OwnerKind::Group, -owner) } else { (OwnerKind::Process, owner) };
    });
}

/// F_GETOWN: the owner, a group as `-pgid` (0: none).
pub fn owner(file: &Arc<dyn FileLike>) -> i32 {
    let o = get(file);
    if o.kind == OwnerKind::Group { -o.id } else { o.id }
}

/// Linux's send_sigio for a message: SIGIO with no details, or F_SETSIG's signal with
/// POLL_MSG, the band and the descriptor, to the owner (a thread, a process, or every
/// process of a group).
pub fn send_message_signal(file: &Arc<dyn FileLike>, fd: i32) {
    use crate::process::sigframe::{SENT_FIELDS_SIZE, SigInfo};
    use crate::process::{registry, signal};
    let owner = get(file);
    let info = if owner.signal == 0 {
        SigInfo { signo: SIGIO, code: signal::SI_KERNEL, ..Default::default() }
    } else {
        let mut fields = [0u8; SENT_FIELDS_SIZE];
        fields[0..8].copy_from_slice(&BAND_MSG.to_le_bytes());
        fields[8..12].copy_from_slice(&fd.to_le_bytes());
        SigInfo {
            signo: owner.signal,
            code: POLL_MSG,
            sent_fields: Some(fields),
            ..Default::default()
        }
    };
    match owner.kind {
        OwnerKind::Process => {
            if let Some(p) = registry::get(owner.id) {
                signal::send_info(&p, info);
            }
        }
        OwnerKind::Thread => {
            if let Some((p, t)) = registry::find_thread(owner.id) {
                signal::send_to(&p, Some(&t), info);
            }
        }
        OwnerKind::Group => {
            for p in registry::all().into_iter().filter(|p| p.pgid() == owner.id) {
                signal::send_info(&p, info);
            }
        }
    }
}
