//! procfs: what real programs read from /proc, generated on every read.
//!
//! Global files: meminfo, cpuinfo, uptime, loadavg, mounts, stat, version, filesystems,
//! sysvipc/{msg,sem,shm}, sys/ (the tunables, `crate::sysctl`);
//! `self`; and per process: auxv, stat, status, cmdline, comm, exe, cwd, maps, mem, limits,
//! fd/, ns/, task/TID/ (the same files again, per thread).
//! Formats follow Linux 6.1's (fs/proc/array.c, meminfo.c) so ps, top and free parse them.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::creds::Identity;
use super::pid_ns::{self, PidNamespace};
use super::{Process, registry};
use crate::fs::mount_show;
use crate::fs::node::{Generated, Node, NodeKind};
use crate::fs::nsfs::NsType;

const PROC_INO_BASE: u64 = 0xf000_0000;

struct Text(Box<dyn Fn() -> String + Send + Sync>);

impl Generated for Text {
    fn read(&self) -> Vec<u8> {
        (self.0)().into_bytes()
    }
}

fn text(ino: u64, f: impl Fn() -> String + Send + Sync + 'static) -> Arc<Node> {
    Node::new_generated(NodeKind::File, 0o444, ino, Text(Box::new(f)))
}

fn symlink(ino: u64, f: impl Fn() -> String + Send + Sync + 'static) -> Arc<Node> {
    Node::new_generated(NodeKind::Symlink, 0o777, ino, Text(Box::new(f)))
}

/// Creates the root of a procfs instance: it shows the processes of the mounting process's
/// PID namespace (and those below), under that namespace's numbers, as Linux's proc does.
pub fn new_root() -> Arc<Node> {
    let ns = registry::current().map_or_else(pid_ns::root, |p| p.pid_ns());
    Node::new_generated(NodeKind::Dir, 0o555, PROC_INO_BASE, Root { ns })
}

struct Root {
    ns: Arc<PidNamespace>,
}

const GLOBAL: &[&str] = &[
    "cpuinfo",
    "filesystems",
    "loadavg",
    "meminfo",
    "mounts",
    "self",
    "stat",
    "uptime",
    "version",
    "cmdline",
    "sysvipc",
    "net",
    "locks",
    "sys",
];

impl Generated for Root {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        let mut out: Vec<(String, Arc<Node>)> = registry::all()
            .into_iter()
            .filter_map(|p| {
                let nr = pid_ns::nr_in(p.pid(), &self.ns)?;
                Some((nr.to_string(), pid_dir(p.pid(), &self.ns)?))
            })
            .collect();
        out.extend(GLOBAL.iter().filter_map(|&name| Some((name.to_string(), self.lookup(name)?))));
        out
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let ino = PROC_INO_BASE + 1 + GLOBAL.iter().position(|&g| g == name).unwrap_or(0) as u64;
        Some(match name {
            "self" => {
                let ns = self.ns.clone();
                symlink(ino, move || {
                    let me = registry::current().and_then(|p| pid_ns::nr_in(p.pid(), &ns));
                    me.map_or(String::from("0"), |nr| nr.to_string())
                })
            }
            "meminfo" => text(ino, meminfo),
            "cpuinfo" => text(ino, cpuinfo),
            "uptime" => text(ino, || {
                let ns = crate::time::monotonic_ns();
                format!("{}.{:02} 0.00\n", ns / 1_000_000_000, (ns / 10_000_000) % 100)
            }),
            "loadavg" => text(ino, || {
                let n = registry::all().len();
                let last = registry::all().iter().map(|p| p.pid()).max().unwrap_or(0);
                format!("0.00 0.00 0.00 1/{n} {last}\n")
            }),
            "mounts" => text(ino, mounts),
            "cmdline" => text(ino, || format!("{}\n", ostd::boot::boot_info().cmdline.as_str())),
            "stat" => text(ino, stat),
            "version" => text(ino, || {
                String::from("Linux version 6.1.0-cocoon (cocoon 0.1.0) #1 SMP PREEMPT\n")
            }),
            "filesystems" => text(ino, || {
                String::from(
                    "nodev\tramfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\tsysfs\n\
                     nodev\tdevpts\n\text2\n",
                )
            }),
            "sysvipc" => Node::new_generated(NodeKind::Dir, 0o555, ino, SysvIpc),
            "locks" => text(ino, || {
                let mut out = String::new();
                let next = crate::fs::record_lock::proc_lines(&mut out, 1);
                let next = crate::fs::flock::proc_lines(&mut out, next);
                crate::fs::lease::proc_lines(&mut out, next);
                out
            }),
            "net" => Node::new_generated(NodeKind::Dir, 0o555, ino, Net),
            "sys" => crate::sysctl::new_root(),
            nr => pid_dir(pid_ns::global_in(nr.parse().ok()?, &self.ns)?, &self.ns)?,
        })
    }
}

/// /proc/net: the interfaces' counters and the routes (`crate::net::procfs`).
struct Net;

impl Generated for Net {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        crate::net::procfs::names()
            .iter()
            .filter_map(|&name| Some((name.to_string(), self.lookup(name)?)))
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let at = crate::net::procfs::names().iter().position(|&n| n == name)?;
        crate::net::procfs::text(name)?;
        // Below PROC_INO_BASE, under /proc/sysvipc/shm's number.
        let owned = String::from(name);
        Some(text(PROC_INO_BASE - 2 - at as u64, move || {
            crate::net::procfs::text(&owned).unwrap_or_default()
        }))
    }
}

/// /proc/sysvipc: the System V IPC objects.
struct SysvIpc;

impl Generated for SysvIpc {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        // Below PROC_INO_BASE: the numbers above it belong to the global files and to
        // the per-process directories (and /proc/net's files count down from - 2).
        let msg = text(PROC_INO_BASE - 0x40, crate::ipc::msg::proc_listing);
        let sem = text(PROC_INO_BASE - 0x41, crate::ipc::sem::proc_listing);
        let shm = text(PROC_INO_BASE - 1, crate::ipc::shm::proc_listing);
        alloc::vec![
            (String::from("msg"), msg),
            (String::from("sem"), sem),
            (String::from("shm"), shm)
        ]
    }
}

fn meminfo() -> String {
    let f = ostd::mm::frame_stats();
    let (total, free) = (f.total * 4, f.free * 4);
    let mut s = String::new();
    for (k, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Shmem", 0),
        ("Slab", 0),
    ] {
        s.push_str(&format!("{:<16}{:>8} kB\n", format!("{k}:"), v));
    }
    s
}

fn cpuinfo() -> String {
    let c = ostd::cpu::features();
    let mhz = ostd::time::tsc_hz() / 1_000_000;
    let flags: Vec<&str> = c.names().collect();
    format!(
        "processor\t: 0\nvendor_id\t: {}\nmodel name\t: {}\ncpu MHz\t\t: {mhz}.000\ncpu cores\t: \
         1\nflags\t\t: fpu sse sse2 {}\n\n",
        c.vendor_str(),
        c.brand_str(),
        flags.join(" ")
    )
}

/// /proc/mounts: the reader's mount namespace's (/proc/self/mounts through the link).
fn mounts() -> String {
    let root = registry::current().map_or_else(crate::fs::root, |p| p.fs_context().root);
    crate::fs::mount_show::mounts_text(&crate::fs::mount_ns::current(), &root)
}

/// /proc/stat. The CPU line counts user, kernel and idle time in USER_HZ (100 Hz) ticks, as
/// top and vmstat read them; nice, iowait, irq, softirq, steal and guest time stay 0.
/// Interrupts count where they land: in `system` while a task runs, in `idle` while none does.
fn stat() -> String {
    let usage = ostd::task::cpu_usage();
    let tick = |ns: u64| ns / 10_000_000;
    let (user, system, idle) = (tick(usage.user_ns), tick(usage.system_ns), tick(usage.idle_ns));
    let boot = crate::time::realtime().sec - (crate::time::monotonic_ns() / 1_000_000_000) as i64;
    let cpu = format!("{user} 0 {system} {idle} 0 0 0 0 0 0");
    format!(
        "cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt {}\nbtime {boot}\nprocesses {}\nprocs_running 1\n\
         procs_blocked 0\n",
        usage.context_switches,
        registry::all().len()
    )
}

/// The PID a /proc/PID directory stands for (pidfd_send_signal accepts those as pidfds).
pub fn pid_of_dir(node: &Node) -> Option<i32> {
    let ino = node.metadata().ino;
    let offset = ino.checked_sub(PROC_INO_BASE)?;
    (node.kind() == NodeKind::Dir && offset > 0 && offset & 0xff == 0)
        .then_some((offset >> 8) as i32)
}

/// /proc/PID for process `pid` (machine-wide number), as a procfs of namespace `ns` shows it.
fn pid_dir(pid: i32, ns: &Arc<PidNamespace>) -> Option<Arc<Node>> {
    registry::get(pid)?;
    let dir = PidDir { pid, thread: false, ns: ns.clone() };
    Some(owned_by_process(
        pid,
        Node::new_generated(NodeKind::Dir, 0o555, PROC_INO_BASE + ((pid as u64) << 8), dir),
    ))
}

/// Gives a /proc/PID node the process's effective user and group, as Linux does for a
/// dumpable process (a non-dumpable one's files stay root's), so that a program can read its
/// own /proc/self/fd (mode 0500) after dropping privileges.
fn owned_by_process(pid: i32, node: Arc<Node>) -> Arc<Node> {
    if let Some(p) = registry::get(pid).filter(|p| p.attrs().dumpable) {
        let creds = p.creds();
        node.update_metadata(|m| {
            m.uid = creds.euid;
            m.gid = creds.egid;
        });
    }
    node
}

/// /proc/PID, or with `thread` /proc/PID/task/TID: the same files, which describe the
/// process (no "task" inside a thread's directory).
struct PidDir {
    pid: i32,
    thread: bool,
    /// The namespace of the procfs it is in, whose numbers it shows.
    ns: Arc<PidNamespace>,
}

const PID_ENTRIES: &[&str] = &[
    "auxv",
    "cmdline",
    "comm",
    "cwd",
    "exe",
    "fd",
    "maps",
    "mem",
    "task",
    "stat",
    "status",
    "limits",
    "mounts",
    "mountinfo",
    "ns",
];

impl Generated for PidDir {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        PID_ENTRIES.iter().filter_map(|&n| Some((n.to_string(), self.lookup(n)?))).collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let pid = self.pid;
        if self.thread && name == "task" {
            return None;
        }
        let ino = PROC_INO_BASE
            + ((pid as u64) << 8)
            + 1
            + PID_ENTRIES.iter().position(|&e| e == name)? as u64;
        let with = move |f: fn(&Process) -> String| {
            move || registry::get(pid).map_or_else(String::new, |p| f(&p))
        };
        let ns = self.ns.clone();
        let with_ns = move |f: fn(&Process, &PidNamespace) -> String| {
            let ns = ns.clone();
            move || registry::get(pid).map_or_else(String::new, |p| f(&p, &ns))
        };
        Some(match name {
            "cmdline" => {
                text(ino, with(|p| p.cmdline().iter().map(|a| format!("{a}\0")).collect()))
            }
            "comm" => text(ino, with(|p| format!("{}\n", p.comm()))),
            "exe" => symlink(ino, with(|p| p.exe())),
            "cwd" => symlink(
                ino,
                with(|p| {
                    let fs = p.fs_context();
                    crate::fs::path::absolute_path(&fs.root, &fs.cwd)
                }),
            ),
            "stat" => text(ino, with_ns(stat_line)),
            "status" => text(ino, with_ns(status)),
            "maps" => text(ino, with(maps)),
            "mem" => Node::new_generated(NodeKind::File, 0o600, ino, super::proc_mem::ProcMem(pid)),
            // Mode 0400 as on Linux, which also asks for ptrace read access.
            "auxv" => Node::new_generated(NodeKind::File, 0o400, ino, Auxv(pid)),
            "limits" => text(ino, with(Process::limits_text)),
            "mounts" => text(
                ino,
                with(|p| mount_show::mounts_text(&p.mount_namespace(), &p.fs_context().root)),
            ),
            "mountinfo" => text(
                ino,
                with(|p| mount_show::mountinfo_text(&p.mount_namespace(), &p.fs_context().root)),
            ),
            "fd" => Node::new_generated(NodeKind::Dir, 0o500, ino, FdDir(pid)),
            "ns" => Node::new_generated(NodeKind::Dir, 0o511, ino, NsDir(pid)),
            "task" => {
                Node::new_generated(NodeKind::Dir, 0o555, ino, TaskDir { pid, ns: self.ns.clone() })
            }
            _ => return None,
        })
        .map(|node| owned_by_process(pid, node))
    }
}

/// /proc/PID/auxv: the auxiliary vector exec gave the process (gdb reads AT_ENTRY and AT_PHDR
/// there to find where a position-independent program was loaded).
struct Auxv(i32);

impl Generated for Auxv {
    fn read(&self) -> Vec<u8> {
        registry::get(self.0).map_or_else(Vec::new, |p| p.vm().saved_auxv())
    }
}

/// /proc/PID/task: a directory per thread, named by its TID as the procfs's PID namespace
/// numbers it (gdb opens /proc/PID/task/TID/mem).
struct TaskDir {
    pid: i32,
    ns: Arc<PidNamespace>,
}

impl Generated for TaskDir {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        registry::threads_of(self.pid)
            .iter()
            .filter_map(|t| {
                let name = pid_ns::nr_in(t.tid(), &self.ns)?.to_string();
                Some((name.clone(), self.lookup(&name)?))
            })
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let tid = pid_ns::global_in(name.parse().ok()?, &self.ns)?;
        registry::threads_of(self.pid).iter().find(|t| t.tid() == tid)?;
        let node = Node::new_generated(
            NodeKind::Dir,
            0o555,
            PROC_INO_BASE + ((tid as u64) << 8),
            PidDir { pid: self.pid, thread: true, ns: self.ns.clone() },
        );
        Some(owned_by_process(self.pid, node))
    }
}

fn state(p: &Process) -> (char, &'static str) {
    if p.is_zombie() {
        ('Z', "zombie")
    } else if super::ptrace::control::in_stop(p) {
        ('t', "tracing stop")
    } else if p.is_stopped() {
        ('T', "stopped")
    } else if registry::current().is_some_and(|c| c.pid() == p.pid()) {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

fn vm_kb(p: &Process) -> u64 {
    p.vm().areas().iter().map(|a| a.end - a.start).sum::<u64>() / 1024
}

/// Clock ticks (USER_HZ, 100 per second) in `ns`.
fn ticks(ns: u64) -> u64 {
    ns / 10_000_000
}

fn stat_line(p: &Process, ns: &PidNamespace) -> String {
    let nr = |global: i32| pid_ns::nr_in(global, ns).unwrap_or(0);
    let (st, _) = state(p);
    let (cpu, children) = (p.cpu_time(), p.children_cpu_time());
    let nice = p.nice();
    format!(
        "{} ({}) {st} {} {} {} 0 -1 4194304 0 0 0 0 {} {} {} {} {} {nice} {} 0 0 {} 0 \
         18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        nr(p.pid()),
        p.comm(),
        nr(p.ppid()),
        nr(p.pgid()),
        nr(p.sid()),
        ticks(cpu.user_ns),
        ticks(cpu.system_ns()),
        ticks(children.user_ns),
        ticks(children.system_ns()),
        20 + nice,
        p.thread_count().max(1),
        vm_kb(p) * 1024,
    )
}

fn status(p: &Process, ns: &PidNamespace) -> String {
    let nr = |global: i32| pid_ns::nr_in(global, ns).unwrap_or(0);
    // Each number in every namespace from the procfs's down to the process's own.
    let levels = pid_ns::levels_from(p.pid(), ns);
    let chain = |global: i32| {
        let numbers = levels.iter().map(|n| pid_ns::nr_in(global, n).unwrap_or(0).to_string());
        numbers.collect::<Vec<_>>().join("\t")
    };
    let (st, name) = state(p);
    let (caught, ignored, shared_pending) = p.with_signals(|s| {
        let with_handler = |pick: fn(u64) -> bool| {
            s.actions
                .all()
                .iter()
                .enumerate()
                .filter(|(_, a)| pick(a.handler))
                .fold(0u64, |m, (i, _)| m | 1 << i)
        };
        (with_handler(|h| h > 1), with_handler(|h| h == 1), s.shared.pending())
    });
    let main = registry::thread_of(p.pid(), p.pid());
    // The thread group leader's, as Linux's /proc/PID/status shows.
    let switches = registry::task_of(p.pid(), p.pid()).map_or((0, 0), |t| t.context_switches());
    let seccomp = main.as_ref().map(|t| t.seccomp()).unwrap_or_default();
    let all_caps = crate::process::creds::ALL_CAPABILITIES;
    // Read apart: a lock guard in format!'s arguments would live through the whole call.
    let locked_kb = p.vm().areas().locked_bytes(0, u64::MAX) / 1024;
    let Identity { creds, groups } = p.identity();
    // Linux separates the groups with spaces and always ends the list with one.
    let groups = groups.iter().map(|g| g.to_string()).collect::<Vec<_>>().join(" ") + " ";
    format!(
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{st} ({name})\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n\
         PPid:\t{}\nTracerPid:\t{}\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\n\
         Groups:\t{groups}\nNStgid:\t{ns_pids}\nNSpid:\t{ns_pids}\nNSpgid:\t{ns_pgid}\nNSsid:\t{ns_sid}\nVmSize:\t{:>8} kB\nVmLck:\t{:>8} kB\nVmRSS:\t{:>8} kB\nThreads:\t{}\nSigPnd:\t{:016x}\n\
         ShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}\n\
         CapInh:\t0000000000000000\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\n\
         CapBnd:\t{all_caps:016x}\nCapAmb:\t0000000000000000\nNoNewPrivs:\t{}\nSeccomp:\t{}\n\
         Seccomp_filters:\t{}\nvoluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n",
        p.comm(),
        p.fs_context().umask,
        nr(p.ppid()),
        nr(super::ptrace::control::tracer_pid(p)),
        creds.ruid,
        creds.euid,
        creds.suid,
        creds.fsuid,
        creds.rgid,
        creds.egid,
        creds.sgid,
        creds.fsgid,
        vm_kb(p),
        locked_kb,
        vm_kb(p),
        p.thread_count().max(1),
        main.as_ref().map_or(0, |t| t.with_signals(|t| t.private.pending())),
        shared_pending,
        main.as_ref().map_or(0, |t| t.blocked()),
        u8::from(p.attrs().no_new_privs),
        seccomp.mode.number(),
        seccomp.filter_count(),
        switches.0,
        switches.1,
        caps = if creds.euid == 0 { all_caps } else { 0 },
        ns_pgid = chain(p.pgid()),
        ns_sid = chain(p.sid()),
        pid = nr(p.pid()),
        ns_pids = chain(p.pid()),
    )
}

fn maps(p: &Process) -> String {
    // Paths are relative to the reader's root, as Linux's d_path.
    let root = registry::current().map_or_else(|| p.fs_context().root, |r| r.fs_context().root);
    crate::process::vm::maps::text(&p.vm(), &root)
}

struct FdDir(i32);

impl Generated for FdDir {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        let Some(p) = registry::get(self.0) else { return Vec::new() };
        let fds: Vec<i32> = p.with_files(|files| files.fds().map(|(fd, _)| fd).collect());
        fds.into_iter()
            .filter_map(|fd| Some((fd.to_string(), self.lookup(&fd.to_string())?)))
            .collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let fd: i32 = name.parse().ok()?;
        let p = registry::get(self.0)?;
        let file = p.file(fd).ok()?;
        let target = match file.node() {
            Some(node) => {
                let root = p.fs_context().root;
                if node.kind() == NodeKind::Dir {
                    crate::fs::path::absolute_path(&root, node)
                } else {
                    let st = file.stat();
                    if st.rdev != 0 {
                        crate::fs::devfs::path_of(st.rdev as u32)
                    } else {
                        format!("/proc/{}/fd/{fd}", self.0)
                    }
                }
            }
            None => format!("pipe:[{}]", file.stat().ino),
        };
        let target = match crate::fs::nsfs::ns_file_of(&*file) {
            Some(ns) => crate::fs::nsfs::link_text(ns.ns_type(), ns.inum()),
            None => target,
        };
        Some(Node::new_generated(
            NodeKind::Symlink,
            0o777,
            PROC_INO_BASE + ((self.0 as u64) << 8) + 0x80 + fd as u64,
            FdLink { target, file },
        ))
    }
}

/// /proc/[pid]/fd/N: reads as a path, opens as the file itself.
struct FdLink {
    target: String,
    file: Arc<dyn crate::fs::FileLike>,
}

impl Generated for FdLink {
    fn read(&self) -> Vec<u8> {
        self.target.clone().into_bytes()
    }

    fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        Some(self.file.clone())
    }
}

/// /proc/[pid]/ns: a link per namespace kind, `pid_for_children` and `time_for_children`
/// too (the same namespaces here: none of those kinds is ever divided).
struct NsDir(i32);

const NS_ENTRIES: &[(&str, NsType)] = &[
    ("cgroup", NsType::Cgroup),
    ("ipc", NsType::Ipc),
    ("mnt", NsType::Mnt),
    ("net", NsType::Net),
    ("pid", NsType::Pid),
    ("pid_for_children", NsType::Pid),
    ("time", NsType::Time),
    ("time_for_children", NsType::Time),
    ("user", NsType::User),
    ("uts", NsType::Uts),
];

impl Generated for NsDir {
    fn entries(&self) -> Vec<(String, Arc<Node>)> {
        NS_ENTRIES.iter().filter_map(|&(n, _)| Some((n.to_string(), self.lookup(n)?))).collect()
    }

    fn lookup(&self, name: &str) -> Option<Arc<Node>> {
        let index = NS_ENTRIES.iter().position(|&(n, _)| n == name)?;
        let namespaces = registry::get(self.0)?.namespaces();
        let file = match NS_ENTRIES[index].0 {
            "pid_for_children" => namespaces.pid_for_children_file(),
            _ => namespaces.file(NS_ENTRIES[index].1),
        };
        let ino = PROC_INO_BASE + ((self.0 as u64) << 8) + 0x70 + index as u64;
        Some(owned_by_process(
            self.0,
            Node::new_generated(NodeKind::Symlink, 0o777, ino, NsLink(file)),
        ))
    }
}

/// /proc/[pid]/ns/NAME: reads as `NAME:[inode]`, opens as the namespace.
struct NsLink(Arc<crate::fs::nsfs::NsFile>);

impl Generated for NsLink {
    fn read(&self) -> Vec<u8> {
        crate::fs::nsfs::link_text(self.0.ns_type(), self.0.inum()).into_bytes()
    }

    fn magic_file(&self) -> Option<Arc<dyn crate::fs::FileLike>> {
        Some(self.0.clone())
    }
}
