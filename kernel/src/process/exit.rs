//! Ending a process (the last thread's exit or exit_group): what goes first, who hears of it,
//! and where its children go.

use alloc::sync::Arc;

use super::{ExitStatus, Process, registry, sigframe, signal};

impl Process {
    /// Ends the process: releases its files and memory, hands its children to their new
    /// reaper, and leaves a zombie for the parent to reap.
    ///
    /// Memory and files go first, as Linux's exit_mm and exit_files come before
    /// exit_notify: a parent that reaps the child finds its System V attachments detached,
    /// its pipe ends closed and its frames free.
    pub fn exit(self: &Arc<Self>, status: ExitStatus) {
        if self.is_zombie() {
            return;
        }
        super::ptrace::control::tracer_exited(self);
        self.release_vfork_parent();
        // The memory and the descriptors go with the last process that uses them (another
        // may share them: CLONE_VM, CLONE_FILES).
        if let Some(vm) = self.release_vm() {
            vm.clear();
        }
        let files = self.files.detach(crate::fs::FdTable::default());
        drop(files);
        // A filesystem context shared with others stops counting this process (Linux's
        // exit_fs): setns into a mount namespace is theirs to make again.
        self.fs.unshare();
        crate::fs::record_lock::release_process(self.pid);
        crate::ipc::sem::exit_process(self.pid);
        // The children go to their new parent before this process becomes a zombie its
        // parent could reap, as Linux's exit_notify orders it: a parent that reaps this
        // one and then waits for an adopted orphan must find it already its own.
        let orphans = core::mem::take(&mut *self.children.lock());
        // The init of a PID namespace takes everything in it down with it.
        for global in super::pid_ns::close_if_init(self.pid) {
            if let Some(p) = registry::get(global) {
                signal::send_info(
                    &p,
                    sigframe::SigInfo { signo: signal::SIGKILL, ..Default::default() },
                );
            }
        }
        if let Some(reaper) = self.reaper_for_orphans() {
            for child in orphans {
                *child.parent.lock() = Arc::downgrade(&reaper);
                // An adopted child signals its new parent with SIGCHLD, whatever clone
                // chose (Linux's reparent_leader).
                child.set_exit_signal(signal::SIGCHLD);
                let death_signal = child.attrs.lock().parent_death_signal;
                if death_signal != 0 {
                    signal::send_info(
                        &child,
                        sigframe::SigInfo {
                            signo: death_signal,
                            pid: child.nr_for(self.pid),
                            ..Default::default()
                        },
                    );
                }
                // A child that already ended is announced to its new parent, as Linux's
                // reparent_leader does.
                let ended = *child.exit_status.lock();
                reaper.add_child(child.clone());
                if let Some(child_status) = ended {
                    child.tell_parent(&reaper, child_status);
                }
            }
        }
        {
            let mut s = self.exit_status.lock();
            if s.is_some() {
                return;
            }
            *s = Some(status);
        }
        // Linux's acct_process: the record is written before the parent hears of the exit.
        super::acct::process_exited(self, status);
        if super::ptrace::control::hold_exit(self, status) {
            return;
        }
        if let Some(parent) = self.parent() {
            self.tell_parent(&parent, status);
        }
    }

    /// Who adopts this process's children: the nearest living ancestor below its PID
    /// namespace's init that made itself a child subreaper (PR_SET_CHILD_SUBREAPER), else
    /// that init (Linux's find_new_reaper). The children of a namespace's init, killed with
    /// it, go to the machine's init, which reaps them.
    fn reaper_for_orphans(&self) -> Option<Arc<Process>> {
        let ns_init = self.pid_ns().init().filter(|&init| init != self.pid).unwrap_or(1);
        let mut ancestor = self.parent();
        while let Some(a) = ancestor {
            if a.pid == ns_init || a.pid == 1 {
                break;
            }
            if a.attrs.lock().child_subreaper && a.exit_status.lock().is_none() {
                return Some(a);
            }
            ancestor = a.parent();
        }
        registry::get(ns_init)
            .filter(|init| init.pid != self.pid && !init.is_zombie())
            .or_else(|| registry::get(1).filter(|init| init.pid != self.pid))
    }

    /// Sends `parent` the SIGCHLD for this process's end, and wakes its waiters.
    pub(super) fn tell_parent(&self, parent: &Arc<Process>, status: ExitStatus) {
        let (code, status) = match status {
            ExitStatus::Exited(c) => (1, i32::from(c)),
            ExitStatus::Signaled(s, false) => (2, s as i32),
            ExitStatus::Signaled(s, true) => (3, s as i32),
        };
        let uid = self.creds.lock().ruid;
        // The child's exit signal: SIGCHLD, clone's choice, or none at all (0).
        let signo = self.exit_signal();
        if signo != 0 {
            let pid = parent.nr_for(self.pid);
            let info = sigframe::SigInfo { signo, code, pid, uid, status, ..Default::default() };
            signal::send_info(parent, info);
        }
        parent.child_wq.wake_all();
    }
}
