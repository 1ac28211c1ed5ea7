//! The mount table as text: /proc/mounts and /proc/PID/mountinfo, in Linux's formats
//! (fs/proc_namespace.c: show_vfsmnt and show_mountinfo).

use alloc::format;
use alloc::string::String;

use super::mount::Mount;
use super::mount_ns::MountNamespace;

/// Escapes space, tab, newline and backslash as `\ooo`, as Linux's seq_escape does for the
/// fields of these files (a mount point named "a b" shows as `a\040b`).
fn escaped(field: &str) -> String {
    let mut s = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => s.push_str(&format!("\\{:03o}", c as u32)),
            c => s.push(c),
        }
    }
    s
}

/// The per-mount options then the filesystem's, as /proc/mounts shows them.
fn mounts_options(m: &Mount) -> String {
    format!("{}{}", m.flags.describe(), m.fs_options())
}

/// The super-block options mountinfo shows after the filesystem type and source: "ro" or
/// "rw", then the filesystem's own.
fn super_options(m: &Mount) -> String {
    let read_only =
        m.flags.read_only || m.root.disk().is_some_and(|d| d.mount().fs().statfs().read_only);
    format!("{}{}", if read_only { "ro" } else { "rw" }, m.fs_options())
}

/// The text of /proc/mounts: one line per mount of namespace `ns`, "source target type
/// options 0 0".
pub fn mounts_text(ns: &MountNamespace) -> String {
    let mounts = ns.lock().clone();
    // The in-memory rootfs is hidden once a disk is mounted over it as `/` (Linux shows
    // only what the reader's root can reach).
    let disk_root = mounts.iter().any(|m| m.target == "/");
    let mut s = String::from(if disk_root { "" } else { "rootfs / rootfs rw 0 0\n" });
    for m in &mounts {
        let options = mounts_options(m);
        let (source, target) = (escaped(&m.source), escaped(&m.target));
        s.push_str(&format!("{source} {target} {} {options} 0 0\n", escaped(&m.fstype)));
    }
    s
}

/// The text of /proc/PID/mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS - TYPE SOURCE
/// SUPER-OPTIONS" per mount of namespace `ns` (no propagation fields: every mount here is
/// private).
pub fn mountinfo_text(ns: &MountNamespace) -> String {
    let mounts = ns.lock().clone();
    let disk_root = mounts.iter().any(|m| m.target == "/");
    let mut s = String::from(if disk_root { "" } else { "1 1 0:1 / / rw - rootfs rootfs rw\n" });
    for m in &mounts {
        let dev = m.root.dev() as u32;
        let (major, minor) = if m.root.disk().is_some() || m.tmpfs.is_some() {
            (super::devfs::major(dev), super::devfs::minor(dev))
        } else {
            (0, m.id)
        };
        s.push_str(&format!(
            "{} {} {major}:{minor} {} {} {} - {} {} {}\n",
            m.id,
            m.parent_id,
            escaped(&m.root_path),
            escaped(&m.target),
            m.flags.describe(),
            escaped(&m.fstype),
            escaped(&m.source),
            super_options(m)
        ));
    }
    s
}
