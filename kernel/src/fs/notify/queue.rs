//! An inotify instance's queue of events, as Linux's `fsnotify_add_event` and
//! `inotify_read` keep it.
//!
//! - An event identical to the last one queued (same watch, bits and name) is dropped: it
//!   would tell the reader nothing new.
//! - At most `limit` events wait (max_queued_events when the instance was created). The
//!   next one becomes a single IN_Q_OVERFLOW (wd -1) at the end of the queue, and further
//!   events are dropped until the reader takes that one.
//! - A read takes whole events while they fit; if the first does not fit, it is EINVAL.

use alloc::collections::VecDeque;

use ostd::sync::SpinLock;

use super::event::{Event, IN_Q_OVERFLOW};
use crate::error::{Errno, SysResult};
use crate::fs::poll::FileWaitQueue;

/// The queue.
pub struct EventQueue {
    state: SpinLock<State>,
    /// Readers sleep here; waking it wakes poll, select and epoll too.
    pub(super) readers: FileWaitQueue,
}

struct State {
    events: VecDeque<Event>,
    limit: usize,
    /// The IN_Q_OVERFLOW event is in `events`.
    overflow_queued: bool,
}

impl EventQueue {
    /// Creates an empty queue that holds up to `limit` events.
    pub fn new(limit: u32) -> Self {
        let state =
            State { events: VecDeque::new(), limit: limit as usize, overflow_queued: false };
        Self { state: SpinLock::new(state), readers: FileWaitQueue::new() }
    }

    /// Queues `event` (or an overflow, or nothing: see the module doc) and wakes readers.
    pub fn push(&self, event: Event) {
        let mut s = self.state.lock();
        if s.events.len() >= s.limit {
            if s.overflow_queued {
                return;
            }
            s.overflow_queued = true;
            s.events.push_back(Event::overflow());
        } else if s.events.back().is_some_and(|last| last.absorbs(&event)) {
            return;
        } else {
            s.events.push_back(event);
        }
        drop(s);
        self.readers.wake_all();
    }

    /// Moves whole events into `buf` while they fit. `None` if the queue is empty (the
    /// caller waits or answers EAGAIN); EINVAL if the first event is larger than `buf`.
    pub fn take_into(&self, buf: &mut [u8]) -> Option<SysResult<usize>> {
        let mut s = self.state.lock();
        let mut done = 0;
        while let Some(event) = s.events.front() {
            let size = event.size();
            if size > buf.len() - done {
                if done == 0 {
                    return Some(Err(Errno::EINVAL));
                }
                break;
            }
            event.encode(&mut buf[done..]);
            done += size;
            if event.mask == IN_Q_OVERFLOW && event.wd == -1 {
                s.overflow_queued = false;
            }
            s.events.pop_front();
        }
        (done > 0).then_some(Ok(done))
    }

    /// Whether events are waiting.
    pub fn has_events(&self) -> bool {
        !self.state.lock().events.is_empty()
    }

    /// The bytes a read would return with an unlimited buffer (FIONREAD).
    pub fn queued_bytes(&self) -> usize {
        self.state.lock().events.iter().map(Event::size).sum()
    }
}
