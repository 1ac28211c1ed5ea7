//! Terminals: termios, the line discipline, and job-control ioctls, for the serial console
//! and for pseudo-terminals ([`pty`]).
//!
//! A [`Terminal`] is the slave side: its input runs through the line discipline (canonical
//! mode with echo, erase and kill, ^D as end of file, ^C/^Z/^\ as signals to the foreground
//! process group; with ICANON off, bytes are delivered as they come) and its output through
//! output processing (ONLCR) to a sink: the serial port, or a pty's master. Console bytes
//! arrive from the COM1 interrupt into a raw queue and are fed to the discipline by a kernel
//! task (it may signal processes, which takes sleeping locks).

pub mod pty;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};
use crate::fs::Node;
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};
use crate::fs::poll::FileWaitQueue;
use crate::user_mem::UserMem;

const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const FIONREAD: u32 = 0x541b;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const TIOCSCTTY: u32 = 0x540e;
const TIOCNOTTY: u32 = 0x5422;

const ICRNL: u32 = 0o400;
const OPOST: u32 = 0o1;
const ONLCR: u32 = 0o4;
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHOCTL: u32 = 0o1000;
const ECHOKE: u32 = 0o4000;
const IEXTEN: u32 = 0o100000;
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VMIN: usize = 6;
const VSUSP: usize = 10;

/// The kernel's `struct termios` (36 bytes).
#[derive(Clone, Copy)]
struct Termios {
    iflag: u32,
    oflag: u32,
    cflag: u32,
    lflag: u32,
    line: u8,
    cc: [u8; 19],
}

impl Termios {
    /// Linux's `tty_std_termios`.
    const fn standard() -> Self {
        let mut cc = [0u8; 19];
        cc[VINTR] = 3;
        cc[VQUIT] = 0x1c;
        cc[VERASE] = 0x7f;
        cc[VKILL] = 0x15;
        cc[VEOF] = 4;
        cc[VMIN] = 1;
        cc[8] = 0x11; // VSTART
        cc[9] = 0x13; // VSTOP
        cc[VSUSP] = 0x1a;
        cc[12] = 0x12; // VREPRINT
        cc[13] = 0x0f; // VDISCARD
        cc[14] = 0x17; // VWERASE
        cc[15] = 0x16; // VLNEXT
        Self {
            iflag: ICRNL | 0o2000, // ICRNL | IXON
            oflag: OPOST | ONLCR,
            cflag: 0o17 | 0o60 | 0o200 | 0o2000, // B38400 | CS8 | CREAD | HUPCL
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
        }
    }

    fn to_bytes(self) -> [u8; 36] {
        let mut b = [0u8; 36];
        b[0..4].copy_from_slice(&self.iflag.to_le_bytes());
        b[4..8].copy_from_slice(&self.oflag.to_le_bytes());
        b[8..12].copy_from_slice(&self.cflag.to_le_bytes());
        b[12..16].copy_from_slice(&self.lflag.to_le_bytes());
        b[16] = self.line;
        b[17..36].copy_from_slice(&self.cc);
        b
    }

    fn from_bytes(b: &[u8; 36]) -> Self {
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut cc = [0u8; 19];
        cc.copy_from_slice(&b[17..36]);
        Self { iflag: word(0), oflag: word(4), cflag: word(8), lflag: word(12), line: b[16], cc }
    }
}

struct State {
    termios: Termios,
    /// Bytes ready for `read`.
    ready: VecDeque<u8>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// End-of-file markers pending (one per ^D on an empty line).
    eofs: usize,
    foreground_pgrp: i32,
    winsize: [u8; 8],
    /// The other side is gone (a pty whose master closed): reads return EOF, writes EIO.
    hung_up: bool,
    /// Input bytes dropped because `ready` and `line` were full.
    dropped: usize,
}

/// How many input bytes a terminal holds (`ready` plus `line`): Linux's `N_TTY_BUF_SIZE`.
/// The sender (the host on the console, a process on a pty master) cannot grow it further:
/// past it, input is dropped and counted, as Linux drops it.
const INPUT_CAPACITY: usize = 4096;

/// Where a terminal's output (writes and echo) goes.
pub trait Sink: Send + Sync {
    /// Takes output bytes, already processed (ONLCR).
    fn put(&self, bytes: &[u8]);

    /// Waits until the sink has room and returns how many bytes a write may put now (at
    /// least 1). A sink that never fills (the serial port, which paces itself) has no limit.
    ///
    /// # Errors
    /// `EAGAIN` if it is full and `nonblocking`; `EINTR` if a signal interrupts the wait.
    fn wait_for_room(&self, _nonblocking: bool) -> SysResult<usize> {
        Ok(usize::MAX)
    }

    /// Returns whether a write would find room now (poll's POLLOUT).
    fn has_room(&self) -> bool {
        true
    }
}

/// The serial console as a sink.
struct Serial;

impl Sink for Serial {
    fn put(&self, bytes: &[u8]) {
        ostd::console::write_bytes(bytes);
    }
}

/// One terminal: its settings, its input queues, and its output sink.
pub struct Terminal {
    state: SpinLock<State>,
    readers: FileWaitQueue,
    sink: alloc::boxed::Box<dyn Sink>,
}

impl Terminal {
    /// A terminal with Linux's standard settings writing to `sink`.
    pub fn new(sink: alloc::boxed::Box<dyn Sink>) -> Self {
        Self {
            state: SpinLock::new(State {
                termios: Termios::standard(),
                ready: VecDeque::new(),
                line: Vec::new(),
                eofs: 0,
                foreground_pgrp: 0,
                winsize: [0; 8],
                hung_up: false,
                dropped: 0,
            }),
            readers: FileWaitQueue::new(),
            sink,
        }
    }

    /// Writes with output processing (ONLCR).
    pub fn write_output(&self, buf: &[u8]) {
        let oflag = self.state.lock().termios.oflag;
        self.put_processed(oflag, buf);
    }

    fn put_processed(&self, oflag: u32, buf: &[u8]) {
        if oflag & OPOST != 0 && oflag & ONLCR != 0 {
            for part in buf.split_inclusive(|&b| b == b'\n') {
                match part.split_last() {
                    Some((b'\n', head)) => {
                        self.sink.put(head);
                        self.sink.put(b"\r\n");
                    }
                    _ => self.sink.put(part),
                }
            }
        } else {
            self.sink.put(buf);
        }
    }

    fn echo(&self, state: &State, byte: u8) {
        if state.termios.lflag & ECHO == 0 {
            return;
        }
        match byte {
            b'\n' => self.put_processed(state.termios.oflag, b"\n"),
            0..=0x1f | 0x7f if state.termios.lflag & ECHOCTL != 0 && byte != b'\t' => {
                self.sink.put(&[b'^', byte ^ 0x40])
            }
            _ => self.sink.put(&[byte]),
        }
    }

    /// The line discipline, for one received byte.
    pub fn receive(&self, mut byte: u8) {
        let mut signal = None;
        {
            let mut s = self.state.lock();
            let t = s.termios;
            if byte == b'\r' && t.iflag & ICRNL != 0 {
                byte = b'\n';
            }
            if t.lflag & ISIG != 0 {
                signal = match byte {
                    b if b == t.cc[VINTR] => Some(crate::process::signal::SIGINT),
                    b if b == t.cc[VQUIT] => Some(crate::process::signal::SIGQUIT),
                    b if b == t.cc[VSUSP] => Some(crate::process::signal::SIGTSTP),
                    _ => None,
                };
                if signal.is_some() {
                    self.echo(&s, byte);
                    s.line.clear();
                    s.ready.clear();
                }
            }
            // Full: drop the byte, unless it ends the canonical line being edited (so a reader
            // can always make progress; this holds at most one byte past the capacity, since
            // it empties the line) or edits it (which only shrinks it).
            let canonical = t.lflag & ICANON != 0;
            let ends_line =
                canonical && !s.line.is_empty() && (byte == b'\n' || byte == t.cc[VEOF]);
            let edits = canonical && (byte == t.cc[VERASE] || byte == 0x08 || byte == t.cc[VKILL]);
            if signal.is_none()
                && s.ready.len() + s.line.len() >= INPUT_CAPACITY
                && !ends_line
                && !edits
            {
                s.dropped += 1;
            } else if signal.is_none() {
                if t.lflag & ICANON == 0 {
                    s.ready.push_back(byte);
                    self.echo(&s, byte);
                } else if byte == t.cc[VERASE] || byte == 0x08 {
                    if s.line.pop().is_some() && t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                        self.sink.put(b"\x08 \x08");
                    }
                } else if byte == t.cc[VKILL] {
                    let n = s.line.len();
                    s.line.clear();
                    if t.lflag & ECHO != 0 && t.lflag & ECHOK != 0 {
                        for _ in 0..n {
                            self.sink.put(b"\x08 \x08");
                        }
                    }
                } else if byte == t.cc[VEOF] {
                    if s.line.is_empty() {
                        s.eofs += 1;
                    } else {
                        let line = core::mem::take(&mut s.line);
                        s.ready.extend(line);
                    }
                } else {
                    self.echo(&s, byte);
                    s.line.push(byte);
                    if byte == b'\n' {
                        let line = core::mem::take(&mut s.line);
                        s.ready.extend(line);
                    }
                }
            }
        }
        if let Some(sig) = signal {
            let pgrp = self.state.lock().foreground_pgrp;
            if pgrp > 0 {
                crate::process::signal::kill_pgrp(pgrp, sig);
            }
        }
        self.readers.wake_all();
    }

    /// Returns how many input bytes were dropped because the terminal's buffer was full.
    pub fn dropped_input(&self) -> usize {
        self.state.lock().dropped
    }

    /// Marks the terminal hung up (its master is gone) and wakes its readers.
    pub fn hang_up(&self) {
        self.state.lock().hung_up = true;
        self.readers.wake_all();
    }

    /// Reads what the line discipline has made ready.
    pub fn read(&self, buf: &mut [u8], nonblocking: bool) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.readers.wait_until(|| {
            let mut s = self.state.lock();
            if s.ready.is_empty() && s.eofs > 0 {
                s.eofs -= 1;
                return Some(Ok(0));
            }
            if s.ready.is_empty() {
                if s.hung_up {
                    return Some(Ok(0));
                }
                if nonblocking {
                    return Some(Err(Errno::EAGAIN));
                }
                return crate::wait::signal_pending().then_some(Err(Errno::EINTR));
            }
            let canonical = s.termios.lflag & ICANON != 0;
            let mut n = 0;
            while n < buf.len() {
                let Some(b) = s.ready.pop_front() else { break };
                buf[n] = b;
                n += 1;
                if canonical && b == b'\n' {
                    break;
                }
            }
            Some(Ok(n))
        })
    }

    /// Writes from a process (EIO once hung up).
    /// Writes `buf` through output processing, as far as the sink has room: a full sink
    /// blocks the writer (or, `nonblocking`, ends the write early or fails with `EAGAIN`).
    pub fn write(&self, buf: &[u8], nonblocking: bool) -> SysResult<usize> {
        if self.state.lock().hung_up {
            return Err(Errno::EIO);
        }
        let mut done = 0;
        while done < buf.len() {
            let room = match self.sink.wait_for_room(nonblocking) {
                Ok(room) => room,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            };
            let n = room.min(buf.len() - done);
            self.write_output(&buf[done..done + n]);
            done += n;
        }
        Ok(done)
    }

    /// poll/select readiness of the slave side.
    pub fn readiness(&self) -> Readiness {
        let s = self.state.lock();
        Readiness {
            readable: !s.ready.is_empty() || s.eofs > 0 || s.hung_up,
            writable: self.sink.has_room(),
            hangup: s.hung_up,
            ..Readiness::default()
        }
    }

    /// The terminal ioctls (termios, process groups, window size).
    pub fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match cmd {
            TCGETS => {
                let t = self.state.lock().termios;
                mem.write(arg, &t.to_bytes())?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut b = [0u8; 36];
                mem.read(arg, &mut b)?;
                let mut s = self.state.lock();
                s.termios = Termios::from_bytes(&b);
                if cmd == TCSETSF {
                    s.ready.clear();
                    s.line.clear();
                }
                if s.termios.lflag & ICANON == 0 && !s.line.is_empty() {
                    let line = core::mem::take(&mut s.line);
                    s.ready.extend(line);
                }
            }
            TIOCGPGRP => {
                let pgrp = self.state.lock().foreground_pgrp;
                mem.write_u32(arg, pgrp as u32)?;
            }
            TIOCSPGRP => {
                let pgrp = mem.read_u32(arg)? as i32;
                if pgrp <= 0 {
                    return Err(Errno::EINVAL);
                }
                self.state.lock().foreground_pgrp = pgrp;
            }
            FIONREAD => {
                let n = self.state.lock().ready.len();
                mem.write_u32(arg, n as u32)?;
            }
            TIOCGWINSZ => {
                let w = self.state.lock().winsize;
                mem.write(arg, &w)?;
            }
            TIOCSWINSZ => {
                let mut w = [0u8; 8];
                mem.read(arg, &mut w)?;
                self.state.lock().winsize = w;
            }
            TIOCSCTTY => {
                if let Some(p) = crate::process::registry::current() {
                    self.set_foreground(p.pgid());
                }
            }
            TIOCNOTTY => {}
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }

    /// Sets the foreground process group.
    pub fn set_foreground(&self, pgrp: i32) {
        self.state.lock().foreground_pgrp = pgrp;
    }
}

/// The console terminal, and the raw bytes COM1 delivered that its task has not fed yet.
struct Console {
    terminal: Terminal,
    /// At most [`RAW_CAPACITY`] bytes: the host decides how fast bytes arrive.
    raw: SpinLock<VecDeque<u8>>,
    /// Bytes the interrupt dropped because `raw` was full.
    raw_dropped: AtomicUsize,
    raw_arrived: FileWaitQueue,
}

/// How many received bytes wait for the tty task, like a tty's flip buffer.
const RAW_CAPACITY: usize = 4096;

static CONSOLE: spin::Once<Console> = spin::Once::new();

fn console() -> &'static Console {
    CONSOLE.call_once(|| Console {
        terminal: Terminal::new(alloc::boxed::Box::new(Serial)),
        raw: SpinLock::new(VecDeque::with_capacity(RAW_CAPACITY)),
        raw_dropped: AtomicUsize::new(0),
        raw_arrived: FileWaitQueue::new(),
    })
}

/// Starts console input: the COM1 interrupt feeds the line discipline task.
pub fn init() {
    let console = console();
    ostd::task::spawn("tty", move || {
        let mut reported = 0;
        loop {
            let bytes: Vec<u8> = console.raw_arrived.wait_until(|| {
                let mut raw = console.raw.lock();
                (!raw.is_empty()).then(|| raw.drain(..).collect())
            });
            for b in bytes {
                console.terminal.receive(b);
            }
            // Logged here, not in the interrupt (which must not take the console's lock).
            let dropped =
                console.raw_dropped.load(Ordering::Relaxed) + console.terminal.dropped_input();
            // At each doubling, so a flood cannot turn into a flood of warnings.
            if dropped > 0 && (reported == 0 || dropped >= 2 * reported) {
                log::warn!(
                    "tty: console input overran its {RAW_CAPACITY}-byte buffers; {dropped} bytes \
                     dropped so far"
                );
                reported = dropped;
            }
        }
    });
    if let Err(e) = ostd::console::set_input_handler(|byte| {
        let console = self::console();
        let mut raw = console.raw.lock();
        if raw.len() < RAW_CAPACITY {
            raw.push_back(byte);
        } else {
            console.raw_dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(raw);
        console.raw_arrived.wake_all();
    }) {
        log::warn!("tty: no console input: {e:?}");
    }
}

/// Opens the console.
pub fn open(node: Arc<Node>, flags: OpenFlags) -> Arc<dyn FileLike> {
    TerminalFile::open(End::Console, node, flags, flags)
}

/// Which terminal a [`TerminalFile`] is the slave side of.
enum End {
    Console,
    PtySlave(Arc<pty::Pty>),
}

/// An open terminal (the console or a pty slave): reads, writes, polls and ioctls go to its
/// [`Terminal`].
struct TerminalFile {
    end: End,
    node: Arc<Node>,
    flags: SpinLock<OpenFlags>,
}

impl TerminalFile {
    /// Opens `end` with open(2)'s `flags`, keeping `kept` as the file's flags. A session
    /// leader opening a terminal without O_NOCTTY makes it its controlling terminal, with its
    /// process group in the foreground (as on Linux).
    fn open(end: End, node: Arc<Node>, flags: OpenFlags, kept: OpenFlags) -> Arc<dyn FileLike> {
        let file = Self { end, node, flags: SpinLock::new(kept) };
        if !flags.contains(OpenFlags::NOCTTY)
            && let Some(p) = crate::process::registry::current().filter(|p| p.sid() == p.pid())
        {
            file.terminal().set_foreground(p.pgid());
        }
        Arc::new(file)
    }

    fn terminal(&self) -> &Terminal {
        match &self.end {
            End::Console => &console().terminal,
            End::PtySlave(pty) => pty.terminal(),
        }
    }
}

impl Drop for TerminalFile {
    fn drop(&mut self) {
        let description = self as *const Self as *const u8 as usize;
        crate::fs::file::release_description_locks(&self.node, description);
        if let End::PtySlave(pty) = &self.end {
            pty.slave_closed();
        }
    }
}

impl FileLike for TerminalFile {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        let nonblocking = self.flags.lock().contains(OpenFlags::NONBLOCK);
        self.terminal().read(buf, nonblocking)
    }

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        let nonblocking = self.flags.lock().contains(OpenFlags::NONBLOCK);
        self.terminal().write(buf, nonblocking)
    }

    fn stat(&self) -> Stat {
        Stat::of_node(&self.node)
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
        self.terminal().readiness()
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        self.terminal().ioctl(cmd, arg, mem)
    }
}

/// Sets the console's foreground process group (when init takes the console).
pub fn set_foreground(pgrp: i32) {
    console().terminal.set_foreground(pgrp);
}

ostd::ktest! {
    fn canonical_mode_edits_and_delivers_whole_lines() {
        // Echo is on in canonical mode: this also proves echoing a newline does not take the
        // state lock twice (which once hung the machine).
        let terminal = Terminal::new(alloc::boxed::Box::new(Serial));
        for &b in b"ab\x7fc\r" {
            terminal.receive(b);
        }
        let mut s = terminal.state.lock();
        let line: Vec<u8> = s.ready.drain(..).collect();
        assert_eq!(line, b"ac\n");
        assert!(s.line.is_empty());
        drop(s);
        terminal.receive(0x04); // ^D on an empty line: end of file
        let mut s = terminal.state.lock();
        assert_eq!(s.eofs, 1);
        s.eofs = 0;
    }

    fn a_flood_of_input_is_capped_and_counted_but_a_newline_still_ends_the_line() {
        struct Nowhere;
        impl Sink for Nowhere {
            fn put(&self, _: &[u8]) {}
        }
        let terminal = Terminal::new(alloc::boxed::Box::new(Nowhere));
        for _ in 0..INPUT_CAPACITY + 100 {
            terminal.receive(b'x');
        }
        assert_eq!(terminal.dropped_input(), 100);
        terminal.receive(b'\n');
        let s = terminal.state.lock();
        assert_eq!((s.ready.len(), s.line.len()), (INPUT_CAPACITY + 1, 0));
        drop(s);
        // A flood of empty lines cannot grow it further.
        for _ in 0..10 {
            terminal.receive(b'\n');
        }
        let ready = terminal.state.lock().ready.len();
        assert_eq!((ready, terminal.dropped_input()), (INPUT_CAPACITY + 1, 110));
        // Raw mode: a full buffer drops everything until a reader drains it.
        let raw = Terminal::new(alloc::boxed::Box::new(Nowhere));
        raw.state.lock().termios.lflag &= !(ICANON | ECHO);
        for _ in 0..INPUT_CAPACITY + 7 {
            raw.receive(b'y');
        }
        let ready = raw.state.lock().ready.len();
        assert_eq!((ready, raw.dropped_input()), (INPUT_CAPACITY, 7));
    }
}
