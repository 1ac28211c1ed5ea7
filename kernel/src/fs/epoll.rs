//! epoll: an interest list polled for readiness. Level-triggered interests are reported
//! while their file is ready. Edge-triggered ones (EPOLLET) are reported when ready and
//! something happened to the file since the last report (its `readiness_changes` count
//! moved; files without a count are reported as level-triggered ones are). EPOLLONESHOT
//! disarms after one report, until EPOLL_CTL_MOD.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ostd::sync::SpinLock;

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
    interests: SpinLock<BTreeMap<i32, Interest>>,
    flags: OpenFlags,
}

impl Epoll {
    /// Creates an empty instance.
    pub fn new(flags: OpenFlags) -> Arc<Self> {
        Arc::new(Self { interests: SpinLock::new(BTreeMap::new()), flags })
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
            self.interests.lock().values().filter_map(|x| x.file.upgrade()).collect();
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
        if i.get(&fd).is_some_and(same_file) {
            return Err(Errno::EEXIST);
        }
        i.insert(
            fd,
            Interest { file: Arc::downgrade(file), events, data, armed: true, reported_at: None },
        );
        Ok(())
    }

    /// Whether `fd` was added with EPOLLEXCLUSIVE.
    pub fn is_exclusive(&self, fd: i32) -> bool {
        self.interests.lock().get(&fd).is_some_and(|x| x.events & EPOLLEXCLUSIVE != 0)
    }

    /// EPOLL_CTL_MOD.
    pub fn modify(&self, fd: i32, events: u32, data: u64) -> SysResult<()> {
        let mut i = self.interests.lock();
        let x = i.get_mut(&fd).filter(|x| x.file.strong_count() > 0).ok_or(Errno::ENOENT)?;
        x.events = events;
        x.data = data;
        x.armed = true;
        x.reported_at = None;
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub fn delete(&self, fd: i32) -> SysResult<()> {
        // An interest left by a closed file is gone for Linux already.
        let removed = self.interests.lock().remove(&fd);
        removed.filter(|x| x.file.strong_count() > 0).map(drop).ok_or(Errno::ENOENT)
    }

    /// Returns up to `max` ready (events, data) pairs, without blocking.
    pub fn collect_ready(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        // Interests whose file has closed are dropped as the walk meets them (Linux drops them
        // at the close): pruning the whole table first cost a second walk per wait.
        let mut closed = Vec::new();
        let mut i = self.interests.lock();
        for (&fd, x) in i.iter_mut() {
            if out.len() == max {
                break;
            }
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
            let r = file.readiness();
            let mut ev = u32::from(r.data_bits()) & x.events;
            if r.hangup {
                ev |= EPOLLHUP | (x.events & EPOLLRDHUP);
            }
            if r.read_hangup {
                ev |= x.events & (EPOLLIN | EPOLLRDHUP);
            }
            if r.error {
                ev |= EPOLLERR;
            }
            if ev != 0 {
                out.push((ev, x.data));
                x.reported_at = changes;
                if x.events & EPOLLONESHOT != 0 {
                    x.armed = false;
                }
            }
        }
        for fd in closed {
            i.remove(&fd);
        }
        out
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
    fn collect_ready_peek(&self) -> bool {
        let i = self.interests.lock();
        !i.values().any(|x| {
            x.armed
                && x.file.upgrade().is_some_and(|f| {
                    if !x.has_new_edge(f.readiness_changes()) {
                        return false;
                    }
                    let r = f.readiness();
                    u32::from(r.data_bits()) & x.events != 0
                        || r.hangup
                        || r.error
                        || (r.read_hangup && x.events & EPOLLRDHUP != 0)
                })
        })
    }
}
