//! epoll: an interest list polled for readiness. Level-triggered interests are reported
//! while their file is ready. Edge-triggered ones (EPOLLET) are reported when ready and
//! something happened to the file since the last report (its `readiness_changes` count
//! moved; files without a count are reported as level-triggered ones are). EPOLLONESHOT
//! disarms after one report, until EPOLL_CTL_MOD.
//!
//! A wait asks only the files that may have changed: those on the instance's ready list
//! ([`super::epoll_ready`]), marked by their wait queues' wake-ups, and those that cannot
//! mark it (asked every time, as Linux asks a file without a wait queue). When every file
//! marks it, waiters sleep on the list's own queue, so other files' wake-ups leave them be.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::epoll_ready::ReadyList;
use super::file::{FileLike, OpenFlags, ReadinessChanges, Stat};
use crate::error::{Errno, SysResult};

/// EPOLLIN.
pub const EPOLLIN: u32 = 0x001;
/// EPOLLOUT.
pub const EPOLLOUT: u32 = 0x004;
/// EPOLLHUP.
pub const EPOLLHUP: u32 = 0x010;
/// EPOLLRDHUP.
pub const EPOLLRDHUP: u32 = 0x2000;
/// EPOLLONESHOT.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// EPOLLERR.
pub const EPOLLERR: u32 = 0x008;
/// EPOLLWAKEUP.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// EPOLLET.
pub const EPOLLET: u32 = 1 << 31;
/// EPOLLEXCLUSIVE.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;

struct Interest {
    file: Weak<dyn FileLike>,
    events: u32,
    data: u64,
    armed: bool,
    /// For EPOLLET: the file's `readiness_changes` counts at the last report (`None`: not
    /// reported since it was added or modified).
    reported_at: Option<ReadinessChanges>,
    /// Whether the file marks the ready list ([`FileLike::watch_readiness`]); if not, its
    /// key is in [`Interests::unwatched`].
    watched: bool,
}

/// The interests by descriptor, and the descriptors of those whose file cannot mark the
/// ready list.
#[derive(Default)]
struct Interests {
    by_fd: BTreeMap<i32, Interest>,
    unwatched: BTreeSet<i32>,
}

impl Interests {
    /// Drops `fd`'s interest, undoing its file's watch.
    fn remove(&mut self, fd: i32, ready: &ReadyList) -> Option<Interest> {
        let x = self.by_fd.remove(&fd)?;
        self.unwatched.remove(&fd);
        if x.watched
            && let Some(file) = x.file.upgrade()
        {
            file.unwatch_readiness(ready, fd);
        }
        Some(x)
    }
}

impl Interest {
    /// Whether an edge-triggered interest has a new edge: never reported yet, or the side
    /// it watches was woken since (a wake-up of the other side is not its edge, as Linux
    /// ignores a wake-up whose key misses the interest's events). Level-triggered
    /// interests, and files that count nothing, always do.
    fn has_new_edge(&self, now: Option<ReadinessChanges>) -> bool {
        let (Some(now), Some(then)) = (now, self.reported_at) else { return true };
        if self.events & EPOLLET == 0 {
            return true;
        }
        let watches_input = self.events & (EPOLLIN | EPOLLRDHUP) != 0;
        let watches_output = self.events & EPOLLOUT != 0;
        let watches_neither = !watches_input && !watches_output;
        (now.input != then.input && (watches_input || watches_neither))
            || (now.output != then.output && (watches_output || watches_neither))
    }
}

/// An epoll instance.
pub struct Epoll {
    interests: SpinLock<Interests>,
    ready: Arc<ReadyList>,
    flags: OpenFlags,
}

impl Epoll {
    /// Creates an empty instance.
    pub fn new(flags: OpenFlags) -> Arc<Self> {
        Arc::new(Self {
            interests: SpinLock::new(Interests::default()),
            ready: ReadyList::new(),
            flags,
        })
    }

    /// Whether `target` is this instance or is watched by it, directly or through nested
    /// epoll instances (adding such a one would close a loop: ELOOP). Nesting deeper than
    /// Linux's EP_MAX_NESTS (4) counts as a loop too, as Linux refuses it with ELOOP.
    pub fn reaches(&self, target: &Epoll) -> bool {
        self.reaches_within(target, 4)
    }

    fn reaches_within(&self, target: &Epoll, depth: u32) -> bool {
        if core::ptr::eq(self, target) {
            return true;
        }
        if depth == 0 {
            return true;
        }
        let watched: Vec<Arc<dyn FileLike>> =
            self.interests.lock().by_fd.values().filter_map(|x| x.file.upgrade()).collect();
        watched
            .iter()
            .filter_map(|f| f.as_epoll())
            .any(|inner| inner.reaches_within(target, depth - 1))
    }

    /// EPOLL_CTL_ADD.
    pub fn add(&self, fd: i32, file: &Arc<dyn FileLike>, events: u32, data: u64) -> SysResult<()> {
        let mut i = self.interests.lock();
        // Linux keys interests by (file, fd): an entry left by a closed descriptor whose file
        // lives on elsewhere (a dup in another process) does not block the number's new file.
        let same_file = |x: &Interest| {
            x.file.upgrade().is_some_and(|f| core::ptr::addr_eq(Arc::as_ptr(&f), Arc::as_ptr(file)))
        };
        if i.by_fd.get(&fd).is_some_and(same_file) {
            return Err(Errno::EEXIST);
        }
        i.remove(fd, &self.ready);
        let watched = file.watch_readiness(&self.ready, fd);
        if !watched {
            i.unwatched.insert(fd);
        }
        let interest = Interest {
            file: Arc::downgrade(file),
            events,
            data,
            armed: true,
            reported_at: None,
            watched,
        };
        i.by_fd.insert(fd, interest);
        // Linux looks at a new interest's file at once, waking the instance's waiters
        // (those on the pollers' queue too: an instance with a file that cannot mark the
        // list, and pollers of this instance, sleep there).
        self.ready.mark(fd);
        super::poll::notify_readiness();
        Ok(())
    }

    /// Whether `fd` was added with EPOLLEXCLUSIVE.
    pub fn is_exclusive(&self, fd: i32) -> bool {
        self.interests.lock().by_fd.get(&fd).is_some_and(|x| x.events & EPOLLEXCLUSIVE != 0)
    }

    /// EPOLL_CTL_MOD.
    pub fn modify(&self, fd: i32, events: u32, data: u64) -> SysResult<()> {
        let mut i = self.interests.lock();
        let x = i.by_fd.get_mut(&fd).filter(|x| x.file.strong_count() > 0).ok_or(Errno::ENOENT)?;
        x.events = events;
        x.data = data;
        x.armed = true;
        x.reported_at = None;
        // As at EPOLL_CTL_ADD, the file is looked at again with the new events.
        self.ready.mark(fd);
        super::poll::notify_readiness();
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub fn delete(&self, fd: i32) -> SysResult<()> {
        // An interest left by a closed file is gone for Linux already.
        let removed = self.interests.lock().remove(fd, &self.ready);
        removed.filter(|x| x.file.strong_count() > 0).map(drop).ok_or(Errno::ENOENT)
    }

    /// epoll_wait: waits until an interest is ready and returns up to `max` (events, data)
    /// pairs, `Ok(empty)` once the monotonic clock reaches `deadline_ns`, or EINTR when
    /// `interrupted` says so (asked at every wake-up).
    pub fn wait(
        &self,
        max: usize,
        deadline_ns: Option<u64>,
        interrupted: impl Fn() -> bool,
    ) -> SysResult<Vec<(u32, u64)>> {
        loop {
            // On the list's own queue only while every file marks it; an interest added
            // meanwhile that cannot mark it sends the waiter to the pollers' queue.
            let own_queue = self.interests.lock().unwatched.is_empty();
            let cond = || {
                if own_queue && !self.interests.lock().unwatched.is_empty() {
                    return Some(None);
                }
                let ready = self.collect_ready(max);
                if !ready.is_empty() {
                    Some(Some(Ok(ready)))
                } else {
                    interrupted().then_some(Some(Err(Errno::EINTR)))
                }
            };
            let outcome = if own_queue {
                self.ready.wait_queue().wait_until_or_deadline(cond, deadline_ns).ok()
            } else {
                super::poll::wait_for_readiness(cond, deadline_ns)
            };
            match outcome {
                Some(Some(result)) => return result,
                Some(None) => continue,
                None => return Ok(Vec::new()),
            }
        }
    }

    /// Returns up to `max` ready (events, data) pairs, without blocking.
    pub fn collect_ready(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut i = self.interests.lock();
        let mut look = self.ready.take();
        look.extend(i.unwatched.iter().copied());
        let mut look = look.into_iter();
        // Level-triggered interests just reported are asked again next time (Linux puts
        // them back on its ready list): their file may still be ready without a new wake-up.
        let mut again = Vec::new();
        let mut closed = Vec::new();
        for fd in look.by_ref() {
            let Some(x) = i.by_fd.get_mut(&fd) else { continue };
            // Interests whose file has closed are dropped as they are met (Linux drops them
            // at the close).
            let Some(file) = x.file.upgrade() else {
                closed.push(fd);
                continue;
            };
            if !x.armed {
                continue;
            }
            // Read before the readiness: a change between the two is then seen next time
            // (a repeated report) rather than lost.
            let changes = file.readiness_changes();
            if !x.has_new_edge(changes) {
                continue;
            }
            let ev = x.ready_events(&*file);
            if ev != 0 {
                out.push((ev, x.data));
                x.reported_at = changes;
                if x.events & EPOLLONESHOT != 0 {
                    x.armed = false;
                } else if x.events & EPOLLET == 0 && x.watched {
                    again.push(fd);
                }
                if out.len() == max {
                    break;
                }
            }
        }
        for fd in closed {
            i.remove(fd, &self.ready);
        }
        // What a full answer left unasked waits for the next call. Put back under the
        // interests' lock, so another waiter never finds the list without them.
        self.ready.put_back(again.into_iter().chain(look));
        out
    }
}

impl Interest {
    /// The events of `file` this interest reports now (0: none).
    fn ready_events(&self, file: &dyn FileLike) -> u32 {
        let r = file.readiness();
        let mut ev = u32::from(r.data_bits()) & self.events;
        if r.hangup {
            ev |= EPOLLHUP | (self.events & EPOLLRDHUP);
        }
        if r.read_hangup {
            ev |= self.events & (EPOLLIN | EPOLLRDHUP);
        }
        if r.error {
            ev |= EPOLLERR;
        }
        ev
    }
}

impl FileLike for Epoll {
    fn stat(&self) -> Stat {
        Stat { mode: 0o600, nlink: 1, blksize: 4096, dev: 13, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        self.flags | OpenFlags::RDWR
    }

    fn as_epoll(&self) -> Option<&Epoll> {
        Some(self)
    }

    fn readiness(&self) -> super::file::Readiness {
        super::file::Readiness {
            readable: !self.collect_ready_peek(),
            writable: false,
            hangup: false,
            ..super::file::Readiness::default()
        }
    }
}

impl Epoll {
    /// Whether no interest is ready (what [`Epoll::collect_ready`] would find), without
    /// reporting or taking anything off the list.
    fn collect_ready_peek(&self) -> bool {
        let i = self.interests.lock();
        let look = self.ready.take();
        let none = !look.iter().chain(i.unwatched.iter()).any(|fd| {
            i.by_fd.get(fd).is_some_and(|x| {
                x.armed
                    && x.file.upgrade().is_some_and(|f| {
                        x.has_new_edge(f.readiness_changes()) && x.ready_events(&*f) != 0
                    })
            })
        });
        self.ready.put_back(look);
        none
    }
}

ostd::ktest! {
    fn epoll_asks_only_marked_files_and_loses_no_event() {
        use super::pipe::new_pipe;
        let ep = Epoll::new(OpenFlags::empty());
        let (r1, w1) = new_pipe(OpenFlags::NONBLOCK);
        let (r2, w2) = new_pipe(OpenFlags::NONBLOCK);
        let (r1, w1, r2): (Arc<dyn FileLike>, Arc<dyn FileLike>, Arc<dyn FileLike>) =
            (r1, w1, r2);
        ep.add(3, &r1, EPOLLIN, 30).unwrap();
        ep.add(4, &r2, EPOLLIN | EPOLLET, 40).unwrap();
        // Pipes mark the list: nothing is asked at every wait.
        assert!(ep.interests.lock().unwatched.is_empty());
        assert_eq!(ep.collect_ready(8), []);
        assert!(ep.ready.take().is_empty(), "nothing ready, nothing left on the list");
        w1.write(b"a").unwrap();
        w2.write(b"b").unwrap();
        // Level-triggered: reported while ready; the full answer's rest waits its turn.
        assert_eq!(ep.collect_ready(1), [(EPOLLIN, 30)]);
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 30), (EPOLLIN, 40)]);
        // Edge-triggered: once per write.
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 30)]);
        w2.write(b"c").unwrap();
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 30), (EPOLLIN, 40)]);
        let mut buf = [0u8; 4];
        r1.read(&mut buf).unwrap();
        assert_eq!(ep.collect_ready(8), []);
        // EPOLL_CTL_MOD looks again at once, here with the edge forgotten.
        ep.modify(4, EPOLLIN, 41).unwrap();
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 41)]);
        // After EPOLL_CTL_DEL the pipe no longer marks the list.
        ep.delete(4).unwrap();
        ep.delete(3).unwrap();
        let _ = ep.ready.take();
        w1.write(b"d").unwrap();
        w2.write(b"e").unwrap();
        assert!(ep.ready.take().is_empty());
        assert_eq!(ep.delete(3), Err(Errno::ENOENT));
        // A file that cannot mark the list is asked at every wait.
        struct AlwaysReady;
        impl FileLike for AlwaysReady {
            fn stat(&self) -> Stat {
                Stat::default()
            }
            fn flags(&self) -> OpenFlags {
                OpenFlags::RDWR
            }
        }
        let plain: Arc<dyn FileLike> = Arc::new(AlwaysReady);
        ep.add(5, &plain, EPOLLIN | EPOLLET, 50).unwrap();
        assert_eq!(ep.interests.lock().unwatched.iter().copied().collect::<Vec<_>>(), [5]);
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 50)]);
        assert_eq!(ep.collect_ready(8), [(EPOLLIN, 50)], "no counts: reported while ready");
        ep.delete(5).unwrap();
        assert!(ep.interests.lock().unwatched.is_empty());
        assert_eq!(ep.collect_ready(8), []);
    }
}
