//! Memory syscalls: brk, mmap, munmap, mprotect, msync, mincore, mremap and
//! remap_file_pages (madvise is `madvise.rs`).

use ostd::mm::{PAGE_SIZE, USER_END};

use super::SyscallCtx;
use crate::error::{Errno, SysResult};
use crate::fs::NodeKind;
use crate::process::limits;
use crate::process::vm::{Area, MMAP_MIN, MapName, MappedFile, Prot};

const PAGE: u64 = PAGE_SIZE as u64;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_POPULATE: u64 = 0x8000;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const MAP_SHARED: u64 = 0x01;
const MAP_GROWSDOWN: u64 = 0x100;
const MAP_KNOWN: u64 = 0x3
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_GROWSDOWN
    | 0x800 /* DENYWRITE */
    | 0x1000 /* EXECUTABLE */
    | 0x2000 /* LOCKED */
    | MAP_NORESERVE
    | MAP_POPULATE
    | 0x10000 /* NONBLOCK */
    | 0x20000 /* STACK */
    | 0x40000 /* HUGETLB */
    | MAP_FIXED_NOREPLACE;

/// /dev/zero's device number (major 1, minor 5).
const DEV_ZERO: u32 = crate::fs::devfs::makedev(1, 5);

fn page_up(len: u64) -> Option<u64> {
    len.checked_add(PAGE - 1).map(|l| l & !(PAGE - 1))
}

/// brk(2).
pub fn sys_brk(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let vm = ctx.process.vm();
    let (start, old) = {
        let areas = vm.areas();
        (areas.brk_start, areas.brk)
    };
    let want = a[0];
    if want < start || want >= USER_END {
        return Ok(old);
    }
    let (old_end, new_end) = (page_up(old).unwrap_or(old), page_up(want).ok_or(Errno::ENOMEM)?);
    if new_end > old_end {
        // RLIMIT_DATA bounds the heap (Linux's check_data_rlimit, without the data segment,
        // which is not recorded apart from the heap), and RLIMIT_AS/DATA the pages added.
        let heap_limit = ctx.process.limit(limits::DATA).soft;
        let taken = vm.areas().overlaps(old_end, new_end);
        if taken
            || !crate::memory::could_ever_fit(new_end - old_end)
            || want - start > heap_limit
            || !limits::may_expand(ctx.process, (new_end - old_end) / PAGE, true)
        {
            return Ok(old);
        }
        let heap =
            Area { heap: true, ..Area::anonymous(old_end, new_end, Prot::READ | Prot::WRITE) };
        vm.map_area(heap, false)?;
    } else if new_end < old_end {
        vm.unmap_range(new_end, old_end);
    }
    vm.areas().brk = want;
    Ok(want)
}

/// mmap(2).
pub fn sys_mmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, prot, flags, fd, offset) = (a[0], a[1], a[2], a[3], a[4] as i32, a[5]);
    let kind = flags & 0x3;
    if len == 0 || kind == 0 || (kind == MAP_SHARED_VALIDATE && flags & !MAP_KNOWN != 0) {
        return Err(Errno::EINVAL);
    }
    if offset % PAGE != 0 || prot & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).filter(|&l| l <= USER_END).ok_or(Errno::ENOMEM)?;
    let prot = Prot::from_bits_truncate(prot as u32);
    let shared = kind != MAP_PRIVATE;
    let mut anonymous = flags & MAP_ANONYMOUS != 0;
    // Anonymous memory is MAP_SHARED or MAP_PRIVATE, not MAP_SHARED_VALIDATE, and a shared
    // one cannot grow down (Linux's do_mmap).
    if anonymous
        && (kind == MAP_SHARED_VALIDATE || kind == MAP_SHARED && flags & MAP_GROWSDOWN != 0)
    {
        return Err(Errno::EINVAL);
    }
    if !anonymous {
        // /dev/zero maps as anonymous memory (Linux's mmap_zero): shared among the
        // processes the mapping is forked into if MAP_SHARED, private otherwise. The
        // descriptor's access mode still decides, as for any file.
        let f = ctx.process.file(fd)?;
        if f.node().is_some_and(|n| n.kind() == NodeKind::CharDev(DEV_ZERO)) {
            if !f.flags().readable()
                || (shared && prot.contains(Prot::WRITE) && !f.flags().writable())
            {
                return Err(Errno::EACCES);
            }
            anonymous = true;
        }
    }
    let file = if anonymous && shared {
        // Linux backs shared anonymous memory with an unnamed in-memory file (shmem): its
        // pages come as they are touched, and every process the mapping is forked into
        // maps the same ones.
        let node = crate::fs::Node::new_of(NodeKind::File, 0o600, "");
        node.truncate(len)?;
        Some(node)
    } else if anonymous {
        None
    } else {
        let f = ctx.process.file(fd)?;
        let node = f.node().ok_or(Errno::ENODEV)?.clone();
        if node.kind() != NodeKind::File {
            return Err(if node.kind() == NodeKind::Dir { Errno::ENODEV } else { Errno::EACCES });
        }
        if !f.flags().readable() || (shared && prot.contains(Prot::WRITE) && !f.flags().writable())
        {
            return Err(Errno::EACCES);
        }
        // A file on a noexec mount never maps executable (Linux's do_mmap: EPERM).
        if prot.contains(Prot::EXEC) && crate::fs::mount::flags_of(&node).noexec {
            return Err(Errno::EPERM);
        }
        Some(node)
    };
    // An anonymous mapping's offset means nothing (Linux ignores it).
    let offset = if anonymous { 0 } else { offset };
    // Linux's heuristic overcommit: memory the mapping commits (private writable, or shared
    // anonymous) must not exceed all of RAM at once.
    let commits = flags & MAP_NORESERVE == 0
        && ((!shared && prot.contains(Prot::WRITE)) || (shared && anonymous));
    if commits && !crate::memory::could_ever_fit(len) {
        return Err(Errno::ENOMEM);
    }
    let vm = ctx.process.vm();
    // A private writable mapping counts against RLIMIT_DATA (Linux's is_data_mapping).
    let data_mapping = !shared && prot.contains(Prot::WRITE);
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        if addr == u64::MAX {
            // Linux's get_unmapped_area hands a fixed address straight back and then takes
            // it for an error code if it looks like one (IS_ERR_VALUE): -1 is -EPERM.
            return Err(Errno::EPERM);
        }
        if addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        if addr.checked_add(len).is_none_or(|e| e > USER_END) {
            // Past the user address space (Linux: addr > TASK_SIZE - len).
            return Err(Errno::ENOMEM);
        }
        if addr < MMAP_MIN {
            return Err(if flags & MAP_FIXED_NOREPLACE != 0 {
                Errno::EPERM
            } else {
                Errno::ENOMEM
            });
        }
        if vm.areas().overlaps(addr, addr + len) {
            if flags & MAP_FIXED_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            // RLIMIT_AS and RLIMIT_DATA count what the mapping adds, before the old pages go.
            let replaced = vm.areas().pages_in(addr, addr + len);
            if !limits::may_expand(ctx.process, len / PAGE - replaced, data_mapping) {
                return Err(Errno::ENOMEM);
            }
            vm.unmap_range(addr, addr + len);
        } else if !limits::may_expand(ctx.process, len / PAGE, data_mapping) {
            return Err(Errno::ENOMEM);
        }
        addr
    } else {
        let start = vm.areas().find_free(addr & !(PAGE - 1), len).ok_or(Errno::ENOMEM)?;
        if !limits::may_expand(ctx.process, len / PAGE, data_mapping) {
            return Err(Errno::ENOMEM);
        }
        start
    };
    let mapped = file.as_ref().map(|node| {
        if anonymous {
            MappedFile { node: node.clone(), offset: 0, name: MapName::SharedAnonymous }
        } else {
            MappedFile::named(node, offset)
        }
    });
    let area =
        Area { shared, file: file.is_some(), mapped, ..Area::anonymous(start, start + len, prot) };
    install(&vm, area, file.as_ref(), offset, flags & MAP_POPULATE != 0)?;
    Ok(start)
}

/// Puts `area` in place, mapping `file` from `offset` if there is one (mmap's last step,
/// and remap_file_pages'): page-cache frames where the file has a cache, else a copy of its
/// contents; anonymous pages come on demand unless `populate`.
fn install(
    vm: &crate::process::vm::Vm,
    area: Area,
    file: Option<&alloc::sync::Arc<crate::fs::Node>>,
    offset: u64,
    populate: bool,
) -> SysResult<()> {
    let (start, len, prot, shared) = (area.start, area.end - area.start, area.prot, area.shared);
    // Files with a page cache map its frames; a private PROT_NONE mapping copies instead
    // (below), as do generated files.
    let cached = file.filter(|n| n.has_page_cache() && (shared || !prot.is_empty()));
    if let Some(node) = cached {
        vm.map_area(area.clone(), false)?;
        if shared {
            // A shared mapping maps the file's own pages (its page cache), so stores through
            // it, read(), write() and every other shared mapping of the file agree. An
            // in-memory file's pages come as they are touched (the fault handler takes them
            // from the cache: a sparse file costs only what is touched); a disk file's are
            // read now, since reading may sleep.
            vm.add_shared_file(start, start + len, node.clone(), offset);
            if node.disk().is_some() {
                map_file_pages(vm, node, area, offset, prot)?;
            }
        } else {
            // A private mapping maps the same frames read-only, as exec does: the first
            // store copies the page (the cache's own reference keeps the frame from being
            // taken over).
            map_file_pages(vm, node, area, offset, prot - Prot::WRITE)?;
            vm.add_private_file(start, start + len, node.clone(), offset);
        }
        return Ok(());
    }
    // The contents of other file mappings (generated files, private PROT_NONE) are copied
    // now.
    let populate = file.is_some() || populate;
    vm.map_area(area, populate)?;
    if let Some(node) = file {
        if shared {
            vm.add_shared_file(start, start + len, node.clone(), offset);
        }
        let mut buf = alloc::vec![0u8; PAGE_SIZE];
        for (i, page) in (start..start + len).step_by(PAGE_SIZE).enumerate() {
            let n = node.read_at(offset + i as u64 * PAGE, &mut buf)?;
            if n == 0 {
                break;
            }
            let frame = vm.ensure_page(page, prot)?;
            frame.write_bytes(0, &buf[..n]);
        }
    }
    Ok(())
}

/// Maps the page-cache frames of `node` from `offset` into `area` with `prot`, up to the end
/// of the file (pages past it come zero-filled on demand; Linux: SIGBUS). On failure the
/// area is unmapped again.
fn map_file_pages(
    vm: &crate::process::vm::Vm,
    node: &crate::fs::Node,
    area: Area,
    offset: u64,
    prot: Prot,
) -> SysResult<()> {
    let size = node.size();
    for (i, page) in (area.start..area.end).step_by(PAGE_SIZE).enumerate() {
        let file_offset = offset + i as u64 * PAGE;
        if file_offset >= size {
            break;
        }
        let mapped = node.page(file_offset / PAGE).and_then(|f| vm.map_page(page, f, prot));
        if let Err(e) = mapped {
            vm.unmap_range(area.start, area.end);
            return Err(e);
        }
    }
    Ok(())
}

/// munmap(2).
pub fn sys_munmap(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len) = (a[0], a[1]);
    if addr % PAGE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).filter(|&e| e <= USER_END).ok_or(Errno::EINVAL)?;
    ctx.process.vm().unmap_range(addr, end);
    Ok(0)
}

/// mprotect(2).
pub fn sys_mprotect(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (addr, len, prot) = (a[0], a[1], a[2]);
    if addr % PAGE != 0 || prot & !(7 | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    if len == 0 {
        return Ok(0);
    }
    let end = addr.checked_add(len).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
    ctx.process.vm().protect(addr, end, Prot::from_bits_truncate(prot as u32))?;
    Ok(0)
}

/// Checks that [addr, addr+len) is page-aligned at its start and wholly mapped (ENOMEM
/// names an unmapped page, as Linux's msync and mincore do). Returns the length in pages.
fn mapped_range(ctx: &SyscallCtx, addr: u64, len: u64) -> SysResult<u64> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    let end = addr.checked_add(len).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
    let vm = ctx.process.vm();
    let areas = vm.areas();
    // Walk the areas, not the pages: the range may span the whole address space.
    let mut at = addr;
    while at < end {
        at = areas.find(at).ok_or(Errno::ENOMEM)?.end;
    }
    Ok(len / PAGE)
}

/// msync(2): writes shared file mappings in the range back to their files (their pages are
/// copies made at mmap time; munmap and exit write them back too).
pub fn sys_msync(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let flags = a[2];
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == (MS_ASYNC | MS_SYNC)
    {
        return Err(Errno::EINVAL);
    }
    let pages = mapped_range(ctx, a[0], a[1])?;
    let end = a[0] + pages * PAGE;
    // MS_INVALIDATE would discard what a locked area holds: EBUSY (Linux's msync).
    let vm = ctx.process.vm();
    if flags & MS_INVALIDATE != 0 && vm.areas().locked_bytes(a[0], end) > 0 {
        return Err(Errno::EBUSY);
    }
    vm.write_back(a[0], end);
    Ok(0)
}

/// mincore(2): one byte per page, 1 if the page is resident (mapped in the page table now).
pub fn sys_mincore(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let pages = mapped_range(ctx, a[0], a[1])?;
    let vm = ctx.process.vm();
    let resident: alloc::vec::Vec<u8> =
        (0..pages).map(|i| u8::from(vm.space().translate(a[0] + i * PAGE).is_some())).collect();
    ctx.mem().write(a[2], &resident)?;
    Ok(0)
}

/// mremap(2): shrink, grow in place, or move (MREMAP_MAYMOVE) by remapping the same frames.
pub fn sys_mremap(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    let (old, old_size, new_size, flags) = (a[0], a[1], a[2], a[3]);
    if old % PAGE != 0
        || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0
        || (flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 {
        return Err(Errno::EINVAL); // fixed moves are not supported yet
    }
    let old_size = page_up(old_size).ok_or(Errno::EINVAL)?;
    let new_size = page_up(new_size).filter(|&s| s > 0 && s <= USER_END).ok_or(Errno::EINVAL)?;
    let old_end = old.checked_add(old_size).filter(|&e| e <= USER_END).ok_or(Errno::EFAULT)?;
    let vm = ctx.process.vm();
    let area = vm.areas().find(old).ok_or(Errno::EFAULT)?;
    // The old range may span several adjacent areas (an earlier in-place growth).
    let mut at = area.end;
    while at < old_end {
        at = vm.areas().find(at).ok_or(Errno::EFAULT)?.end;
    }
    if new_size <= old_size {
        vm.unmap_range(old + new_size, old_end);
        return Ok(old);
    }
    let grow_end = old.checked_add(new_size).filter(|&e| e <= USER_END).ok_or(Errno::ENOMEM)?;
    let data = area.prot.contains(Prot::WRITE) && !area.shared;
    if !limits::may_expand(ctx.process, (new_size - old_size) / PAGE, data) {
        return Err(Errno::ENOMEM);
    }
    if !vm.areas().overlaps(old_end, grow_end) {
        vm.map_area(area.piece(old_end, grow_end), area.shared)?;
        return Ok(old);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let new = vm.areas().find_free(0, new_size).ok_or(Errno::ENOMEM)?;
    vm.map_area(area.moved_to(old, new, new + new_size), false)?;
    for offset in (0..old_size).step_by(PAGE_SIZE) {
        if let Some((_, flags)) = vm.space().translate(old + offset) {
            let frame = vm.space().unmap(old + offset)?;
            vm.space().map(new + offset, frame, flags)?;
        }
    }
    vm.unmap_range(old, old_end);
    Ok(new)
}

/// remap_file_pages(2), which Linux 6.1 emulates by mapping the file again: the pages of
/// the shared file mapping at `start` are replaced by the file's pages from page `pgoff`,
/// with the area's rights (prot must be 0). EINVAL for anything else, as Linux answers: a
/// range that wraps, a start outside a shared mapping, or a range past its area.
pub fn sys_remap_file_pages(ctx: &mut SyscallCtx, a: [u64; 6]) -> SysResult<u64> {
    let (start, size, prot, pgoff) = (a[0] & !(PAGE - 1), a[1] & !(PAGE - 1), a[2], a[3]);
    if prot != 0 {
        return Err(Errno::EINVAL);
    }
    let end = start.checked_add(size).filter(|&e| e > start).ok_or(Errno::EINVAL)?;
    pgoff.checked_add(size / PAGE).ok_or(Errno::EINVAL)?;
    let offset = pgoff.checked_mul(PAGE).ok_or(Errno::EINVAL)?;
    let vm = ctx.process.vm();
    let area = vm.areas().find(start).filter(|a| a.shared && end <= a.end).ok_or(Errno::EINVAL)?;
    let (node, _) = vm.file_at(start, false).ok_or(Errno::EINVAL)?;
    vm.unmap_range(start, end);
    let mapped = area.mapped.as_ref().map(|m| MappedFile { offset, ..m.clone() });
    install(&vm, Area { mapped, ..area.piece(start, end) }, Some(&node), offset, true)?;
    Ok(0)
}
