//! The mount table as text: /proc/mounts and /proc/PID/mountinfo, in Linux's formats
//! (fs/proc_namespace.c: show_vfsmnt and show_mountinfo).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::mount::{Mount, is_below};
use super::mount_ns::MountNamespace;
use super::node::Node;

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

/// The mounts of namespace `ns` that a process whose root directory is `root` can reach,
/// each with its mount point as that process names it, and whether the in-memory rootfs
/// is among them. Linux skips the rest (seq_path_root): a chroot shows only what lies at
/// or below it, named from it.
fn reachable(ns: &MountNamespace, root: &Arc<Node>) -> (Vec<(Mount, String)>, bool) {
    let mounts = ns.lock().clone();
    let memory_root = super::root();
    // The namespace's own root: a disk mounted as `/`, else the in-memory root.
    let top =
        mounts.iter().find(|m| m.target == "/").map_or(memory_root.clone(), |m| m.root.clone());
    if Arc::ptr_eq(root, &top) {
        let shows_rootfs = Arc::ptr_eq(&top, &memory_root);
        let named = mounts.into_iter().map(|m| {
            let target = m.target.clone();
            (m, target)
        });
        return (named.collect(), shows_rootfs);
    }
    let shown = mounts
        .into_iter()
        .filter_map(|m| {
            let target = if Arc::ptr_eq(&m.root, root) {
                String::from("/")
            } else if is_below(&m.point, root) {
                super::path::absolute_path(root, &m.root)
            } else {
                return None;
            };
            Some((m, target))
        })
        .collect();
    (shown, Arc::ptr_eq(root, &memory_root))
}

/// The text of /proc/mounts: one line per mount of namespace `ns` that a process whose root
/// is `root` reaches, "source target type options 0 0".
pub fn mounts_text(ns: &MountNamespace, root: &Arc<Node>) -> String {
    let (mounts, shows_rootfs) = reachable(ns, root);
    // The in-memory rootfs is hidden once a disk is mounted over it as `/` (Linux shows
    // only what the reader's root can reach).
    let mut s = String::from(if shows_rootfs { "rootfs / rootfs rw 0 0\n" } else { "" });
    for (m, target) in &mounts {
        let options = mounts_options(m);
        let (source, target) = (escaped(&m.source), escaped(target));
        s.push_str(&format!("{source} {target} {} {options} 0 0\n", escaped(&m.fstype)));
    }
    s
}

/// The text of /proc/PID/mountinfo: "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS - TYPE SOURCE
/// SUPER-OPTIONS" per mount of namespace `ns` that a process whose root is `root` reaches
/// (no propagation fields: every mount here is private).
pub fn mountinfo_text(ns: &MountNamespace, root: &Arc<Node>) -> String {
    let (mounts, shows_rootfs) = reachable(ns, root);
    let mut s = String::from(if shows_rootfs { "1 1 0:1 / / rw - rootfs rootfs rw\n" } else { "" });
    for (m, target) in &mounts {
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
            escaped(target),
            m.flags.describe(),
            escaped(&m.fstype),
            escaped(&m.source),
            super_options(m)
        ));
    }
    s
}
