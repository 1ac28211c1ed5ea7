//! Loading an ELF executable into a fresh address space, and the initial stack.
//!
//! Static and static-PIE executables load directly; with PT_INTERP the interpreter is loaded
//! too, and control starts there with AT_BASE pointing at it. `#!` scripts re-execute their
//! interpreter. The stack follows the x86-64 System V ABI: argc, argv, envp, auxv, then the
//! strings and AT_RANDOM's 16 bytes near the top.
//!
//! An ELF file is untrusted input. What Linux checks before its point of no return is checked
//! first ([`super::elf`]), and failing there is an errno for execve; mapping the segments
//! comes after ([`super::elf_map`]), and failing there kills the process with SIGSEGV
//! ([`ExecError::Fatal`]), as on Linux. Nothing in either panics on a file's contents.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use object::LittleEndian as LE;
use ostd::mm::PAGE_SIZE;

use super::elf::{self, Ehdr, Phdr};
use super::elf_map::{Image, load_interp, load_main};
use super::vm::{Area, Prot, STACK_SIZE, STACK_TOP, Vm};
use crate::error::{Errno, SysResult};
use crate::fs::{Node, NodeKind};

const PAGE: u64 = PAGE_SIZE as u64;
/// `#!` nesting limit (Linux allows 4 levels of interpreters; BINPRM_MAX_RECURSION).
const MAX_SCRIPT_DEPTH: usize = 4;
/// How much of the file Linux looks at to pick a format (BINPRM_BUF_SIZE).
const BINPRM_BUF_SIZE: usize = 256;

/// What `execve` produced.
pub struct Loaded {
    /// The new address space.
    pub vm: Arc<Vm>,
    /// Where to start.
    pub entry: u64,
    /// The initial stack pointer.
    pub stack_pointer: u64,
    /// The program's name for /proc/self/comm.
    pub comm: String,
    /// The executable actually loaded (the interpreter for `#!` scripts): /proc/self/exe.
    pub exe: String,
}

/// Why `execve` failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecError {
    /// Before the point of no return: execve returns this errno and the caller goes on.
    Refused(Errno),
    /// Past it (Linux has already let go of the old image): the process dies of SIGSEGV.
    Fatal,
}

impl From<Errno> for ExecError {
    fn from(e: Errno) -> Self {
        Self::Refused(e)
    }
}

/// Opens an executable by path as Linux's `open_exec` does: resolved, a regular file,
/// executable by the caller (EACCES otherwise).
pub type OpenExec<'a> = dyn Fn(&str) -> SysResult<Arc<Node>> + 'a;

/// Reads exactly `buf.len()` bytes at `offset`, as binfmt_elf's `elf_read`: a position a
/// read refuses is EINVAL, a short read EIO.
fn read_exact(node: &Node, offset: u64, buf: &mut [u8]) -> SysResult<()> {
    elf::read_range(offset, buf.len())?;
    if node.read_at(offset, buf)? != buf.len() {
        return Err(Errno::EIO);
    }
    Ok(())
}

/// Reads the program-header table Linux's `load_elf_phdrs` would, or `None` where it fails.
fn read_phdrs(node: &Node, ehdr: &Ehdr) -> Option<Vec<Phdr>> {
    let (offset, size) = elf::phdr_table(ehdr)?;
    let mut bytes = alloc::vec![0u8; size];
    read_exact(node, offset, &mut bytes).ok()?;
    Some(elf::parse_phdrs(&bytes))
}

/// Loads `node` (already resolved and checked executable) with `argv` and `envp`.
pub fn load(
    open_exec: &OpenExec,
    node: Arc<Node>,
    path: &str,
    mut argv: Vec<String>,
    envp: Vec<String>,
) -> Result<Loaded, ExecError> {
    let mut node = node;
    let exec_name = path;
    let mut path = path.to_string();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        if node.kind() != NodeKind::File {
            return Err(Errno::EACCES.into());
        }
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let n = node.read_at(0, &mut head)?;
        let head = &head[..n];
        if head.starts_with(b"#!") {
            let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
            let line = core::str::from_utf8(&head[2..line_end]).map_err(|_| Errno::ENOEXEC)?.trim();
            let (interp, arg) = match line.split_once([' ', '\t']) {
                Some((i, a)) => (i, Some(a.trim())),
                None => (line, None),
            };
            if interp.is_empty() {
                return Err(Errno::ENOEXEC.into());
            }
            let mut new_argv = alloc::vec![interp.to_string()];
            if let Some(a) = arg.filter(|a| !a.is_empty()) {
                new_argv.push(a.to_string());
            }
            new_argv.push(path.clone());
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            node = open_exec(interp)?;
            path = interp.to_string();
            continue;
        }
        if !elf::is_elf(head) {
            return Err(Errno::ENOEXEC.into());
        }
        return load_elf(open_exec, &node, head, &path, argv, envp, exec_name);
    }
    Err(Errno::ELOOP.into())
}

/// The interpreter named by PT_INTERP, opened and checked as far as Linux does before the
/// point of no return.
struct Interp {
    node: Arc<Node>,
    ehdr: Ehdr,
    phdrs: Vec<Phdr>,
}

/// Finds, opens and checks the interpreter (see [`elf`] for the errno of each check).
fn open_interp(open_exec: &OpenExec, node: &Node, phdrs: &[Phdr]) -> SysResult<Option<Interp>> {
    let Some(ph) = elf::find_interp(phdrs) else { return Ok(None) };
    let (offset, len) = elf::interp_read(ph)?;
    let mut raw = alloc::vec![0u8; len];
    read_exact(node, offset, &mut raw)?;
    let name = elf::interp_name(&raw)?;
    // Our names are UTF-8; a name that is not cannot exist.
    let name = core::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    let interp = open_exec(name)?;
    let mut head = [0u8; elf::EHDR_SIZE];
    read_exact(&interp, 0, &mut head)?;
    let ehdr = elf::check_interp(&head)?;
    let phdrs = read_phdrs(&interp, &ehdr).ok_or(Errno::ELIBBAD)?;
    Ok(Some(Interp { node: interp, ehdr, phdrs }))
}

fn load_elf(
    open_exec: &OpenExec,
    node: &Arc<Node>,
    head: &[u8],
    path: &str,
    argv: Vec<String>,
    envp: Vec<String>,
    exec_name: &str,
) -> Result<Loaded, ExecError> {
    let ehdr = elf::parse_ehdr(head)?;
    elf::check_main(&ehdr)?;
    let phdrs = read_phdrs(node, &ehdr).ok_or(Errno::ENOEXEC)?;
    let interp = open_interp(open_exec, node, &phdrs)?;
    let vm = Vm::new()?;
    // The point of no return, for Linux: from here on a failure kills the process.
    vm.map_area(
        Area::anonymous(STACK_TOP - STACK_SIZE, STACK_TOP, Prot::READ | Prot::WRITE),
        false,
    )
    .map_err(|_| ExecError::Fatal)?;
    let main =
        load_main(&vm, node, &ehdr, &phdrs, interp.is_some()).map_err(|()| ExecError::Fatal)?;
    let (entry, interp_base) = match &interp {
        Some(i) => {
            let base =
                load_interp(&vm, &i.node, &i.ehdr, &i.phdrs).map_err(|()| ExecError::Fatal)?;
            (base.wrapping_add(i.ehdr.e_entry.get(LE)), base)
        }
        None => (main.entry, 0),
    };
    if super::elf_map::bad_addr(entry) {
        return Err(ExecError::Fatal);
    }
    {
        let mut areas = vm.areas();
        areas.brk_start = main.brk;
        areas.brk = main.brk;
    }
    let stack_pointer = build_stack(&vm, exec_name, &argv, &envp, &main, interp_base)?;
    let comm = argv
        .first()
        .map_or(path, |a| a.as_str())
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .chars()
        .take(15)
        .collect();
    Ok(Loaded { vm, entry, stack_pointer, comm, exe: path.to_string() })
}

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;

/// Writes argc, argv, envp, auxv and the strings below STACK_TOP; returns the new rsp.
fn build_stack(
    vm: &Vm,
    path: &str,
    argv: &[String],
    envp: &[String],
    main: &Image,
    interp_base: u64,
) -> SysResult<u64> {
    // Lay the string area out first, in a private buffer, then copy it in one go.
    let mut strings: Vec<u8> = Vec::new();
    let offsets = |s: &str, strings: &mut Vec<u8>| {
        let off = strings.len();
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        off
    };
    let execfn_off = offsets(path, &mut strings);
    let platform_off = offsets("x86_64", &mut strings);
    let argv_offs: Vec<usize> = argv.iter().map(|s| offsets(s, &mut strings)).collect();
    let envp_offs: Vec<usize> = envp.iter().map(|s| offsets(s, &mut strings)).collect();
    let random_off = strings.len();
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    strings.extend_from_slice(&random);

    let strings_start = (STACK_TOP - 16 - strings.len() as u64) & !15;
    let at = |off: usize| strings_start + off as u64;
    let hwcap = u64::from(core::arch::x86_64::__cpuid(1).edx);
    let auxv: [(u64, u64); 17] = [
        (AT_PHDR, main.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, main.phnum),
        (AT_PAGESZ, PAGE),
        (AT_BASE, interp_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, main.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_PLATFORM, at(platform_off)),
        (AT_HWCAP, hwcap),
        (AT_CLKTCK, 100),
        (AT_SECURE, 0),
        (AT_RANDOM, at(random_off)),
        (AT_HWCAP2, 0),
    ];
    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    words.extend(argv_offs.iter().map(|&o| at(o)));
    words.push(0);
    words.extend(envp_offs.iter().map(|&o| at(o)));
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }
    words.push(AT_EXECFN);
    words.push(at(execfn_off));
    words.push(AT_NULL);
    words.push(0);
    let auxv_start = 3 + argv.len() + envp.len();
    vm.set_saved_auxv(words[auxv_start..].iter().flat_map(|w| w.to_le_bytes()).collect());
    let sp = (strings_start - 8 * words.len() as u64) & !15;
    let total = STACK_TOP - sp;
    if total > STACK_SIZE / 4 {
        return Err(Errno::E2BIG);
    }
    // Populate the pages the initial frame touches, then write through the frames.
    let mut image = alloc::vec![0u8; (STACK_TOP - sp) as usize];
    for (i, w) in words.iter().enumerate() {
        image[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    let s = (strings_start - sp) as usize;
    image[s..s + strings.len()].copy_from_slice(&strings);
    let prot = Prot::READ | Prot::WRITE;
    let mut addr = sp;
    while addr < STACK_TOP {
        let page = addr & !(PAGE - 1);
        let frame = vm.ensure_page(page, prot)?;
        let chunk_end = (page + PAGE).min(STACK_TOP);
        let from = (addr - sp) as usize;
        let to = (chunk_end - sp) as usize;
        frame.write_bytes((addr - page) as usize, &image[from..to]);
        addr = chunk_end;
    }
    Ok(sp)
}
