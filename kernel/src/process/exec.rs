//! Loading an ELF executable into a fresh address space, and the initial stack.
//!
//! Static and static-PIE executables load directly; with PT_INTERP the interpreter is loaded
//! too, and control starts there with AT_BASE pointing at it. `#!` scripts re-execute their
//! interpreter. The stack follows the x86-64 System V ABI: argc, argv, envp, auxv, then the
//! strings and AT_RANDOM's 16 bytes near the top.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use ostd::mm::PAGE_SIZE;
use xmas_elf::ElfFile;
use xmas_elf::header::Type as ElfType;
use xmas_elf::program::{ProgramHeader, Type as PhType};

use super::vm::{Area, Prot, STACK_SIZE, STACK_TOP, Vm};
use crate::error::{Errno, SysResult};
use crate::fs::{Node, NodeKind};

const PAGE: u64 = PAGE_SIZE as u64;
/// Where a position-independent executable is placed.
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Where the interpreter (ld.so) is placed.
const INTERP_BASE: u64 = 0x7fff_e000_0000; // below MMAP_TOP: ld.so maps libraries under it
/// `#!` nesting limit (Linux allows 4 levels of interpreters; BINPRM_MAX_RECURSION).
const MAX_SCRIPT_DEPTH: usize = 4;

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

/// Reads the ELF header and program headers (not the whole file: segments are mapped
/// from the page cache). The kernel heap's blocks are aligned to their power-of-two size,
/// so the buffer meets xmas-elf's 8-byte alignment requirement.
fn read_headers(node: &Node) -> SysResult<Vec<u8>> {
    let mut ehdr = [0u8; 64];
    if node.read_at(0, &mut ehdr)? < 64 || &ehdr[..4] != b"\x7fELF" {
        return Err(Errno::ENOEXEC);
    }
    let ph_offset = u64::from_le_bytes(ehdr[0x20..0x28].try_into().unwrap_or_default());
    let ph_size = u64::from(u16::from_le_bytes([ehdr[0x36], ehdr[0x37]])) * u64::from(u16::from_le_bytes([ehdr[0x38], ehdr[0x39]]));
    let len = ph_offset.checked_add(ph_size).filter(|&l| l <= 64 * 1024).ok_or(Errno::ENOEXEC)?.max(64);
    let mut bytes = alloc::vec![0u8; len as usize];
    if node.read_at(0, &mut bytes)? < len as usize {
        return Err(Errno::ENOEXEC);
    }
    // Loading needs no sections: hide the section table (it lies past what was read, and
    // xmas-elf would look for the section-name table there).
    bytes[0x28..0x30].fill(0); // e_shoff
    bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    Ok(bytes)
}

/// Loads `node` (already resolved and checked executable) with `argv` and `envp`.
pub fn load(resolve: &dyn Fn(&str) -> SysResult<Arc<Node>>, node: Arc<Node>, path: &str, mut argv: Vec<String>, envp: Vec<String>) -> SysResult<Loaded> {
    let mut node = node;
    let exec_name = path;
    let mut path = path.to_string();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        if node.kind() != NodeKind::File {
            return Err(Errno::EACCES);
        }
        let mut head = [0u8; 256];
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
                return Err(Errno::ENOEXEC);
            }
            let mut new_argv = alloc::vec![interp.to_string()];
            if let Some(a) = arg.filter(|a| !a.is_empty()) {
                new_argv.push(a.to_string());
            }
            new_argv.push(path.clone());
            new_argv.extend(argv.into_iter().skip(1));
            argv = new_argv;
            node = resolve(interp)?;
            path = interp.to_string();
            continue;
        }
        return load_elf(resolve, &node, &path, argv, envp, exec_name);
    }
    Err(Errno::ELOOP)
}

struct Image {
    entry: u64,
    base: u64,
    phdr: u64,
    phnum: u64,
    brk: u64,
}

fn load_elf(resolve: &dyn Fn(&str) -> SysResult<Arc<Node>>, node: &Node, path: &str, argv: Vec<String>, envp: Vec<String>, exec_name: &str) -> SysResult<Loaded> {
    let bytes = read_headers(node)?;
    let elf = ElfFile::new(&bytes).map_err(|_| Errno::ENOEXEC)?;
    let interp = elf.program_iter().find(|ph| ph.get_type() == Ok(PhType::Interp));
    let vm = Vm::new()?;
    let main = map_image(&vm, &elf, &bytes, node, PIE_BASE)?;
    let (entry, interp_base) = match interp {
        Some(ph) => {
            let mut raw = alloc::vec![0u8; (ph.file_size() as usize).min(4096)];
            node.read_at(ph.offset(), &mut raw)?;
            let name = core::str::from_utf8(&raw).map_err(|_| Errno::ENOEXEC)?.trim_end_matches('\0');
            let interp_node = resolve(name)?;
            let ib = read_headers(&interp_node)?;
            let ielf = ElfFile::new(&ib).map_err(|_| Errno::ENOEXEC)?;
            let image = map_image(&vm, &ielf, &ib, &interp_node, INTERP_BASE)?;
            (image.entry, image.base)
        }
        None => (main.entry, 0),
    };
    {
        let mut areas = vm.areas();
        areas.brk_start = main.brk;
        areas.brk = main.brk;
    }
    vm.map_area(Area { start: STACK_TOP - STACK_SIZE, end: STACK_TOP, prot: Prot::READ | Prot::WRITE, shared: false }, false)?;
    let stack_pointer = build_stack(&vm, exec_name, &argv, &envp, &main, interp_base)?;
    let comm = argv.first().map_or(path, |a| a.as_str()).rsplit('/').next().unwrap_or(path).chars().take(15).collect();
    Ok(Loaded { vm, entry, stack_pointer, comm, exe: path.to_string() })
}

fn segment_prot(ph: &ProgramHeader) -> Prot {
    let f = ph.flags();
    let mut p = Prot::empty();
    if f.is_read() {
        p |= Prot::READ;
    }
    if f.is_write() {
        p |= Prot::WRITE;
    }
    if f.is_execute() {
        p |= Prot::EXEC;
    }
    p
}

/// Maps the PT_LOAD segments of `elf`; ET_DYN images go at `dyn_base`.
fn map_image(vm: &Vm, elf: &ElfFile, _headers: &[u8], node: &Node, dyn_base: u64) -> SysResult<Image> {
    let cache = node.page_frames()?;
    let base = match elf.header.pt2.type_().as_type() {
        ElfType::Executable => 0,
        ElfType::SharedObject => dyn_base,
        _ => return Err(Errno::ENOEXEC),
    };
    if elf.header.pt2.machine().as_machine() != xmas_elf::header::Machine::X86_64 {
        return Err(Errno::ENOEXEC);
    }
    let mut brk = 0;
    let mut phdr = 0;
    let mut first_load = None;
    for ph in elf.program_iter() {
        match ph.get_type() {
            Ok(PhType::Load) => {}
            Ok(PhType::Phdr) => {
                // Only passed on to the program (AT_PHDR), so it wraps as on Linux.
                phdr = base.wrapping_add(ph.virtual_addr());
                continue;
            }
            _ => continue,
        }
        let vaddr = base.checked_add(ph.virtual_addr()).ok_or(Errno::ENOEXEC)?;
        let memsz = ph.mem_size();
        let filesz = ph.file_size().min(memsz);
        let end = vaddr.checked_add(memsz).filter(|&e| e <= super::vm::MMAP_TOP).ok_or(Errno::ENOEXEC)?;
        let start_page = vaddr & !(PAGE - 1);
        let end_page = end.div_ceil(PAGE) * PAGE;
        first_load.get_or_insert((vaddr, ph.offset()));
        let prot = segment_prot(&ph);
        // Segments may share a page at their edges: merge rights and keep existing frames.
        {
            let mut areas = vm.areas();
            let mut at = start_page;
            while at < end_page {
                match areas.find(at) {
                    Some(existing) => {
                        let merged = existing.prot | prot;
                        let pieces = areas.remove_range(at, existing.end.min(end_page));
                        for p in pieces {
                            areas.insert(Area { prot: merged, ..p });
                        }
                        at = existing.end.min(end_page);
                    }
                    None => {
                        let next = areas.iter().map(|a| a.start).filter(|&s| s > at).min().unwrap_or(end_page).min(end_page);
                        areas.insert(Area { start: at, end: next, prot, shared: false });
                        at = next;
                    }
                }
            }
        }
        if ph.offset().checked_add(filesz).is_none_or(|end| end > node.size()) {
            return Err(Errno::ENOEXEC);
        }
        let congruent = ph.offset() % PAGE == vaddr % PAGE;
        for page in (start_page..end_page).step_by(PAGE_SIZE) {
            let prot_here = vm.areas().find(page).map_or(prot, |a| a.prot);
            // A page wholly inside the file part maps the file's own (shared) frame,
            // read-only: writes to a writable segment copy it first (MAP_PRIVATE semantics).
            let whole = page >= vaddr && page + PAGE <= vaddr + filesz;
            if whole && congruent && vm.space().translate(page).is_none() {
                let file_page = ((ph.offset() + (page - vaddr)) / PAGE) as usize;
                if let Some(frame) = cache.get(file_page) {
                    vm.space().map(page, frame.clone(), page_flags_of(prot_here - Prot::WRITE))?;
                    continue;
                }
            }
            let frame = vm.ensure_page(page, prot_here)?;
            if prot_here != prot {
                vm.space().protect(page, page_flags_of(prot_here))?;
            }
            // The part of the file that lands in this page.
            let lo = page.max(vaddr);
            let hi = (page + PAGE).min(vaddr + filesz);
            if lo < hi {
                let mut part = [0u8; PAGE_SIZE];
                let n = (hi - lo) as usize;
                node.read_at(ph.offset() + (lo - vaddr), &mut part[..n])?;
                frame.write_bytes((lo - page) as usize, &part[..n]);
            }
        }
        brk = brk.max(end_page);
    }
    let Some((first_vaddr, first_offset)) = first_load else { return Err(Errno::ENOEXEC) };
    if phdr == 0 {
        // No PT_PHDR: the headers are in the first segment if it starts at file offset 0.
        // The file's numbers, for the program's eyes only: wrap as Linux does.
        phdr = first_vaddr.wrapping_sub(first_offset).wrapping_add(elf.header.pt2.ph_offset());
    }
    // A wrapped entry point is a non-canonical rip, which user entry refuses (SIGSEGV).
    Ok(Image { entry: base.wrapping_add(elf.header.pt2.entry_point()), base, phdr, phnum: u64::from(elf.header.pt2.ph_count()), brk })
}

fn page_flags_of(prot: Prot) -> ostd::mm::PageFlags {
    let mut f = ostd::mm::PageFlags::READ;
    if prot.contains(Prot::WRITE) {
        f |= ostd::mm::PageFlags::WRITE;
    }
    if prot.contains(Prot::EXEC) {
        f |= ostd::mm::PageFlags::EXEC;
    }
    f
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
fn build_stack(vm: &Vm, path: &str, argv: &[String], envp: &[String], main: &Image, interp_base: u64) -> SysResult<u64> {
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
