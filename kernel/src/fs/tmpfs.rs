//! tmpfs instances: the options a tmpfs mount was given (size, nr_inodes, mode, uid, gid),
//! what statfs reports from them, and whether anything still uses a tree at unmount.
//!
//! The nodes of a tmpfs are the in-memory nodes every directory is made of; an instance
//! adds the limits and the counts Linux's shmem superblock keeps.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ostd::mm::PAGE_SIZE;
use ostd::sync::SpinLock;

use super::node::{Node, NodeKind};
use super::page_cache::PageCache;
use crate::error::{Errno, SysResult};
use crate::page_span::page_pieces;

/// The options of one tmpfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Options {
    /// Pages it may hold; 0 is no limit (size=0).
    max_blocks: u64,
    /// Inodes it may hold; 0 is no limit (nr_inodes=0).
    max_inodes: u64,
    /// The root directory's permissions.
    mode: u32,
    /// The root directory's owner.
    uid: u32,
    /// The root directory's group.
    gid: u32,
}

/// Linux's defaults: half of RAM, and as many inodes as half the RAM's pages
/// (shmem_default_max_blocks, shmem_default_max_inodes).
fn defaults() -> Options {
    let half = ostd::mm::frame_stats().total as u64 / 2;
    Options { max_blocks: half, max_inodes: half, mode: 0o1777, uid: 0, gid: 0 }
}

/// The next anonymous device number's minor (major 0, as Linux's get_anon_bdev gives
/// filesystems without a disk; the values differ between systems).
static NEXT_ANON_MINOR: AtomicU32 = AtomicU32::new(40);

/// One mounted tmpfs.
pub struct Tmpfs {
    /// Its device number (`st_dev` of its files): programs tell filesystems apart by it
    /// (`mountpoint`, `find -xdev`).
    dev: u32,
    options: SpinLock<Options>,
    /// Pages its files hold.
    blocks: AtomicU64,
    /// Nodes it holds (its root too).
    inodes: AtomicU64,
}

impl Tmpfs {
    /// Makes an instance from mount(2)'s option string `data` ("size=1m,mode=755").
    ///
    /// # Errors
    /// EINVAL for an option tmpfs does not know or a value it cannot parse.
    pub fn new(data: &str) -> SysResult<Arc<Self>> {
        let options = parse(defaults(), data, false)?;
        Ok(Arc::new(Self {
            dev: super::devfs::makedev(0, NEXT_ANON_MINOR.fetch_add(1, Ordering::Relaxed)),
            options: SpinLock::new(options),
            blocks: AtomicU64::new(0),
            inodes: AtomicU64::new(0),
        }))
    }

    /// Makes the root directory, with the mode and owner the options name.
    pub fn new_root(self: &Arc<Self>) -> SysResult<Arc<Node>> {
        let o = *self.options.lock();
        let root = Node::new_dir(o.mode);
        root.update_metadata(|m| {
            m.uid = o.uid;
            m.gid = o.gid;
        });
        root.make_tmpfs_root(self)?;
        Ok(root)
    }

    /// Returns its device number.
    pub fn dev(&self) -> u32 {
        self.dev
    }

    /// Counts a new node: ENOSPC once nr_inodes are in use (Linux's shmem_reserve_inode).
    pub fn charge_inode(&self) -> SysResult<()> {
        let max = self.options.lock().max_inodes;
        self.inodes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (max == 0 || n < max).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    /// Gives back a node that is gone, with its `pages`.
    pub fn release_inode(&self, pages: usize) {
        let _ =
            self.inodes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        self.count_blocks(pages, 0);
    }

    /// Counts a file's page count going from `before` to `after`.
    pub fn count_blocks(&self, before: usize, after: usize) {
        let (before, after) = (before as u64, after as u64);
        let _ = self.blocks.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some((n + after).saturating_sub(before))
        });
    }

    /// How much of a write of `len` bytes at `offset` into `cache` fits in the pages left:
    /// the write stops before the first new page past the limit (a short write, as Linux's
    /// tmpfs), and one that cannot even start is ENOSPC.
    pub fn fitting_len(&self, cache: &PageCache, offset: u64, len: usize) -> SysResult<usize> {
        let max = self.options.lock().max_blocks;
        if max == 0 || len == 0 {
            return Ok(len);
        }
        let mut left = max.saturating_sub(self.blocks.load(Ordering::Relaxed));
        for piece in page_pieces(offset, len) {
            if cache.get(piece.index).is_none() {
                if left == 0 {
                    return if piece.range.start == 0 {
                        Err(Errno::ENOSPC)
                    } else {
                        Ok(piece.range.start)
                    };
                }
                left -= 1;
            }
        }
        Ok(len)
    }

    /// statfs's block and inode counts: total, free, files, free files (zeros where there
    /// is no limit, as Linux's shmem_statfs leaves them).
    pub fn statfs_counts(&self) -> (u64, u64, u64, u64) {
        let o = *self.options.lock();
        let (blocks, inodes) =
            (self.blocks.load(Ordering::Relaxed), self.inodes.load(Ordering::Relaxed));
        let (total, free) = if o.max_blocks == 0 {
            (0, 0)
        } else {
            (o.max_blocks, o.max_blocks.saturating_sub(blocks))
        };
        let (files, ffree) = if o.max_inodes == 0 {
            (0, 0)
        } else {
            (o.max_inodes, o.max_inodes.saturating_sub(inodes))
        };
        (total, free, files, ffree)
    }

    /// Applies a remount's options: size and nr_inodes may change; mode, uid and gid are
    /// ignored on remount, as Linux ignores them.
    ///
    /// # Errors
    /// EINVAL for a limit below what is in use, or a limit on a tmpfs that had none (Linux:
    /// "Cannot retroactively limit size"), besides the option errors.
    pub fn reconfigure(&self, data: &str) -> SysResult<()> {
        let current = *self.options.lock();
        let new = parse(current, data, true)?;
        let tightened =
            |old: u64, new: u64, used: u64| new != old && new != 0 && (old == 0 || used > new);
        if tightened(current.max_blocks, new.max_blocks, self.blocks.load(Ordering::Relaxed))
            || tightened(current.max_inodes, new.max_inodes, self.inodes.load(Ordering::Relaxed))
        {
            return Err(Errno::EINVAL);
        }
        *self.options.lock() = new;
        Ok(())
    }

    /// The options as /proc/mounts prints them after the mount's own: each that differs
    /// from the default, with a leading comma (Linux's shmem_show_options).
    pub fn options(&self) -> String {
        let o = *self.options.lock();
        let d = defaults();
        let mut s = String::new();
        if o.max_blocks != d.max_blocks {
            s.push_str(&format!(",size={}k", o.max_blocks * (PAGE_SIZE as u64 / 1024)));
        }
        if o.max_inodes != d.max_inodes {
            s.push_str(&format!(",nr_inodes={}", o.max_inodes));
        }
        if o.mode != 0o1777 {
            s.push_str(&format!(",mode={:03o}", o.mode));
        }
        if o.uid != 0 {
            s.push_str(&format!(",uid={}", o.uid));
        }
        if o.gid != 0 {
            s.push_str(&format!(",gid={}", o.gid));
        }
        // Linux built with CONFIG_TMPFS_INODE64 (Debian's) always says which inode numbers.
        s.push_str(",inode64");
        s
    }

    /// The block and inode limits (0: none).
    pub fn limits(&self) -> (u64, u64) {
        let o = *self.options.lock();
        (o.max_blocks, o.max_inodes)
    }
}

/// Parses `data` over `base`. On a remount, mode, uid and gid are accepted and ignored.
fn parse(base: Options, data: &str, remount: bool) -> SysResult<Options> {
    let mut o = base;
    for option in data.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        match key {
            "size" => {
                o.max_blocks = match value.strip_suffix('%') {
                    Some(pct) => {
                        let pct: u64 = pct.parse().map_err(|_| Errno::EINVAL)?;
                        (ostd::mm::frame_stats().total as u64).saturating_mul(pct).div_ceil(100)
                    }
                    None => memparse(value)?.div_ceil(PAGE_SIZE as u64),
                }
            }
            "nr_inodes" => o.max_inodes = memparse(value)?,
            "mode" if !remount => {
                o.mode = u32::from_str_radix(value, 8).map_err(|_| Errno::EINVAL)? & 0o7777
            }
            "uid" if !remount => o.uid = value.parse().map_err(|_| Errno::EINVAL)?,
            "gid" if !remount => o.gid = value.parse().map_err(|_| Errno::EINVAL)?,
            "mode" | "uid" | "gid" => {}
            // Options mount(8) passes along and tmpfs accepts without effect here.
            "huge" | "mpol" | "inode32" | "inode64" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(o)
}

/// Parses a number with an optional k, m, g, t, p or e suffix (Linux's memparse).
fn memparse(value: &str) -> SysResult<u64> {
    let digits_end = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    if digits_end == 0 {
        return Err(Errno::EINVAL);
    }
    let n: u64 = value[..digits_end].parse().map_err(|_| Errno::EINVAL)?;
    let shift = match &value[digits_end..] {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        "p" | "P" => 50,
        "e" | "E" => 60,
        _ => return Err(Errno::EINVAL),
    };
    n.checked_shl(shift).filter(|v| v >> shift == n).ok_or(Errno::EINVAL)
}

/// Whether anything but the tree itself holds a node of the tree under the mounted root
/// `root`: an open file, a working directory, a running program (EBUSY at unmount). The
/// mount table's and the caller's references to `root`, and inotify watches, do not count.
pub fn tree_in_use(root: &Arc<Node>) -> bool {
    let held_elsewhere = |node: &Arc<Node>, expected: usize| {
        node.is_open()
            || Arc::strong_count(node) > expected + super::notify::vfs::watch_references(node)
    };
    if held_elsewhere(root, 2) {
        return true;
    }
    let mut pending = alloc::vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = dir.entries() else { continue };
        for (_, child) in &entries {
            // The entry in its directory and the listing's copy; a file once per link.
            let links = if child.kind() == NodeKind::Dir {
                1
            } else {
                child.metadata().nlink.max(1) as usize
            };
            if held_elsewhere(child, links + 1) {
                return true;
            }
            if child.kind() == NodeKind::Dir {
                pending.push(child.clone());
            }
        }
    }
    false
}

ostd::ktest! {
    fn tmpfs_options_parse_and_print_as_linux() {
        let t = Tmpfs::new("size=1m,nr_inodes=16,mode=755,uid=1000,gid=100").unwrap();
        assert_eq!(t.options(), ",size=1024k,nr_inodes=16,mode=755,uid=1000,gid=100,inode64");
        assert_eq!(t.limits(), (256, 16));
        assert!(Tmpfs::new("size=abc").is_err());
        assert!(Tmpfs::new("bogus=1").is_err());
        t.reconfigure("size=8k,mode=700").unwrap();
        assert_eq!(t.options(), ",size=8k,nr_inodes=16,mode=755,uid=1000,gid=100,inode64");
    }
}
