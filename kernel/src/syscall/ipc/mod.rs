//! The System V IPC syscalls: shared memory (`shm`), message queues (`msg`) and semaphores
//! (`sem`). The objects live in `crate::ipc`; these files read and write the user's
//! structures (x86-64 layouts) in Linux's order of checks. `perm` encodes the
//! `struct ipc64_perm` that message queues and semaphore sets share.

pub mod msg;
mod perm;
pub mod sem;
pub mod shm;
