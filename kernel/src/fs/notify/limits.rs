//! The limits of /proc/sys/fs/inotify, and what each user is charged against them.
//!
//! As on Linux, instances and watches are counted per user: the effective UID that called
//! inotify_init is charged for the instance and for every watch added to it.

use alloc::collections::BTreeMap;
use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};
use crate::sysctl::IntTunable;

/// fs.inotify.max_queued_events: events an instance queues before the rest are lost
/// (IN_Q_OVERFLOW); an instance keeps the value it was created with. Writes take 0 to
/// INT_MAX, as Linux's proc_dointvec_minmax here.
pub static MAX_QUEUED_EVENTS: IntTunable = IntTunable::new(16384, 0, i32::MAX as i64);
/// fs.inotify.max_user_instances: instances one user may have.
pub static MAX_USER_INSTANCES: IntTunable = IntTunable::new(128, 0, i32::MAX as i64);
/// fs.inotify.max_user_watches: watches one user may have. Linux derives it from memory
/// (1% of RAM at about 1 KiB per watch, at least 8192): 8192 in a 512 MiB guest.
pub static MAX_USER_WATCHES: IntTunable = IntTunable::new(8192, 0, i32::MAX as i64);

/// Returns max_queued_events.
pub fn max_queued_events() -> u32 {
    MAX_QUEUED_EVENTS.get() as u32
}

/// What one user holds.
#[derive(Default)]
struct Usage {
    instances: u32,
    watches: u32,
}

static USAGE: SpinLock<BTreeMap<u32, Usage>> = SpinLock::new(BTreeMap::new());

/// Charges `uid` for one more instance: EMFILE past max_user_instances.
pub(super) fn charge_instance(uid: u32) -> SysResult<()> {
    let mut usage = USAGE.lock();
    let user = usage.entry(uid).or_default();
    if user.instances as usize >= MAX_USER_INSTANCES.get_usize() {
        return Err(Errno::EMFILE);
    }
    user.instances += 1;
    Ok(())
}

/// Charges `uid` for one more watch: ENOSPC past max_user_watches.
pub(super) fn charge_watch(uid: u32) -> SysResult<()> {
    let mut usage = USAGE.lock();
    let user = usage.entry(uid).or_default();
    if user.watches as usize >= MAX_USER_WATCHES.get_usize() {
        return Err(Errno::ENOSPC);
    }
    user.watches += 1;
    Ok(())
}

/// Gives back an instance ([`charge_instance`]).
pub(super) fn release_instance(uid: u32) {
    release(uid, |u| u.instances = u.instances.saturating_sub(1));
}

/// Gives back a watch ([`charge_watch`]).
pub(super) fn release_watch(uid: u32) {
    release(uid, |u| u.watches = u.watches.saturating_sub(1));
}

fn release(uid: u32, f: impl FnOnce(&mut Usage)) {
    let mut usage = USAGE.lock();
    if let Some(user) = usage.get_mut(&uid) {
        f(user);
        if user.instances == 0 && user.watches == 0 {
            usage.remove(&uid);
        }
    }
}

ostd::ktest! {
    fn inotify_limits_take_zero_to_int_max() {
        let before = MAX_USER_INSTANCES.get();
        assert_eq!(MAX_USER_INSTANCES.set(-1), Err(Errno::EINVAL));
        assert_eq!(MAX_USER_WATCHES.set(i64::from(i32::MAX) + 1), Err(Errno::EINVAL));
        assert_eq!(MAX_QUEUED_EVENTS.set(i64::from(u32::MAX)), Err(Errno::EINVAL));
        assert_eq!(MAX_USER_INSTANCES.get(), before, "a refused value changes nothing");
        assert_eq!(MAX_USER_INSTANCES.set(i64::from(i32::MAX)), Ok(()));
        assert_eq!(MAX_USER_INSTANCES.set(0), Ok(()));
        assert_eq!(charge_instance(u32::MAX), Err(Errno::EMFILE), "0 instances allowed");
        MAX_USER_INSTANCES.set(before).unwrap();
    }
}
