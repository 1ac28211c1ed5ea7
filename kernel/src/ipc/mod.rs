//! Inter-thread and inter-process communication that is not a file: futexes (robust ones
//! too) and System V
//! shared memory (System V semaphores and message queues would land here too).

pub mod futex;
pub mod robust_futex;
pub mod shm;
