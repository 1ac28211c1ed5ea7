//! Pseudo-terminals. Opening /dev/ptmx creates a pair and returns its master; the slave is
//! /dev/pts/N (devpts), a [`Terminal`] whose input is what the master writes and whose
//! output (writes and echo, after ONLCR) is what the master reads.
//!
//! As on Linux: a new slave is locked until the master's owner unlocks it (TIOCSPTLCK);
//! once every slave descriptor is closed, the master reads EIO; once the master is closed,
//! the slave is hung up (reads end, writes fail with EIO) and its foreground process group
//! gets SIGHUP.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use super::{Sink, Terminal};
use crate::error::{Errno, SysResult};
use crate::fs::devfs::makedev;
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};
use crate::fs::node::{Generated, Node, NodeKind};
use crate::fs::poll::FileWaitQueue;
use crate::user_mem::UserMem;

/// The slaves' device major (Unix98 ptys).
pub const PTS_MAJOR: u32 = 136;
/// The most pairs at once (Linux's default kernel.pty.max is 4096).
const MAX_PTYS: u32 = 4096;
const PTS_INO_BASE: u64 = 0xd000_0000;

const TIOCGPTN: u32 = 0x8004_5430;
const TIOCSPTLCK: u32 = 0x4004_5431;
const TIOCGPTLCK: u32 = 0x8004_5439;
const FIONREAD: u32 = 0x541b;
const TIOCSWINSZ: u32 = 0x5414;

/// How many bytes the slave's output may hold before a writer blocks (Linux's tty buffer
/// limit for a pty). Echo of what the master types does not block; it may take the queue to
/// twice this, past which it is dropped, so a master that writes and never reads cannot
/// grow the queue either.
const TO_MASTER_CAPACITY: usize = 64 * 1024;

/// What the slave has written, waiting for the master to read.
struct ToMaster {
    /// At most `2 * TO_MASTER_CAPACITY` bytes.
    bytes: SpinLock<VecDeque<u8>>,
    readable: FileWaitQueue,
    /// Woken when the master reads, for writers waiting for room.
    writable: FileWaitQueue,
}

impl Sink for Arc<ToMaster> {
    fn put(&self, bytes: &[u8]) {
        let mut queue = self.bytes.lock();
        let room = (2 * TO_MASTER_CAPACITY).saturating_sub(queue.len());
        queue.extend(bytes.iter().copied().take(room));
        drop(queue);
        self.readable.wake_all();
    }

    fn has_room(&self) -> bool {
        self.bytes.lock().len() < TO_MASTER_CAPACITY
    }

    fn wait_for_room(&self, nonblocking: bool) -> SysResult<usize> {
        self.writable.wait_until(|| {
            let len = self.bytes.lock().len();
            if len < TO_MASTER_CAPACITY {
                Some(Ok(TO_MASTER_CAPACITY - len))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else if crate::wait::signal_pending() {
                Some(Err(Errno::EINTR))
            } else {
                None
            }
        })
    }
}

/// One master/slave pair.
pub struct Pty {
    index: u32,
    terminal: Terminal,
    to_master: Arc<ToMaster>,
    locked: AtomicBool,
    /// Open slave descriptions, and whether there ever was one (a master reads EIO only
    /// after its slave has come and gone).
    slave_opens: AtomicUsize,
    slave_seen: AtomicBool,
}

static PTYS: SpinLock<BTreeMap<u32, Weak<Pty>>> = SpinLock::new(BTreeMap::new());

/// Opens /dev/ptmx (`node`, a devtmpfs or devpts node): a new pair, returning its master.
pub fn open_master(node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    let mut ptys = PTYS.lock();
    let index = (0..MAX_PTYS)
        .find(|i| ptys.get(i).is_none_or(|w| w.strong_count() == 0))
        .ok_or(Errno::ENOSPC)?;
    let to_master = Arc::new(ToMaster {
        bytes: SpinLock::new(VecDeque::new()),
        readable: FileWaitQueue::new(),
        writable: FileWaitQueue::new(),
    });
    let pty = Arc::new(Pty {
        index,
        terminal: Terminal::new(alloc::boxed::Box::new(to_master.clone())),
        to_master,
        locked: AtomicBool::new(true),
        slave_opens: AtomicUsize::new(0),
        slave_seen: AtomicBool::new(false),
    });
    ptys.insert(index, Arc::downgrade(&pty));
    Ok(Arc::new(Master {
        pty,
        node,
        flags: SpinLock::new(flags & (OpenFlags::NONBLOCK | OpenFlags::RDWR)),
    }))
}

/// Opens /dev/pts/N (`node` is its devpts node).
pub fn open_slave(index: u32, node: Arc<Node>, flags: OpenFlags) -> SysResult<Arc<dyn FileLike>> {
    let pty = PTYS.lock().get(&index).and_then(Weak::upgrade).ok_or(Errno::EIO)?;
    if pty.locked.load(Ordering::Relaxed) {
        return Err(Errno::EIO);
    }
    pty.slave_opens.fetch_add(1, Ordering::Relaxed);
    pty.slave_seen.store(true, Ordering::Relaxed);
    let kept = flags & (OpenFlags::NONBLOCK | OpenFlags::RDWR | OpenFlags::WRONLY);
    Ok(super::TerminalFile::open(super::End::PtySlave(pty), node, flags, kept))
}

impl Pty {
    /// The pair's terminal (the slave side's line discipline).
    pub(super) fn terminal(&self) -> &Terminal {
        &self.terminal
    }

    /// A slave descriptor closed: once none is left, the master reads EIO.
    pub(super) fn slave_closed(&self) {
        self.slave_opens.fetch_sub(1, Ordering::Relaxed);
        self.to_master.readable.wake_all();
    }
}

/// The master side.
struct Master {
    pty: Arc<Pty>,
    /// The ptmx node it was opened through (which keeps its filesystem busy).
    node: Arc<Node>,
    flags: SpinLock<OpenFlags>,
}

impl Drop for Master {
    fn drop(&mut self) {
        self.pty.terminal.hang_up();
        let pgrp = self.pty.terminal.state.lock().foreground_pgrp;
        if pgrp > 0 {
            crate::process::signal::kill_pgrp(pgrp, SIGHUP);
        }
        PTYS.lock().remove(&self.pty.index);
    }
}

const SIGHUP: u32 = 1;

impl FileLike for Master {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblocking = self.flags.lock().contains(OpenFlags::NONBLOCK);
        let pty = &self.pty;
        let result = pty.to_master.readable.wait_until(|| {
            let mut bytes = pty.to_master.bytes.lock();
            if !bytes.is_empty() {
                let n = buf.len().min(bytes.len());
                for (dst, src) in buf.iter_mut().zip(bytes.drain(..n)) {
                    *dst = src;
                }
                return Some(Ok(n));
            }
            if pty.slave_seen.load(Ordering::Relaxed)
                && pty.slave_opens.load(Ordering::Relaxed) == 0
            {
                Some(Err(Errno::EIO))
            } else if nonblocking {
                Some(Err(Errno::EAGAIN))
            } else if crate::wait::signal_pending() {
                Some(Err(Errno::EINTR))
            } else {
                None
            }
        });
        if result.is_ok() {
            pty.to_master.writable.wake_all();
        }
        result
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        for &b in buf {
            self.pty.terminal.receive(b);
        }
        Ok(buf.len())
    }

    fn stat(&self) -> Stat {
        Stat {
            mode: 0o020666,
            rdev: u64::from(makedev(5, 2)),
            ino: PTS_INO_BASE + 0xffff,
            nlink: 1,
            blksize: 1024,
            ..Stat::default()
        }
    }

    fn node(&self) -> Option<&Arc<Node>> {
        Some(&self.node)
    }

    fn flags(&self) -> OpenFlags {
        *self.flags.lock()
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mut f = self.flags.lock();
        *f = (*f - OpenFlags::STREAM_STATUS) | (flags & OpenFlags::STREAM_STATUS);
    }

    fn readiness(&self) -> Readiness {
        let data = !self.pty.to_master.bytes.lock().is_empty();
        let gone = self.pty.slave_seen.load(Ordering::Relaxed)
            && self.pty.slave_opens.load(Ordering::Relaxed) == 0;
        Readiness { readable: data || gone, writable: true, hangup: gone, ..Readiness::default() }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match cmd {
            TIOCGPTN => mem.write_u32(arg, self.pty.index).map(|()| 0),
            TIOCSPTLCK => {
                let lock = mem.read_u32(arg)? != 0;
                self.pty.locked.store(lock, Ordering::Relaxed);
                Ok(0)
            }
            TIOCGPTLCK => {
                mem.write_u32(arg, u32::from(self.pty.locked.load(Ordering::Relaxed))).map(|()| 0)
            }
            FIONREAD => {
                let n = self.pty.to_master.bytes.lock().len();
                mem.write_u32(arg, n as u32).map(|()| 0)
            }
            TIOCSWINSZ => {
                let r = self.pty.terminal.ioctl(cmd, arg, mem)?;
                let pgrp = self.pty.terminal.state.lock().foreground_pgrp;
                if pgrp > 0 {
                    crate::process::signal::kill_pgrp(pgrp, crate::process::signal::SIGWINCH);
                }
                Ok(r)
            }
            // termios, window size and process groups act on the pair's terminal.
            _ => self.pty.terminal.ioctl(cmd, arg, mem),
        }
    }
}

/// The root of a devpts instance: `ptmx` and one node per open pair.
pub fn devpts_root() -> Arc<Node> {
    Node::new_generated(NodeKind::Dir, 0o755, PTS_INO_BASE, DevptsRoot)
}

struct DevptsRoot;

/// Device nodes have no contents of their own.
struct DeviceNode;

impl Generated for DeviceNode {}

fn slave_node(index: u32) -> Arc<Node> {
    let node = Node::new_generated(
        NodeKind::CharDev(makedev(PTS_MAJOR, index)),
        0o620,
        PTS_INO_BASE + 1 + u64::from(index),
        DeviceNode,
    );
    // Linux's devpts default: owned by the opener's group tty (5).
    node.update_metadata(|m| m.gid = 5);
    node
}

impl Generated for DevptsRoot {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        let live: Vec<u32> =
            PTYS.lock().iter().filter(|(_, w)| w.strong_count() > 0).map(|(i, _)| *i).collect();
        let mut out = alloc::vec![(
            String::from("ptmx"),
            Node::new_generated(
                NodeKind::CharDev(makedev(5, 2)),
                0o000,
                PTS_INO_BASE + 0xffff,
                DeviceNode
            )
        )];
        out.extend(live.into_iter().map(|i| (i.to_string(), slave_node(i))));
        out
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        if name == "ptmx" {
            return self.entries().into_iter().next().map(|(_, n)| n);
        }
        let index: u32 = name.parse().ok()?;
        PTYS.lock().get(&index).filter(|w| w.strong_count() > 0)?;
        Some(slave_node(index))
    }
}

ostd::ktest! {
    fn pty_master_and_slave_talk_through_the_line_discipline() {
        let master = open_master(devpts_root(), OpenFlags::RDWR | OpenFlags::NONBLOCK).unwrap();
        let index =
            PTYS.lock().iter().rev().find(|(_, w)| w.strong_count() > 0).map(|(i, _)| *i).unwrap();
        assert_eq!(
            open_slave(index, slave_node(index), OpenFlags::RDWR | OpenFlags::NOCTTY).err(),
            Some(Errno::EIO),
            "locked until unlockpt"
        );
        PTYS.lock()
            .get(&index)
            .and_then(Weak::upgrade)
            .unwrap()
            .locked
            .store(false, Ordering::Relaxed);
        let slave = open_slave(
            index,
            slave_node(index),
            OpenFlags::RDWR | OpenFlags::NOCTTY | OpenFlags::NONBLOCK,
        )
        .unwrap();
        master.write(b"hi\r").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(slave.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"hi\n", "ICRNL turned CR into NL");
        let n = master.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hi\r\n", "the echo, with ONLCR");
        slave.write(b"out\n").unwrap();
        let n = master.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"out\r\n");
        // A master that never reads: the slave's writes stop at the capacity (EAGAIN when
        // nonblocking), and its echo stops at twice that.
        let big = alloc::vec![b'z'; TO_MASTER_CAPACITY + 100];
        assert_eq!(slave.write(&big), Ok(TO_MASTER_CAPACITY));
        assert!(!slave.readiness().writable);
        assert_eq!(slave.write(b"more"), Err(Errno::EAGAIN));
        let lines: Vec<u8> = (0..4000).map(|i| if i % 100 == 99 { b'\n' } else { b'z' }).collect();
        for _ in 0..40 {
            master.write(&lines).unwrap();
            let mut sink = alloc::vec![0u8; 8192];
            while slave.read(&mut sink).is_ok() {}
        }
        let queued =
            PTYS.lock().get(&index).and_then(Weak::upgrade).unwrap().to_master.bytes.lock().len();
        assert_eq!(queued, 2 * TO_MASTER_CAPACITY);
        let mut drain = alloc::vec![0u8; 2 * TO_MASTER_CAPACITY];
        assert_eq!(master.read(&mut drain), Ok(2 * TO_MASTER_CAPACITY));
        assert!(slave.readiness().writable);
        drop(slave);
        assert_eq!(master.read(&mut buf).unwrap_err(), Errno::EIO, "the slave is gone");
    }
}
