//! A Unix socket's receive queue: the messages sent to it, their bytes and files, and the
//! waits for data and for room. [`super::unix`] decides which queue a send goes to and what a
//! socket reports; this file moves the bytes.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::SpinLock;

use super::addr::{SockAddr, UnixAddr};
use super::socket::{IoFlags, Received, SockType};
use crate::error::{Errno, SysResult};
use crate::fs::file::FileLike;
use crate::fs::poll::FileWaitQueue;

/// Bytes a queue holds before senders wait (Linux's default socket buffer size).
pub const QUEUE_CAPACITY: usize = 212_992;
/// Datagrams a queue holds before senders wait (Linux's net.unix.max_dgram_qlen).
const MAX_DATAGRAMS: usize = 10;

/// One send: its bytes, the files passed with it (SCM_RIGHTS) and the sender's address.
struct Message {
    data: Vec<u8>,
    /// Bytes of `data` a stream reader has already taken (a partial read moves this rather
    /// than the bytes behind it).
    read: usize,
    rights: Vec<Arc<dyn FileLike>>,
    from: UnixAddr,
}

struct QueueState {
    messages: VecDeque<Message>,
    bytes: usize,
    /// No more data will come and none may be sent: the connection is shut down in this
    /// direction, or its receiver is gone.
    closed: bool,
}

/// A socket's receive queue.
pub struct Queue {
    state: SpinLock<QueueState>,
    /// Receivers wait here for data.
    pub(super) readable: FileWaitQueue,
    /// Senders wait here for room.
    pub(super) writable: FileWaitQueue,
}

impl Queue {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: SpinLock::new(QueueState { messages: VecDeque::new(), bytes: 0, closed: false }),
            readable: FileWaitQueue::new(),
            writable: FileWaitQueue::new(),
        })
    }

    /// Closes it: no more data comes, none may be sent; everyone waiting looks again.
    pub(super) fn close(&self) {
        self.state.lock().closed = true;
        self.readable.wake_all();
        self.writable.wake_all();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Whether a message waits, and whether the queue is closed (a receiver's readiness).
    pub(super) fn input_state(&self) -> (bool, bool) {
        let s = self.state.lock();
        (!s.messages.is_empty(), s.closed)
    }

    /// Whether a `kind` socket's send would find room, and whether the queue is closed (a
    /// sender's readiness).
    pub(super) fn output_state(&self, kind: SockType) -> (bool, bool) {
        let s = self.state.lock();
        let room = s.bytes < QUEUE_CAPACITY
            && (kind != SockType::Dgram || s.messages.len() < MAX_DATAGRAMS);
        (room, s.closed)
    }

    /// Sends `data` on a stream: as much as there is room for at a time, waiting for more
    /// room unless `nonblocking`; the files ride with the first piece.
    pub(super) fn send_stream(
        &self,
        data: &[u8],
        rights: Vec<Arc<dyn FileLike>>,
        from: UnixAddr,
        nonblocking: bool,
    ) -> SysResult<usize> {
        // Linux's unix_stream_sendmsg sends nothing for no bytes (files included) and says 0;
        // an empty message would read as end of file at the other end.
        if data.is_empty() {
            return Ok(0);
        }
        let mut sent = 0;
        let mut rights = Some(rights);
        loop {
            let step = self.writable.wait_until(|| {
                let mut s = self.state.lock();
                if s.closed {
                    return Some(Err(Errno::EPIPE));
                }
                let room = QUEUE_CAPACITY.saturating_sub(s.bytes);
                if room == 0 {
                    return crate::wait::not_ready(nonblocking);
                }
                let n = room.min(data.len() - sent);
                s.bytes += n;
                s.messages.push_back(Message {
                    data: data[sent..sent + n].to_vec(),
                    read: 0,
                    rights: rights.take().unwrap_or_default(),
                    from: from.clone(),
                });
                Some(Ok(n))
            });
            match step {
                Ok(n) => {
                    sent += n;
                    self.readable.wake_all();
                    if sent == data.len() {
                        return Ok(sent);
                    }
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => return Ok(sent),
            }
        }
    }

    /// Sends `data` as one message of a `kind` socket (datagram or seqpacket), waiting for
    /// room unless `nonblocking`. EMSGSIZE if it could never fit; a closed queue refuses it
    /// (ECONNREFUSED for a datagram, EPIPE for a seqpacket connection).
    pub(super) fn send_message(
        &self,
        kind: SockType,
        data: &[u8],
        rights: Vec<Arc<dyn FileLike>>,
        from: UnixAddr,
        nonblocking: bool,
    ) -> SysResult<usize> {
        if data.len() > QUEUE_CAPACITY {
            return Err(Errno::EMSGSIZE);
        }
        let refused = if kind == SockType::Dgram { Errno::ECONNREFUSED } else { Errno::EPIPE };
        let mut message = Some(Message { data: data.to_vec(), read: 0, rights, from });
        self.writable.wait_until(|| {
            let mut s = self.state.lock();
            if s.closed {
                return Some(Err(refused));
            }
            let full = s.bytes + data.len() > QUEUE_CAPACITY
                || (kind == SockType::Dgram && s.messages.len() >= MAX_DATAGRAMS);
            if full && !s.messages.is_empty() {
                return crate::wait::not_ready(nonblocking);
            }
            let m = message.take().expect("sent once");
            s.bytes += m.data.len();
            s.messages.push_back(m);
            Some(Ok(()))
        })?;
        self.readable.wake_all();
        Ok(data.len())
    }

    /// Receives up to `max` bytes for a `kind` socket, handing them to `put` in order,
    /// straight from the queued messages (MSG_PEEK and MSG_WAITALL as `flags` say). The
    /// returned [`Received`] has no `data`: its bytes went to `put`, and `full_len` counts
    /// them (a datagram's: its whole length).
    pub(super) fn receive_to(
        &self,
        kind: SockType,
        max: usize,
        flags: IoFlags,
        nonblocking: bool,
        put: &mut dyn FnMut(&[u8]),
    ) -> SysResult<Received> {
        let mut out = Received {
            data: Vec::new(),
            full_len: 0,
            rights: Vec::new(),
            from: None,
            truncated: false,
        };
        let mut got = 0;
        loop {
            let took = self.readable.wait_until(|| {
                let mut s = self.state.lock();
                if s.messages.is_empty() {
                    return if s.closed || (flags.wait_all && got > 0 && nonblocking) {
                        Some(Ok(false))
                    } else if nonblocking || (got > 0 && !flags.wait_all) {
                        Some(if got == 0 { Err(Errno::EAGAIN) } else { Ok(false) })
                    } else if crate::wait::signal_pending() {
                        Some(if got == 0 { Err(Errno::EINTR) } else { Ok(false) })
                    } else {
                        None
                    };
                }
                let n = take(&mut s, kind, max - got, flags.peek, &mut out, put);
                got += n.bytes;
                Some(Ok(n.any))
            })?;
            self.writable.wake_all();
            let more = took
                && kind == SockType::Stream
                && got < max
                && out.rights.is_empty()
                && !flags.peek;
            if !more {
                break;
            }
            if !flags.wait_all && self.state.lock().messages.is_empty() {
                break;
            }
        }
        if kind == SockType::Stream {
            out.full_len = got;
        }
        Ok(out)
    }
}

/// What one [`take`] did: whether it took a message's worth, and how many bytes it handed on.
struct Took {
    any: bool,
    bytes: usize,
}

/// Takes (or with `peek`, copies) up to `room` bytes from the queue, handing them to `put`;
/// a datagram's length, sender and files go into `out`, a stream message's files too.
fn take(
    s: &mut QueueState,
    kind: SockType,
    room: usize,
    peek: bool,
    out: &mut Received,
    put: &mut dyn FnMut(&[u8]),
) -> Took {
    match kind {
        SockType::Stream => {
            let mut taken = 0;
            let mut index = 0;
            while taken < room && index < s.messages.len() {
                let m = &mut s.messages[index];
                // Files travel with the first byte of their message; a read stops after them
                // so they reach the caller that got those bytes.
                let carries_rights = !m.rights.is_empty();
                let unread = &m.data[m.read..];
                let n = (room - taken).min(unread.len());
                put(&unread[..n]);
                if peek {
                    if carries_rights {
                        out.rights.extend(m.rights.iter().cloned());
                    }
                    index += 1;
                } else {
                    out.rights.append(&mut m.rights);
                    m.read += n;
                    if m.read == m.data.len() {
                        s.messages.remove(index);
                    }
                    s.bytes -= n;
                }
                taken += n;
                if carries_rights {
                    break;
                }
            }
            Took { any: taken > 0 || room == 0, bytes: taken }
        }
        SockType::Dgram | SockType::Seqpacket | SockType::Raw => {
            let m = if peek { None } else { s.messages.pop_front() };
            let (data, rights, from) = match &m {
                Some(m) => (&m.data, m.rights.clone(), m.from.clone()),
                None => {
                    let front = s.messages.front().expect("caller checked non-empty");
                    (&front.data, front.rights.clone(), front.from.clone())
                }
            };
            let n = room.min(data.len());
            put(&data[..n]);
            out.full_len = data.len();
            out.truncated = n < data.len();
            out.rights = rights;
            out.from = source_addr(from);
            if let Some(m) = &m {
                s.bytes -= m.data.len();
            }
            Took { any: true, bytes: n }
        }
    }
}

/// Returns the address recvfrom reports for a message from `from`: an unnamed sender has
/// none at all (length 0), unlike getsockname and accept, which report the bare family.
fn source_addr(from: UnixAddr) -> Option<SockAddr> {
    match from {
        UnixAddr::Unnamed => None,
        named => Some(SockAddr::Unix(named)),
    }
}
