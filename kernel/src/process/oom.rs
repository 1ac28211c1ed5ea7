//! The out-of-memory killer: when a page fault cannot get a frame, the largest user process
//! (by resident pages) is killed with SIGKILL, and the kernel says so on the console, as
//! Linux's OOM killer does. Init is never chosen. While a victim is still dying, its memory
//! is about to come back, so nobody else is killed meanwhile: the faulting thread waits a
//! tick and retries.

use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::{Pid, Process, registry, signal};

/// The last victim, while it has not finished exiting.
static DYING: SpinLock<Option<Pid>> = SpinLock::new(None);

/// Makes room after `requester` failed to get a frame for a user page. Returns once a victim
/// has been chosen (possibly `requester` itself, whose SIGKILL is then pending) or the
/// previous one has freed its memory; the caller retries the access.
pub fn out_of_memory(requester: &Process) {
    if let Some(pid) = *DYING.lock() {
        if registry::get(pid).is_some_and(|p| !p.is_zombie()) {
            ostd::task::sleep_ms(10);
            return;
        }
    }
    let Some((victim, resident)) = largest_process() else {
        // Only init is left and it cannot be killed: let it see the fault.
        log::error!("Out of memory: no killable process (pid {} needs a page)", requester.pid());
        return;
    };
    log::error!(
        "Out of memory: Killed process {} ({}) anon-rss:{}kB",
        victim.pid(),
        victim.comm(),
        resident * ostd::mm::PAGE_SIZE / 1024
    );
    *DYING.lock() = Some(victim.pid());
    signal::send(&victim, signal::SIGKILL);
    if victim.pid() != requester.pid() {
        ostd::task::sleep_ms(10);
    }
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
