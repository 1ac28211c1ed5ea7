//! POSIX message queues (mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
//! mq_getsetattr), as Linux 6.1's ipc/mqueue.c keeps them: named queues of prioritized
//! messages, opened as descriptors.
//!
//! - `names`: the table of names, with the rules of Linux's mqueue directory;
//! - `queue`: one queue, its messages, sleepers and notification;
//! - `file`: a descriptor of a queue;
//! - `limits`: the /proc/sys/fs/mqueue tunables and the per-user byte budget.

pub mod file;
pub mod limits;
pub mod names;
pub mod queue;
