//! The serial console as a terminal: termios, the line discipline, and job-control ioctls.
//!
//! Bytes arrive from the COM1 interrupt into a raw queue; the line discipline runs on a
//! kernel task (it may signal processes, which takes sleeping locks): canonical mode with
//! echo, erase and kill, ^D as end of file, and ^C/^Z/^\ as signals to the foreground
//! process group. With ICANON off, bytes are delivered as they come.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::sync::{SpinLock, WaitQueue};

use crate::error::{Errno, SysResult};
use crate::fs::file::{FileLike, OpenFlags, Readiness, Stat};
use crate::fs::Node;
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
}

struct Tty {
    state: SpinLock<State>,
    readers: WaitQueue,
    raw: SpinLock<VecDeque<u8>>,
    raw_arrived: WaitQueue,
}

static TTY: Tty = Tty {
    state: SpinLock::new(State {
        termios: Termios::standard(),
        ready: VecDeque::new(),
        line: Vec::new(),
        eofs: 0,
        foreground_pgrp: 0,
        winsize: [0; 8],
    }),
    readers: WaitQueue::new(),
    raw: SpinLock::new(VecDeque::new()),
    raw_arrived: WaitQueue::new(),
};

/// Starts console input: the COM1 interrupt feeds the line discipline task.
pub fn init() {
    ostd::task::spawn("tty", || loop {
        let bytes: Vec<u8> = TTY.raw_arrived.wait_until(|| {
            let mut raw = TTY.raw.lock();
            (!raw.is_empty()).then(|| raw.drain(..).collect())
        });
        for b in bytes {
            receive(b);
        }
    });
    if let Err(e) = ostd::console::set_input_handler(|byte| {
        TTY.raw.lock().push_back(byte);
        TTY.raw_arrived.wake_all();
    }) {
        log::warn!("tty: no console input: {e:?}");
    }
}

/// Writes to the terminal with output processing (ONLCR).
pub fn write_output(buf: &[u8]) {
    let oflag = TTY.state.lock().termios.oflag;
    if oflag & OPOST != 0 && oflag & ONLCR != 0 {
        for part in buf.split_inclusive(|&b| b == b'\n') {
            match part.split_last() {
                Some((b'\n', head)) => {
                    ostd::console::write_bytes(head);
                    ostd::console::write_bytes(b"\r\n");
                }
                _ => ostd::console::write_bytes(part),
            }
        }
    } else {
        ostd::console::write_bytes(buf);
    }
}

fn echo(state: &State, byte: u8) {
    if state.termios.lflag & ECHO == 0 {
        return;
    }
    match byte {
        // Not write_output: the caller holds the state lock, which that would take again.
        b'\n' if state.termios.oflag & OPOST != 0 && state.termios.oflag & ONLCR != 0 => ostd::console::write_bytes(b"\r\n"),
        b'\n' => ostd::console::write_bytes(b"\n"),
        0..=0x1f | 0x7f if state.termios.lflag & ECHOCTL != 0 && byte != b'\t' => {
            ostd::console::write_bytes(&[b'^', byte ^ 0x40]);
        }
        _ => ostd::console::write_bytes(&[byte]),
    }
}

/// The line discipline, for one received byte.
fn receive(mut byte: u8) {
    let mut signal = None;
    {
        let mut s = TTY.state.lock();
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
                echo(&s, byte);
                s.line.clear();
                s.ready.clear();
            }
        }
        if signal.is_none() {
            if t.lflag & ICANON == 0 {
                s.ready.push_back(byte);
                echo(&s, byte);
            } else if byte == t.cc[VERASE] || byte == 0x08 {
                if s.line.pop().is_some() && t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                    ostd::console::write_bytes(b"\x08 \x08");
                }
            } else if byte == t.cc[VKILL] {
                let n = s.line.len();
                s.line.clear();
                if t.lflag & ECHO != 0 && t.lflag & ECHOK != 0 {
                    for _ in 0..n {
                        ostd::console::write_bytes(b"\x08 \x08");
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
                echo(&s, byte);
                s.line.push(byte);
                if byte == b'\n' {
                    let line = core::mem::take(&mut s.line);
                    s.ready.extend(line);
                }
            }
        }
    }
    if let Some(sig) = signal {
        let pgrp = TTY.state.lock().foreground_pgrp;
        if pgrp > 0 {
            crate::process::signal::kill_pgrp(pgrp, sig);
        }
    }
    TTY.readers.wake_all();
}

/// Opens the console. A session leader opening it without O_NOCTTY makes it its controlling
/// terminal, with its process group in the foreground (as on Linux).
pub fn open(node: Arc<Node>, flags: OpenFlags) -> Arc<dyn FileLike> {
    if !flags.contains(OpenFlags::NOCTTY) {
        if let Some(p) = crate::process::table::current().filter(|p| p.sid() == p.pid()) {
            TTY.state.lock().foreground_pgrp = p.pgid();
        }
    }
    Arc::new(TtyFile { node, flags: SpinLock::new(flags) })
}

struct TtyFile {
    node: Arc<Node>,
    flags: SpinLock<OpenFlags>,
}

impl FileLike for TtyFile {
    fn read(&self, buf: &mut [u8]) -> SysResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblocking = self.flags.lock().contains(OpenFlags::NONBLOCK);
        TTY.readers.wait_until(|| {
            let mut s = TTY.state.lock();
            if s.ready.is_empty() && s.eofs > 0 {
                s.eofs -= 1;
                return Some(Ok(0));
            }
            if s.ready.is_empty() {
                if nonblocking {
                    return Some(Err(Errno::EAGAIN));
                }
                return crate::process::table::current_interrupted().then_some(Err(Errno::EINTR));
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

    fn write(&self, buf: &[u8]) -> SysResult<usize> {
        write_output(buf);
        Ok(buf.len())
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
        *f = (*f - OpenFlags::NONBLOCK) | (flags & OpenFlags::NONBLOCK);
    }

    fn readiness(&self) -> Readiness {
        let s = TTY.state.lock();
        Readiness { readable: !s.ready.is_empty() || s.eofs > 0, writable: true, hangup: false }
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &UserMem) -> SysResult<u64> {
        match cmd {
            TCGETS => {
                let t = TTY.state.lock().termios;
                mem.write(arg, &t.to_bytes())?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut b = [0u8; 36];
                mem.read(arg, &mut b)?;
                let mut s = TTY.state.lock();
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
                let pgrp = TTY.state.lock().foreground_pgrp;
                mem.write_u32(arg, pgrp as u32)?;
            }
            TIOCSPGRP => {
                let pgrp = mem.read_u32(arg)? as i32;
                if pgrp <= 0 {
                    return Err(Errno::EINVAL);
                }
                TTY.state.lock().foreground_pgrp = pgrp;
            }
            FIONREAD => {
                let n = TTY.state.lock().ready.len();
                mem.write_u32(arg, n as u32)?;
            }
            TIOCGWINSZ => {
                let w = TTY.state.lock().winsize;
                mem.write(arg, &w)?;
            }
            TIOCSWINSZ => {
                let mut w = [0u8; 8];
                mem.read(arg, &mut w)?;
                TTY.state.lock().winsize = w;
            }
            TIOCSCTTY => {
                if let Some(p) = crate::process::table::current() {
                    TTY.state.lock().foreground_pgrp = p.pgid();
                }
            }
            TIOCNOTTY => {}
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }
}

/// Sets the foreground process group (when init takes the console).
pub fn set_foreground(pgrp: i32) {
    TTY.state.lock().foreground_pgrp = pgrp;
}

ostd::ktest! {
    fn canonical_mode_edits_and_delivers_whole_lines() {
        // Echo is on in canonical mode: this also proves echoing a newline does not take the
        // state lock twice (which once hung the machine).
        for &b in b"ab\x7fc\r" {
            receive(b);
        }
        let mut s = TTY.state.lock();
        let line: Vec<u8> = s.ready.drain(..).collect();
        assert_eq!(line, b"ac\n");
        assert!(s.line.is_empty());
        drop(s);
        receive(0x04); // ^D on an empty line: end of file
        let mut s = TTY.state.lock();
        assert_eq!(s.eofs, 1);
        s.eofs = 0;
    }
}
