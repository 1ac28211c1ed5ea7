//! Waiting for files to become ready, as poll(2), select(2) and epoll_wait(2) ask: each
//! wake-up asks every watched file for its readiness until one is ready, the deadline
//! (monotonic ns) passes, or a signal is pending (EINTR).
//!
//! A poller whose files can all say when their readiness changes (pipes, eventfds, inet and
//! Unix sockets: [`FileLike::watch_readiness`]) sleeps on a queue of its own, which only those
//! files' wake-ups wake ([`wait_for_files`]). The others sleep on one queue shared by all,
//! which every change that can make a file ready wakes: the files' own wait queues are
//! [`FileWaitQueue`]s, which wake it too, and other sources (timers, child exits) call
//! [`notify_readiness`]. So an idle server's poll is not woken by every packet of another.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::WaitQueue;

use super::epoll_ready::{ReadyList, Watchers};
use super::{FdTable, FileLike};
use crate::error::{Errno, SysResult};

pub const POLLIN: u16 = 1;
pub const POLLOUT: u16 = 4;
pub const POLLERR: u16 = 8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;
pub const POLLRDHUP: u16 = 0x2000;

/// Where poll, select and epoll_wait sleep.
static READINESS: WaitQueue = WaitQueue::new();

/// Wakes every poll, select and epoll_wait, so they ask their files again: call it after a
/// change that can make a file ready, or after the last reader of a file ran.
pub fn notify_readiness() {
    READINESS.wake_all();
}

/// Sleeps until `cond` answers (after any readiness change it is asked again) or until the
/// monotonic clock reaches `deadline_ns` (then `None`).
pub fn wait_for_readiness<R>(
    cond: impl FnMut() -> Option<R>,
    deadline_ns: Option<u64>,
) -> Option<R> {
    READINESS.wait_until_or_deadline(cond, deadline_ns).ok()
}

/// As [`wait_for_readiness`], for a caller whose answer depends only on `files`: when every
/// one of them can mark a ready list ([`FileLike::watch_readiness`]), the caller sleeps on
/// that list's queue, woken by their wake-ups alone; otherwise by every readiness change.
/// The caller has looked once already and found nothing (most calls find a file ready at
/// once, and then need neither the files gathered nor a registration); a change between
/// that look and the registration is seen by the wait's own first look, which follows it.
pub fn wait_for_files<R>(
    files: &[Arc<dyn FileLike>],
    cond: impl FnMut() -> Option<R>,
    deadline_ns: Option<u64>,
) -> Option<R> {
    let list = ReadyList::new();
    let mut watching = 0;
    for (key, file) in files.iter().enumerate() {
        if !file.watch_readiness(&list, key as i32) {
            break;
        }
        watching += 1;
    }
    let answer = if watching == files.len() {
        list.wait_queue().wait_until_or_deadline(cond, deadline_ns).ok()
    } else {
        wait_for_readiness(cond, deadline_ns)
    };
    for (key, file) in files.iter().enumerate().take(watching) {
        file.unwatch_readiness(&list, key as i32);
    }
    answer
}

/// The wait queue of a pollable file (a pipe's readers, a socket's writers): waking it also
/// wakes the pollers, which may be watching the same change.
pub struct FileWaitQueue {
    queue: WaitQueue,
    /// How many times it was woken: edge-triggered epoll reports a ready file again only
    /// after one of its queues was woken (see [`FileLike::readiness_changes`]).
    wakes: AtomicU64,
    /// The epoll interests to mark at each wake-up (see [`super::epoll_ready`]).
    watchers: Watchers,
}

impl Default for FileWaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl FileWaitQueue {
    /// Creates an empty queue.
    pub const fn new() -> Self {
        Self { queue: WaitQueue::new(), wakes: AtomicU64::new(0), watchers: Watchers::new() }
    }

    /// Sleeps until `cond` returns `Some` (see [`WaitQueue::wait_until`]).
    pub fn wait_until<R>(&self, cond: impl FnMut() -> Option<R>) -> R {
        self.queue.wait_until(cond)
    }

    /// Sleeps until `cond` returns `Some` or the monotonic clock reaches `deadline_ns`
    /// (see [`WaitQueue::wait_until_or_deadline`]).
    pub fn wait_until_or_deadline<R>(
        &self,
        cond: impl FnMut() -> Option<R>,
        deadline_ns: Option<u64>,
    ) -> Result<R, ostd::sync::TimedOut> {
        self.queue.wait_until_or_deadline(cond, deadline_ns)
    }

    /// Returns how many times the queue was woken.
    pub fn wakes(&self) -> u64 {
        self.wakes.load(Ordering::Acquire)
    }

    /// Wakes every sleeper, marks the epoll interests that watch the queue, and wakes the
    /// pollers.
    pub fn wake_all(&self) {
        // Counted before the wake-up, so a poller woken by it sees the new count.
        self.wakes.fetch_add(1, Ordering::AcqRel);
        self.queue.wake_all();
        self.watchers.notify();
        notify_readiness();
    }

    /// Has each wake-up mark `key` on `list` (an epoll interest in the file).
    pub fn watch(&self, list: &Arc<ReadyList>, key: i32) {
        self.watchers.add(list, key);
    }

    /// Undoes [`FileWaitQueue::watch`].
    pub fn unwatch(&self, list: &ReadyList, key: i32) {
        self.watchers.remove(list, key);
    }
}

/// One `struct pollfd`: a descriptor (negative: ignored), the events asked for and the
/// events found.
#[derive(Clone, Copy, Debug)]
pub struct PollFd {
    pub fd: i32,
    pub events: u16,
    pub revents: u16,
}

/// poll: fills in every entry's `revents` (POLLNVAL for a closed descriptor) and returns
/// how many entries have any. `file_of` looks a descriptor up in the caller's table, at
/// every wake-up.
pub fn poll(
    file_of: impl Fn(i32) -> SysResult<Arc<dyn FileLike>>,
    fds: &mut [PollFd],
    deadline: Option<u64>,
) -> SysResult<u64> {
    if let Some(answer) = poll_look(&file_of, fds) {
        return answer;
    }
    let files: Vec<Arc<dyn FileLike>> =
        fds.iter().filter(|e| e.fd >= 0).filter_map(|e| file_of(e.fd).ok()).collect();
    let answer = wait_for_files(&files, || poll_look(&file_of, fds), deadline);
    // At the deadline every entry's `revents` is 0, from the last look.
    answer.unwrap_or(Ok(0))
}

/// One look of [`poll`] at its entries: the count of entries with events, EINTR if none
/// has and a signal is pending, else `None`.
fn poll_look(
    file_of: &impl Fn(i32) -> SysResult<Arc<dyn FileLike>>,
    fds: &mut [PollFd],
) -> Option<SysResult<u64>> {
    let mut count = 0u64;
    for entry in fds.iter_mut() {
        let (fd, events) = (entry.fd, entry.events);
        let mut revents = 0u16;
        if fd >= 0 {
            match file_of(fd) {
                Ok(f) => {
                    let r = f.readiness();
                    revents |= r.data_bits() & events;
                    if r.read_hangup && events & POLLRDHUP != 0 {
                        revents |= POLLRDHUP;
                    }
                    if r.hangup {
                        revents |= POLLHUP;
                    }
                    if r.error {
                        revents |= POLLERR;
                    }
                }
                Err(_) => revents = POLLNVAL,
            }
        }
        entry.revents = revents;
        if revents != 0 {
            count += 1;
        }
    }
    if count > 0 {
        Some(Ok(count))
    } else {
        crate::wait::signal_pending().then_some(Err(Errno::EINTR))
    }
}

/// The descriptors a select(2) watches, with which of the three sets name each: looked up
/// once, by [`select_watched`], so that each wake-up only asks the files for their
/// readiness.
pub struct SelectWatched {
    /// The length of each set in bytes.
    bytes: usize,
    watched: Vec<(usize, [bool; 3], Arc<dyn FileLike>)>,
}

/// Looks up the descriptors select(2) is to watch in `files`. `input` is the read, write
/// and exception sets, bitmaps of the first `nfds` descriptors in little-endian 64-bit
/// words (all three the same length). EBADF if a set names a closed descriptor.
pub fn select_watched(
    files: &FdTable,
    nfds: u64,
    input: &[Vec<u8>; 3],
) -> SysResult<SelectWatched> {
    let bytes = input[0].len();
    let mut watched: Vec<(usize, [bool; 3], Arc<dyn FileLike>)> = Vec::new();
    for (word, chunk) in (0..bytes / 8).map(|w| (w, w * 8..w * 8 + 8)) {
        let words = [0, 1, 2]
            .map(|i| u64::from_le_bytes(input[i][chunk.clone()].try_into().unwrap_or([0; 8])));
        let mut any = words[0] | words[1] | words[2];
        while any != 0 {
            let bit = any.trailing_zeros() as usize;
            any &= any - 1;
            let fd = word * 64 + bit;
            if fd >= nfds as usize {
                break;
            }
            let file = files.get(fd as i32).map_err(|_| Errno::EBADF)?;
            watched.push((fd, [0, 1, 2].map(|i| words[i] & (1 << bit) != 0), file));
        }
    }
    Ok(SelectWatched { bytes, watched })
}

/// select: waits for the descriptors in `watched`. Returns how many bits are set in the
/// output sets, and them.
pub fn select(watched: SelectWatched, deadline: Option<u64>) -> SysResult<(u64, [Vec<u8>; 3])> {
    if let Some(answer) = select_look(&watched) {
        return answer;
    }
    let files: Vec<Arc<dyn FileLike>> = watched.watched.iter().map(|(_, _, f)| f.clone()).collect();
    let answer = wait_for_files(&files, || select_look(&watched), deadline);
    let bytes = watched.bytes;
    answer.unwrap_or_else(|| {
        Ok((0, [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]]))
    })
}

/// One look of [`select`] at its descriptors: the bits set and the output sets, EINTR if
/// none is ready and a signal is pending, else `None`.
fn select_look(watched: &SelectWatched) -> Option<SysResult<(u64, [Vec<u8>; 3])>> {
    let SelectWatched { bytes, watched } = watched;
    let bytes = *bytes;
    let mut out = [alloc::vec![0u8; bytes], alloc::vec![0u8; bytes], alloc::vec![0u8; bytes]];
    let mut count = 0u64;
    for (fd, wanted, file) in watched {
        let r = file.readiness();
        for (i, ready) in
            // As Linux's POLLIN_SET and POLLOUT_SET: an error is both.
            [r.readable || r.hangup || r.error, r.writable || r.error, false]
                .into_iter()
                .enumerate()
        {
            if ready && wanted[i] {
                out[i][fd / 8] |= 1 << (fd % 8);
                count += 1;
            }
        }
    }
    if count > 0 {
        Some(Ok((count, out)))
    } else {
        crate::wait::signal_pending().then_some(Err(Errno::EINTR))
    }
}
