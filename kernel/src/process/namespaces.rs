//! The namespaces a process lives in (Linux's nsproxy, with the mount namespace that hangs
//! off it): unshare(2) and clone's CLONE_NEW* flags give a process new ones, setns(2)
//! moves it into another's, and /proc/PID/ns/ names them.
//!
//! Made here: UTS (host and domain name, `uts.rs`), IPC (`crate::ipc::namespace`), mount
//! (`crate::fs::mount_ns`), PID (`pid_ns.rs`) and network (`crate::net::namespace`). The
//! user, cgroup and time namespaces are the machine's one each: /proc/PID/ns shows them,
//! and asking for a new one is EINVAL, as from a Linux built without them.

use alloc::sync::Arc;
use core::any::Any;

use core::sync::atomic::Ordering;

use super::pid_ns::{self, PidNamespace};
use super::uts::{self, UtsNamespace};
use super::{Pid, Process};
use crate::error::{Errno, SysResult};
use crate::fs::mount_ns::{self, MountNamespace};
use crate::fs::nsfs::{NsFile, NsType};
use crate::ipc::namespace::{self as ipc_ns, IpcNamespace};
use crate::net::namespace::{self as net_ns, NetNamespace};

/// The namespaces of one process.
#[derive(Clone)]
pub struct Namespaces {
    /// Host and domain name.
    pub uts: Arc<UtsNamespace>,
    /// System V IPC and POSIX message queues.
    pub ipc: Arc<IpcNamespace>,
    /// The mount table.
    pub mnt: Arc<MountNamespace>,
    /// The PID namespace it lives in (fixed for its life).
    pub pid: Arc<PidNamespace>,
    /// The network stack.
    pub net: Arc<NetNamespace>,
    /// The PID namespace its children will live in (CLONE_NEWPID by unshare or setns
    /// changes this one only).
    pub pid_for_children: Arc<PidNamespace>,
}

/// The one namespace of a kind that is never divided here, so that /proc/PID/ns and setns
/// have something to name.
struct MachineWide;

/// The flags unshare(2) and clone(2) accept for the namespaces made here.
pub const SUPPORTED: u64 = NsType::Uts.clone_flag()
    | NsType::Ipc.clone_flag()
    | NsType::Mnt.clone_flag()
    | NsType::Pid.clone_flag()
    | NsType::Net.clone_flag();

/// Every CLONE_NEW* flag.
pub const ALL_FLAGS: u64 = {
    let mut all = 0;
    let mut i = 0;
    while i < NsType::ALL.len() {
        all |= NsType::ALL[i].clone_flag();
        i += 1;
    }
    all
};

impl Namespaces {
    /// The namespaces the machine starts with (pid 1's).
    pub fn initial() -> Self {
        Self {
            uts: uts::initial(),
            ipc: ipc_ns::initial(),
            mnt: mount_ns::initial(),
            pid: pid_ns::root(),
            net: net_ns::initial(),
            pid_for_children: pid_ns::root(),
        }
    }

    /// A copy with new namespaces for the CLONE_NEW* `flags` (only [`SUPPORTED`] ones: the
    /// caller checks). A new UTS namespace starts with the old names, a new mount
    /// namespace with a copy of the table, a new IPC namespace empty; a new PID namespace
    /// is for the children (the caller stays where it is).
    ///
    /// # Errors
    /// EINVAL for a new PID namespace when the children's is already another than the
    /// caller's own (Linux's copy_pid_ns); ENOSPC past the nesting limit.
    pub fn unshared(&self, flags: u64) -> SysResult<Self> {
        let mut new = self.clone();
        if flags & NsType::Pid.clone_flag() != 0 {
            if !Arc::ptr_eq(&self.pid, &self.pid_for_children) {
                return Err(Errno::EINVAL);
            }
            new.pid_for_children = self.pid.new_child()?;
        }
        if flags & NsType::Uts.clone_flag() != 0 {
            new.uts = self.uts.copy();
        }
        if flags & NsType::Ipc.clone_flag() != 0 {
            new.ipc = IpcNamespace::new();
        }
        if flags & NsType::Mnt.clone_flag() != 0 {
            new.mnt = self.mnt.copy();
        }
        if flags & NsType::Net.clone_flag() != 0 {
            new.net = net_ns::new();
        }
        Ok(new)
    }

    /// The namespaces of a child made with these: the same, except that the child lives in
    /// the PID namespace `home`, which is also its children's.
    pub fn for_child(&self, home: Arc<PidNamespace>) -> Self {
        Self { pid: home.clone(), pid_for_children: home, ..self.clone() }
    }

    /// The namespace of kind `ty` as an open nsfs file (opening /proc/PID/ns/NAME).
    pub fn file(&self, ty: NsType) -> Arc<NsFile> {
        let (inum, ns): (u64, Arc<dyn Any + Send + Sync>) = match ty {
            NsType::Uts => (self.uts.inum(), self.uts.clone()),
            NsType::Ipc => (self.ipc.inum(), self.ipc.clone()),
            NsType::Mnt => (self.mnt.inum(), self.mnt.clone()),
            NsType::Pid => (self.pid.inum(), self.pid.clone()),
            NsType::Net => (self.net.inum(), self.net.clone()),
            other => (other.initial_inum(), Arc::new(MachineWide)),
        };
        NsFile::new(ty, inum, ns)
    }

    /// The PID namespace of its future children as an open nsfs file
    /// (/proc/PID/ns/pid_for_children).
    pub fn pid_for_children_file(&self) -> Arc<NsFile> {
        let ns = self.pid_for_children.clone();
        NsFile::new(NsType::Pid, ns.inum(), ns)
    }

    /// These namespaces with the one `file` names in place of the same kind (setns); a PID
    /// namespace becomes the children's.
    ///
    /// # Errors
    /// EINVAL for a PID namespace that is neither the caller's nor below it.
    pub fn entered(&self, file: &NsFile) -> SysResult<Self> {
        let mut new = self.clone();
        let ns = file.namespace();
        match file.ns_type() {
            NsType::Uts => new.uts = ns.downcast::<UtsNamespace>().map_err(|_| Errno::EINVAL)?,
            NsType::Ipc => new.ipc = ns.downcast::<IpcNamespace>().map_err(|_| Errno::EINVAL)?,
            NsType::Mnt => new.mnt = ns.downcast::<MountNamespace>().map_err(|_| Errno::EINVAL)?,
            NsType::Net => new.net = ns.downcast::<NetNamespace>().map_err(|_| Errno::EINVAL)?,
            NsType::Pid => {
                let pid = ns.downcast::<PidNamespace>().map_err(|_| Errno::EINVAL)?;
                if !self.pid.contains(&pid) {
                    return Err(Errno::EINVAL);
                }
                new.pid_for_children = pid;
            }
            // Joining the one there is changes nothing.
            _ => {}
        }
        Ok(new)
    }
}

/// A process's namespaces, and its numbers in its PID namespace.
impl Process {
    /// Returns its namespaces.
    pub fn namespaces(&self) -> Namespaces {
        self.namespaces.lock().clone()
    }

    /// Returns the PID namespace it lives in (the one its numbers are read in).
    pub fn pid_ns(&self) -> Arc<PidNamespace> {
        self.namespaces.lock().pid.clone()
    }

    /// Its own number, as its PID namespace calls it.
    pub fn pid_seen(&self) -> Pid {
        self.own_nr.load(Ordering::Relaxed)
    }

    /// What this process calls task `global` (0 if it cannot see it).
    pub fn nr_for(&self, global: Pid) -> Pid {
        pid_ns::nr_in(global, &self.pid_ns()).unwrap_or(0)
    }

    /// The task this process calls `nr` (its machine-wide number), if it can see one.
    pub fn global_for(&self, nr: Pid) -> Option<Pid> {
        pid_ns::global_in(nr, &self.pid_ns())
    }

    /// Returns its network namespace (what every new socket asks).
    pub fn net_namespace(&self) -> Arc<NetNamespace> {
        self.namespaces.lock().net.clone()
    }

    /// Returns its mount namespace (what every path resolution asks, so without copying
    /// the others).
    pub fn mount_namespace(&self) -> Arc<MountNamespace> {
        self.namespaces.lock().mnt.clone()
    }

    /// Moves it into `namespaces` (unshare, setns, a clone's new namespaces).
    pub fn set_namespaces(&self, namespaces: Namespaces) {
        let own = pid_ns::nr_in(self.pid, &namespaces.pid).unwrap_or(self.pid);
        self.own_nr.store(own, Ordering::Relaxed);
        *self.namespaces.lock() = namespaces;
    }
}

/// Lets path resolution find the caller's mount table (called once at boot).
pub fn init() {
    mount_ns::set_current_hook(|| super::registry::current().map(|p| p.mount_namespace()));
}
