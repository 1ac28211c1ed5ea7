//! A process's memory: its address space and the record of what is mapped where.
//!
//! An [`Area`] is a VMA: a page-aligned range with protection and a kind. Pages are filled
//! lazily by the fault handler (zero pages) or eagerly (file contents, shared memory); after
//! a fork both processes map the same frames read-only, and the first write copies
//! (unless the area is shared, or the frame has no other user).
//! The areas live behind a spin lock shared with the fault handler, which never sleeps.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::mm::{Frame, PAGE_SIZE, PageAccess, PageFaultInfo, VmError, VmSpace};
use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};
use crate::memory;

mod area;
pub mod mapped_file;
pub mod maps;

pub use area::{Area, Prot};
pub use mapped_file::{MapName, MappedFile};

const PAGE: u64 = PAGE_SIZE as u64;
/// The top of the main thread's stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// The main thread's stack size (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where `mmap` starts looking for room, downwards.
pub const MMAP_TOP: u64 = 0x7fff_f000_0000;
/// The lowest address `mmap` hands out (vm.mmap_min_addr).
pub const MMAP_MIN: u64 = 0x1_0000;
/// The most areas an address space may hold (Linux's vm.max_map_count: 65530 unless set,
/// from 0 to INT_MAX).
pub static MAX_MAP_COUNT: crate::sysctl::IntTunable =
    crate::sysctl::IntTunable::new(65_530, 0, i32::MAX as i64);
/// Free memory a fork needs beyond the kernel's reserve (for the child's page tables).
const FORK_HEADROOM: usize = 256 * 1024;

/// The areas of one address space, plus the program break.
#[derive(Clone, Debug, Default)]
pub struct Areas {
    map: BTreeMap<u64, Area>,
    /// Where the heap starts (end of the executable's data).
    pub brk_start: u64,
    /// The current break.
    pub brk: u64,
    /// mlockall(MCL_FUTURE): new mappings are locked.
    pub lock_future: bool,
}

impl Areas {
    /// Pages mapped in `start..end`.
    pub fn pages_in(&self, start: u64, end: u64) -> u64 {
        self.map
            .values()
            .filter(|a| a.start < end && start < a.end)
            .map(|a| (a.end.min(end) - a.start.max(start)) / PAGE)
            .sum()
    }

    /// Pages mapped in all, and in data mappings (private and writable, not the main
    /// stack: Linux's total_vm and data_vm, which RLIMIT_AS and RLIMIT_DATA bound).
    pub fn usage(&self) -> (u64, u64) {
        let stack = (STACK_TOP - STACK_SIZE, STACK_TOP);
        self.map.values().fold((0, 0), |(total, data), a| {
            let pages = (a.end - a.start) / PAGE;
            let in_stack = (a.end.min(stack.1).saturating_sub(a.start.max(stack.0))) / PAGE;
            let is_data = a.prot.contains(Prot::WRITE) && !a.shared;
            (total + pages, data + if is_data { pages - in_stack } else { 0 })
        })
    }

    /// Returns the area containing `addr`.
    pub fn find(&self, addr: u64) -> Option<Area> {
        self.map.range(..=addr).next_back().map(|(_, a)| a.clone()).filter(|a| addr < a.end)
    }

    /// Returns whether any area overlaps `start..end`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.map.range(..end).next_back().is_some_and(|(_, a)| a.end > start)
    }

    /// Returns the areas, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Area> {
        self.map.values()
    }

    /// Inserts an area; the range must be free. It merges with a neighbour that ends or
    /// starts exactly at its edge and has the same rights and kind, as Linux merges VMAs, so
    /// that a program mapping page after page holds one area, not millions.
    pub fn insert(&mut self, area: Area) {
        debug_assert!(!self.overlaps(area.start, area.end));
        let mut merged = area.clone();
        if let Some((&key, before)) = self.map.range(..area.start).next_back()
            && before.continued_by(&area)
        {
            merged = before.piece(before.start, area.end);
            self.map.remove(&key);
        }
        if let Some(after) = self.map.get(&area.end)
            && area.continued_by(after)
        {
            merged.end = after.end;
            self.map.remove(&area.end);
        }
        self.map.insert(merged.start, merged);
    }

    /// Returns whether the address space holds as many areas as Linux allows
    /// (vm.max_map_count); a mapping that would add one more fails with ENOMEM.
    pub fn is_full(&self) -> bool {
        self.map.len() >= MAX_MAP_COUNT.get_usize()
    }

    /// Removes `start..end` from the record, splitting areas at the edges; returns the
    /// pieces removed.
    pub fn remove_range(&mut self, start: u64, end: u64) -> alloc::vec::Vec<Area> {
        let mut removed = alloc::vec::Vec::new();
        let hits: alloc::vec::Vec<u64> =
            self.map.range(..end).filter(|(_, a)| a.end > start).map(|(&k, _)| k).collect();
        for key in hits {
            let Some(a) = self.map.remove(&key) else { continue };
            if a.start < start {
                self.map.insert(a.start, a.piece(a.start, start));
            }
            if a.end > end {
                self.map.insert(end, a.piece(end, a.end));
            }
            removed.push(a.piece(a.start.max(start), a.end.min(end)));
        }
        removed
    }

    /// Locks or unlocks `start..end` (mlock, munlock), splitting areas at the edges. As
    /// Linux's `apply_vma_lock_flags`, the mapped run from `start` is changed up to the first
    /// hole, and then the answer is ENOMEM (nothing changes if `start` itself is unmapped).
    pub fn set_locked(&mut self, start: u64, end: u64, locked: bool) -> SysResult<()> {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(area) => at = area.end,
                None => break,
            }
        }
        let reached = at.min(end);
        for piece in self.remove_range(start, reached) {
            self.insert(Area { locked, ..piece });
        }
        if reached < end { Err(Errno::ENOMEM) } else { Ok(()) }
    }

    /// Changes the areas within `start..end` through `change` (madvise's flags), splitting
    /// them at the edges; holes are skipped.
    pub fn change_range(&mut self, start: u64, end: u64, change: impl Fn(&mut Area)) {
        for mut piece in self.remove_range(start, end) {
            change(&mut piece);
            self.insert(piece);
        }
    }

    /// Locks or unlocks every area (mlockall MCL_CURRENT, munlockall).
    pub fn set_all_locked(&mut self, locked: bool) {
        let areas = core::mem::take(&mut self.map).into_values();
        for area in areas {
            self.insert(Area { locked, ..area });
        }
    }

    /// Bytes in locked areas, within `start..end`.
    pub fn locked_bytes(&self, start: u64, end: u64) -> u64 {
        self.map
            .values()
            .filter(|a| a.locked && a.end > start && a.start < end)
            .map(|a| a.end.min(end) - a.start.max(start))
            .sum()
    }

    /// Bytes mapped in all.
    pub fn mapped_bytes(&self) -> u64 {
        self.map.values().map(|a| a.end - a.start).sum()
    }

    /// Finds a free, page-aligned range of `len` bytes, preferring `hint`.
    pub fn find_free(&self, hint: u64, len: u64) -> Option<u64> {
        if hint >= MMAP_MIN
            && hint.checked_add(len).is_some_and(|e| e <= MMAP_TOP)
            && !self.overlaps(hint, hint + len)
        {
            return Some(hint);
        }
        let mut top = MMAP_TOP;
        for a in self.map.values().rev() {
            if a.start >= top {
                continue;
            }
            if a.end <= top && top - a.end >= len {
                return Some(top - len);
            }
            top = top.min(a.start);
        }
        (top >= MMAP_MIN + len).then(|| top - len)
    }
}

/// A process's address space and areas.
pub struct Vm {
    space: Arc<VmSpace>,
    areas: Arc<SpinLock<Areas>>,
    /// MAP_SHARED file mappings: they map the file's page-cache frames (a disk file's at
    /// mmap time, an in-memory file's as they are touched, by the fault handler); a disk
    /// file's are written back to it on msync, munmap and when the address space goes.
    shared_files: Arc<SpinLock<Vec<SharedFileMap>>>,
    /// Set by the fault handler when a fault failed only for want of a free frame (the
    /// out-of-memory killer's cue, see [`Vm::take_starved`]).
    starved: Arc<AtomicBool>,
    /// Ranges of private file mappings that lie past the end of their file: touching them
    /// is SIGBUS (the fault handler refuses them, [`Vm::is_beyond_eof`] tells why).
    beyond_eof: Arc<SpinLock<Vec<(u64, u64)>>>,
    /// The auxiliary vector exec gave the program (Linux's mm->saved_auxv), as the bytes
    /// /proc/PID/auxv shows: (type, value) pairs ending with AT_NULL.
    saved_auxv: SpinLock<Vec<u8>>,
}

/// One MAP_SHARED mapping of a file.
#[derive(Clone)]
struct SharedFileMap {
    start: u64,
    end: u64,
    node: Arc<crate::fs::Node>,
    /// File offset of `start`.
    offset: u64,
    /// The System V segment this maps, if it is one (counts as one attachment).
    shm: Option<crate::ipc::shm::Attachment>,
    /// A MAP_PRIVATE mapping, recorded only so that madvise(MADV_DONTNEED) can bring the
    /// file's pages back: nothing is written back, and faults do not look here.
    private: bool,
}

impl Vm {
    /// Creates an empty address space with its fault handler installed.
    pub fn new() -> SysResult<Arc<Self>> {
        Self::with(VmSpace::new()?, Areas::default(), Vec::new(), Vec::new())
    }

    fn with(
        space: VmSpace,
        areas: Areas,
        beyond_eof: Vec<(u64, u64)>,
        shared_files: Vec<SharedFileMap>,
    ) -> SysResult<Arc<Self>> {
        let areas = Arc::new(SpinLock::new(areas));
        let starved = Arc::new(AtomicBool::new(false));
        let beyond_eof = Arc::new(SpinLock::new(beyond_eof));
        let shared_files = Arc::new(SpinLock::new(shared_files));
        let (for_handler, starved_for_handler, eof_for_handler, files_for_handler) =
            (areas.clone(), starved.clone(), beyond_eof.clone(), shared_files.clone());
        space.set_page_fault_handler(alloc::boxed::Box::new(
            move |space: &VmSpace, info: &PageFaultInfo| {
                let area = for_handler.lock().find(info.addr).ok_or(())?;
                if eof_for_handler.lock().iter().any(|&(s, e)| s <= info.addr && info.addr < e) {
                    return Err(());
                }
                if area.shared && !info.present {
                    if past_shared_file_end(&files_for_handler.lock(), info.addr) {
                        return Err(());
                    }
                    if let Some(frame) = shared_file_page(&files_for_handler.lock(), info.addr) {
                        let frame = frame.map_err(|_| {
                            starved_for_handler.store(true, Ordering::Relaxed);
                        })?;
                        let page = info.addr & !(PAGE - 1);
                        return space.map(page, frame, area.prot.page_flags()).map_err(drop);
                    }
                }
                resolve_fault(space, &area, info).map_err(|failure| {
                    if failure == FaultFailure::NoMemory {
                        starved_for_handler.store(true, Ordering::Relaxed);
                    }
                })
            },
        ));
        Ok(Arc::new(Self {
            space: Arc::new(space),
            areas,
            shared_files,
            starved,
            beyond_eof,
            saved_auxv: SpinLock::new(Vec::new()),
        }))
    }

    /// Records the auxiliary vector exec wrote on the stack.
    pub fn set_saved_auxv(&self, auxv: Vec<u8>) {
        *self.saved_auxv.lock() = auxv;
    }

    /// Returns the auxiliary vector exec gave the program (empty before any exec).
    pub fn saved_auxv(&self) -> Vec<u8> {
        self.saved_auxv.lock().clone()
    }

    /// Returns whether a fault failed for want of memory since the last call, and forgets it.
    pub fn take_starved(&self) -> bool {
        self.starved.swap(false, Ordering::Relaxed)
    }

    /// Records that `start..end` (page-aligned, inside a private file mapping) lies past the
    /// end of the file: an access there is SIGBUS, as on Linux.
    pub fn add_beyond_eof(&self, start: u64, end: u64) {
        if start < end {
            self.beyond_eof.lock().push((start, end));
        }
    }

    /// Returns whether a fault at `addr` hit a page past the end of a mapped file (SIGBUS
    /// rather than SIGSEGV).
    pub fn is_beyond_eof(&self, addr: u64) -> bool {
        self.beyond_eof.lock().iter().any(|&(s, e)| s <= addr && addr < e)
            || past_shared_file_end(&self.shared_files.lock(), addr)
    }

    /// Forgets the past-the-end ranges within `start..end`, keeping the parts outside it.
    fn drop_beyond_eof(&self, start: u64, end: u64) {
        let mut ranges = self.beyond_eof.lock();
        let old = core::mem::take(&mut *ranges);
        for (s, e) in old {
            if s < start {
                ranges.push((s, e.min(start)));
            }
            if end < e {
                ranges.push((s.max(end), e));
            }
        }
    }

    /// Records that `start..end` maps `node` from `offset`, shared: its writes go back to
    /// the file (see [`Vm::write_back`]).
    pub fn add_shared_file(&self, start: u64, end: u64, node: Arc<crate::fs::Node>, offset: u64) {
        let map = SharedFileMap { start, end, node, offset, shm: None, private: false };
        self.shared_files.lock().push(map);
    }

    /// Records that `start..end` maps `node` from `offset`, private (see
    /// [`SharedFileMap::private`]).
    pub fn add_private_file(&self, start: u64, end: u64, node: Arc<crate::fs::Node>, offset: u64) {
        let map = SharedFileMap { start, end, node, offset, shm: None, private: true };
        self.shared_files.lock().push(map);
    }

    /// The file a private (or a shared) mapping maps at `addr`, and the file offset there.
    pub fn file_at(&self, addr: u64, private: bool) -> Option<(Arc<crate::fs::Node>, u64)> {
        let maps = self.shared_files.lock();
        let m =
            maps.iter().rev().find(|m| m.private == private && m.start <= addr && addr < m.end)?;
        Some((m.node.clone(), m.offset + (addr - m.start)))
    }

    /// The private (or shared) file mappings over `start..end`, oldest first (a later one
    /// over the same pages is the one in force): each one's part of the range, its file,
    /// and the file offset where that part begins.
    pub fn files_in(
        &self,
        start: u64,
        end: u64,
        private: bool,
    ) -> alloc::vec::Vec<(u64, u64, Arc<crate::fs::Node>, u64)> {
        let maps = self.shared_files.lock();
        maps.iter()
            .filter(|m| m.private == private && m.start < end && start < m.end)
            .map(|m| {
                let (from, to) = (m.start.max(start), m.end.min(end));
                (from, to, m.node.clone(), m.offset + (from - m.start))
            })
            .collect()
    }

    /// Records that `start..end` maps System V segment `attachment`, whose file is `node`.
    pub fn add_shm(
        &self,
        start: u64,
        end: u64,
        node: Arc<crate::fs::Node>,
        attachment: crate::ipc::shm::Attachment,
    ) {
        let map =
            SharedFileMap { start, end, node, offset: 0, shm: Some(attachment), private: false };
        self.shared_files.lock().push(map);
    }

    /// shmdt: unmaps the segment attached at `addr` (every piece of that attachment within
    /// the segment's length from `addr`). Returns false if no attachment starts at `addr`.
    pub fn detach_shm(&self, addr: u64) -> bool {
        let pieces: Vec<(u64, u64)> = {
            let maps = self.shared_files.lock();
            let Some(first) =
                maps.iter().find(|m| m.start == addr && m.offset == 0).and_then(|m| m.shm.as_ref())
            else {
                return false;
            };
            let end = addr.saturating_add(first.mapped_len());
            maps.iter()
                .filter(|m| m.shm.as_ref().is_some_and(|a| a.same_segment(first)))
                .filter(|m| m.start >= addr && m.end <= end && m.offset == m.start - addr)
                .map(|m| (m.start, m.end))
                .collect()
        };
        for (start, end) in pieces {
            self.unmap_range(start, end);
        }
        true
    }

    /// Writes the pages of shared file mappings within `start..end` back to their files,
    /// up to each file's current size (bytes a mapping holds past the end of its file are
    /// not file data, as on Linux).
    pub fn write_back(&self, start: u64, end: u64) {
        let maps: Vec<SharedFileMap> = self
            .shared_files
            .lock()
            .iter()
            .filter(|m| !m.private && m.start < end && start < m.end)
            .cloned()
            .collect();
        let mut buf = alloc::vec![0u8; PAGE_SIZE];
        // An in-memory file's mapped pages are its data already; a disk file's go back to
        // the filesystem (the page cache keeps the same frames), those written since the last
        // write-back only: an unchanged page is not written (nor the file's times changed).
        // Newest first: where mappings were laid over each other, the page is the newest's.
        for m in maps.into_iter().rev().filter(|m| m.node.disk().is_some()) {
            let dirty = self.space.take_dirty(m.start.max(start), m.end.min(end));
            for (page, frame) in dirty.unwrap_or_default() {
                let file_offset = m.offset + (page - m.start);
                let size = m.node.size();
                if file_offset >= size {
                    break;
                }
                let n = ((size - file_offset) as usize).min(PAGE_SIZE);
                frame.read_bytes(0, &mut buf[..n]);
                let _ = m.node.write_at(file_offset, &buf[..n]);
            }
        }
    }

    /// Forgets shared file mappings within `start..end` (after writing them back), keeping
    /// the parts outside it.
    fn drop_shared_files(&self, start: u64, end: u64) {
        self.write_back(start, end);
        let mut maps = self.shared_files.lock();
        let old = core::mem::take(&mut *maps);
        for m in old {
            if m.end <= start || end <= m.start {
                maps.push(m);
                continue;
            }
            if m.start < start {
                maps.push(SharedFileMap { end: start, ..m.clone() });
            }
            if end < m.end {
                maps.push(SharedFileMap { start: end, offset: m.offset + (end - m.start), ..m });
            }
        }
    }

    /// Returns the address space.
    pub fn space(&self) -> &Arc<VmSpace> {
        &self.space
    }

    /// Returns the areas, locked.
    pub fn areas(&self) -> ostd::sync::SpinLockGuard<'_, Areas> {
        self.areas.lock()
    }

    /// Returns a copy-on-write duplicate (for fork). Shared mappings stay shared, file
    /// write-back included.
    pub fn fork(&self) -> SysResult<Arc<Self>> {
        // The child's page tables come from the frame allocator: leave the kernel's reserve.
        if !memory::user_may_take(FORK_HEADROOM) {
            return Err(Errno::ENOMEM);
        }
        // Locks are not inherited (Linux clears VM_LOCKED and MCL_FUTURE in the child).
        let mut areas = self.areas.lock().clone();
        areas.set_all_locked(false);
        areas.lock_future = false;
        let beyond_eof = self.beyond_eof.lock().clone();
        let shared_files = self.shared_files.lock().clone();
        let vm = Self::with(self.space.fork_cow()?, areas, beyond_eof, shared_files)?;
        vm.set_saved_auxv(self.saved_auxv());
        // madvise's fork advice: DONTFORK areas are not the child's; WIPEONFORK ones come to
        // it empty (private anonymous memory: its pages fault in zeroed).
        let advised: Vec<Area> =
            vm.areas().iter().filter(|a| a.dont_fork || a.wipe_on_fork).cloned().collect();
        for area in advised {
            if area.dont_fork {
                vm.unmap_range(area.start, area.end);
            } else {
                let _ = vm.space().unmap_range(area.start, area.end);
            }
        }
        Ok(vm)
    }

    /// Records a new area (the range must be free); pages come on demand unless `populate`.
    /// If populating runs out of memory, the area is removed again and the answer is ENOMEM.
    pub fn map_area(&self, mut area: Area, populate: bool) -> SysResult<()> {
        if populate && !memory::user_may_take((area.end - area.start) as usize) {
            return Err(Errno::ENOMEM);
        }
        {
            let mut areas = self.areas.lock();
            if areas.is_full() {
                return Err(Errno::ENOMEM);
            }
            area.locked |= areas.lock_future;
            areas.insert(area.clone());
        }
        if populate {
            for page in (area.start..area.end).step_by(PAGE_SIZE) {
                if let Err(e) = self.ensure_page(page, area.prot) {
                    self.unmap_range(area.start, area.end);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Maps `frame` at `page` (inside an area) with `prot`: a file's page-cache frame.
    pub fn map_page(&self, page: u64, frame: Frame, prot: Prot) -> SysResult<()> {
        self.space.map(page, frame, prot.page_flags())?;
        Ok(())
    }

    /// Makes sure `page` is mapped (zeroed if new) and returns its frame.
    pub fn ensure_page(&self, page: u64, prot: Prot) -> SysResult<Frame> {
        if let Some(frame) = self.space.clone_frame_at(page) {
            return Ok(frame);
        }
        let frame = memory::alloc_user_frame().ok_or(Errno::ENOMEM)?;
        self.space.map(page, frame.clone(), prot.page_flags())?;
        Ok(frame)
    }

    /// Removes every mapping in `start..end` (page-aligned, in user space).
    pub fn unmap_range(&self, start: u64, end: u64) {
        self.drop_shared_files(start, end);
        self.drop_beyond_eof(start, end);
        let removed = self.areas.lock().remove_range(start, end);
        for area in removed {
            // The range was checked by the caller; an error here would mean nothing mapped.
            let _ = self.space.unmap_range(area.start, area.end);
        }
    }

    /// Empties the address space (the process exits): shared mappings are written back,
    /// System V segments detached and frames freed now, not when the last reference to the
    /// space goes.
    pub fn clear(&self) {
        self.unmap_range(0, ostd::mm::USER_END);
    }

    /// Changes the protection of `start..end`, which must be fully mapped.
    pub fn protect(&self, start: u64, end: u64, prot: Prot) -> SysResult<()> {
        let mut areas = self.areas.lock();
        if areas.is_full() {
            return Err(Errno::ENOMEM); // splitting could add two more
        }
        let mut at = start;
        while at < end {
            let a = areas.find(at).ok_or(Errno::ENOMEM)?;
            at = a.end;
        }
        let pieces = areas.remove_range(start, end);
        for piece in pieces {
            areas.insert(Area { prot, ..piece });
        }
        drop(areas);
        // Write access comes back through the fault handler, which knows about sharing.
        let flags = (prot - Prot::WRITE).page_flags();
        self.space.protect_range(start, end, flags)?;
        Ok(())
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // The process exited or exec'd: what it wrote through shared file mappings stays.
        self.write_back(0, u64::MAX);
    }
}

/// Returns the page-cache frame for `addr` if it lies in a shared mapping of an in-memory
/// file, inside the file (the fault handler maps it; see [`crate::fs::Node::in_memory_page`]).
/// Whether `addr` lies in a shared file mapping on a page wholly past the file's current
/// end: an access there is SIGBUS, as on Linux (System V segments have no end to pass).
fn past_shared_file_end(maps: &[SharedFileMap], addr: u64) -> bool {
    maps.iter().find(|m| !m.private && m.start <= addr && addr < m.end).is_some_and(|m| {
        m.shm.is_none() && m.offset + (addr & !(PAGE - 1)) - m.start >= m.node.size()
    })
}

fn shared_file_page(maps: &[SharedFileMap], addr: u64) -> Option<SysResult<Frame>> {
    let m = maps.iter().find(|m| !m.private && m.start <= addr && addr < m.end)?;
    let index = (m.offset + (addr & !(PAGE - 1)) - m.start) / PAGE;
    m.node.in_memory_page(index)
}

/// Resolves a fault inside `area`: zero-fill a missing page, or give write access to a
/// present one (copying it first if another mapping still shares it).
/// Why a page fault could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultFailure {
    /// The access is not allowed (or nothing is mapped): the thread gets SIGSEGV.
    Denied,
    /// The access is allowed but no frame was left for it: a case for the OOM killer.
    NoMemory,
}

fn resolve_fault(space: &VmSpace, area: &Area, info: &PageFaultInfo) -> Result<(), FaultFailure> {
    use FaultFailure::{Denied, NoMemory};
    let allowed = match info.access {
        PageAccess::Read => area.prot.contains(Prot::READ) || area.prot.contains(Prot::WRITE),
        PageAccess::Write => area.prot.contains(Prot::WRITE),
        PageAccess::Execute => area.prot.contains(Prot::EXEC),
    };
    if !allowed {
        return Err(Denied);
    }
    let page = info.addr & !(PAGE - 1);
    let flags = area.prot.page_flags();
    if !info.present {
        // Another fault may have filled it meanwhile (a kernel copy racing a user access).
        if space.translate(page).is_some() {
            return Ok(());
        }
        let frame = memory::alloc_user_frame().ok_or(NoMemory)?;
        return space
            .map(page, frame, flags)
            .map_err(|e| if e == VmError::OutOfMemory { NoMemory } else { Denied });
    }
    if info.access != PageAccess::Write {
        return Err(Denied); // present and readable: a protection fault we cannot fix
    }
    let frame = space.clone_frame_at(page).ok_or(Denied)?;
    if area.shared || frame.ref_count() <= 2 {
        // Only this mapping (plus our handle) uses the frame: take it over.
        return space.protect(page, flags).map_err(|_| Denied);
    }
    let copy = memory::alloc_user_frame().ok_or(NoMemory)?;
    copy.copy_from(&frame);
    drop(frame);
    space.replace(page, copy, flags).map(drop).map_err(|_| Denied)
}

ostd::ktest! {
    fn adjacent_areas_with_the_same_rights_merge() {
        let mut a = Areas::default();
        let rw = Prot::READ | Prot::WRITE;
        a.insert(Area::anonymous(0x1000, 0x2000, rw));
        a.insert(Area::anonymous(0x3000, 0x4000, rw));
        a.insert(Area::anonymous(0x2000, 0x3000, rw));
        assert_eq!(
            a.iter().cloned().collect::<Vec<_>>(),
            [Area::anonymous(0x1000, 0x4000, rw)]
        );
        a.insert(Area::anonymous(0x4000, 0x5000, Prot::READ));
        a.insert(Area { shared: true, ..Area::anonymous(0x5000, 0x6000, Prot::READ) });
        assert_eq!(a.iter().count(), 3, "different rights or kinds stay apart");
    }

    fn locking_splits_areas_counts_bytes_and_refuses_holes() {
        let mut a = Areas::default();
        let rw = Prot::READ | Prot::WRITE;
        a.insert(Area::anonymous(0x1000, 0x9000, rw));
        a.set_locked(0x3000, 0x5000, true).unwrap();
        assert_eq!(a.iter().count(), 3);
        assert_eq!(a.locked_bytes(0, u64::MAX), 0x2000);
        assert_eq!(a.locked_bytes(0x4000, 0x8000), 0x1000);
        assert_eq!(a.set_locked(0xa000, 0xb000, true), Err(Errno::ENOMEM), "unmapped");
        assert_eq!(a.locked_bytes(0, u64::MAX), 0x2000, "nothing changed");
        assert_eq!(a.set_locked(0x8000, 0xa000, true), Err(Errno::ENOMEM), "a hole");
        assert_eq!(a.locked_bytes(0, u64::MAX), 0x3000, "locked up to the hole, as Linux");
        a.set_locked(0x1000, 0x9000, false).unwrap();
        assert_eq!(a.iter().count(), 1, "unlocked pieces merge back");
        a.set_all_locked(true);
        assert_eq!(a.locked_bytes(0, u64::MAX), a.mapped_bytes());
    }
}

ostd::ktest! {
    fn areas_split_and_find_free_ranges() {
        let mut a = Areas::default();
        a.insert(Area::anonymous(0x1000, 0x5000, Prot::READ));
        let removed = a.remove_range(0x2000, 0x3000);
        assert_eq!(removed, [Area::anonymous(0x2000, 0x3000, Prot::READ)]);
        assert_eq!(a.find(0x1000).map(|x| x.end), Some(0x2000));
        assert_eq!(a.find(0x2000), None);
        assert_eq!(a.find(0x4fff).map(|x| x.start), Some(0x3000));
        assert!(a.overlaps(0x0, 0x1001));
        assert!(!a.overlaps(0x2000, 0x3000));
        assert_eq!(
            a.find_free(0x2000, 0x1000),
            Some(MMAP_TOP - 0x1000),
            "hints below mmap_min_addr are ignored"
        );
        assert_eq!(a.find_free(0x20_0000, 0x1000), Some(0x20_0000), "a free hint is honoured");
        a.insert(Area::anonymous(MMAP_TOP - 0x1000, MMAP_TOP, Prot::READ));
        assert_eq!(a.find_free(0, 0x1000), Some(MMAP_TOP - 0x2000), "the next gap down");
        a.remove_range(MMAP_TOP - 0x1000, MMAP_TOP);
        assert_eq!(a.find_free(0, 0x1000), Some(MMAP_TOP - 0x1000));
    }
}
