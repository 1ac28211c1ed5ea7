//! Pipes: a bounded byte queue with a read end and a write end.
//!
//! Reads block while the pipe is empty and a writer exists; EOF once no writer is left.
//! Writes block while it is full; `EPIPE` once no reader is left. Writes of up to
//! [`PIPE_BUF`] bytes are atomic, as POSIX requires.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use ostd::sync::SpinLock;

use super::file::{FileLike, OpenFlags, Readiness, ReadinessChanges, Stat};
use crate::error::{Errno, SysResult};
use crate::fs::epoll_ready::ReadyList;
use crate::fs::poll::FileWaitQueue;

/// The capacity a pipe starts with (Linux's default, 16 pages); F_SETPIPE_SZ changes it.
pub const PIPE_CAPACITY: usize = 65536;
/// The largest capacity F_SETPIPE_SZ grants an unprivileged caller (Linux's
/// fs.pipe-max-size; /proc/sys stores only sizes [`round_size`] made).
pub static PIPE_MAX_SIZE: crate::sysctl::IntTunable =
    crate::sysctl::IntTunable::new(1 << 20, 4096, 1 << 31);

/// A pipe size as F_SETPIPE_SZ and fs.pipe-max-size round it: at least a page, up to a
/// power of two; `None` past 2^31 (Linux's `round_pipe_size`).
pub fn round_size(size: u64) -> Option<usize> {
    if size > 1 << 31 {
        return None;
    }
    Some((size as usize).max(4096).next_power_of_two())
}
/// Writes this size or smaller are never interleaved with others.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// How many times each end has been opened (FIFOs): an open that waits for the other
    /// side is released by any open of it, even one that has closed again since.
    reader_opens: u64,
    writer_opens: u64,
}

struct Pipe {
    state: SpinLock<State>,
    readable: FileWaitQueue,
    writable: FileWaitQueue,
    ino: u64,
}

/// One end of a pipe.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write_end: bool,
    flags: SpinLock<OpenFlags>,
}

static NEXT_PIPE_INO: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1 << 40);

/// The pipes behind named FIFOs, by inode number, alive while any end is open.
static FIFOS: SpinLock<alloc::collections::BTreeMap<u64, alloc::sync::Weak<Pipe>>> =
    SpinLock::new(alloc::collections::BTreeMap::new());

/// Opens a FIFO node: read, write or both ends of the pipe it names.
///
/// As on Linux: a reader waits for a writer and a writer for a reader (unless O_NONBLOCK,
/// where a lone writer gets ENXIO); O_RDWR never waits.
pub fn open_fifo(ino: u64, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    let pipe = {
        let mut fifos = FIFOS.lock();
        match fifos.get(&ino).and_then(|w| w.upgrade()) {
            Some(p) => p,
            None => {
                let p = Arc::new(Pipe {
                    state: SpinLock::new(State {
                        buf: VecDeque::new(),
                        capacity: PIPE_CAPACITY,
                        readers: 0,
                        writers: 0,
                        reader_opens: 0,
                        writer_opens: 0,
                    }),
                    readable: FileWaitQueue::new(),
                    writable: FileWaitQueue::new(),
                    ino,
                });
                fifos.insert(ino, Arc::downgrade(&p));
                p
            }
        }
    };
    let nonblocking = flags.contains(OpenFlags::NONBLOCK);
    let (read, write) = (flags.readable(), flags.writable());
    if write && !read && nonblocking && pipe.state.lock().readers == 0 {
        return Err(Errno::ENXIO);
    }
    let (reader_opens, writer_opens) = {
        let mut s = pipe.state.lock();
        if read {
            s.readers += 1;
            s.reader_opens += 1;
        }
        if write {
            s.writers += 1;
            s.writer_opens += 1;
        }
        (s.reader_opens, s.writer_opens)
    };
    pipe.readable.wake_all();
    pipe.writable.wake_all();
    let status = flags & (OpenFlags::NONBLOCK | OpenFlags::WRONLY | OpenFlags::RDWR);
    let file: Arc<dyn FileLike> = match (read, write) {
        (true, true) => Arc::new(FifoRdwr { pipe: pipe.clone(), flags: SpinLock::new(status) }),
        (_, true) => {
            Arc::new(PipeEnd { pipe: pipe.clone(), write_end: true, flags: SpinLock::new(status) })
        }
        _ => {
            Arc::new(PipeEnd { pipe: pipe.clone(), write_end: false, flags: SpinLock::new(status) })
        }
    };
    // Wait for the other side (the end is open meanwhile, so two openers meet).
    if !(nonblocking || read && write) {
        let want_writers = read;
        let queue = if want_writers { &pipe.readable } else { &pipe.writable };
        queue.wait_until(|| {
            let s = pipe.state.lock();
            let (other, opened) = if want_writers {
                (s.writers, s.writer_opens > writer_opens)
            } else {
                (s.readers, s.reader_opens > reader_opens)
            };
            if other > 0 || opened {
                Some(Ok(()))
            } else if crate::wait::signal_pending() {
                Some(Err(Errno::EINTR))
            } else {
                None
            }
        })?;
    }
    Ok(file)
}

/// A FIFO opened O_RDWR: one file that is both ends.
struct FifoRdwr {
    pipe: Arc<Pipe>,
    flags: SpinLock<OpenFlags>,
}

impl Drop for FifoRdwr {
    fn drop(&mut self) {
        let mut s = self.pipe.state.lock();
        s.readers -= 1;
        s.writers -= 1;
        drop(s);
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
    }
}

impl FileLike for FifoRdwr {
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn pipe_size(&self) -> SysResult<usize> {
        Ok(self.pipe.state.lock().capacity)
    }

    fn set_pipe_size(&self, size: usize, privileged: bool) -> SysResult<usize> {
        self.pipe.resize(size, privileged)
    }

    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        self.pipe.read_bytes(buf, self.flags.lock().contains(OpenFlags::NONBLOCK))
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        self.pipe.write_bytes(buf, self.flags.lock().contains(OpenFlags::NONBLOCK))
    }

    fn stat(&self) -> Stat {
        self.pipe.stat()
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges {
            input: self.pipe.readable.wakes(),
            output: self.pipe.writable.wakes(),
        })
    }

    fn watch_readiness(&self, list: &Arc<ReadyList>, key: i32) -> bool {
        self.pipe.watch(list, key);
        true
    }

    fn unwatch_readiness(&self, list: &ReadyList, key: i32) {
        self.pipe.unwatch(list, key);
    }

    fn readiness(&self) -> Readiness {
        let s = self.pipe.state.lock();
        Readiness {
            readable: !s.buf.is_empty(),
            writable: s.buf.len() < s.capacity,
            hangup: false,
            ..Readiness::default()
        }
    }
}

/// Creates a pipe; returns (read end, write end).
pub fn new_pipe(flags: OpenFlags) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let pipe = Arc::new(Pipe {
        state: SpinLock::new(State {
            buf: VecDeque::new(),
            capacity: PIPE_CAPACITY,
            readers: 1,
            writers: 1,
            reader_opens: 1,
            writer_opens: 1,
        }),
        readable: FileWaitQueue::new(),
        writable: FileWaitQueue::new(),
        ino: NEXT_PIPE_INO.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
    });
    let status = flags & OpenFlags::NONBLOCK;
    (
        Arc::new(PipeEnd { pipe: pipe.clone(), write_end: false, flags: SpinLock::new(status) }),
        Arc::new(PipeEnd {
            pipe,
            write_end: true,
            flags: SpinLock::new(status | OpenFlags::WRONLY),
        }),
    )
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = self.pipe.state.lock();
        if self.write_end {
            s.writers -= 1;
        } else {
            s.readers -= 1;
        }
        drop(s);
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
    }
}

impl PipeEnd {
    fn nonblocking(&self) -> bool {
        self.flags.lock().contains(OpenFlags::NONBLOCK)
    }
}

impl Pipe {
    /// Has the wake-ups of both queues (data, room, an end opened or closed) mark `key` on
    /// `list`: every change of either end's readiness.
    fn watch(&self, list: &Arc<ReadyList>, key: i32) {
        self.readable.watch(list, key);
        self.writable.watch(list, key);
    }

    /// Undoes [`Pipe::watch`].
    fn unwatch(&self, list: &ReadyList, key: i32) {
        self.readable.unwatch(list, key);
        self.writable.unwatch(list, key);
    }

    /// What fstat says of either end (a FIFO inode of the pipe filesystem, as on Linux).
    fn stat(&self) -> Stat {
        Stat { ino: self.ino, mode: 0o010600, nlink: 1, blksize: 4096, dev: 12, ..Stat::default() }
    }

    /// F_SETPIPE_SZ: rounds `size` up to a power-of-two number of pages; EBUSY if the data
    /// already queued would not fit. Returns the new capacity.
    fn resize(&self, size: usize, privileged: bool) -> SysResult<usize> {
        let capacity = round_size(size as u64).ok_or(Errno::EINVAL)?;
        if capacity > PIPE_MAX_SIZE.get_usize() && !privileged {
            return Err(Errno::EPERM);
        }
        let mut s = self.state.lock();
        if s.buf.len() > capacity {
            return Err(Errno::EBUSY);
        }
        s.capacity = capacity;
        drop(s);
        self.writable.wake_all();
        Ok(capacity)
    }

    fn read_bytes(&self, buf: &mut [u8], nonblocking: bool) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.readable.wait_until(|| {
            let mut s = self.state.lock();
            if s.buf.is_empty() {
                return match (s.writers, nonblocking) {
                    (0, _) => Some(Ok(0)),
                    (_, true) => Some(Err(Errno::EAGAIN)),
                    _ if crate::wait::signal_pending() => Some(Err(Errno::EINTR)),
                    _ => None,
                };
            }
            let n = buf.len().min(s.buf.len());
            for (dst, src) in buf.iter_mut().zip(s.buf.drain(..n)) {
                *dst = src;
            }
            drop(s);
            self.writable.wake_all();
            Some(Ok(n))
        })
    }

    fn write_bytes(&self, buf: &[u8], nonblocking: bool) -> SysResult<usize> {
        let mut written = 0;
        while written < buf.len() {
            let rest = &buf[written..];
            let step = self.writable.wait_until(|| {
                let mut s = self.state.lock();
                if s.readers == 0 {
                    return Some(Err(Errno::EPIPE));
                }
                let space = s.capacity.saturating_sub(s.buf.len());
                // Small writes go in whole or not at all.
                let need = if rest.len() <= PIPE_BUF { rest.len() } else { 1 };
                if space < need {
                    if nonblocking {
                        return Some(Err(Errno::EAGAIN));
                    }
                    return crate::wait::signal_pending().then_some(Err(Errno::EINTR));
                }
                let n = rest.len().min(space);
                s.buf.extend(&rest[..n]);
                drop(s);
                self.readable.wake_all();
                Some(Ok(n))
            });
            match step {
                Ok(n) => written += n,
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(written)
    }
}

/// The pipe behind a pipe end or a FIFO, for the calls that work on pipes themselves
/// (tee, vmsplice) rather than through read and write.
pub struct PipeHandle(Arc<Pipe>);

/// The pipe behind `file`, if it is a pipe end or a FIFO opened O_RDWR.
pub fn pipe_of(file: &dyn FileLike) -> Option<PipeHandle> {
    let any = file.as_any()?;
    if let Some(end) = any.downcast_ref::<PipeEnd>() {
        return Some(PipeHandle(end.pipe.clone()));
    }
    any.downcast_ref::<FifoRdwr>().map(|f| PipeHandle(f.pipe.clone()))
}

impl PipeHandle {
    /// Whether both handles name one pipe.
    pub fn same(&self, other: &PipeHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Waits until the pipe holds data: true then, false if it is empty with no writer
    /// left; EAGAIN if `nonblocking` and it would wait, EINTR on a signal (Linux's
    /// splice_from_pipe_next and link_ipipe_prep).
    pub fn wait_for_data(&self, nonblocking: bool) -> SysResult<bool> {
        let pipe = &self.0;
        pipe.readable.wait_until(|| {
            let s = pipe.state.lock();
            if !s.buf.is_empty() {
                Some(Ok(true))
            } else if s.writers == 0 {
                Some(Ok(false))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else if crate::wait::signal_pending() {
                Some(Err(Errno::EINTR))
            } else {
                None
            }
        })
    }

    /// Waits until the pipe has room (Linux's wait_for_space): EPIPE once no reader is
    /// left (the caller raises SIGPIPE), EAGAIN if `nonblocking` and it would wait, EINTR on
    /// a signal.
    pub fn wait_for_space(&self, nonblocking: bool) -> SysResult<()> {
        let pipe = &self.0;
        pipe.writable.wait_until(|| {
            let s = pipe.state.lock();
            if s.readers == 0 {
                Some(Err(Errno::EPIPE))
            } else if s.buf.len() < s.capacity {
                Some(Ok(()))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else if crate::wait::signal_pending() {
                Some(Err(Errno::EINTR))
            } else {
                None
            }
        })
    }

    /// The room left, in bytes.
    pub fn space(&self) -> usize {
        let s = self.0.state.lock();
        s.capacity.saturating_sub(s.buf.len())
    }

    /// Appends what fits of `data` without waiting; returns how much went in.
    pub fn push(&self, data: &[u8]) -> usize {
        let mut s = self.0.state.lock();
        let n = data.len().min(s.capacity.saturating_sub(s.buf.len()));
        s.buf.extend(&data[..n]);
        drop(s);
        if n > 0 {
            self.0.readable.wake_all();
        }
        n
    }

    /// Takes up to `max` bytes without waiting.
    pub fn pull(&self, max: usize) -> alloc::vec::Vec<u8> {
        let mut s = self.0.state.lock();
        let n = max.min(s.buf.len());
        let taken = s.buf.drain(..n).collect();
        drop(s);
        if n > 0 {
            self.0.writable.wake_all();
        }
        taken
    }

    /// tee(2)'s copy: duplicates up to `len` bytes at the front of this pipe into `out`
    /// (consuming nothing here), after waiting for data here and room there. Returns the
    /// bytes copied: 0 if this pipe is empty with no writer left.
    pub fn tee_into(&self, out: &PipeHandle, len: usize, nonblocking: bool) -> SysResult<usize> {
        if !self.wait_for_data(nonblocking)? {
            return Ok(0);
        }
        out.wait_for_space(nonblocking)?;
        let copy: alloc::vec::Vec<u8> = {
            let s = self.0.state.lock();
            s.buf.iter().take(len.min(out.space())).copied().collect()
        };
        Ok(out.push(&copy))
    }
}

impl FileLike for PipeEnd {
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn pipe_size(&self) -> SysResult<usize> {
        Ok(self.pipe.state.lock().capacity)
    }

    fn set_pipe_size(&self, size: usize, privileged: bool) -> SysResult<usize> {
        self.pipe.resize(size, privileged)
    }

    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.read_bytes(buf, self.nonblocking())
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        if !self.write_end {
            return Err(Errno::EBADF);
        }
        self.pipe.write_bytes(buf, self.nonblocking())
    }

    fn stat(&self) -> Stat {
        self.pipe.stat()
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness_changes(&self) -> Option<ReadinessChanges> {
        Some(ReadinessChanges {
            input: self.pipe.readable.wakes(),
            output: self.pipe.writable.wakes(),
        })
    }

    fn watch_readiness(&self, list: &Arc<ReadyList>, key: i32) -> bool {
        self.pipe.watch(list, key);
        true
    }

    fn unwatch_readiness(&self, list: &ReadyList, key: i32) {
        self.pipe.unwatch(list, key);
    }

    fn readiness(&self) -> Readiness {
        let s = self.pipe.state.lock();
        if self.write_end {
            Readiness {
                readable: false,
                writable: s.readers == 0 || s.buf.len() < s.capacity,
                hangup: s.readers == 0,
                ..Readiness::default()
            }
        } else {
            Readiness {
                readable: !s.buf.is_empty() || s.writers == 0,
                writable: false,
                hangup: s.writers == 0,
                ..Readiness::default()
            }
        }
    }
}

ostd::ktest! {
    fn pipe_passes_bytes_and_reports_eof_and_epipe() {
        let (r, w) = new_pipe(OpenFlags::empty());
        assert_eq!(w.write(b"hello"), Ok(5));
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf), Ok(5));
        assert_eq!(&buf[..5], b"hello");
        drop(w);
        assert_eq!(r.read(&mut buf), Ok(0), "EOF once the writer is gone");
        let (r, w) = new_pipe(OpenFlags::empty());
        drop(r);
        assert_eq!(w.write(b"x"), Err(Errno::EPIPE));
    }

    fn pipe_blocks_the_reader_until_a_writer_writes() {
        let (r, w) = new_pipe(OpenFlags::empty());
        let writer = ostd::task::spawn("pipe-writer", move || {
            ostd::task::sleep_ms(20);
            w.write(b"late").unwrap();
        });
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf), Ok(4));
        writer.join();
    }
}
