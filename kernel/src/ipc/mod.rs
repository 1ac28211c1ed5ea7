//! Inter-thread and inter-process communication that is not a file: futexes (robust ones
//! too) and System V IPC (shared memory, message queues and semaphores, with their
//! identities and tunables).

pub mod futex;
pub mod ids;
pub mod limits;
pub mod msg;
pub mod robust_futex;
pub mod sem;
pub mod shm;
mod test;
