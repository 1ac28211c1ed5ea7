//! The syscall table: every implemented syscall, by number, in one place.

use super::{Handler, fs, futex, misc, mm, process};

/// One implemented syscall.
pub struct Syscall {
    /// The x86-64 number.
    pub nr: u64,
    /// Linux's name for it.
    pub name: &'static str,
    /// The implementation.
    pub handler: Handler,
}

macro_rules! table {
    ($($nr:literal $name:ident => $handler:path,)*) => {
        /// Implemented syscalls, sorted by number.
        pub static TABLE: &[Syscall] = &[$(Syscall { nr: $nr, name: stringify!($name), handler: $handler },)*];
    };
}

table! {
    0 read => fs::sys_read,
    1 write => fs::sys_write,
    2 open => fs::sys_open,
    3 close => fs::sys_close,
    4 stat => fs::sys_stat,
    5 fstat => fs::sys_fstat,
    6 lstat => fs::sys_lstat,
    7 poll => misc::sys_poll,
    8 lseek => fs::sys_lseek,
    9 mmap => mm::sys_mmap,
    10 mprotect => mm::sys_mprotect,
    11 munmap => mm::sys_munmap,
    12 brk => mm::sys_brk,
    13 rt_sigaction => process::sys_rt_sigaction,
    14 rt_sigprocmask => process::sys_rt_sigprocmask,
    15 rt_sigreturn => process::sys_rt_sigreturn,
    16 ioctl => fs::sys_ioctl,
    17 pread64 => fs::sys_pread64,
    18 pwrite64 => fs::sys_pwrite64,
    19 readv => fs::sys_readv,
    20 writev => fs::sys_writev,
    21 access => fs::sys_access,
    22 pipe => fs::sys_pipe,
    23 select => misc::sys_select,
    24 sched_yield => misc::sys_sched_yield,
    25 mremap => mm::sys_mremap,
    28 madvise => mm::sys_madvise,
    32 dup => fs::sys_dup,
    33 dup2 => fs::sys_dup2,
    34 pause => process::sys_pause,
    35 nanosleep => misc::sys_nanosleep,
    36 getitimer => misc::sys_getitimer,
    37 alarm => misc::sys_alarm,
    38 setitimer => misc::sys_setitimer,
    39 getpid => process::sys_getpid,
    40 sendfile => fs::sys_sendfile,
    56 clone => process::sys_clone,
    57 fork => process::sys_fork,
    58 vfork => process::sys_vfork,
    59 execve => process::sys_execve,
    60 exit => process::sys_exit,
    61 wait4 => process::sys_wait4,
    62 kill => process::sys_kill,
    63 uname => misc::sys_uname,
    72 fcntl => fs::sys_fcntl,
    74 fsync => fs::sys_fsync,
    75 fdatasync => fs::sys_fsync,
    76 truncate => fs::sys_truncate,
    77 ftruncate => fs::sys_ftruncate,
    79 getcwd => fs::sys_getcwd,
    80 chdir => fs::sys_chdir,
    81 fchdir => fs::sys_fchdir,
    82 rename => fs::sys_rename,
    83 mkdir => fs::sys_mkdir,
    84 rmdir => fs::sys_rmdir,
    85 creat => fs::sys_creat,
    86 link => fs::sys_link,
    87 unlink => fs::sys_unlink,
    88 symlink => fs::sys_symlink,
    89 readlink => fs::sys_readlink,
    90 chmod => fs::sys_chmod,
    91 fchmod => fs::sys_fchmod,
    92 chown => fs::sys_chown,
    93 fchown => fs::sys_fchown,
    94 lchown => fs::sys_lchown,
    95 umask => fs::sys_umask,
    96 gettimeofday => misc::sys_gettimeofday,
    97 getrlimit => misc::sys_getrlimit,
    98 getrusage => misc::sys_getrusage,
    99 sysinfo => misc::sys_sysinfo,
    100 times => misc::sys_times,
    102 getuid => process::sys_getuid,
    104 getgid => process::sys_getgid,
    105 setuid => process::sys_setuid,
    106 setgid => process::sys_setgid,
    107 geteuid => process::sys_geteuid,
    108 getegid => process::sys_getegid,
    109 setpgid => process::sys_setpgid,
    110 getppid => process::sys_getppid,
    111 getpgrp => process::sys_getpgrp,
    112 setsid => process::sys_setsid,
    113 setreuid => process::sys_setreuid,
    114 setregid => process::sys_setregid,
    115 getgroups => process::sys_getgroups,
    116 setgroups => process::sys_setgroups,
    117 setresuid => process::sys_setresuid,
    118 getresuid => process::sys_getresuid,
    119 setresgid => process::sys_setresgid,
    120 getresgid => process::sys_getresgid,
    121 getpgid => process::sys_getpgid,
    124 getsid => process::sys_getsid,
    127 rt_sigpending => process::sys_rt_sigpending,
    128 rt_sigtimedwait => process::sys_rt_sigtimedwait,
    130 rt_sigsuspend => process::sys_rt_sigsuspend,
    131 sigaltstack => process::sys_sigaltstack,
    133 mknod => fs::sys_mknod,
    158 arch_prctl => process::sys_arch_prctl,
    160 setrlimit => misc::sys_setrlimit,
    162 sync => fs::sys_sync,
    165 mount => fs::sys_mount,
    166 umount2 => fs::sys_umount2,
    169 reboot => misc::sys_reboot,
    186 gettid => process::sys_gettid,
    200 tkill => process::sys_tkill,
    201 time => misc::sys_time,
    202 futex => futex::sys_futex,
    204 sched_getaffinity => misc::sys_sched_getaffinity,
    213 epoll_create => fs::sys_epoll_create,
    217 getdents64 => fs::sys_getdents64,
    218 set_tid_address => process::sys_set_tid_address,
    228 clock_gettime => misc::sys_clock_gettime,
    229 clock_getres => misc::sys_clock_getres,
    230 clock_nanosleep => misc::sys_clock_nanosleep,
    231 exit_group => process::sys_exit_group,
    232 epoll_wait => fs::sys_epoll_wait,
    233 epoll_ctl => fs::sys_epoll_ctl,
    234 tgkill => process::sys_tgkill,
    247 waitid => process::sys_waitid,
    257 openat => fs::sys_openat,
    258 mkdirat => fs::sys_mkdirat,
    259 mknodat => fs::sys_mknodat,
    260 fchownat => fs::sys_fchownat,
    262 newfstatat => fs::sys_newfstatat,
    263 unlinkat => fs::sys_unlinkat,
    264 renameat => fs::sys_renameat,
    265 linkat => fs::sys_linkat,
    266 symlinkat => fs::sys_symlinkat,
    267 readlinkat => fs::sys_readlinkat,
    268 fchmodat => fs::sys_fchmodat,
    269 faccessat => fs::sys_faccessat,
    270 pselect6 => misc::sys_pselect6,
    271 ppoll => misc::sys_ppoll,
    273 set_robust_list => misc::sys_set_robust_list,
    280 utimensat => fs::sys_utimensat,
    281 epoll_pwait => fs::sys_epoll_pwait,
    284 eventfd => fs::sys_eventfd,
    290 eventfd2 => fs::sys_eventfd2,
    291 epoll_create1 => fs::sys_epoll_create1,
    292 dup3 => fs::sys_dup3,
    293 pipe2 => fs::sys_pipe2,
    302 prlimit64 => misc::sys_prlimit64,
    316 renameat2 => fs::sys_renameat2,
    318 getrandom => misc::sys_getrandom,
    332 statx => fs::sys_statx,
    439 faccessat2 => fs::sys_faccessat,
}

/// Finds the entry for `nr`.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    TABLE.binary_search_by_key(&nr, |s| s.nr).ok().map(|i| &TABLE[i])
}

ostd::ktest! {
    fn syscall_table_is_sorted_and_named_as_linux_names_them() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].nr < pair[1].nr, "{} and {} out of order", pair[0].name, pair[1].name);
        }
        for s in TABLE {
            assert_eq!(super::names::name(s.nr), Some(s.name), "syscall {} is not Linux's {}", s.nr, s.name);
        }
    }
}
