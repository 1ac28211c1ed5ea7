//! Nodes whose contents are computed: procfs, sysfs and configfs files, symlinks and
//! directories ([`super::node::Node::new_generated`] makes them).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::node::Node;
use crate::error::{Errno, SysResult};

/// A node whose contents are computed when read (procfs, sysfs, configfs): file text, a
/// symlink target, or a directory's entries; some files take writes, and some directories
/// make and remove their own entries (configfs groups).
pub trait Generated: Send + Sync {
    /// Returns the file's contents or the symlink's target.
    fn read(&self) -> Vec<u8> {
        Vec::new()
    }
    /// Returns the file's contents, or why there are none to read ([`Node::read_at`] calls
    /// this; the default is [`Generated::read`]).
    fn try_read(&self) -> SysResult<Vec<u8>> {
        Ok(self.read())
    }
    /// Reads the file at `offset` into `buf` ([`Node::read_at`] calls this; the default
    /// slices [`Generated::try_read`]'s text, files whose offsets are no text positions, such
    /// as /proc/PID/mem's addresses, answer themselves).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> SysResult<usize> {
        let data = self.try_read()?;
        let start = (offset.min(data.len() as u64)) as usize;
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    /// Takes a write of `buf` at `offset` (the default refuses: EACCES).
    fn write(&self, _offset: u64, _buf: &[u8]) -> SysResult<usize> {
        Err(Errno::EACCES)
    }
    /// Makes the directory `name` in this directory (mkdir(2); the default refuses).
    fn mkdir(&self, _name: &str) -> SysResult<Arc<Node>> {
        Err(Errno::EACCES)
    }
    /// Removes the directory `name` (rmdir(2); the default refuses).
    fn rmdir(&self, _name: &str) -> SysResult<Arc<Node>> {
        Err(Errno::EACCES)
    }
    /// Returns the directory's entries.
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        Vec::new()
    }
    /// Looks up one entry (the default searches `entries`).
    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        self.entries().into_iter().find(|(n, _)| n == name).map(|(_, node)| node)
    }
    /// Whether the node's mode binds root too and cannot be changed (chmod and chown answer
    /// EPERM): /proc/sys, where Linux checks the mode bits alone (`sysctl_perm`) and
    /// refuses attribute changes (`proc_sys_setattr`).
    fn mode_binds_everyone(&self) -> bool {
        false
    }
    /// For /proc/[pid]/fd/N: the open file the link stands for ("magic link": opening it
    /// opens that file, whatever its textual target says).
    fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        None
    }
}
