//! PID namespaces: a process in one sees only the processes of its namespace and those
//! below it, under numbers of that namespace, from 1 for the first (its init).
//!
//! Every task keeps its machine-wide number (its `Pid`, the initial namespace's number: the
//! process table, signals and waits are keyed by it). A task made in a nested namespace
//! also gets a number in that namespace and each one above it up to the initial one
//! ([`attach`]); the system calls translate at the boundary, numbers coming in with
//! [`global_in`] and going out with [`nr_in`], always in the caller's namespace (the one
//! its own task lives in). A task nobody in a namespace can see reads as 0 there, as on
//! Linux (getppid of a namespace's init).
//!
//! When a namespace's init ends, every other task of the namespace is killed and no new
//! one may enter (fork answers ENOMEM), as Linux's zap_pid_ns_processes does.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::Pid;
use crate::error::{Errno, SysResult};
use crate::fs::nsfs::{self, NsType};

/// Linux's MAX_PID_NS_LEVEL: namespaces nest at most this deep.
const MAX_LEVEL: u32 = 32;

/// A PID namespace.
pub struct PidNamespace {
    inum: u64,
    level: u32,
    parent: Option<Arc<PidNamespace>>,
    state: SpinLock<State>,
}

#[derive(Default)]
struct State {
    /// The next number to try.
    next: Pid,
    /// Numbers of this namespace to machine-wide ones, and back.
    to_global: BTreeMap<Pid, Pid>,
    to_local: BTreeMap<Pid, Pid>,
    /// Its init's machine-wide number, once there is one.
    init: Option<Pid>,
    /// Its init has ended: nothing may enter any more.
    closed: bool,
}

impl PidNamespace {
    /// Its inode number (/proc/PID/ns/pid).
    pub fn inum(&self) -> u64 {
        self.inum
    }

    /// The namespace it was made in (`None` for the initial one).
    pub fn parent(&self) -> Option<&Arc<PidNamespace>> {
        self.parent.as_ref()
    }

    /// A new namespace below this one (unshare or clone with CLONE_NEWPID).
    ///
    /// # Errors
    /// ENOSPC past [`MAX_LEVEL`] levels.
    pub fn new_child(self: &Arc<Self>) -> SysResult<Arc<Self>> {
        if self.level >= MAX_LEVEL {
            return Err(Errno::ENOSPC);
        }
        Ok(Arc::new(Self {
            inum: nsfs::alloc_inum(),
            level: self.level + 1,
            parent: Some(self.clone()),
            state: SpinLock::new(State { next: 1, ..State::default() }),
        }))
    }

    /// Whether this namespace is `other` or one of its ancestors (can see its tasks).
    pub fn contains(&self, other: &PidNamespace) -> bool {
        let mut ns = Some(other);
        while let Some(n) = ns {
            if core::ptr::eq(n, self) {
                return true;
            }
            ns = n.parent.as_deref();
        }
        false
    }

    /// The machine-wide number of its init (1 for the initial namespace).
    pub fn init(&self) -> Option<Pid> {
        if self.level == 0 { Some(1) } else { self.state.lock().init }
    }
}

/// The namespace the machine starts with.
pub fn root() -> Arc<PidNamespace> {
    static ROOT: spin::Once<Arc<PidNamespace>> = spin::Once::new();
    ROOT.call_once(|| {
        Arc::new(PidNamespace {
            inum: NsType::Pid.initial_inum(),
            level: 0,
            parent: None,
            state: SpinLock::new(State::default()),
        })
    })
    .clone()
}

/// The namespace of each task that does not live in the initial one, by machine-wide number.
static HOMES: SpinLock<BTreeMap<Pid, Arc<PidNamespace>>> = SpinLock::new(BTreeMap::new());

/// The namespace task `global` lives in.
pub fn home_of(global: Pid) -> Arc<PidNamespace> {
    HOMES.lock().get(&global).cloned().unwrap_or_else(root)
}

/// Gives the new task `global` its numbers in `home` and every namespace above it (none for
/// a task of the initial namespace). The first task of a namespace is its init.
///
/// # Errors
/// ENOMEM if a namespace on the way has lost its init (Linux's alloc_pid); EAGAIN if one has
/// no free number left.
pub fn attach(global: Pid, home: &Arc<PidNamespace>) -> SysResult<()> {
    if home.level == 0 {
        return Ok(());
    }
    let pid_max = super::registry::pid_max();
    let mut done: Vec<&Arc<PidNamespace>> = Vec::new();
    let mut ns = Some(home);
    while let Some(n) = ns.filter(|n| n.level > 0) {
        let taken = {
            let mut s = n.state.lock();
            if s.closed {
                Err(Errno::ENOMEM)
            } else {
                free_number(&s, pid_max).ok_or(Errno::EAGAIN).map(|nr| {
                    s.next = nr + 1;
                    s.to_global.insert(nr, global);
                    s.to_local.insert(global, nr);
                    if nr == 1 {
                        s.init = Some(global);
                    }
                })
            }
        };
        if let Err(e) = taken {
            for n in done {
                forget(n, global);
            }
            return Err(e);
        }
        done.push(n);
        ns = n.parent.as_ref();
    }
    HOMES.lock().insert(global, home.clone());
    Ok(())
}

/// The lowest free number from the namespace's cursor on, wrapping past pid_max to 2
/// (1 stays its init's).
fn free_number(s: &State, pid_max: Pid) -> Option<Pid> {
    let start = s.next.max(1);
    (start..pid_max).chain(2..start).find(|nr| !s.to_global.contains_key(nr))
}

fn forget(ns: &PidNamespace, global: Pid) {
    let mut s = ns.state.lock();
    if let Some(nr) = s.to_local.remove(&global) {
        s.to_global.remove(&nr);
    }
}

/// Releases the numbers of task `global`, gone.
pub fn detach(global: Pid) {
    let Some(home) = HOMES.lock().remove(&global) else { return };
    let mut ns = Some(&home);
    while let Some(n) = ns.filter(|n| n.level > 0) {
        forget(n, global);
        ns = n.parent.as_ref();
    }
}

/// The number of task `global` in namespace `ns`, or `None` if it cannot be seen there.
pub fn nr_in(global: Pid, ns: &PidNamespace) -> Option<Pid> {
    if ns.level == 0 {
        return Some(global);
    }
    ns.state.lock().to_local.get(&global).copied()
}

/// The machine-wide number of the task numbered `nr` in namespace `ns`, if there is one.
pub fn global_in(nr: Pid, ns: &PidNamespace) -> Option<Pid> {
    if ns.level == 0 {
        return Some(nr);
    }
    ns.state.lock().to_global.get(&nr).copied()
}

/// The namespaces of task `global` from `from` down to its own (where /proc's NSpid line
/// shows its numbers), or none if `from` cannot see it.
pub fn levels_from(global: Pid, from: &PidNamespace) -> Vec<Arc<PidNamespace>> {
    let home = home_of(global);
    let mut chain: Vec<Arc<PidNamespace>> = Vec::new();
    let mut ns = Some(&home);
    while let Some(n) = ns {
        chain.push(n.clone());
        if core::ptr::eq(&**n, from) {
            chain.reverse();
            return chain;
        }
        ns = n.parent.as_ref();
    }
    Vec::new()
}

/// Whether task `global` is the init of the namespace it lives in.
pub fn is_init(global: Pid) -> bool {
    global == 1 || home_of(global).init() == Some(global)
}

/// Closes the namespace whose init `global` is, and returns the machine-wide numbers of the
/// other tasks in it and below it (to be killed). Empty if `global` is no namespace's init.
pub fn close_if_init(global: Pid) -> Vec<Pid> {
    let home = home_of(global);
    if home.level == 0 || home.init() != Some(global) {
        return Vec::new();
    }
    let mut s = home.state.lock();
    s.closed = true;
    s.to_global.values().copied().filter(|&g| g != global).collect()
}
