//! The out-of-memory killer: when a page fault cannot get a frame, the largest user process
//! (by resident pages) is killed with SIGKILL, and the kernel says so on the console, as
//! Linux's OOM killer does. Init is never chosen. While a victim is still dying, its memory
//! is about to come back, so nobody else is killed meanwhile: the faulting thread waits a
//! tick and retries.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::{Pid, Process, registry, signal};

/// How long a victim may take to exit before the kernel says it is stuck.
const STUCK_AFTER_NS: u64 = 2_000_000_000;

/// The last victim, while it has not finished exiting.
struct Dying {
    pid: Pid,
    /// When it was chosen (monotonic ns).
    since: u64,
    /// Whether the console was told that it is slow to die.
    reported: bool,
}

static DYING: SpinLock<Option<Dying>> = SpinLock::new(None);

/// Makes room after `requester` failed to get a frame for a user page. Returns `true` once
/// a victim has been chosen (possibly `requester` itself, whose SIGKILL is then pending) or
/// the previous one is still dying: the caller retries the access. Returns `false` when no
/// process but init is left to kill: retrying would fault forever (Linux panics here), so
/// the caller lets the access fail instead.
pub fn out_of_memory(requester: &Process) -> bool {
    let dying = DYING.lock().as_ref().map(|d| d.pid);
    if let Some(pid) = dying
        && let Some(victim) = registry::get(pid).filter(|p| !p.is_zombie())
    {
        report_if_stuck(&victim);
        ostd::task::sleep_ms(10);
        return true;
    }
    // The heap's kept blocks may hold chunks of frames: they go back before anyone dies.
    let trimmed = ostd::mm::heap_trim();
    if trimmed > 0 {
        log::info!("Out of memory: the kernel heap gave back {} kB", trimmed * 4);
        return true;
    }
    let Some((victim, resident)) = largest_process() else {
        // Only init is left and it cannot be killed: let it see the fault.
        log::error!("Out of memory: no killable process (pid {} needs a page)", requester.pid());
        return false;
    };
    let frames = ostd::mm::frame_stats();
    let heap = ostd::mm::heap_stats();
    log::error!(
        "Out of memory: Killed process {} ({}) anon-rss:{}kB (free {} of {} kB; kernel heap \
         {} kB; all processes' resident pages {} kB)",
        victim.pid(),
        victim.comm(),
        resident * ostd::mm::PAGE_SIZE / 1024,
        frames.free * 4,
        frames.total * 4,
        heap.total / 1024,
        registry::all().iter().map(|p| p.vm().space().resident_pages()).sum::<usize>() * 4,
    );
    *DYING.lock() =
        Some(Dying { pid: victim.pid(), since: crate::time::monotonic_ns(), reported: false });
    signal::send(&victim, signal::SIGKILL);
    // Its memory comes back only once every process using it has ended: the others that
    // share it (clone's CLONE_VM) die with it, init excepted, as Linux's oom_kill_process
    // has them.
    if victim.shares_vm() {
        let vm = victim.vm();
        for p in registry::all() {
            if p.pid() != 1 && p.pid() != victim.pid() && Arc::ptr_eq(&p.vm(), &vm) {
                signal::send(&p, signal::SIGKILL);
            }
        }
    }
    if victim.pid() != requester.pid() {
        ostd::task::sleep_ms(10);
    }
    true
}

/// Says once on the console that the victim has not exited in time, and where its threads
/// are: memory stays short until it does, so this is what a hung machine needs explained.
fn report_if_stuck(victim: &Process) {
    {
        let mut dying = DYING.lock();
        let Some(d) = dying.as_mut().filter(|d| d.pid == victim.pid()) else { return };
        if d.reported || crate::time::monotonic_ns() < d.since + STUCK_AFTER_NS {
            return;
        }
        d.reported = true;
    }
    let threads: alloc::vec::Vec<_> = registry::tasks_of(victim.pid())
        .iter()
        .map(|t| alloc::format!("{}:{:?}", t.name(), t.state()))
        .collect();
    log::error!(
        "Out of memory: process {} ({}) has not exited 2 s after SIGKILL (stopped: {}, group \
         exit: {:?}; threads {})",
        victim.pid(),
        victim.comm(),
        victim.is_stopped(),
        victim.group_exit_status(),
        threads.join(" ")
    );
}

fn largest_process() -> Option<(Arc<Process>, usize)> {
    registry::all()
        .into_iter()
        .filter(|p| p.pid() != 1 && !p.is_zombie())
        .map(|p| {
            let resident = p.vm().space().resident_pages();
            (p, resident)
        })
        .max_by_key(|(_, resident)| *resident)
}
