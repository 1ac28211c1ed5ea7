//! Credentials and the discretionary access check (owner/group/other bits).
//!
//! File access is decided by the filesystem IDs (the effective ones unless setfsuid moved
//! them): filesystem UID 0 passes every check except executing a file with no execute bit,
//! as on Linux without capabilities. A process is in its filesystem group and its
//! supplementary groups. [`Identity`] and [`FsCaller`] are snapshots a process hands out
//! ([`Process::identity`](super::Process::identity),
//! [`Process::fs_caller`](super::Process::fs_caller)), so that one check sees one set of IDs.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::FsContext;
use crate::fs::node::{Metadata, Node, NodeKind};
use crate::fs::path::Start;
use crate::fs::perm::Caller;

pub use crate::fs::perm::{MAY_EXEC, MAY_READ, MAY_WRITE};

/// The highest capability number Linux 6.1 knows (CAP_CHECKPOINT_RESTORE):
/// kernel.cap_last_cap, and the bound of prctl's capability queries.
pub const CAP_LAST_CAP: u64 = 40;
/// Every capability, 0 to [`CAP_LAST_CAP`]: what root holds (and the bounding set).
pub const ALL_CAPABILITIES: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;
/// The most supplementary groups a process may have (kernel.ngroups_max).
pub const NGROUPS_MAX: u64 = 65536;

/// A process's user and group IDs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Real UID.
    pub ruid: u32,
    /// Effective UID (what access checks use).
    pub euid: u32,
    /// Saved set-user-ID.
    pub suid: u32,
    /// Real GID.
    pub rgid: u32,
    /// Effective GID.
    pub egid: u32,
    /// Saved set-group-ID.
    pub sgid: u32,
    /// Filesystem UID: what file access checks and new files' owners use. It follows the
    /// effective UID (every set*uid call sets it to the new one) unless setfsuid moves it.
    pub fsuid: u32,
    /// Filesystem GID, likewise for the group.
    pub fsgid: u32,
}

impl Credentials {
    /// Returns whether these credentials may access a node with `meta` for `mask`
    /// (MAY_READ | MAY_WRITE | MAY_EXEC), using the filesystem IDs and the supplementary
    /// `groups`.
    pub fn may(&self, groups: &[u32], meta: &Metadata, is_dir: bool, mask: u32) -> bool {
        Self::check(self.fsuid, self.fsgid, groups, meta, is_dir, mask)
    }

    /// IDs all equal to `uid` and `gid`.
    pub fn of(uid: u32, gid: u32) -> Self {
        Self {
            ruid: uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            rgid: gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
        }
    }

    /// The same check with the real IDs (access(2), faccessat(2) without AT_EACCESS).
    pub fn may_real(&self, groups: &[u32], meta: &Metadata, is_dir: bool, mask: u32) -> bool {
        Self::check(self.ruid, self.rgid, groups, meta, is_dir, mask)
    }

    fn check(uid: u32, gid: u32, groups: &[u32], meta: &Metadata, is_dir: bool, mask: u32) -> bool {
        if uid == 0 {
            return mask & MAY_EXEC == 0 || is_dir || meta.perm & 0o111 != 0;
        }
        Self::mode_grants(uid, gid, groups, meta, mask)
    }

    /// The mode bits alone: the owner's, the group's or the others' (root included).
    fn mode_grants(uid: u32, gid: u32, groups: &[u32], meta: &Metadata, mask: u32) -> bool {
        let bits = if uid == meta.uid {
            meta.perm >> 6
        } else if gid == meta.gid || groups.contains(&meta.gid) {
            meta.perm >> 3
        } else {
            meta.perm
        } & 7;
        bits & mask == mask
    }
}

/// A process's IDs and supplementary groups, read together.
#[derive(Clone, Debug)]
pub struct Identity {
    /// User and group IDs.
    pub creds: Credentials,
    /// Supplementary groups.
    pub groups: Arc<Vec<u32>>,
}

impl Identity {
    /// Returns whether the filesystem IDs and groups grant `mask` on `node`.
    pub fn may(&self, node: &Node, mask: u32) -> bool {
        let c = &self.creds;
        if node.mode_binds_everyone() {
            return Credentials::mode_grants(
                c.fsuid,
                c.fsgid,
                &self.groups,
                &node.metadata(),
                mask,
            );
        }
        let is_dir = node.kind() == NodeKind::Dir;
        c.may(&self.groups, &node.metadata(), is_dir, mask)
    }

    /// Returns whether the real IDs and groups grant `mask` on `node` (access(2)).
    pub fn may_real(&self, node: &Node, mask: u32) -> bool {
        let c = &self.creds;
        if node.mode_binds_everyone() {
            return Credentials::mode_grants(c.ruid, c.rgid, &self.groups, &node.metadata(), mask);
        }
        let is_dir = node.kind() == NodeKind::Dir;
        c.may_real(&self.groups, &node.metadata(), is_dir, mask)
    }
}

/// A process as the filesystem's permission rules see the caller of an operation: its
/// IDs, supplementary groups, root, working directory and umask, read together.
#[derive(Clone)]
pub struct FsCaller {
    /// IDs and supplementary groups.
    pub identity: Identity,
    /// Root, working directory, umask.
    pub fs: FsContext,
}

impl FsCaller {
    /// Returns a path-resolution start at the working directory.
    pub fn start(&self) -> Start {
        Start {
            root: self.fs.root.clone(),
            dir: self.fs.cwd.clone(),
            searcher: Some(alloc::sync::Arc::new(self.clone())),
            scope: crate::fs::path::Scope::empty(),
        }
    }
}

impl Caller for FsCaller {
    fn may(&self, node: &Node, mask: u32) -> bool {
        self.identity.may(node, mask)
    }

    /// The filesystem IDs, which own new files and decide ownership checks.
    fn fs_ids(&self) -> (u32, u32) {
        (self.identity.creds.fsuid, self.identity.creds.fsgid)
    }

    fn privileged(&self) -> bool {
        self.identity.creds.euid == 0
    }

    fn umask(&self) -> u32 {
        self.fs.umask
    }

    fn in_group(&self, gid: u32) -> bool {
        self.identity.creds.fsgid == gid || self.identity.groups.contains(&gid)
    }
}

ostd::ktest! {
    fn owner_group_and_other_bits_are_checked_in_that_order() {
        let meta = |perm, uid, gid| Metadata {
            ino: 1,
            perm,
            uid,
            gid,
            nlink: 1,
            atime: Default::default(),
            mtime: Default::default(),
            ctime: Default::default(),
        };
        let user =
            Credentials::of(1000, 100);
        assert!(user.may(&[], &meta(0o600, 1000, 0), false, MAY_READ | MAY_WRITE));
        assert!(
            !user.may(&[], &meta(0o077, 1000, 100), false, MAY_READ),
            "owner bits win even when group bits would allow"
        );
        assert!(user.may(&[], &meta(0o040, 0, 100), false, MAY_READ));
        assert!(
            !user.may(&[], &meta(0o004, 0, 100), false, MAY_READ),
            "group bits win over other bits"
        );
        assert!(user.may(&[], &meta(0o004, 0, 0), false, MAY_READ));
        assert!(
            user.may(&[7], &meta(0o040, 0, 7), false, MAY_READ),
            "a supplementary group counts as the group"
        );
        let root = Credentials::default();
        assert!(root.may(&[], &meta(0o000, 5, 5), false, MAY_READ | MAY_WRITE));
        assert!(
            !root.may(&[], &meta(0o644, 5, 5), false, MAY_EXEC),
            "root still needs an execute bit on files"
        );
        assert!(root.may(&[], &meta(0o000, 5, 5), true, MAY_EXEC), "but may search any directory");
    }
}
