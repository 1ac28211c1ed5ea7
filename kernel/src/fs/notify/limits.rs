//! The limits of /proc/sys/fs/inotify, and what each user is charged against them.
//!
//! As on Linux, instances and watches are counted per user: the effective UID that called
//! inotify_init is charged for the instance and for every watch added to it.

use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU32, Ordering};

use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};

/// Events an instance queues before the rest are lost (IN_Q_OVERFLOW); an instance keeps
/// the value it was created with.
static MAX_QUEUED_EVENTS: AtomicU32 = AtomicU32::new(16384);
/// Instances one user may have.
static MAX_USER_INSTANCES: AtomicU32 = AtomicU32::new(128);
/// Watches one user may have. Linux derives it from memory (1% of RAM at about 1 KiB per
/// watch, at least 8192): 8192 in a 512 MiB guest.
static MAX_USER_WATCHES: AtomicU32 = AtomicU32::new(8192);

/// Returns max_queued_events.
pub fn max_queued_events() -> u32 {
    MAX_QUEUED_EVENTS.load(Ordering::Relaxed)
}

/// Returns max_user_instances.
pub fn max_user_instances() -> u32 {
    MAX_USER_INSTANCES.load(Ordering::Relaxed)
}

/// Returns max_user_watches.
pub fn max_user_watches() -> u32 {
    MAX_USER_WATCHES.load(Ordering::Relaxed)
}

/// A value a sysctl write gives: Linux takes 0 to INT_MAX (EINVAL otherwise).
fn checked(value: i64) -> SysResult<u32> {
    u32::try_from(value).ok().filter(|&v| v <= i32::MAX as u32).ok_or(Errno::EINVAL)
}

/// Sets max_queued_events (for instances created from now on).
pub fn set_max_queued_events(value: i64) -> SysResult<()> {
    MAX_QUEUED_EVENTS.store(checked(value)?, Ordering::Relaxed);
    Ok(())
}

/// Sets max_user_instances.
pub fn set_max_user_instances(value: i64) -> SysResult<()> {
    MAX_USER_INSTANCES.store(checked(value)?, Ordering::Relaxed);
    Ok(())
}

/// Sets max_user_watches.
pub fn set_max_user_watches(value: i64) -> SysResult<()> {
    MAX_USER_WATCHES.store(checked(value)?, Ordering::Relaxed);
    Ok(())
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
    if user.instances >= max_user_instances() {
        return Err(Errno::EMFILE);
    }
    user.instances += 1;
    Ok(())
}

/// Charges `uid` for one more watch: ENOSPC past max_user_watches.
pub(super) fn charge_watch(uid: u32) -> SysResult<()> {
    let mut usage = USAGE.lock();
    let user = usage.entry(uid).or_default();
    if user.watches >= max_user_watches() {
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
        let before = max_user_instances();
        assert_eq!(set_max_user_instances(-1), Err(Errno::EINVAL));
        assert_eq!(set_max_user_watches(i64::from(i32::MAX) + 1), Err(Errno::EINVAL));
        assert_eq!(set_max_queued_events(i64::from(u32::MAX)), Err(Errno::EINVAL));
        assert_eq!(max_user_instances(), before, "a refused value changes nothing");
        assert_eq!(set_max_user_instances(i64::from(i32::MAX)), Ok(()));
        assert_eq!(max_user_instances(), i32::MAX as u32);
        assert_eq!(set_max_user_instances(0), Ok(()));
        assert_eq!(max_user_instances(), 0);
        set_max_user_instances(i64::from(before)).unwrap();
    }
}
