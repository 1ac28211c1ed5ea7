//! One POSIX message queue, as Linux 6.1's ipc/mqueue.c keeps it.
//!
//! Messages wait in priority order (highest first, in sending order within a priority), at
//! most `maxmsg` of at most `msgsize` bytes. A receiver that finds the queue empty joins the
//! queue's list of receivers, and the next sender hands its message straight to the first
//! of them (Linux's pipelined_send), so the message never enters the queue and nobody is
//! notified. A sender that finds the queue full joins the list of senders with its message,
//! and the next receiver moves the first sender's message into the room it made (Linux's
//! pipelined_receive). A sleeper learns that it was served from `handed`, keyed by its
//! token; one that gives up (a signal, the deadline) takes its token out of the list.
//!
//! One process may ask to be told when a message arrives on the empty queue while nobody
//! waits to receive it (mq_notify): by a signal, or not at all (SIGEV_NONE, which only
//! holds the registration). Telling it ends the registration, and so does any close of a
//! descriptor of the queue by that process (Linux's mqueue_flush_file).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::limits::{self, HARD_MSGMAX, HARD_MSGSIZEMAX};
use crate::error::{Errno, SysResult};
use crate::fs::poll::FileWaitQueue;
use crate::process::sigframe::{SI_MESGQ, SigInfo};
use crate::process::{Pid, Process, registry, signal};

/// sigev_notify values mq_notify takes.
pub const SIGEV_SIGNAL: u32 = 0;
pub const SIGEV_NONE: u32 = 1;
pub const SIGEV_THREAD: u32 = 2;

/// One message.
pub struct Message {
    /// Its priority (below MQ_PRIO_MAX).
    pub priority: u32,
    /// Its bytes.
    pub text: Vec<u8>,
}

/// How a registered process is told of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// SIGEV_NONE: not at all (the registration only holds the queue).
    Nothing,
    /// SIGEV_SIGNAL: signal `signo` (0 sends none) with `value` as si_value.
    Signal { signo: u32, value: u64 },
}

/// A process's registration for notification.
#[derive(Clone, Copy)]
struct Registration {
    owner: Pid,
    /// The owner's exec generation when it registered: after an execve it is not told.
    owner_execs: u64,
    how: Notify,
}

/// Who owns a queue and what it lets others do, as its file's inode shows it.
#[derive(Clone, Copy, Debug)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (07777).
    pub mode: u32,
}

/// mq_attr's fixed part: the queue's capacity.
#[derive(Clone, Copy, Debug)]
pub struct Capacity {
    pub maxmsg: i64,
    pub msgsize: i64,
}

impl Capacity {
    /// The capacity a queue created without attributes gets.
    pub fn default_now() -> Self {
        Self {
            maxmsg: limits::MSG_MAX.get().min(limits::MSG_DEFAULT.get()),
            msgsize: limits::MSGSIZE_MAX.get().min(limits::MSGSIZE_DEFAULT.get()),
        }
    }

    /// Linux's checks in mqueue_get_inode: both positive, and within the sysctl limits for
    /// an unprivileged caller or the hard limits for a privileged one (EINVAL otherwise).
    fn check(self, privileged: bool) -> SysResult<()> {
        let (max_msgs, max_size) = if privileged {
            (HARD_MSGMAX, HARD_MSGSIZEMAX)
        } else {
            (limits::MSG_MAX.get(), limits::MSGSIZE_MAX.get())
        };
        if self.maxmsg <= 0 || self.msgsize <= 0 {
            return Err(Errno::EINVAL);
        }
        if self.maxmsg > max_msgs || self.msgsize > max_size {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    /// Messages by priority, each list in sending order.
    by_priority: BTreeMap<u32, VecDeque<Vec<u8>>>,
    /// mq_curmsgs.
    count: usize,
    /// Bytes of all messages (QSIZE).
    bytes: usize,
    notify: Option<Registration>,
    /// Sleeping receivers' tokens, first come first.
    receivers: VecDeque<u64>,
    /// Sleeping senders' tokens and messages, first come first.
    senders: VecDeque<(u64, Message)>,
    /// Served sleepers: a receiver's message, or `None` for a sender whose message went in.
    handed: BTreeMap<u64, Option<Message>>,
    next_token: u64,
}

impl State {
    fn insert(&mut self, msg: Message) {
        self.count += 1;
        self.bytes += msg.text.len();
        self.by_priority.entry(msg.priority).or_default().push_back(msg.text);
    }

    /// Takes the oldest message of the highest priority.
    fn take_first(&mut self) -> Option<Message> {
        let mut entry = self.by_priority.last_entry()?;
        let priority = *entry.key();
        let text = entry.get_mut().pop_front()?;
        if entry.get().is_empty() {
            entry.remove();
        }
        self.count -= 1;
        self.bytes -= text.len();
        Some(Message { priority, text })
    }

    fn new_token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Takes a sleeper that gave up out of the lists.
    fn forget(&mut self, token: u64) {
        self.receivers.retain(|&t| t != token);
        self.senders.retain(|(t, _)| *t != token);
    }
}

/// A message queue: the object behind a name and its open descriptors.
pub struct MessageQueue {
    capacity: Capacity,
    owner: Owner,
    /// The inode number its file shows.
    ino: u64,
    /// Whose budget it is charged to, and how much.
    charged_to: u32,
    cost: u64,
    /// Its name is gone (the file's link count is 0).
    unlinked: AtomicBool,
    state: SpinLock<State>,
    /// Sleepers and pollers: woken at every change.
    changed: FileWaitQueue,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl MessageQueue {
    /// Makes a queue as Linux's mqueue_create_attr does: ENOSPC when `queues_max` exist
    /// (unless privileged), EINVAL for a capacity out of bounds, EMFILE when it would take
    /// the real user `ruid` over its byte `budget` (the creator's RLIMIT_MSGQUEUE).
    pub fn create(
        capacity: Capacity,
        owner: Owner,
        (ruid, budget): (u32, u64),
        privileged: bool,
    ) -> SysResult<Self> {
        limits::count_queue(privileged)?;
        let cost = capacity
            .check(privileged)
            .map(|()| limits::queue_cost(capacity.maxmsg as u64, capacity.msgsize as u64))
            .and_then(|cost| limits::charge(ruid, cost, budget).map(|()| cost));
        let cost = cost.inspect_err(|_| limits::uncount_queue())?;
        Ok(Self {
            capacity,
            owner,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            charged_to: ruid,
            cost,
            unlinked: AtomicBool::new(false),
            state: SpinLock::new(State::default()),
            changed: FileWaitQueue::new(),
        })
    }

    /// Its capacity.
    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// Its owner and permission bits.
    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// Its inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Whether its name was removed.
    pub fn unlinked(&self) -> bool {
        self.unlinked.load(Ordering::Relaxed)
    }

    /// Records that its name was removed.
    pub fn mark_unlinked(&self) {
        self.unlinked.store(true, Ordering::Relaxed);
    }

    /// mq_curmsgs.
    pub fn count(&self) -> usize {
        self.state.lock().count
    }

    /// (readable, writable) for poll: a message is there; there is room for one.
    pub fn readiness(&self) -> (bool, bool) {
        let s = self.state.lock();
        (s.count > 0, (s.count as i64) < self.capacity.maxmsg)
    }

    /// How many times its sleepers and pollers were woken (for edge-triggered epoll).
    pub fn wakes(&self) -> u64 {
        self.changed.wakes()
    }

    /// What reading its file gives (Linux's mqueue_read_file): bytes queued, then the
    /// registration's kind, signal and owner (zeros without one).
    pub fn status_line(&self) -> String {
        let s = self.state.lock();
        let (how, signo, pid) = match s.notify {
            None => (0, 0, 0),
            Some(Registration { owner, how: Notify::Nothing, .. }) => (SIGEV_NONE, 0, owner),
            Some(Registration { owner, how: Notify::Signal { signo, .. }, .. }) => {
                (SIGEV_SIGNAL, signo, owner)
            }
        };
        format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            s.bytes, how, signo, pid
        )
    }

    /// mq_timedsend once the message is read: queues it (or hands it to the first waiting
    /// receiver), or, when the queue is full, EAGAIN for a non-blocking caller or sleeps
    /// until a receiver makes room, `deadline_ns` (monotonic) passes (ETIMEDOUT) or a signal
    /// comes (EINTR). A message that enters an empty queue with nobody waiting tells the
    /// registered process.
    pub fn send(
        &self,
        msg: Message,
        nonblocking: bool,
        deadline_ns: Option<u64>,
        sender: &Process,
    ) -> SysResult<()> {
        let mut s = self.state.lock();
        if s.count as i64 >= self.capacity.maxmsg {
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let token = s.new_token();
            s.senders.push_back((token, msg));
            drop(s);
            return self.sleep(token, deadline_ns).map(|_| ());
        }
        let mut to_tell = None;
        if let Some(receiver) = s.receivers.pop_front() {
            s.handed.insert(receiver, Some(msg));
        } else {
            s.insert(msg);
            if s.count == 1 {
                to_tell = s.notify.take();
            }
        }
        drop(s);
        self.changed.wake_all();
        if let Some(registration) = to_tell {
            tell(registration, sender);
        }
        Ok(())
    }

    /// mq_timedreceive: takes the first message (a waiting sender's message then takes
    /// its place), or, when the queue is empty, EAGAIN for a non-blocking caller or sleeps
    /// until a sender hands it one, `deadline_ns` passes (ETIMEDOUT) or a signal comes
    /// (EINTR).
    pub fn receive(&self, nonblocking: bool, deadline_ns: Option<u64>) -> SysResult<Message> {
        let mut s = self.state.lock();
        let Some(msg) = s.take_first() else {
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let token = s.new_token();
            s.receivers.push_back(token);
            drop(s);
            return self.sleep(token, deadline_ns)?.ok_or(Errno::EAGAIN);
        };
        if let Some((sender, waiting)) = s.senders.pop_front() {
            s.insert(waiting);
            s.handed.insert(sender, None);
        }
        drop(s);
        self.changed.wake_all();
        Ok(msg)
    }

    /// Sleeps until the sleeper `token` is served, as Linux's wq_sleep: being served wins
    /// over a signal, which wins over the deadline.
    fn sleep(&self, token: u64, deadline_ns: Option<u64>) -> SysResult<Option<Message>> {
        let served = self.changed.wait_until_or_deadline(
            || {
                let mut s = self.state.lock();
                if let Some(handed) = s.handed.remove(&token) {
                    return Some(Ok(handed));
                }
                if crate::wait::signal_pending() {
                    s.forget(token);
                    return Some(Err(Errno::EINTR));
                }
                None
            },
            deadline_ns,
        );
        served.unwrap_or_else(|_| {
            let mut s = self.state.lock();
            if let Some(handed) = s.handed.remove(&token) {
                return Ok(handed);
            }
            s.forget(token);
            Err(Errno::ETIMEDOUT)
        })
    }

    /// mq_notify with a registration for process `owner`: EBUSY if a process holds one
    /// already.
    pub fn register(&self, owner: &Process, how: Notify) -> SysResult<()> {
        let mut s = self.state.lock();
        if s.notify.is_some() {
            return Err(Errno::EBUSY);
        }
        let owner_execs = owner.exec_generation();
        s.notify = Some(Registration { owner: owner.pid(), owner_execs, how });
        Ok(())
    }

    /// mq_notify without one, and every close of a descriptor of the queue: ends `owner`'s
    /// registration (another process's stays).
    pub fn unregister(&self, owner: Pid) {
        let mut s = self.state.lock();
        if s.notify.is_some_and(|r| r.owner == owner) {
            s.notify = None;
        }
    }
}

impl Drop for MessageQueue {
    /// The last reference is gone (no name, no descriptor): its budget and place are free.
    fn drop(&mut self) {
        limits::refund(self.charged_to, self.cost);
        limits::uncount_queue();
    }
}

/// Tells the registered process that a message arrived, as Linux 6.1's __do_notify: the
/// signal carries SI_MESGQ, the value it asked for, and the sender's PID and real UID. It
/// comes from the kernel, so kill's permission rule does not apply; but a process that ran
/// execve since it registered is not told.
fn tell(registration: Registration, sender: &Process) {
    let Notify::Signal { signo, value } = registration.how else { return };
    let Some(owner) = registry::get(registration.owner) else { return };
    if owner.exec_generation() != registration.owner_execs {
        return;
    }
    let info = SigInfo {
        signo,
        code: SI_MESGQ,
        pid: sender.pid(),
        uid: sender.creds().ruid,
        value,
        ..SigInfo::default()
    };
    signal::send_info(&owner, info);
}
