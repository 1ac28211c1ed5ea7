//! sysfs: the few files programs read to learn the machine's shape: the CPU topology under
//! /sys/devices/system/cpu (glibc's get_nprocs, stress-ng, lscpu) for the one CPU this kernel
//! runs on, and the CC event log where Linux shows it, /sys/firmware/acpi/tables/CCEL and
//! data/CCEL (`crate::attest::ccel`), and the measurement registers under
//! /sys/devices/virtual/misc, linked from /sys/class/misc (`crate::attest::registers`). The tree is fixed at mount time; only `rtmr3:sha384` takes
//! writes.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::node::{Generated, Node, NodeKind};

const SYSFS_INO_BASE: u64 = 0xe000_0000;
static NEXT_INO: AtomicU64 = AtomicU64::new(SYSFS_INO_BASE);

/// A directory whose entries are fixed.
struct Dir(Vec<(String, Arc<Node>)>);

impl Generated for Dir {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        self.0.clone()
    }
}

/// A file whose contents are fixed.
struct Text(&'static str);

impl Generated for Text {
    fn read(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
}

/// A file whose contents are computed at each open (root-only, as Linux's ACPI tables).
struct Computed(fn() -> Vec<u8>);

impl Generated for Computed {
    fn read(&self) -> Vec<u8> {
        (self.0)()
    }
}

fn computed(contents: fn() -> Vec<u8>) -> Arc<Node> {
    Node::new_generated(NodeKind::File, 0o400, ino(), Computed(contents))
}

fn ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

fn dir(entries: Vec<(&str, Arc<Node>)>) -> Arc<Node> {
    let entries = entries.into_iter().map(|(n, node)| (n.to_string(), node)).collect();
    Node::new_generated(NodeKind::Dir, 0o555, ino(), Dir(entries))
}

/// A symbolic link to `target`.
struct Link(String);

impl Generated for Link {
    fn read(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }
}

fn link(target: String) -> Arc<Node> {
    Node::new_generated(NodeKind::Symlink, 0o777, ino(), Link(target))
}

fn file(contents: &'static str) -> Arc<Node> {
    Node::new_generated(NodeKind::File, 0o444, ino(), Text(contents))
}

/// Creates the root of a sysfs instance.
pub fn new_root() -> Arc<Node> {
    let cpu = dir(alloc::vec![
        ("cpu0", dir(alloc::vec![("online", file("1\n"))])),
        ("kernel_max", file("8191\n")),
        ("offline", file("\n")),
        ("online", file("0\n")),
        ("possible", file("0\n")),
        ("present", file("0\n")),
    ]);
    let system = dir(alloc::vec![("cpu", cpu)]);
    // The platform's measurement registers (crate::attest::registers), where it shows them:
    // the device under devices/virtual/misc, and class/misc's link to it, as on Linux.
    let device = crate::attest::registers::misc_device();
    let virtual_misc: Vec<(&str, Arc<Node>)> = device.clone().into_iter().collect();
    let class_misc: Vec<(&str, Arc<Node>)> = device
        .into_iter()
        .map(|(name, _)| (name, link(alloc::format!("../../devices/virtual/misc/{name}"))))
        .collect();
    let devices = dir(alloc::vec![
        ("system", system),
        ("virtual", dir(alloc::vec![("misc", dir(virtual_misc))]))
    ]);
    let tables = dir(alloc::vec![
        ("CCEL", computed(crate::attest::ccel::table)),
        ("data", dir(alloc::vec![("CCEL", computed(crate::attest::ccel::log))])),
    ]);
    let firmware = dir(alloc::vec![("acpi", dir(alloc::vec![("tables", tables)]))]);
    let class = dir(alloc::vec![("misc", dir(class_misc))]);
    dir(alloc::vec![
        ("class", class),
        ("devices", devices),
        ("firmware", firmware),
        ("fs", dir(alloc::vec![])),
        // The mount point of configfs (`crate::attest::tsm`).
        ("kernel", dir(alloc::vec![("config", dir(alloc::vec![]))]))
    ])
}
