//! Per-mount flags (Linux's MNT_*): read-only, nosuid, nodev, noexec and the atime policy.
//!
//! They belong to a mount, not to the filesystem under it: mount(2) sets them from its
//! MS_* flags, a remount replaces them, and each kind of operation asks once
//! ([`super::mount::require_writable`], [`super::mount::flags_of`]) whether they forbid it.

use alloc::string::String;

/// mount(2)'s MS_* flags this module reads.
pub mod ms {
    /// MS_RDONLY.
    pub const RDONLY: u64 = 1;
    /// MS_NOSUID.
    pub const NOSUID: u64 = 2;
    /// MS_NODEV.
    pub const NODEV: u64 = 4;
    /// MS_NOEXEC.
    pub const NOEXEC: u64 = 8;
    /// MS_REMOUNT.
    pub const REMOUNT: u64 = 32;
    /// MS_NOATIME.
    pub const NOATIME: u64 = 1024;
    /// MS_NODIRATIME.
    pub const NODIRATIME: u64 = 2048;
    /// MS_BIND.
    pub const BIND: u64 = 4096;
    /// MS_MOVE.
    pub const MOVE: u64 = 8192;
    /// MS_REC.
    pub const REC: u64 = 16384;
    /// MS_SILENT.
    pub const SILENT: u64 = 32768;
    /// MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED: the propagation types.
    pub const PROPAGATION: u64 = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
    /// MS_RELATIME.
    pub const RELATIME: u64 = 1 << 21;
    /// MS_STRICTATIME.
    pub const STRICTATIME: u64 = 1 << 24;
}

/// The flags of one mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MountFlags {
    /// MNT_READONLY: nothing on the mount may change (EROFS).
    pub read_only: bool,
    /// MNT_NOSUID: execve ignores set-user-ID and set-group-ID bits.
    pub nosuid: bool,
    /// MNT_NODEV: device nodes do not open (EACCES).
    pub nodev: bool,
    /// MNT_NOEXEC: nothing executes or maps executable (EACCES).
    pub noexec: bool,
    /// The atime policy.
    pub atime: Atime,
}

/// When reads update access times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Atime {
    /// relatime, Linux's default.
    #[default]
    Relative,
    /// noatime.
    Never,
    /// strictatime (shown as nothing).
    Strict,
    /// nodiratime with relatime.
    RelativeNoDir,
}

impl MountFlags {
    /// The flags mount(2) gives a new mount from its MS_* `flags` (Linux's path_mount: relatime
    /// unless told otherwise).
    pub fn from_ms(flags: u64) -> Self {
        let atime = if flags & ms::NOATIME != 0 {
            Atime::Never
        } else if flags & ms::STRICTATIME != 0 {
            Atime::Strict
        } else if flags & ms::NODIRATIME != 0 {
            Atime::RelativeNoDir
        } else {
            Atime::Relative
        };
        Self {
            read_only: flags & ms::RDONLY != 0,
            nosuid: flags & ms::NOSUID != 0,
            nodev: flags & ms::NODEV != 0,
            noexec: flags & ms::NOEXEC != 0,
            atime,
        }
    }

    /// The flags a remount with MS_* `flags` leaves on a mount that had `self`: all replaced,
    /// except the atime policy, which stays unless the remount names one (as Linux's).
    pub fn remounted(self, flags: u64) -> Self {
        let mut new = Self::from_ms(flags);
        let names_atime =
            flags & (ms::NOATIME | ms::NODIRATIME | ms::RELATIME | ms::STRICTATIME) != 0;
        if !names_atime {
            new.atime = self.atime;
        }
        new
    }

    /// The per-mount options as /proc/mounts and mountinfo print them: "rw" or "ro", then
    /// nosuid, nodev, noexec and the atime policy, in Linux's order (show_mnt_opts).
    pub fn describe(self) -> String {
        let mut s = String::from(if self.read_only { "ro" } else { "rw" });
        for (set, name) in [(self.nosuid, "nosuid"), (self.nodev, "nodev"), (self.noexec, "noexec")]
        {
            if set {
                s.push(',');
                s.push_str(name);
            }
        }
        s.push_str(match self.atime {
            Atime::Relative => ",relatime",
            Atime::Never => ",noatime",
            Atime::Strict => "",
            Atime::RelativeNoDir => ",nodiratime,relatime",
        });
        s
    }
}

ostd::ktest! {
    fn mount_flags_print_as_linux_and_remount_keeps_the_atime_policy() {
        let f = MountFlags::from_ms(ms::RDONLY | ms::NOSUID | ms::NOEXEC | ms::NOATIME);
        assert_eq!(f.describe(), "ro,nosuid,noexec,noatime");
        let r = f.remounted(ms::REMOUNT | ms::NODEV);
        assert_eq!(r.describe(), "rw,nodev,noatime");
        assert_eq!(MountFlags::from_ms(ms::STRICTATIME).describe(), "rw");
        assert_eq!(MountFlags::default().describe(), "rw,relatime");
    }
}
