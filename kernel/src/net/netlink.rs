//! AF_NETLINK sockets of protocol NETLINK_ROUTE (SOCK_RAW or SOCK_DGRAM): a caller sends
//! rtnetlink requests to the kernel (port 0) and reads the answers, which [`super::rtnetlink`]
//! makes at once, as datagrams on the socket's queue.
//!
//! Ports (`nl_pid`): bind with 0, or a first send while unbound, picks the caller's pid, or
//! if that is taken a number counting down from -4096 (Linux's `netlink_autobind`); bind with
//! a port names it (EADDRINUSE if taken). Multicast groups are accepted and never receive
//! anything: this kernel sends no notifications. Messages to another port than the kernel's
//! are refused (ECONNREFUSED): user-to-user netlink is not kept.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use ostd::sync::SpinLock;

use super::addr::SockAddr;
use super::socket::{Credentials, IoFlags, Received, SockType, Socket};
use crate::error::{Errno, SysResult};
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};
use crate::fs::poll::FileWaitQueue;

/// `NETLINK_ROUTE`, the one protocol served.
const NETLINK_ROUTE: u64 = 0;
/// Linux's default socket buffer sizes, as getsockopt reports them (doubled).
const DEFAULT_BUFFER: usize = 212_992;
/// The most bytes the queue holds; a reply that does not fit is lost, as Linux drops it
/// (ENOBUFS would be reported on the next receive there; it is not here).
const QUEUE_LIMIT: usize = 1 << 20;

static NEXT_INO: AtomicU64 = AtomicU64::new(3 << 41);
/// The bound ports.
static PORTS: SpinLock<BTreeSet<u32>> = SpinLock::new(BTreeSet::new());

/// A NETLINK_ROUTE socket.
pub struct NetlinkSocket {
    kind: SockType,
    ino: u64,
    flags: SpinLock<OpenFlags>,
    state: SpinLock<State>,
    readable: FileWaitQueue,
}

struct State {
    /// The bound port; 0 until bound.
    portid: u32,
    groups: u32,
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    buffers: [usize; 2],
}

impl NetlinkSocket {
    /// socket(AF_NETLINK, kind, protocol).
    ///
    /// # Errors
    /// ESOCKTNOSUPPORT for a type other than SOCK_RAW and SOCK_DGRAM; EPROTONOSUPPORT for a
    /// protocol other than NETLINK_ROUTE.
    pub fn new(kind: SockType, protocol: u64, nonblocking: bool) -> SysResult<Arc<Self>> {
        if !matches!(kind, SockType::Raw | SockType::Dgram) {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        if protocol != NETLINK_ROUTE {
            return Err(Errno::EPROTONOSUPPORT);
        }
        Ok(Arc::new(Self {
            kind,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            flags: SpinLock::new(if nonblocking {
                OpenFlags::NONBLOCK
            } else {
                OpenFlags::empty()
            }),
            state: SpinLock::new(State {
                portid: 0,
                groups: 0,
                queue: VecDeque::new(),
                queued_bytes: 0,
                buffers: [DEFAULT_BUFFER; 2],
            }),
            readable: FileWaitQueue::new(),
        }))
    }

    /// Returns the type.
    pub fn kind(&self) -> SockType {
        self.kind
    }

    /// bind(2): names the port (0: one is chosen) and the multicast groups.
    pub fn bind(&self, addr: SockAddr, caller: Credentials) -> SysResult<()> {
        let SockAddr::Netlink { pid, groups } = addr else { return Err(Errno::EINVAL) };
        let mut state = self.state.lock();
        if state.portid != 0 {
            // Rebinding to the same port (or asking for any) only changes the groups.
            if pid != 0 && pid != state.portid {
                return Err(Errno::EINVAL);
            }
        } else if pid == 0 {
            state.portid = autobind(caller.pid);
        } else if !PORTS.lock().insert(pid) {
            return Err(Errno::EADDRINUSE);
        } else {
            state.portid = pid;
        }
        state.groups = groups;
        Ok(())
    }

    /// connect(2): only the kernel (port 0) can be a peer; it binds the socket if unbound.
    pub fn connect(&self, addr: SockAddr, caller: Credentials) -> SysResult<()> {
        let SockAddr::Netlink { pid, .. } = addr else { return Err(Errno::EINVAL) };
        if pid != 0 {
            return Err(Errno::ECONNREFUSED);
        }
        self.ensure_bound(caller.pid);
        Ok(())
    }

    fn ensure_bound(&self, pid: i32) -> u32 {
        let mut state = self.state.lock();
        if state.portid == 0 {
            state.portid = autobind(pid);
        }
        state.portid
    }

    /// Returns the bound address (getsockname).
    pub fn local_addr(&self) -> SockAddr {
        let state = self.state.lock();
        SockAddr::Netlink { pid: state.portid, groups: state.groups }
    }

    /// Sends `data` (rtnetlink requests) to the kernel and queues its answers.
    pub fn send(&self, data: &[u8], to: Option<SockAddr>, caller: Credentials) -> SysResult<usize> {
        if let Some(SockAddr::Netlink { pid, .. }) = to
            && pid != 0
        {
            return Err(Errno::ECONNREFUSED);
        }
        let portid = self.ensure_bound(caller.pid);
        let replies = super::rtnetlink::handle(data, portid, caller.uid == 0);
        if !replies.is_empty() {
            let mut state = self.state.lock();
            for reply in replies {
                if state.queued_bytes + reply.len() > QUEUE_LIMIT {
                    break;
                }
                state.queued_bytes += reply.len();
                state.queue.push_back(reply);
            }
            drop(state);
            self.readable.wake_all();
        }
        Ok(data.len())
    }

    /// Receives the next datagram: up to `max` bytes of it (the rest is lost unless
    /// `peek`), the kernel as its source.
    pub fn receive(&self, max: usize, flags: IoFlags) -> SysResult<Received> {
        let nonblocking = flags.nonblocking || self.flags.lock().contains(OpenFlags::NONBLOCK);
        self.readable.wait_until(|| {
            let mut state = self.state.lock();
            let Some(next) = state.queue.front() else {
                return if nonblocking {
                    Some(Err(Errno::EAGAIN))
                } else if crate::wait::signal_pending() {
                    Some(Err(Errno::EINTR))
                } else {
                    None
                };
            };
            let full_len = next.len();
            let data = next[..full_len.min(max)].to_vec();
            if !flags.peek {
                state.queued_bytes -= full_len;
                state.queue.pop_front();
            }
            Some(Ok(Received {
                truncated: data.len() < full_len,
                data,
                full_len,
                rights: Vec::new(),
                from: Some(SockAddr::Netlink { pid: 0, groups: 0 }),
            }))
        })
    }

    /// Sets SO_SNDBUF (`send`) or SO_RCVBUF to what Linux would make of `size`.
    pub fn set_buffer(&self, send: bool, size: u32) {
        let doubled = (size.min(i32::MAX as u32 / 2) as usize * 2).max(2304);
        self.state.lock().buffers[usize::from(send)] = doubled;
    }

    /// Returns SO_SNDBUF's (`send`) or SO_RCVBUF's value.
    pub fn buffer(&self, send: bool) -> usize {
        self.state.lock().buffers[usize::from(send)]
    }
}

/// Picks a free port for a socket of process `pid`: the pid, else -4096, -4097, ...
fn autobind(pid: i32) -> u32 {
    let mut ports = PORTS.lock();
    if pid > 0 && ports.insert(pid as u32) {
        return pid as u32;
    }
    let mut candidate: i32 = -4096;
    while !ports.insert(candidate as u32) {
        candidate = candidate.wrapping_sub(1);
    }
    candidate as u32
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        let portid = self.state.lock().portid;
        if portid != 0 {
            PORTS.lock().remove(&portid);
        }
    }
}

impl FileLike for NetlinkSocket {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let got = self.receive(buf.len(), IoFlags::default())?;
        buf[..got.data.len()].copy_from_slice(&got.data);
        Ok(got.data.len())
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        // write(2) carries no caller; the requests are the current process's (busybox `ip`
        // writes them).
        let caller = crate::process::registry::current().map_or(
            Credentials { pid: 0, uid: 65534, gid: 65534 },
            |p| Credentials { pid: p.pid(), uid: p.creds().euid, gid: p.creds().egid },
        );
        self.send(buf, None, caller)
    }

    fn stat(&self) -> Stat {
        Stat { ino: self.ino, mode: 0o140777, nlink: 1, blksize: 4096, dev: 8, ..Stat::default() }
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness(&self) -> Readiness {
        Readiness {
            readable: !self.state.lock().queue.is_empty(),
            writable: true,
            ..Readiness::default()
        }
    }

    fn into_socket(self: Arc<Self>) -> Option<Socket> {
        Some(Socket::Netlink(self))
    }
}
