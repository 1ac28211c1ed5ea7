//! The loop every user process runs on its task.

use alloc::string::String;
use alloc::sync::Arc;

use ostd::user::{ReturnReason, UserContext, UserMode};

use super::signal::{self, DefaultAction};
use super::{ExitStatus, Process, table};
use crate::syscall::{self, Flow};

/// Starts `process` running `context` on a new task.
pub fn spawn(process: Arc<Process>, context: UserContext) {
    let name = alloc::format!("pid{}", process.pid());
    ostd::task::spawn(&name, move || run(process, context));
}

fn run(process: Arc<Process>, context: UserContext) {
    table::bind_current_task(process.clone());
    let mut user = UserMode::new(process.vm().space().clone(), context);
    let status = loop {
        if let Some(status) = deliver_signals(&process) {
            break status;
        }
        match user.execute() {
            ReturnReason::Syscall => match syscall::dispatch(&process, &mut user) {
                Flow::Continue => {}
                Flow::Exit(status) => break status,
            },
            ReturnReason::PageFault(info) => {
                log::debug!("pid {}: SIGSEGV at {:#x} ({:?}) rip {:#x}", process.pid(), info.addr, info.access, user.context().rip);
                signal::send(&process, signal::SIGSEGV);
                force_default(&process, signal::SIGSEGV);
            }
            ReturnReason::Exception { vector, .. } => {
                let sig = match vector {
                    0 | 16 | 19 => signal::SIGFPE,
                    1 | 3 => signal::SIGTRAP,
                    6 => signal::SIGILL,
                    17 => signal::SIGBUS,
                    _ => signal::SIGSEGV,
                };
                log::debug!("pid {}: {} -> signal {sig}", process.pid(), ReturnReason::exception_name(vector));
                signal::send(&process, sig);
                force_default(&process, sig);
            }
            ReturnReason::BadContext => {
                signal::send(&process, signal::SIGSEGV);
                force_default(&process, signal::SIGSEGV);
            }
        }
    };
    process.exit(status);
    table::unbind_current_task();
}

/// Until handlers run, a synchronous fault must not loop forever on a caught signal: make
/// sure its default action applies.
fn force_default(process: &Process, sig: u32) {
    let mut s = process.signals.lock();
    s.actions[(sig - 1) as usize] = signal::SigAction::default();
    s.blocked &= !(1u64 << (sig - 1));
    s.pending |= 1u64 << (sig - 1);
}

/// Applies pending signals' default actions; returns the exit status if one kills.
fn deliver_signals(process: &Process) -> Option<ExitStatus> {
    loop {
        let (sig, action) = {
            let mut s = process.signals.lock();
            let sig = s.take_deliverable()?;
            (sig, s.actions[(sig - 1) as usize])
        };
        if action.handler == signal::SIG_IGN && sig != signal::SIGKILL {
            continue;
        }
        if action.handler > signal::SIG_IGN && sig != signal::SIGKILL && sig != signal::SIGSTOP {
            // Handlers are not run yet; treat as the default action so nothing hangs.
            log::warn!("pid {}: signal {sig} has a handler, which this kernel cannot run yet", process.pid());
        }
        match signal::default_action(sig) {
            DefaultAction::Terminate => return Some(ExitStatus::Signaled(sig, false)),
            DefaultAction::CoreDump => return Some(ExitStatus::Signaled(sig, true)),
            DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue => continue,
        }
    }
}

/// Creates pid 1 from `path` with `argv` and `envp`, on the console.
pub fn start_init(path: &str, argv: alloc::vec::Vec<String>, envp: alloc::vec::Vec<String>) -> Result<(), crate::error::Errno> {
    use crate::fs::{self, OpenFlags};
    let root = fs::root();
    let fs_context = super::FsContext { root: root.clone(), cwd: root.clone(), umask: 0o022 };
    let start = crate::fs::path::Start { root: root.clone(), dir: root.clone() };
    let node = crate::fs::path::resolve(&start, path, true)?;
    let resolver = |p: &str| crate::fs::path::resolve(&start, p, true);
    let loaded = super::exec::load(&resolver, node, path, argv.clone(), envp)?;
    let pid = table::alloc_pid().ok_or(crate::error::Errno::EAGAIN)?;
    let mut files = fs::FdTable::new();
    let console = crate::fs::path::resolve(&start, "/dev/console", true)?;
    for _ in 0..3 {
        let file = crate::fs::devfs::open(console_rdev(&console), console.clone(), OpenFlags::RDWR)?;
        files.insert(file, false)?;
    }
    let process = Process::new(pid, alloc::sync::Weak::new(), loaded.vm.clone(), files, fs_context);
    *process.comm.lock() = loaded.comm;
    *process.cmdline.lock() = argv;
    *process.exe.lock() = String::from(path);
    table::insert(process.clone());
    crate::tty::set_foreground(pid);
    let mut ctx = UserContext::default();
    ctx.rip = loaded.entry;
    ctx.rsp = loaded.stack_pointer;
    spawn(process, ctx);
    Ok(())
}

fn console_rdev(node: &crate::fs::Node) -> u32 {
    match node.kind() {
        crate::fs::NodeKind::CharDev(r) => r,
        _ => 0,
    }
}
