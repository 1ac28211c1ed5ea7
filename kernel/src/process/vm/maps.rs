//! /proc/PID/maps: one line per area, as Linux 6.1's `show_map_vma` writes it.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Area, Prot, STACK_TOP, Vm};
use crate::fs::Node;

/// Linux pads the fixed fields to this width (`25 + sizeof(void *) * 6 - 1`) before a name.
const NAME_COLUMN: usize = 72;

/// The text of /proc/PID/maps for `vm`, with file paths relative to `root` (the reader's).
pub fn text(vm: &Vm, root: &Arc<Node>) -> String {
    // Copy the areas out: naming a file may read a directory, which may sleep, and the
    // areas' lock is a spin lock the fault handler takes.
    let areas: Vec<Area> = vm.areas().iter().cloned().collect();
    let mut s = String::new();
    // A file mapped several times (a program's segments) is named once: naming it reads
    // its directory.
    let mut named: Vec<(*const Node, String)> = Vec::new();
    for a in &areas {
        let name = a.mapped.as_ref().map(|m| {
            match named.iter().find(|(n, _)| core::ptr::eq(*n, &*m.node)) {
                Some((_, path)) => path.clone(),
                None => {
                    let path = m.path(root);
                    named.push((Arc::as_ptr(&m.node), path.clone()));
                    path
                }
            }
        });
        line(&mut s, a, name);
    }
    s
}

/// Appends the line of area `a`; `file_path` names its file, if it maps one.
fn line(s: &mut String, a: &Area, file_path: Option<String>) {
    let flag = |p: Prot, c: char| if a.prot.contains(p) { c } else { '-' };
    let (offset, (major, minor, ino)) =
        a.mapped.as_ref().map_or((0, (0, 0, 0)), |m| (m.offset, m.device_and_inode()));
    let start = s.len();
    s.push_str(&format!(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        a.start,
        a.end,
        flag(Prot::READ, 'r'),
        flag(Prot::WRITE, 'w'),
        flag(Prot::EXEC, 'x'),
        if a.shared { 's' } else { 'p' },
        offset,
        major,
        minor,
        ino,
    ));
    let name = match file_path {
        Some(path) => Some(path),
        // brk's areas (Linux names the area over start_brk..brk).
        None if a.heap => Some(String::from("[heap]")),
        // Linux's is_stack: the area holding the stack pointer exec started the program with.
        None if a.start < STACK_TOP && STACK_TOP <= a.end => Some(String::from("[stack]")),
        None => None,
    };
    if let Some(name) = name {
        // seq_pad: spaces up to the column, then one more.
        while s.len() - start < NAME_COLUMN {
            s.push(' ');
        }
        s.push(' ');
        s.push_str(&name);
    }
    s.push('\n');
}
