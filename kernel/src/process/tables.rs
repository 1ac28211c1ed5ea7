//! The tables a process may share with other processes without being one of their threads:
//! the descriptor table (clone's CLONE_FILES), the filesystem context (CLONE_FS) and the
//! address space (CLONE_VM). The signal dispositions (CLONE_SIGHAND) are shared the same way
//! inside [`super::signal::SigActions`].
//!
//! A shared table is one value behind an `Arc` that each sharing process holds in a slot of
//! its own; execve and unshare(2) put a private copy in the slot (Linux's unshare_files and
//! unshare_fs), which the other sharers do not see.
//!
//! The [`Process`] operations on these tables live here too.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::vm::Vm;
use super::{FsContext, Process};
use crate::error::SysResult;
use crate::fs::{FdTable, FileLike, Node};

/// A process's slot for a table other processes may share.
///
/// Locking: the slot's read-write lock, then the table's spin lock, taken last (except what
/// the caller's closure takes, see the order on [`super::Process`]). The slot's lock is
/// read on every use and written only when the slot gets another table (execve, unshare,
/// exit), so a descriptor lookup costs the table's lock and a reader count, not a second
/// interrupt-disabling lock. It is never taken in interrupt context, and a writer does not
/// disable interrupts while it waits: a reader preempted on the writer's CPU gets to finish.
pub(super) struct SharedTable<T> {
    slot: spin::RwLock<Arc<SpinLock<T>>>,
}

impl<T: Clone> SharedTable<T> {
    /// A slot holding a table of its own.
    pub(super) fn new(table: T) -> Self {
        Self::holding(Arc::new(SpinLock::new(table)))
    }

    fn holding(table: Arc<SpinLock<T>>) -> Self {
        Self { slot: spin::RwLock::new(table) }
    }

    /// Runs `f` on the table, locked.
    #[inline]
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let slot = self.slot.read();
        let mut table = slot.lock();
        f(&mut table)
    }

    /// A slot for a new process: the same table (shared) or a copy of it.
    pub(super) fn for_child(&self, share: bool) -> Self {
        let slot = self.slot.read();
        if share { Self::holding(slot.clone()) } else { Self::new(slot.lock().clone()) }
    }

    /// Returns the identity of the table in the slot (the same for every sharer).
    pub(super) fn id(&self) -> usize {
        Arc::as_ptr(&*self.slot.read()) as *const u8 as usize
    }

    /// Returns whether another process holds the same table.
    pub(super) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.slot.read()) > 1
    }

    /// Puts `table` in the slot and returns the table it held, for the caller to drop after
    /// the locks: the last reference to a descriptor table closes its files, which may sleep.
    fn replace(&self, table: Arc<SpinLock<T>>) -> Arc<SpinLock<T>> {
        core::mem::replace(&mut *self.slot.write(), table)
    }

    /// Empties the slot (the process exits): the table goes with the last process that held
    /// it, when the returned reference is dropped.
    pub(super) fn detach(&self, empty: T) -> Arc<SpinLock<T>> {
        self.replace(Arc::new(SpinLock::new(empty)))
    }

    /// Gives this slot a copy of the table of its own if it shares it (unshare(2), execve,
    /// exit). The copy is made under the slot's write lock: another thread of the process
    /// that installs a descriptor meanwhile does it in the table that is copied, not in one
    /// that the slot is about to leave.
    pub(super) fn unshare(&self) {
        let old = {
            let mut slot = self.slot.write();
            if Arc::strong_count(&slot) == 1 {
                return;
            }
            let copy = slot.lock().clone();
            core::mem::replace(&mut *slot, Arc::new(SpinLock::new(copy)))
        };
        // Dropped after the lock: the other sharers still hold the table.
        drop(old);
    }
}

/// What a new process shares with the process that made it instead of copying (clone's
/// CLONE_FILES, CLONE_FS and CLONE_SIGHAND; the address space is chosen apart).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sharing {
    /// The descriptor table.
    pub files: bool,
    /// Root, working directory and umask.
    pub fs: bool,
    /// The signal dispositions.
    pub sighand: bool,
}

/// A process's use of an address space, counted as Linux's mm_users counts the processes
/// (here: processes, not threads) that use it: the space is emptied when the last of them
/// exits, not before, so that a process that shares it (CLONE_VM) keeps its memory.
pub(super) struct VmUse {
    vm: Arc<Vm>,
    users: Arc<AtomicUsize>,
    /// Whether this process still counts among `users` (until it exits or executes).
    counted: bool,
}

impl VmUse {
    /// The use of a space no other process uses.
    pub(super) fn new(vm: Arc<Vm>) -> Self {
        Self { vm, users: Arc::new(AtomicUsize::new(1)), counted: true }
    }

    /// The address space.
    pub(super) fn vm(&self) -> &Arc<Vm> {
        &self.vm
    }

    /// Another process's use of the same space (clone with CLONE_VM).
    pub(super) fn share(&self) -> Self {
        self.users.fetch_add(1, Ordering::AcqRel);
        Self { vm: self.vm.clone(), users: self.users.clone(), counted: true }
    }

    /// Stops counting this process as a user; returns whether it was the last one, which
    /// then empties the space.
    pub(super) fn release(&mut self) -> bool {
        if !core::mem::replace(&mut self.counted, false) {
            return false;
        }
        self.users.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Returns whether another process uses the same space.
    pub(super) fn is_shared(&self) -> bool {
        self.users.load(Ordering::Acquire) > 1
    }
}

impl Drop for VmUse {
    fn drop(&mut self) {
        // A process that never ran (a clone that failed half-way) still counted.
        self.release();
    }
}

/// The memory, the descriptor table and the filesystem context.
impl Process {
    /// Returns the memory.
    pub fn vm(&self) -> Arc<Vm> {
        self.vm.lock().vm().clone()
    }

    /// Replaces the memory (execve). A space other processes share stays theirs.
    pub fn set_vm(&self, vm: Arc<Vm>) {
        // The old space is dropped after the lock is released: dropping it writes shared
        // file mappings back, which takes sleeping locks.
        let mut old = core::mem::replace(&mut *self.vm.lock(), VmUse::new(vm));
        // Its last user leaving: a process that shared it and has ended but is not reaped
        // still holds it, so it is emptied now rather than when that one is reaped.
        if old.release() && Arc::strong_count(old.vm()) > 1 {
            old.vm().clear();
        }
        drop(old);
    }

    /// Returns whether another process shares the address space (CLONE_VM).
    pub fn shares_vm(&self) -> bool {
        self.vm.lock().is_shared()
    }

    /// Stops using the address space as the process exits; returns it if this process was
    /// its last user, to be emptied (Linux's mmput).
    pub(super) fn release_vm(&self) -> Option<Arc<Vm>> {
        let mut vm = self.vm.lock();
        vm.release().then(|| vm.vm().clone())
    }

    /// Returns the open file behind descriptor `fd` (EBADF if none).
    pub fn file(&self, fd: i32) -> SysResult<Arc<dyn FileLike>> {
        self.files.with(|files| files.get(fd))
    }

    /// Installs `file` at the lowest free descriptor and returns it (EMFILE past
    /// RLIMIT_NOFILE).
    pub fn install_file(&self, file: Arc<dyn FileLike>, cloexec: bool) -> SysResult<i32> {
        self.with_files(|files| files.insert(file, cloexec))
    }

    /// Installs two files at the two lowest free descriptors, or neither (pipe2,
    /// socketpair).
    pub fn install_file_pair(
        &self,
        first: Arc<dyn FileLike>,
        second: Arc<dyn FileLike>,
        cloexec: bool,
    ) -> SysResult<(i32, i32)> {
        self.with_files(|files| {
            let a = files.insert(first, cloexec)?;
            match files.insert(second, cloexec) {
                Ok(b) => Ok((a, b)),
                Err(e) => {
                    let _ = files.remove(a);
                    Err(e)
                }
            }
        })
    }

    /// Takes the file out of descriptor `fd` (EBADF if none); the caller drops it once the
    /// table is unlocked.
    pub fn remove_file(&self, fd: i32) -> SysResult<Arc<dyn FileLike>> {
        self.files.with(|files| files.remove(fd))
    }

    /// What closing a descriptor does besides dropping it, once the table is unlocked (Linux's
    /// `filp_close`): the file is told who closed it (`flush`), and this process's record
    /// locks on the file go, whichever descriptor held them (POSIX's rule).
    pub fn after_close(&self, files: impl IntoIterator<Item = Arc<dyn FileLike>>) {
        for file in files {
            file.flush(self.pid);
            crate::fs::notify::dnotify::flush(&file, self.pid);
            if let Some(node) = file.node() {
                let node = Arc::as_ptr(node) as usize;
                crate::fs::record_lock::release(
                    node,
                    crate::fs::record_lock::Owner::Process(self.pid),
                );
            }
        }
    }

    /// Runs `f` on the descriptor table, locked: for what changes several slots at once or
    /// must see them together (dup, fcntl, close_range, RLIMIT_NOFILE, SCM_RIGHTS).
    /// Files that leave the table should be returned from `f` and dropped after it.
    ///
    /// The table bounds its descriptors by this process's RLIMIT_NOFILE, which is the
    /// process's own even when the table is shared (as Linux passes the caller's limit to
    /// alloc_fd).
    pub fn with_files<R>(&self, f: impl FnOnce(&mut FdTable) -> R) -> R {
        let nofile = self.limit(super::limits::NOFILE);
        self.files.with(|files| {
            files.set_limit(nofile.soft as usize, nofile.hard as usize);
            f(files)
        })
    }

    /// Returns the identity of the descriptor table (kcmp's KCMP_FILES).
    pub fn files_id(&self) -> usize {
        self.files.id()
    }

    /// Returns the identity of the filesystem context (kcmp's KCMP_FS).
    pub fn fs_id(&self) -> usize {
        self.fs.id()
    }

    /// Returns the root, working directory and umask.
    pub fn fs_context(&self) -> FsContext {
        self.fs.with(|fs| fs.clone())
    }

    /// Changes the working directory.
    pub fn set_cwd(&self, dir: Arc<Node>) {
        self.fs.with(|fs| fs.cwd = dir);
    }

    /// Changes the root directory (chroot; the working directory stays where it is).
    pub fn set_root(&self, dir: Arc<Node>) {
        self.fs.with(|fs| fs.root = dir);
    }

    /// Sets the umask (to `mask & 0o777`) and returns the old one.
    pub fn set_umask(&self, mask: u32) -> u32 {
        self.fs.with(|fs| core::mem::replace(&mut fs.umask, mask & 0o777))
    }

    /// Returns whether another process shares the filesystem context (CLONE_FS).
    pub fn shares_fs(&self) -> bool {
        self.fs.is_shared()
    }

    /// Gives the process descriptor table and filesystem context of its own, copies of
    /// those it shares, if `files` and `fs` ask (unshare(2)'s CLONE_FILES and CLONE_FS).
    pub fn unshare_tables(&self, files: bool, fs: bool) {
        if files {
            self.files.unshare();
        }
        if fs {
            self.fs.unshare();
        }
    }
}

ostd::ktest! {
    fn a_shared_table_is_one_table_until_a_sharer_unshares_it() {
        let first = SharedTable::new(1u32);
        let copy = first.for_child(false);
        let shared = first.for_child(true);
        assert!(first.is_shared() && shared.is_shared() && !copy.is_shared());
        first.with(|v| *v = 2);
        assert_eq!((shared.with(|v| *v), copy.with(|v| *v)), (2, 1));
        // The one that unshares takes a copy; the other keeps the table, no longer shared.
        shared.unshare();
        shared.with(|v| *v = 3);
        assert_eq!((first.with(|v| *v), shared.with(|v| *v)), (2, 3));
        assert!(!first.is_shared() && !shared.is_shared());
        // Emptying a slot (exit) leaves the other sharer's table alone.
        let again = first.for_child(true);
        drop(again.detach(0));
        assert_eq!(first.with(|v| *v), 2);
        assert!(!first.is_shared());
    }

    fn an_address_space_counts_its_users_until_the_last_leaves() {
        let Ok(vm) = Vm::new() else { panic!("no memory for an address space") };
        let mut parent = VmUse::new(vm);
        let mut child = parent.share();
        assert!(parent.is_shared() && child.is_shared());
        assert!(!child.release(), "the parent still uses it");
        assert!(!child.release(), "a process is counted once");
        assert!(!parent.is_shared());
        assert!(parent.release(), "the last user empties it");
        // A clone that failed half-way drops its use uncounted-for.
        let failed = VmUse::new(parent.vm().clone()).share();
        drop(failed);
    }
}
