//! Inter-thread and inter-process communication: futexes (robust and priority-inheritance
//! ones too), System V IPC
//! (shared memory, message queues and semaphores, with their identities and tunables), and
//! POSIX message queues (named queues opened as descriptors).

pub mod futex;
pub mod ids;
pub mod limits;
pub mod mqueue;
pub mod msg;
pub mod namespace;
pub mod pi_futex;
pub mod requeue_pi;
pub mod robust_futex;
pub mod sem;
pub mod shm;
mod test;
