//! Mapping an ELF image's PT_LOAD segments, past the point of no return, the way Linux 6.1's
//! `load_elf_binary` and `load_elf_interp` (fs/binfmt_elf.c) do: any failure here is the
//! caller's SIGSEGV, never an errno.
//!
//! The steps, in Linux's order and with its arithmetic (wrapping, as C's unsigned longs):
//! - each segment of the program is an `elf_load`: its file part an `elf_map` (the file
//!   pages from `PAGESTART(p_offset)` mapped private over `PAGESTART(vaddr)..PAGEALIGN(vaddr +
//!   p_filesz)`, replacing what was there; the first segment of an ET_EXEC must not replace
//!   anything, the first of an ET_DYN is placed where the whole image fits; the offset must
//!   be congruent to the address modulo the page size, the range inside the user address
//!   space), then the rest of its last page cleared (a failure is ignored) and anonymous
//!   zero pages up to `p_vaddr + p_memsz`;
//! - then a segment whose `p_vaddr`, `p_filesz > p_memsz` or `p_vaddr + p_memsz` is out of
//!   bounds fails (after it was mapped: the order only matters for which check fires);
//! - the interpreter is mapped the older way Debian's 6.1 kept for `load_elf_interp`: file
//!   parts first, then `padzero` at the highest file end (which must be writable) and one
//!   anonymous range up to the highest memory end.
//!
//! Pages of a mapping past the end of the file are SIGBUS when touched, as on Linux.
//! Memory for a writable private mapping or a bss larger than all RAM is refused, as Linux's
//! overcommit heuristic does.
//!
//! Which of these Debian's 6.1 does was checked case by case against it (tests/ref/badelf.c):
//! its stable updates brought `elf_load` to the program but not to the interpreter.

use alloc::sync::Arc;
use alloc::vec::Vec;

use object::LittleEndian as LE;
use object::elf::{ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_LOAD};
use ostd::mm::{Frame, PAGE_SIZE, PageFlags, USER_END};

use super::elf::{Ehdr, Phdr};
use super::vm::{Area, MappedFile, Prot, Vm};
use crate::fs::Node;

const PAGE: u64 = PAGE_SIZE as u64;
/// The top of the user address space (Linux's TASK_SIZE with four-level paging).
const TASK_SIZE: u64 = USER_END - PAGE;
/// Where a position-independent executable is placed (Linux's ELF_ET_DYN_BASE, without
/// the randomization).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Where the interpreter (ld.so) is placed: below the mmap area's top, so ld.so maps
/// libraries under it.
const INTERP_BASE: u64 = 0x7fff_e000_0000;

/// A loaded image, for the auxiliary vector and brk.
pub struct Image {
    /// The entry point (relocated).
    pub entry: u64,
    /// Where the program headers are in memory (AT_PHDR), 0 if no segment holds them.
    pub phdr: u64,
    /// How many there are (AT_PHNUM).
    pub phnum: u64,
    /// The start of the heap: the end of the bss, page-aligned.
    pub brk: u64,
}

/// Returns whether `addr` lies outside the user address space (Linux's BAD_ADDR).
pub fn bad_addr(addr: u64) -> bool {
    addr >= TASK_SIZE
}

fn page_start(a: u64) -> u64 {
    a & !(PAGE - 1)
}

fn page_offset(a: u64) -> u64 {
    a & (PAGE - 1)
}

fn page_align(a: u64) -> u64 {
    a.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

fn loads(phdrs: &[Phdr]) -> impl Iterator<Item = &Phdr> {
    phdrs.iter().filter(|ph| ph.p_type.get(LE) == PT_LOAD)
}

/// The span from the lowest to the highest PT_LOAD address, 0 if there is none.
fn total_mapping_size(phdrs: &[Phdr]) -> u64 {
    let mut min = u64::MAX;
    let mut max = 0u64;
    let mut any = false;
    for ph in loads(phdrs) {
        min = min.min(page_start(ph.p_vaddr.get(LE)));
        max = max.max(ph.p_vaddr.get(LE).wrapping_add(ph.p_memsz.get(LE)));
        any = true;
    }
    if any { max.wrapping_sub(min) } else { 0 }
}

/// The largest power-of-two `p_align` of the PT_LOADs, at least a page.
fn maximum_alignment(phdrs: &[Phdr]) -> u64 {
    let align = loads(phdrs)
        .map(|ph| ph.p_align.get(LE))
        .filter(|a| a.is_power_of_two())
        .max()
        .unwrap_or(0);
    page_align(align)
}

fn make_prot(flags: u32) -> Prot {
    let mut p = Prot::empty();
    if flags & PF_R.0 != 0 {
        p |= Prot::READ;
    }
    if flags & PF_W.0 != 0 {
        p |= Prot::WRITE;
    }
    if flags & PF_X.0 != 0 {
        p |= Prot::EXEC;
    }
    p
}

fn page_flags(prot: Prot) -> PageFlags {
    let mut f = PageFlags::READ;
    if prot.contains(Prot::WRITE) {
        f |= PageFlags::WRITE;
    }
    if prot.contains(Prot::EXEC) {
        f |= PageFlags::EXEC;
    }
    f
}

/// Where a mapping may go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Exactly there, replacing what is mapped (MAP_FIXED).
    Fixed,
    /// Exactly there, failing if anything is mapped (MAP_FIXED_NOREPLACE).
    NoReplace,
    /// There if the range is free, else wherever there is room.
    Hint,
}

/// One image's file and the address space it goes into.
struct Mapper<'a> {
    vm: &'a Vm,
    cache: Arc<Vec<Frame>>,
    /// The file, as its areas remember it (from offset 0).
    file: MappedFile,
    /// Usable RAM, in bytes: the overcommit limit for one allocation.
    ram: u64,
}

impl<'a> Mapper<'a> {
    fn new(vm: &'a Vm, node: &Arc<Node>) -> Result<Self, ()> {
        let cache = node.page_frames().map_err(|_| ())?;
        let ram = ostd::mm::frame_stats().total as u64 * PAGE;
        Ok(Self { vm, cache, file: MappedFile::named(node, 0), ram })
    }

    /// Maps the file part of segment `ph` at `addr` (Linux's `elf_map`); `total_size`, for
    /// the first segment of an ET_DYN, reserves room for the whole image. Returns where the
    /// segment went.
    fn elf_map(
        &self,
        addr: u64,
        ph: &Phdr,
        prot: Prot,
        placement: Placement,
        total_size: u64,
    ) -> Result<u64, ()> {
        let vaddr = ph.p_vaddr.get(LE);
        let size = page_align(ph.p_filesz.get(LE).wrapping_add(page_offset(vaddr)));
        let off = ph.p_offset.get(LE).wrapping_sub(page_offset(vaddr));
        let addr = page_start(addr);
        if size == 0 {
            return Ok(addr); // nothing from the file (a pure bss segment)
        }
        let len = if total_size != 0 { page_align(total_size) } else { size };
        // vm_mmap's and do_mmap's checks.
        if len == 0 || off.checked_add(len).is_none() || page_offset(off) != 0 || len > TASK_SIZE {
            return Err(());
        }
        // file_mmap_ok: a regular file's mapping must end by MAX_LFS_FILESIZE (i64::MAX).
        if off / PAGE > (i64::MAX as u64 - len) / PAGE {
            return Err(());
        }
        let start = match placement {
            Placement::Fixed | Placement::NoReplace => addr,
            Placement::Hint => {
                let free = addr
                    .checked_add(len)
                    .is_some_and(|end| end <= TASK_SIZE && !self.vm.areas().overlaps(addr, end));
                if free { addr } else { self.vm.areas().find_free(0, len).ok_or(())? }
            }
        };
        if start > TASK_SIZE - len {
            return Err(());
        }
        if placement == Placement::NoReplace && self.vm.areas().overlaps(start, start + len) {
            return Err(());
        }
        if prot.contains(Prot::WRITE) && len > self.ram {
            return Err(()); // a private writable mapping is charged in full
        }
        self.map_file(start, size.min(len), off, prot)?;
        Ok(start)
    }

    /// Maps segment `ph` with its bss (Linux's `elf_load`): the file part as [`Self::elf_map`],
    /// the rest of its last page cleared (a failure is ignored), and anonymous pages up to
    /// `p_vaddr + p_memsz`.
    fn elf_load(
        &self,
        addr: u64,
        ph: &Phdr,
        prot: Prot,
        placement: Placement,
        total_size: u64,
    ) -> Result<u64, ()> {
        let (vaddr, filesz, memsz) = (ph.p_vaddr.get(LE), ph.p_filesz.get(LE), ph.p_memsz.get(LE));
        let (map, zero_start, zero_end);
        if filesz != 0 {
            map = self.elf_map(addr, ph, prot, placement, total_size)?;
            if bad_addr(map) {
                return Ok(map);
            }
            let base = map.wrapping_add(page_offset(vaddr));
            zero_start = base.wrapping_add(filesz);
            zero_end = base.wrapping_add(memsz);
            if memsz > filesz {
                let _ = self.padzero(zero_start);
            }
        } else {
            map = page_start(addr);
            zero_start = map;
            zero_end = map.wrapping_add(page_offset(vaddr)).wrapping_add(memsz);
        }
        if memsz > filesz {
            let (start, end) = (page_align(zero_start), page_align(zero_end));
            self.vm_brk(start, end.wrapping_sub(start), prot.contains(Prot::EXEC))?;
        }
        Ok(map)
    }

    /// Maps `len` bytes of the file from page-aligned offset `off` at `start`, private,
    /// replacing what was there. Pages past the end of the file are SIGBUS.
    fn map_file(&self, start: u64, len: u64, off: u64, prot: Prot) -> Result<(), ()> {
        let end = start + len;
        self.vm.unmap_range(start, end);
        let mapped = Some(self.file.advanced(off));
        self.vm.areas().insert(Area { file: true, mapped, ..Area::anonymous(start, end, prot) });
        let first = off / PAGE;
        let in_file = (self.cache.len() as u64).saturating_sub(first).min(len / PAGE);
        if !prot.is_empty() {
            // The file's own frames, read-only: a write copies (MAP_PRIVATE).
            let flags = page_flags(prot - Prot::WRITE);
            for i in 0..in_file {
                let frame = self.cache.get((first + i) as usize).ok_or(())?;
                self.vm.space().map(start + i * PAGE, frame.clone(), flags).map_err(|_| ())?;
            }
        }
        self.vm.add_beyond_eof(start + in_file * PAGE, end);
        Ok(())
    }

    /// Maps anonymous zero pages over `start..start + len` (Linux's `vm_brk_flags`):
    /// readable and writable, executable if asked, replacing what was there.
    fn vm_brk(&self, start: u64, len: u64, exec: bool) -> Result<(), ()> {
        if len == 0 {
            return Ok(());
        }
        if len > TASK_SIZE || start > TASK_SIZE - len || len > self.ram {
            return Err(());
        }
        self.vm.unmap_range(start, start + len);
        let mut prot = Prot::READ | Prot::WRITE;
        if exec {
            prot |= Prot::EXEC;
        }
        self.vm.areas().insert(Area::anonymous(start, start + len, prot));
        Ok(())
    }

    /// Zeroes `len` bytes at `addr`, within one page, as a user write would (`clear_user`):
    /// fails if the page is not mapped writable or lies past the end of its file.
    fn clear_user(&self, addr: u64, len: u64) -> Result<(), ()> {
        let area = self.vm.areas().find(addr).ok_or(())?;
        if !area.prot.contains(Prot::WRITE) || self.vm.is_beyond_eof(addr) {
            return Err(());
        }
        let page = page_start(addr);
        // Not yet touched: a zero page comes on demand.
        let Some(frame) = self.vm.space().clone_frame_at(page) else { return Ok(()) };
        let copy = crate::memory::alloc_user_frame().ok_or(())?;
        copy.copy_from(&frame);
        drop(frame);
        let zeros = [0u8; PAGE_SIZE];
        let at = page_offset(addr) as usize;
        let n = (len as usize).min(PAGE_SIZE - at);
        copy.write_bytes(at, &zeros[..n]);
        self.vm.space().replace(page, copy, page_flags(area.prot)).map(drop).map_err(|_| ())
    }

    /// Clears from `addr` to the end of its page (Linux's `padzero`).
    fn padzero(&self, addr: u64) -> Result<(), ()> {
        let nbyte = page_offset(addr);
        if nbyte == 0 {
            return Ok(());
        }
        self.clear_user(addr, PAGE - nbyte)
    }
}

/// Checks a mapped segment's bounds (after `elf_map`, as Linux does): fails if it starts
/// outside the user address space, has more file than memory, or ends past the top.
fn segment_fits(start: u64, ph: &Phdr) -> bool {
    let (filesz, memsz) = (ph.p_filesz.get(LE), ph.p_memsz.get(LE));
    !(bad_addr(start) || filesz > memsz || memsz > TASK_SIZE || TASK_SIZE - memsz < start)
}

/// Maps the main program (`load_elf_binary`'s loop, with `elf_load` for each segment, as
/// in Debian's 6.1 kernel). An ET_DYN goes at [`PIE_BASE`] (aligned to its largest segment
/// alignment when it has an interpreter, as Linux places PIE programs).
pub fn load_main(
    vm: &Vm,
    node: &Arc<Node>,
    ehdr: &Ehdr,
    phdrs: &[Phdr],
    has_interp: bool,
) -> Result<Image, ()> {
    let m = Mapper::new(vm, node)?;
    let is_dyn = ehdr.e_type.get(LE) == ET_DYN;
    let phoff = ehdr.e_phoff.get(LE);
    let mut elf_brk = 0u64;
    let (mut load_bias, mut phdr_addr, mut first) = (0u64, 0u64, true);
    for ph in loads(phdrs) {
        let prot = make_prot(ph.p_flags.get(LE).0);
        let vaddr = ph.p_vaddr.get(LE);
        let (mut placement, mut total_size) = (Placement::Fixed, 0);
        if first && !is_dyn {
            placement = Placement::NoReplace;
        } else if first {
            placement = if has_interp { Placement::NoReplace } else { Placement::Hint };
            load_bias = PIE_BASE;
            if has_interp {
                let align = maximum_alignment(phdrs);
                if align != 0 {
                    load_bias &= !(align - 1);
                }
            }
            load_bias = page_start(load_bias.wrapping_sub(vaddr));
            total_size = total_mapping_size(phdrs);
            if total_size == 0 {
                return Err(());
            }
        }
        let map = m.elf_load(load_bias.wrapping_add(vaddr), ph, prot, placement, total_size)?;
        if bad_addr(map) {
            return Err(());
        }
        if first {
            first = false;
            if is_dyn {
                load_bias = load_bias
                    .wrapping_add(map.wrapping_sub(page_start(load_bias.wrapping_add(vaddr))));
            }
        }
        let (offset, filesz, memsz) =
            (ph.p_offset.get(LE), ph.p_filesz.get(LE), ph.p_memsz.get(LE));
        // AT_PHDR: where the segment holding the program headers put them.
        if offset <= phoff && phoff < offset.wrapping_add(filesz) {
            phdr_addr = phoff.wrapping_sub(offset).wrapping_add(vaddr);
        }
        if !segment_fits(vaddr, ph) {
            return Err(());
        }
        elf_brk = elf_brk.max(vaddr + memsz);
    }
    let entry = ehdr.e_entry.get(LE).wrapping_add(load_bias);
    let phdr = phdr_addr.wrapping_add(load_bias);
    let brk = page_align(elf_brk.wrapping_add(load_bias));
    Ok(Image { entry, phdr, phnum: u64::from(ehdr.e_phnum.get(LE)), brk })
}

/// Maps the interpreter (`load_elf_interp`); returns its load address (AT_BASE). An
/// ET_DYN interpreter goes near [`INTERP_BASE`], an ET_EXEC one at its own addresses.
pub fn load_interp(vm: &Vm, node: &Arc<Node>, ehdr: &Ehdr, phdrs: &[Phdr]) -> Result<u64, ()> {
    let ty = ehdr.e_type.get(LE);
    if ty != ET_EXEC && ty != ET_DYN {
        return Err(());
    }
    let m = Mapper::new(vm, node)?;
    let mut total_size = total_mapping_size(phdrs);
    if total_size == 0 {
        return Err(());
    }
    let (mut load_addr, mut load_addr_set) = (0u64, false);
    let (mut elf_bss, mut last_bss, mut bss_prot) = (0u64, 0u64, Prot::empty());
    for ph in loads(phdrs) {
        let prot = make_prot(ph.p_flags.get(LE).0);
        let vaddr = ph.p_vaddr.get(LE);
        let placement = if ty == ET_EXEC || load_addr_set {
            Placement::Fixed
        } else {
            load_addr = INTERP_BASE.wrapping_sub(page_start(vaddr));
            Placement::Hint
        };
        let map = m.elf_map(load_addr.wrapping_add(vaddr), ph, prot, placement, total_size)?;
        total_size = 0;
        if bad_addr(map) {
            return Err(());
        }
        if !load_addr_set && ty == ET_DYN {
            load_addr = map.wrapping_sub(page_start(vaddr));
            load_addr_set = true;
        }
        let start = load_addr.wrapping_add(vaddr);
        if !segment_fits(start, ph) {
            return Err(());
        }
        elf_bss = elf_bss.max(start + ph.p_filesz.get(LE));
        let end = start + ph.p_memsz.get(LE);
        if end > last_bss {
            last_bss = end;
            bss_prot = prot;
        }
    }
    m.padzero(elf_bss)?;
    let (elf_bss, last_bss) = (page_align(elf_bss), page_align(last_bss));
    if last_bss > elf_bss {
        m.vm_brk(elf_bss, last_bss - elf_bss, bss_prot.contains(Prot::EXEC))?;
    }
    Ok(load_addr)
}
