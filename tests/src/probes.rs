//! The reference probes: each boots Linux 6.1 and our kernel in the same QEMU with the same
//! busybox image (a script, the probe's own static C programs, Debian programs copied from the
//! host with their libraries) and passes when the two outputs are identical. `make test` runs
//! every entry of [`PROBES`]; `ref-run NAME KERNEL_ELF` runs one and shows the differences.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::qemu::{BootOutcome, BootSpec, Disk, boot};
use crate::reference::{
    VIRTIO_BLK_MODULES, VIRTIO_NET_MODULES, build_image_with_host_programs, compile_static_c,
    judge, linux_kernel, linux_modules, require_probe_source, write_pattern_disk,
};

/// The device a probe's two kernels get (each its own fresh copy).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RefDisk {
    /// Neither a disk nor a NIC.
    None,
    /// 8 MiB whose sector k starts with k (tests/ref/vdisk.sh); Linux gets its virtio-blk
    /// modules.
    Pattern,
    /// An mke2fs image of the ext2 workload's tree (tests/ref/ext2.sh); afterwards both
    /// disks must pass e2fsck and hold the same tree.
    Ext2,
    /// No disk: a virtio NIC on slirp instead, and Linux's virtio-net modules
    /// (tests/ref/netconf.sh).
    Nic,
    /// No disk; Linux gets its loop module, which our kernel has built in
    /// (tests/ref/mounts.sh).
    Loop,
}

/// One probe: what it shows (the line `make test` prints) and what it runs.
pub struct Probe<'a> {
    /// What a pass shows, as `make test` prints it.
    pub what: &'a str,
    /// The busybox script, tests/ref/NAME.sh; NAME names the probe.
    pub script: &'a str,
    /// C programs compiled statically and put in /bin under their stem's name.
    pub c_sources: &'a [&'a str],
    /// Debian programs from the host, with their shared libraries.
    pub host_programs: &'a [&'a str],
    /// The device each kernel gets.
    pub disk: RefDisk,
}

impl Probe<'_> {
    /// The script's stem: the probe's name, and its work directory's.
    pub fn name(&self) -> &str {
        Path::new(self.script).file_stem().and_then(|s| s.to_str()).unwrap_or("ref")
    }
}

/// Debian programs (glibc, dynamically linked) that tests/ref/dynamic.sh runs.
const DYNAMIC_PROGRAMS: &[&str] = &[
    "/usr/bin/printf",
    "/usr/bin/sort",
    "/usr/bin/md5sum",
    "/usr/bin/ls",
    "/usr/bin/cat",
    "/usr/bin/wc",
    "/usr/bin/env",
    "/usr/bin/stat",
];

/// Debian's gdb (and env, a small position-independent program for it to debug) and what gdb
/// reads at start: its Python modules (/usr/share/gdb) and the part of Python's standard
/// library that its embedded interpreter imports (`PYTHONVERBOSE=1 gdb -batch` lists them;
/// __future__ is for libc's auto-loaded gdb script; gdb's host charset in the C locale is
/// ASCII), with their compiled caches so that the guest does not compile them. os.py and
/// lib-dynload (one small module in it) are the landmarks by which Python finds its library:
/// without them it warns at start. gdb converts names to UTF-32 with iconv, which loads
/// glibc's converter.
const GDB_FILES: &[&str] = &[
    "/usr/bin/gdb",
    "/usr/bin/env",
    "/usr/share/gdb",
    "/usr/lib/python3.11/lib-dynload/_typing.cpython-311-x86_64-linux-gnu.so",
    "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
    "/usr/lib/x86_64-linux-gnu/gconv/UTF-32.so",
    "/usr/lib/python3.11/encodings/__init__.py",
    "/usr/lib/python3.11/encodings/__pycache__/__init__.cpython-311.pyc",
    "/usr/lib/python3.11/encodings/aliases.py",
    "/usr/lib/python3.11/encodings/__pycache__/aliases.cpython-311.pyc",
    "/usr/lib/python3.11/encodings/ascii.py",
    "/usr/lib/python3.11/encodings/__pycache__/ascii.cpython-311.pyc",
    "/usr/lib/python3.11/encodings/utf_8.py",
    "/usr/lib/python3.11/encodings/__pycache__/utf_8.cpython-311.pyc",
    "/usr/lib/python3.11/collections/__init__.py",
    "/usr/lib/python3.11/collections/__pycache__/__init__.cpython-311.pyc",
    "/usr/lib/python3.11/collections/abc.py",
    "/usr/lib/python3.11/collections/__pycache__/abc.cpython-311.pyc",
    "/usr/lib/python3.11/importlib/__init__.py",
    "/usr/lib/python3.11/importlib/__pycache__/__init__.cpython-311.pyc",
    "/usr/lib/python3.11/re/__init__.py",
    "/usr/lib/python3.11/re/__pycache__/__init__.cpython-311.pyc",
    "/usr/lib/python3.11/re/_casefix.py",
    "/usr/lib/python3.11/re/__pycache__/_casefix.cpython-311.pyc",
    "/usr/lib/python3.11/re/_compiler.py",
    "/usr/lib/python3.11/re/__pycache__/_compiler.cpython-311.pyc",
    "/usr/lib/python3.11/re/_constants.py",
    "/usr/lib/python3.11/re/__pycache__/_constants.cpython-311.pyc",
    "/usr/lib/python3.11/re/_parser.py",
    "/usr/lib/python3.11/re/__pycache__/_parser.cpython-311.pyc",
    "/usr/lib/python3.11/__future__.py",
    "/usr/lib/python3.11/__pycache__/__future__.cpython-311.pyc",
    "/usr/lib/python3.11/os.py",
    "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
    "/usr/lib/python3.11/_weakrefset.py",
    "/usr/lib/python3.11/__pycache__/_weakrefset.cpython-311.pyc",
    "/usr/lib/python3.11/contextlib.py",
    "/usr/lib/python3.11/__pycache__/contextlib.cpython-311.pyc",
    "/usr/lib/python3.11/copy.py",
    "/usr/lib/python3.11/__pycache__/copy.cpython-311.pyc",
    "/usr/lib/python3.11/copyreg.py",
    "/usr/lib/python3.11/__pycache__/copyreg.cpython-311.pyc",
    "/usr/lib/python3.11/enum.py",
    "/usr/lib/python3.11/__pycache__/enum.cpython-311.pyc",
    "/usr/lib/python3.11/functools.py",
    "/usr/lib/python3.11/__pycache__/functools.cpython-311.pyc",
    "/usr/lib/python3.11/keyword.py",
    "/usr/lib/python3.11/__pycache__/keyword.cpython-311.pyc",
    "/usr/lib/python3.11/linecache.py",
    "/usr/lib/python3.11/__pycache__/linecache.cpython-311.pyc",
    "/usr/lib/python3.11/operator.py",
    "/usr/lib/python3.11/__pycache__/operator.cpython-311.pyc",
    "/usr/lib/python3.11/reprlib.py",
    "/usr/lib/python3.11/__pycache__/reprlib.cpython-311.pyc",
    "/usr/lib/python3.11/textwrap.py",
    "/usr/lib/python3.11/__pycache__/textwrap.cpython-311.pyc",
    "/usr/lib/python3.11/token.py",
    "/usr/lib/python3.11/__pycache__/token.cpython-311.pyc",
    "/usr/lib/python3.11/tokenize.py",
    "/usr/lib/python3.11/__pycache__/tokenize.cpython-311.pyc",
    "/usr/lib/python3.11/traceback.py",
    "/usr/lib/python3.11/__pycache__/traceback.cpython-311.pyc",
    "/usr/lib/python3.11/types.py",
    "/usr/lib/python3.11/__pycache__/types.cpython-311.pyc",
    "/usr/lib/python3.11/warnings.py",
    "/usr/lib/python3.11/__pycache__/warnings.cpython-311.pyc",
    "/usr/lib/python3.11/weakref.py",
    "/usr/lib/python3.11/__pycache__/weakref.cpython-311.pyc",
];

/// Every probe `make test` runs, in order.
pub const PROBES: &[Probe<'static>] = &[
    Probe {
        what: "busybox workout matches Linux 6.1 byte for byte",
        script: "tests/ref/busybox-basics.sh",
        c_sources: &[],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "errno probe (bad pointers, fds, flags) matches Linux 6.1",
        script: "tests/ref/errno.sh",
        c_sources: &["tests/ref/errno.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "pthreads probe (clone threads, futex, join) matches Linux 6.1",
        script: "tests/ref/threads.sh",
        c_sources: &["tests/ref/threads.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "FIFO, eventfd, epoll and timerfd probe matches Linux 6.1",
        script: "tests/ref/events.sh",
        c_sources: &["tests/ref/events.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "System V shared memory probe (keys, attach at addresses, fork, IPC_STAT/SET/RMID while \
             attached, SHM_INFO, /proc/sysvipc/shm) matches Linux 6.1",
        script: "tests/ref/sysvshm.sh",
        c_sources: &["tests/ref/sysvshm.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "System V message queue and semaphore probe (msgget/msgsnd/msgrcv/msgctl with type \
               searches, MSG_COPY, blocking and EIDRM; semop/semtimedop/semctl with \
               all-or-nothing operations, Linux's wake order, SEM_UNDO at exit; \
               /proc/sysvipc/{msg,sem}; ipcs, ipcmk, ipcrm) matches Linux 6.1",
        script: "tests/ref/sysvipc.sh",
        c_sources: &["tests/ref/sysvipc.c"],
        host_programs: &["/usr/bin/ipcs", "/usr/bin/ipcmk", "/usr/bin/ipcrm"],
        disk: RefDisk::None,
    },
    Probe {
        what: "ptrace probe (TRACEME and the exec SIGTRAP, PEEK/POKE, GETREGS/SETREGS, syscall \
             stops with TRACESYSGOOD and GET_SYSCALL_INFO, signal injection and suppression, \
             fork/exec/exit events, ATTACH/SEIZE/INTERRUPT/DETACH, TracerPid, single-step, \
             EXITKILL, errors; Debian's strace -f on a program and its child) matches Linux 6.1",
        script: "tests/ref/ptrace.sh",
        c_sources: &["tests/ref/ptrace.c", "tests/ref/stracee.c"],
        host_programs: &["/usr/bin/strace"],
        disk: RefDisk::None,
    },
    Probe {
        what: "Debian's gdb on a -g program (break on main, print a variable, next, a hardware \
             breakpoint in a callee, bt, finish, registers, hardware write and read watchpoints, \
             a software one, $_siginfo, x/i, info proc, an inferior call, catch syscall; \
             following a fork and an exec; a pending breakpoint in a PIE Debian program's libc) \
             and what it relies on (debug registers through POKEUSER, DR6, TRAP_HWBKPT, \
             /proc/PID/mem, /proc/PID/task, /proc/PID/auxv) matches Linux 6.1",
        script: "tests/ref/gdb.sh",
        c_sources: &["tests/ref/gdbee.c", "tests/ref/debugregs.c"],
        host_programs: GDB_FILES,
        disk: RefDisk::None,
    },
    Probe {
        what: "record-lock probe (fcntl POSIX and OFD locks: conflicts, splits, whence, EINVAL/\
             EOVERFLOW/EBADF, release on any close, F_SETLKW, EDEADLK, EINTR, /proc/locks) matches \
             Linux 6.1",
        script: "tests/ref/locks.sh",
        c_sources: &["tests/ref/locks.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "file-handle probe (name_to_handle_at and open_by_handle_at on tmpfs and ext2: \
             sizes, types, EOVERFLOW, EPERM, ESTALE, mount ids; acct records) matches Linux 6.1",
        script: "tests/ref/handles.sh",
        c_sources: &["tests/ref/handles.c"],
        host_programs: &[],
        disk: RefDisk::Ext2,
    },
    Probe {
        what: "file-lease probe (fcntl F_SETLEASE/F_GETLEASE: errors, conflicting opens, breaks by \
             open and truncate with SIGIO or F_SETSIG's signal, O_NONBLOCK, downgrade, unlock, \
             lease-break-time, /proc/locks) matches Linux 6.1",
        script: "tests/ref/leases.sh",
        c_sources: &["tests/ref/leases.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "extended-attribute probe on an ext2 disk (set/get/list/remove, the l- and f- forms, \
             flags, sizes, namespaces, an unprivileged caller, tmpfs) matches Linux 6.1",
        script: "tests/ref/xattr.sh",
        c_sources: &["tests/ref/xattr.c"],
        host_programs: &[],
        disk: RefDisk::Ext2,
    },
    Probe {
        what: "small-calls probe (personality, getcpu, iopl/ioperm, setfsuid/setfsgid, chroot) \
             matches Linux 6.1",
        script: "tests/ref/smallcalls.sh",
        c_sources: &["tests/ref/smallcalls.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "memory-locking probe (mlock/munlock/mlock2/mlockall, VmLck, holes, RLIMIT_MEMLOCK) \
             matches Linux 6.1",
        script: "tests/ref/mlock.sh",
        c_sources: &["tests/ref/mlock.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "/proc/sys probe (the tree, modes, values; writes as Linux's handlers read them: \
               bases, white space, garbage, ranges, later offsets; the limits enforced: \
               pipe-max-size, nr_open, pid_max, max_map_count, overcommit_memory, hostname, the \
               System V IPC limits; \
               read-only files, chmod, an unprivileged writer; busybox's and procps' sysctl) \
               matches Linux 6.1",
        script: "tests/ref/sysctl.sh",
        c_sources: &["tests/ref/sysctl.c"],
        host_programs: &["/usr/sbin/sysctl"],
        disk: RefDisk::None,
    },
    Probe {
        what: "seccomp probe (seccomp(2)'s operations and errors; filters refused for length, \
               privilege and each verifier rule; ERRNO, TRAP with SIGSYS's siginfo, KILL_THREAD, \
               KILL_PROCESS, TRACE, USER_NOTIF, LOG; precedence; arguments, arch, int 0x80, LEN; \
               fork, threads, execve, TSYNC; strict mode; /proc/self/status) matches Linux 6.1",
        script: "tests/ref/seccomp.sh",
        c_sources: &["tests/ref/seccomp.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "prctl probe (names, parent-death signal, dumpable, keep-caps, no-new-privs, \
               capability queries, timer slack, timing, securebits, perf events, the TID \
               address, THP_DISABLE, ambient capabilities, bad arguments and pointers; child \
               subreapers adopting running and ended orphans) matches Linux 6.1",
        script: "tests/ref/prctl.sh",
        c_sources: &["tests/ref/prctl.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "futex probe (set/get_robust_list; robust mutexes whose owner thread or process \
               ended give EOWNERDEAD, a waiter included; FUTEX_WAKE_OP's operations, \
               comparisons and errors) matches Linux 6.1",
        script: "tests/ref/futex.sh",
        c_sources: &["tests/ref/futex.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "resource-limit probe (getrlimit/setrlimit/prlimit64: defaults, errors, who may \
               raise or read what; /proc/self/limits; FSIZE, DATA, AS, NPROC, MEMLOCK and CPU \
               enforced, with SIGXFSZ and SIGXCPU) matches Linux 6.1",
        script: "tests/ref/rlimits.sh",
        c_sources: &["tests/ref/rlimits.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "dnotify probe (fcntl F_NOTIFY: errors, DN_MULTISHOT alone, one-shot and \
             multi-shot requests, the events of each operation, F_SETSIG's siginfo and plain \
             SIGIO, the end of a request at close) matches Linux 6.1",
        script: "tests/ref/dnotify.sh",
        c_sources: &["tests/ref/dnotify.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "clone probe (clone3's struct and argument checks, exit signals with __WALL and \
             __WCLONE, CLONE_PIDFD, CLONE_PARENT, CLONE_VFORK's wait, CLONE_CLEAR_SIGHAND, \
             set_tid, refusals) matches Linux 6.1",
        script: "tests/ref/clone.sh",
        c_sources: &["tests/ref/clone.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "namespaces probe (/proc/PID/ns links and nsfs files, the ioctl_ns queries, \
             unshare and setns with their errors, UTS, IPC and mount namespaces made by unshare \
             and clone: host names, System V and POSIX IPC objects, mounts) matches Linux 6.1",
        script: "tests/ref/namespaces.sh",
        c_sources: &["tests/ref/namespaces.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "PID namespace probe (unshare and clone with CLONE_NEWPID, numbers inside: getpid, \
             getppid, fork, wait, waitid, kill's si_pid; init's protection and its end taking the \
             namespace down; /proc mounted inside; NSpid; NS_GET_PARENT; setns) matches Linux 6.1",
        script: "tests/ref/pidns.sh",
        c_sources: &["tests/ref/pidns.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "util-linux's unshare and nsenter (UTS, PID with --mount-proc, mount and IPC \
             namespaces, joining a running process's) give the same output as on Linux 6.1",
        script: "tests/ref/nstools.sh",
        c_sources: &[],
        host_programs: &["/usr/bin/unshare", "/usr/bin/nsenter"],
        disk: RefDisk::None,
    },
    Probe {
        what: "pivot_root probe (its errors, a pivot from a chroot in a mount namespace: the root \
             and working directory move, the old root at put_old until unmounted) matches Linux 6.1",
        script: "tests/ref/pivot.sh",
        c_sources: &["tests/ref/pivot.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "cloneshare probe (processes that share descriptors, filesystem context, signal \
             dispositions or memory without being threads: CLONE_FILES, CLONE_FS, CLONE_SIGHAND, \
             CLONE_VM; execve and unshare(2) taking copies; /proc/PID/fd) matches Linux 6.1",
        script: "tests/ref/cloneshare.sh",
        c_sources: &["tests/ref/cloneshare.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "signalfd probe (signalfd/signalfd4, queued real-time signals, rt_sigqueueinfo and \
             rt_tgsigqueueinfo: errors, records, blocking reads, poll/epoll, fork, permissions) \
             matches Linux 6.1",
        script: "tests/ref/signalfd.sh",
        c_sources: &["tests/ref/signalfd.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "POSIX message queue probe (mq_open and its errors, fs.mqueue limits, the \
             RLIMIT_MSGQUEUE budget, priorities, timeouts, wake order, mq_notify, the descriptor \
             as a file) matches Linux 6.1",
        script: "tests/ref/mqueue.sh",
        c_sources: &["tests/ref/mqueue.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "inotify probe on tmpfs (errors, records, the events of every VFS operation, \
             oneshot, overflow, limits, blocking reads, unmount) and Debian's inotifywait matches \
             Linux 6.1",
        script: "tests/ref/inotify.sh",
        c_sources: &["tests/ref/inotify.c"],
        host_programs: &["/usr/bin/inotifywait"],
        disk: RefDisk::None,
    },
    Probe {
        what: "inotify probe on an ext2 disk (the event sections, extended attributes' IN_ATTRIB, \
             IN_UNMOUNT under inotifywait) matches Linux 6.1",
        script: "tests/ref/inotify-ext2.sh",
        c_sources: &["tests/ref/inotify.c"],
        host_programs: &["/usr/bin/inotifywait"],
        disk: RefDisk::Ext2,
    },
    Probe {
        what: "corners probe (set-group-ID directories, chown and chmod's set-ID rules, search \
             permission, mknod, renameat2's NOREPLACE and EXCHANGE, SIGBUS past a mapped file's \
             end, F_GETFL, *at with an absolute path, select's remaining time, POLLRDNORM, \
             /dev/zero mappings) matches Linux 6.1",
        script: "tests/ref/corners.sh",
        c_sources: &["tests/ref/corners.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "/proc/PID/maps probe (file mappings private and shared at an offset, mprotect \
             and munmap splits, mremap, anonymous and shared anonymous areas, an unlinked file, \
             a System V segment, [heap] after brk, [stack], the program's segments: offsets, \
             devices, inodes, names and their column) matches Linux 6.1",
        script: "tests/ref/maps.sh",
        c_sources: &["tests/ref/maps.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "priority-inheritance futex probe (LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI: \
             errors and the words they leave, hand-over, owners that end, a handler during the \
             wait, a lock shared by two processes, musl's PI mutexes) matches Linux 6.1",
        script: "tests/ref/pifutex.sh",
        c_sources: &["tests/ref/pifutex.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "requeue-to-PI futex probe (FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI: errors, \
             plain wakes refusing such waiters, a free lock taken for the first waiter, waiters \
             queued behind the owner and handed the lock by UNLOCK_PI, timeouts and signals \
             before and after the requeue, EDEADLK, ESRCH) matches Linux 6.1",
        script: "tests/ref/requeuepi.sh",
        c_sources: &["tests/ref/requeuepi.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "tee and vmsplice probe (errors in Linux's order, duplicated data, partial \
             lengths, waits, EPIPE with SIGPIPE, FIFOs, vectors, more than a pipe holds) \
             matches Linux 6.1",
        script: "tests/ref/splice.sh",
        c_sources: &["tests/ref/splice.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "adjtimex probe (adjtimex, clock_adjtime and settimeofday: the NTP state after \
             boot, each mode read back, the checks in Linux's order, clock steps, the \
             timezone) matches Linux 6.1",
        script: "tests/ref/adjtime.sh",
        c_sources: &["tests/ref/adjtime.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "openat2 probe (open_how's size and argument checks, and RESOLVE_BENEATH, \
             IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV and CACHED on paths, symlinks, \
             magic links and mounts) matches Linux 6.1",
        script: "tests/ref/openat2.sh",
        c_sources: &["tests/ref/openat2.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "memory-calls probe (madvise's advice and checks per area, MAP_FIXED_NOREPLACE, \
             MAP_POPULATE, MAP_NORESERVE, MAP_GROWSDOWN, MAP_SHARED_VALIDATE, mincore, msync, \
             remap_file_pages) matches Linux 6.1",
        script: "tests/ref/memcalls.sh",
        c_sources: &["tests/ref/memcalls.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "files, times and scheduling probe (mknod kinds and rights, utimensat/utime/utimes \
             edge cases and permissions, preadv2/pwritev2 flags, statfs per filesystem, \
             sched_* policies and rights, getrusage and times of children) matches Linux 6.1",
        script: "tests/ref/filecalls.sh",
        c_sources: &["tests/ref/filecalls.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "mremap and sigtimedwait probe matches Linux 6.1",
        script: "tests/ref/sigmem.sh",
        c_sources: &["tests/ref/sigmem.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "edge-of-range argument probe (centuries-long timeouts, wrapping ranges and stacks) \
             matches Linux 6.1",
        script: "tests/ref/extremes.sh",
        c_sources: &["tests/ref/extremes.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "permission probe (uid/gid/mode, sticky, setuid) matches Linux 6.1",
        script: "tests/ref/perms.sh",
        c_sources: &["tests/ref/perms.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "file-operations probe (flock, pipe sizes, close_range, copy_file_range, splice, memfd, \
             RLIMIT_NOFILE) matches Linux 6.1",
        script: "tests/ref/fileops.sh",
        c_sources: &["tests/ref/fileops.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "signal-target probe (SIGCONT/SIGSTOP/SIGKILL to self, children, stopped ones, thread and \
             process groups, init; permissions) matches Linux 6.1",
        script: "tests/ref/sigtargets.sh",
        c_sources: &["tests/ref/sigtargets.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "running-out probe (address space, memory and the OOM killer, threads, argument space) \
             matches Linux 6.1",
        script: "tests/ref/oom.sh",
        c_sources: &["tests/ref/oom.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "pidfd and /proc probe (pidfd_open, poll, pidfd_send_signal, waitid P_PIDFD, the exe link) \
             matches Linux 6.1",
        script: "tests/ref/pidfd.sh",
        c_sources: &["tests/ref/pidfd.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "virtio disk probe (/dev/vda: stat, BLK* ioctls, seeks, reads and writes across sectors \
             and the end, sha256 of the contents) matches Linux 6.1",
        script: "tests/ref/vdisk.sh",
        c_sources: &["tests/ref/vdisk.c"],
        host_programs: &[],
        disk: RefDisk::Pattern,
    },
    Probe {
        what: "ext2 workload (mount, create, append, rename, link, truncate, sparse and 200 MB files, \
             unlink while open, shared mappings coherent with read/write in memory and on disk, \
             sync, umount, read-only remount) matches Linux 6.1, and e2fsck and debugfs find the \
             same clean tree on both disks",
        script: "tests/ref/ext2.sh",
        c_sources: &["tests/ref/pagecache.c"],
        host_programs: &[],
        disk: RefDisk::Ext2,
    },
    Probe {
        what: "Unix socket probe (pairs, bind/connect/accept, SCM_RIGHTS, errnos) matches Linux 6.1",
        script: "tests/ref/sockets.sh",
        c_sources: &["tests/ref/sockets.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "inet socket probe over loopback (TCP listen/connect/accept/echo, non-blocking connect, \
             ECONNREFUSED, EADDRINUSE, shutdown, EPIPE/SIGPIPE, resets; UDP send/recv, MSG_PEEK, \
             MSG_TRUNC, the connected filter; names, options, timeouts, poll/epoll) matches Linux 6.1",
        script: "tests/ref/inet.sh",
        c_sources: &["tests/ref/inet.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "server-sockets probe (a dual-stack [::] listener holds the IPv4 port; a refused \
             non-blocking connect under epoll: EPOLLOUT|ERR|HUP, then ECONNREFUSED and EPIPE) \
             matches Linux 6.1",
        script: "tests/ref/servers.sh",
        c_sources: &["tests/ref/servers.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "network configuration probe on a virtio NIC (iproute2's and busybox's ip, ifconfig, \
             route, /proc/net; addresses, links up and down, routes; interface ioctls and rtnetlink \
             errnos; DNS through slirp) matches Linux 6.1",
        script: "tests/ref/netconf.sh",
        c_sources: &["tests/ref/netconf.c"],
        host_programs: &["/usr/sbin/ip"],
        disk: RefDisk::Nic,
    },
    Probe {
        what: "hostile-CPU probe (DF/AC across copies, faults and signals; single-step over SYSCALL; \
             int3, int N, int 0x80; segment loads; XMM/x87 across signals, fork and edited frames) \
             matches Linux 6.1",
        script: "tests/ref/hostile-cpu.sh",
        c_sources: &["tests/ref/hostile-cpu.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "hostile-pointer probe (kernel and non-canonical addresses in syscall arguments, iovecs, \
             msghdrs, execve vectors; garbage and edited sigreturn frames) matches Linux 6.1",
        script: "tests/ref/hostile-ptr.sh",
        c_sources: &["tests/ref/hostile-ptr.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "hostile-ELF probe (a few hundred corrupted executables: errno, exit or signal) matches \
             Linux 6.1",
        script: "tests/ref/badelf.sh",
        c_sources: &["tests/ref/badelf.c"],
        host_programs: &[],
        disk: RefDisk::None,
    },
    Probe {
        what: "mount probe (per-mount flags: read-only tmpfs and EROFS in Linux's order, remount \
             and EBUSY, nosuid, nodev, noexec; bind mounts; tmpfs size/nr_inodes/mode/uid/gid with \
             ENOSPC and statfs; umount EBUSY, MNT_DETACH; /proc/mounts and mountinfo lines; loop \
             devices through /dev/loop-control and their ioctls; an ext2 image made by mke2fs, \
             attached by losetup and mount -o loop) matches Linux 6.1",
        script: "tests/ref/mounts.sh",
        c_sources: &["tests/ref/mounts.c"],
        host_programs: &["/sbin/mke2fs", "/sbin/losetup"],
        disk: RefDisk::Loop,
    },
    Probe {
        what: "dynamically linked Debian coreutils match Linux 6.1",
        script: "tests/ref/dynamic.sh",
        c_sources: &[],
        host_programs: DYNAMIC_PROGRAMS,
        disk: RefDisk::None,
    },
    Probe {
        what: "Debian's bash (arrays, process substitution, traps, wait -n) matches Linux 6.1",
        script: "tests/ref/bash.sh",
        c_sources: &[],
        host_programs: &["/usr/bin/bash", "/usr/bin/sort"],
        disk: RefDisk::None,
    },
];

/// The probe named `name` (its script's stem).
pub fn find(name: &str) -> Option<&'static Probe<'static>> {
    PROBES.iter().find(|p| p.name() == name)
}

/// Runs `probe` under both kernels in target/reference/NAME and judges the outputs.
pub fn check(elf: &Path, probe: &Probe) -> Result<String, String> {
    let work = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join("target/reference")
        .join(probe.name());
    let (linux, ours) = boot_both(elf, probe, &work)?;
    verdict(probe, &work, &linux, &ours)
}

/// Builds the probe's image in `work` and boots Linux 6.1, then ours, each with its own
/// fresh disk or NIC.
pub fn boot_both(
    elf: &Path,
    probe: &Probe,
    work: &Path,
) -> Result<(BootOutcome, BootOutcome), String> {
    std::fs::create_dir_all(work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let sources: Vec<&Path> = probe.c_sources.iter().map(Path::new).collect();
    require_probe_source(Path::new(probe.script), &sources)?;
    let mut binaries = Vec::new();
    for source in &sources {
        let out = work.join(source.file_stem().ok_or("a C program needs a file name")?);
        compile_static_c(source, &out)?;
        binaries.push(out);
    }
    let binaries: Vec<&Path> = binaries.iter().map(PathBuf::as_path).collect();
    let hosts: Vec<&Path> = probe.host_programs.iter().map(Path::new).collect();
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let linux = cached_linux(&root.join("target/linux"))?;
    let modules = match probe.disk {
        RefDisk::None => Vec::new(),
        RefDisk::Loop => linux_modules(&linux, &["drivers/block/loop"])?,
        RefDisk::Nic => linux_modules(&linux, &VIRTIO_NET_MODULES)?,
        RefDisk::Pattern | RefDisk::Ext2 => linux_modules(&linux, &VIRTIO_BLK_MODULES)?,
    };
    let image = work.join("image.cpio.gz");
    build_image_with_host_programs(
        Path::new(probe.script),
        &binaries,
        &hosts,
        &modules,
        work,
        &image,
    )?;
    // Each kernel gets a fresh copy of the disk: the scripts write to it.
    if probe.disk == RefDisk::Ext2 {
        use crate::ext2_disk::{EXT2_BLOCK_SIZE, EXT2_SIZE, prepare_disks};
        prepare_disks(work, EXT2_BLOCK_SIZE, EXT2_SIZE, &["linux-disk.img", "our-disk.img"])?;
    }
    let disks = |name: &str| -> Result<Vec<Disk>, String> {
        let path = work.join(name);
        match probe.disk {
            RefDisk::None | RefDisk::Nic | RefDisk::Loop => return Ok(Vec::new()),
            RefDisk::Pattern => write_pattern_disk(&path, 8 << 20)?,
            RefDisk::Ext2 => {}
        }
        Ok(vec![Disk::writable(path)])
    };
    let spec = |kernel: &Path, cmdline: &str, disks: Vec<Disk>| BootSpec {
        initrd: Some(image.clone().into()),
        timeout: Duration::from_secs(300),
        disks,
        nic: probe.disk == RefDisk::Nic,
        ..BootSpec::pvh(kernel, cmdline)
    };
    let theirs = boot(&spec(&linux, "console=ttyS0 panic=-1 quiet", disks("linux-disk.img")?))
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let ours = boot(&spec(elf, "console=ttyS0 quiet", disks("our-disk.img")?))
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    Ok((theirs, ours))
}

/// Complete runs (the script's end marker, every C probe's `checks: N`), nothing after the
/// end marker and a clean power-off on ours, identical text; with an ext2 disk, both disks
/// clean and holding the same tree.
pub fn verdict(
    probe: &Probe,
    work: &Path,
    linux: &BootOutcome,
    ours: &BootOutcome,
) -> Result<String, String> {
    let verdict = judge(linux, ours, probe.c_sources.len())?;
    if probe.disk == RefDisk::Ext2 {
        crate::ext2_disk::compare_disks(&work.join("linux-disk.img"), &work.join("our-disk.img"))?;
        return Ok(format!("{verdict}; both disks pass e2fsck -fn and hold the same tree"));
    }
    Ok(verdict)
}

/// Debian's Linux 6.1 kernel, downloaded once into `cache`.
fn cached_linux(cache: &Path) -> Result<PathBuf, String> {
    linux_kernel(cache).or_else(|first| {
        // A fresh machine may have no package lists yet.
        let updated =
            Command::new("apt-get").args(["update", "-qq"]).status().is_ok_and(|s| s.success());
        if updated { linux_kernel(cache) } else { Err(first) }
    })
}
