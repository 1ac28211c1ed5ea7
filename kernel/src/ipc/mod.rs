//! Inter-thread and inter-process communication that is not a file: futexes (System V IPC
//! and message queues would land here too).

pub mod futex;
