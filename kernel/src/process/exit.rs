//! Ending a process (the last thread's exit or exit_group): what goes first, who hears of it,
//! and where its children go.

use alloc::sync::Arc;

use super::{ExitStatus, Process, registry, sigframe, signal};

impl Process {
    /// Ends the process: releases its files and memory, hands its children to init, and
    /// leaves a zombie for the parent to reap.
    ///
    /// Memory and files go first, as Linux's exit_mm and exit_files come before
    /// exit_notify: a parent that reaps the child finds its System V attachments detached,
    /// its pipe ends closed and its frames free.
    pub fn exit(self: &Arc<Self>, status: ExitStatus) {
        if self.is_zombie() {
            return;
        }
        self.vm().clear();
        let files = core::mem::take(&mut *self.files.lock());
        drop(files);
        crate::fs::record_lock::release_process(self.pid);
        {
            let mut s = self.exit_status.lock();
            if s.is_some() {
                return;
            }
            *s = Some(status);
        }
        let orphans = core::mem::take(&mut *self.children.lock());
        if let Some(init) = registry::get(1).filter(|init| init.pid != self.pid) {
            for child in orphans {
                *child.parent.lock() = Arc::downgrade(&init);
                let death_signal = child.attrs.lock().parent_death_signal;
                if death_signal != 0 {
                    signal::send_info(
                        &child,
                        sigframe::SigInfo {
                            signo: death_signal,
                            pid: self.pid,
                            ..Default::default()
                        },
                    );
                }
                let zombie = child.is_zombie();
                init.add_child(child);
                if zombie {
                    init.child_wq.wake_all();
                }
            }
        }
        if let Some(parent) = self.parent() {
            let (code, status) = match status {
                ExitStatus::Exited(c) => (1, i32::from(c)),
                ExitStatus::Signaled(s, false) => (2, s as i32),
                ExitStatus::Signaled(s, true) => (3, s as i32),
            };
            signal::send_info(
                &parent,
                sigframe::SigInfo {
                    signo: signal::SIGCHLD,
                    code,
                    pid: self.pid,
                    uid: self.creds.lock().ruid,
                    status,
                    ..Default::default()
                },
            );
            parent.child_wq.wake_all();
        }
    }
}
