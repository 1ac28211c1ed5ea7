//! /proc/sys: the kernel's tunables as files, read and written as Linux's proc_sysctl
//! reads and writes them. A write at offset 0 replaces the value; one at a later offset is
//! ignored (Linux's default, `sysctl_writes_strict`); a value outside what the handler
//! allows is refused with EINVAL and changes nothing.
//!
//! The files are listed in [`table`]. Their values live with the code that enforces them
//! (the pipe size limit in `fs::pipe`, pid_max in `process::registry`, ...); the table
//! only ties a path to them.

mod parse;
mod table;
mod tunable;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub use tunable::IntTunable;

use crate::error::{Errno, SysResult};
use crate::fs::node::{Generated, Node, NodeKind};

/// How a file's text is made and a write to it taken.
pub enum Value {
    /// One integer, kept by its owner.
    Int(&'static IntTunable),
    /// Text computed on every read; the file is read-only.
    Computed(fn() -> String),
    /// A file whose owner reads what was written: `write` gets the bytes written at
    /// offset 0 and returns how many it took.
    Custom { read: fn() -> String, write: fn(&[u8]) -> SysResult<usize> },
}

/// One file of the tree.
pub struct Entry {
    /// Its path below /proc/sys.
    pub path: &'static str,
    /// Its permission bits (owned by root).
    pub mode: u32,
    pub value: Value,
}

/// Inode numbers: below procfs's own (0xf000_0000 and up), above sysfs's.
const INO_BASE: u64 = 0xe000_0000;

/// Creates /proc/sys.
pub fn new_root() -> Arc<Node> {
    Node::new_generated(NodeKind::Dir, 0o555, INO_BASE, Dir { prefix: String::new() })
}

/// A directory: every entry whose path starts with `prefix` ("" or "kernel/random/").
struct Dir {
    prefix: String,
}

impl Generated for Dir {
    fn mode_binds_everyone(&self) -> bool {
        true
    }

    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        let mut names: Vec<&str> = table::ENTRIES
            .iter()
            .filter_map(|e| e.path.strip_prefix(self.prefix.as_str()))
            .map(|rest| rest.split('/').next().unwrap_or(rest))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| Some((String::from(name), self.lookup(name)?)))
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let path = format!("{}{name}", self.prefix);
        let subdir = format!("{path}/");
        for (index, entry) in table::ENTRIES.iter().enumerate() {
            let ino = INO_BASE + 1 + index as u64;
            if entry.path == path {
                return Some(Node::new_generated(NodeKind::File, entry.mode, ino, File(entry)));
            }
            if entry.path.starts_with(&subdir) {
                // A directory is numbered after its first file and its depth (a directory
                // and its first subdirectory may share that file), in a range of its own.
                let depth = subdir.matches('/').count() as u64;
                let ino = ino + 0x8000 + 0x1000 * depth;
                return Some(Node::new_generated(
                    NodeKind::Dir,
                    0o555,
                    ino,
                    Dir { prefix: subdir },
                ));
            }
        }
        None
    }
}

/// A file of the tree.
struct File(&'static Entry);

impl Generated for File {
    fn mode_binds_everyone(&self) -> bool {
        true
    }

    fn read(&self) -> Vec<u8> {
        let text = match &self.0.value {
            Value::Int(t) => format!("{}\n", t.get()),
            Value::Computed(read) | Value::Custom { read, .. } => read(),
        };
        text.into_bytes()
    }

    fn write(&self, offset: u64, buf: &[u8]) -> SysResult<usize> {
        // Nothing written reaches no handler; a write past offset 0 is ignored but reported
        // as taken (Linux's proc_sys_call_handler and proc_first_pos_non_zero_ignore).
        if buf.is_empty() {
            return Ok(0);
        }
        if offset != 0 {
            return Ok(buf.len());
        }
        match &self.0.value {
            Value::Int(t) => {
                let (values, taken) = parse::integers(buf, 1, t.signed())?;
                t.set(values[0])?;
                Ok(taken)
            }
            Value::Computed(_) => Err(Errno::EACCES),
            Value::Custom { write, .. } => write(buf),
        }
    }
}

/// Reads one integer written to a file (for [`Value::Custom`] writers).
fn one_integer(buf: &[u8], signed: bool) -> SysResult<(i64, usize)> {
    let (values, taken) = parse::integers(buf, 1, signed)?;
    Ok((values[0], taken))
}
