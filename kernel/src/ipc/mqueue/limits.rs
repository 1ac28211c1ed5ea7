//! The POSIX message queue tunables (Linux's /proc/sys/fs/mqueue: msg_max, msgsize_max,
//! msg_default, msgsize_default, queues_max), the hard limits a privileged caller is held
//! to, and the per-user byte budget (RLIMIT_MSGQUEUE) every queue is charged against.

use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicI64, Ordering};

use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};
use crate::sysctl::IntTunable;

/// Linux's HARD_MSGMAX: the most messages a queue may hold, even for root.
pub const HARD_MSGMAX: i64 = 65536;
/// Linux's HARD_MSGSIZEMAX: the largest message size, even for root (16 MiB).
pub const HARD_MSGSIZEMAX: i64 = 16 * 1024 * 1024;
/// Priorities are below this (MQ_PRIO_MAX).
pub const MQ_PRIO_MAX: u32 = 32768;

/// fs.mqueue.msg_max: the most messages an unprivileged caller's queue may hold.
pub static MSG_MAX: IntTunable = IntTunable::new(10, 1, HARD_MSGMAX);
/// fs.mqueue.msgsize_max: the largest message size an unprivileged caller may ask for.
pub static MSGSIZE_MAX: IntTunable = IntTunable::new(8192, 128, HARD_MSGSIZEMAX);
/// fs.mqueue.msg_default: mq_maxmsg of a queue created without attributes.
pub static MSG_DEFAULT: IntTunable = IntTunable::new(10, 1, HARD_MSGMAX);
/// fs.mqueue.msgsize_default: mq_msgsize of a queue created without attributes.
pub static MSGSIZE_DEFAULT: IntTunable = IntTunable::new(8192, 128, HARD_MSGSIZEMAX);
/// fs.mqueue.queues_max: the most queues an unprivileged caller may make exist (any int:
/// Linux's handler is a plain proc_dointvec).
pub static QUEUES_MAX: IntTunable = IntTunable::new(256, i32::MIN as i64, i32::MAX as i64);

/// The kernel's own size of a message header and of a priority's tree node (Linux's struct
/// msg_msg and posix_msg_tree_node on x86-64): part of what a queue is charged.
const MSG_HEADER_SIZE: u64 = 48;
const TREE_NODE_SIZE: u64 = 48;

/// What a queue of `maxmsg` messages of `msgsize` bytes costs its creator's budget, as
/// Linux's mqueue_get_inode counts it (both are within the hard limits: no overflow).
pub fn queue_cost(maxmsg: u64, msgsize: u64) -> u64 {
    maxmsg * msgsize + maxmsg * MSG_HEADER_SIZE + maxmsg.min(MQ_PRIO_MAX.into()) * TREE_NODE_SIZE
}

/// Bytes charged to each real UID by the queues that exist.
static CHARGED: SpinLock<BTreeMap<u32, u64>> = SpinLock::new(BTreeMap::new());

/// Charges `cost` to `uid`, whose creator may have `budget` bytes (its RLIMIT_MSGQUEUE, as
/// Linux checks the creating task's limit against the user's running total).
///
/// # Errors
/// EMFILE if that takes the user over `budget` (Linux's answer).
pub fn charge(uid: u32, cost: u64, budget: u64) -> SysResult<()> {
    let mut charged = CHARGED.lock();
    let used = charged.get(&uid).copied().unwrap_or(0);
    if used.checked_add(cost).is_none_or(|total| total > budget) {
        return Err(Errno::EMFILE);
    }
    charged.insert(uid, used + cost);
    Ok(())
}

/// Gives back what [`charge`] took.
pub fn refund(uid: u32, cost: u64) {
    let mut charged = CHARGED.lock();
    let left = charged.get(&uid).copied().unwrap_or(0).saturating_sub(cost);
    if left == 0 {
        charged.remove(&uid);
    } else {
        charged.insert(uid, left);
    }
}

/// Queues that exist, named or not yet freed (an unlinked queue lives on while open).
static QUEUES: AtomicI64 = AtomicI64::new(0);

/// Counts one more queue.
///
/// # Errors
/// ENOSPC if `queues_max` are there already and the caller is not privileged
/// (CAP_SYS_RESOURCE).
pub fn count_queue(privileged: bool) -> SysResult<()> {
    QUEUES
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (privileged || n < QUEUES_MAX.get()).then_some(n + 1)
        })
        .map(|_| ())
        .map_err(|_| Errno::ENOSPC)
}

/// Counts one queue fewer (it was freed).
pub fn uncount_queue() {
    QUEUES.fetch_sub(1, Ordering::AcqRel);
}
