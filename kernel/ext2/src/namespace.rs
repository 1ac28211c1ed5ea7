//! Names: looking them up, listing directories, and the operations that add, remove or
//! move names (and create or delete the inodes behind them).
//!
//! Each operation checks everything it can before it changes the disk, then changes it in
//! an order that leaves the filesystem consistent if a later step fails for lack of space:
//! a new inode is complete before a name points at it, and is released again if the name
//! cannot be added. Link counts follow Linux: a directory has 2 plus one per subdirectory.
//!
//! Unlinking the last name frees the inode at once. A kernel that keeps unlinked files open
//! must hold the last `unlink` back until the last close (an orphan list is future work).

use alloc::vec::Vec;

use crate::dev::BlockDevice;
use crate::dir::{DirEntry, NAME_MAX, check_name};
use crate::error::Error;
use crate::fs::Filesystem;
use crate::inode::{FAST_SYMLINK_MAX, FileType, Inode, InodeNo, LINK_MAX, mode, store_dev};

/// Attributes to change with [`Filesystem::set_attr`]; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (the file type bits are kept).
    pub perm: Option<u16>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Access time.
    pub atime: Option<u32>,
    /// Modification time.
    pub mtime: Option<u32>,
    /// Change time (if `None`, it becomes the current time).
    pub ctime: Option<u32>,
}

/// Owner and permissions of a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Permission bits (`0o7777` at most; higher bits are ignored).
    pub perm: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

impl<D: BlockDevice> Filesystem<D> {
    /// Returns the inode that `name` names in directory `dir`.
    ///
    /// # Errors
    /// [`Error::NotDir`], [`Error::NameTooLong`], [`Error::NotFound`], or
    /// [`Error::Corrupt`] if the directory is damaged.
    pub fn lookup(&self, dir: InodeNo, name: &[u8]) -> Result<InodeNo, Error> {
        if name.len() > NAME_MAX {
            return Err(Error::NameTooLong);
        }
        let d = self.read_dir_inode(dir)?;
        let found = self.find_entry(dir, &d, name)?;
        InodeNo::new(found.entry.inode, &self.geo)
    }

    /// Lists directory `dir` in on-disk order, `.` and `..` included.
    ///
    /// # Errors
    /// [`Error::NotDir`], or [`Error::Corrupt`] if the directory is damaged.
    pub fn read_dir(&self, dir: InodeNo) -> Result<Vec<DirEntry>, Error> {
        self.list_dir(dir)
    }

    /// Creates an empty regular file `name` in `dir`.
    ///
    /// # Errors
    /// [`Error::Exists`], [`Error::NoSpace`], [`Error::ReadOnly`], and the errors of
    /// [`Filesystem::lookup`].
    pub fn create(&mut self, dir: InodeNo, name: &[u8], owner: Owner) -> Result<InodeNo, Error> {
        self.new_inode(dir, name, mode::S_IFREG, owner, |_, _, _| Ok(()))
    }

    /// Creates a device node, FIFO or socket `name` in `dir`; `mode` carries the type bits,
    /// and `rdev` the device number in Linux's `new_encode_dev` form.
    ///
    /// # Errors
    /// As [`Filesystem::create`]; [`Error::InvalidArgument`] for another type.
    pub fn mknod(
        &mut self,
        dir: InodeNo,
        name: &[u8],
        ty: FileType,
        owner: Owner,
        rdev: u32,
    ) -> Result<InodeNo, Error> {
        let bits = match ty {
            FileType::CharDevice => mode::S_IFCHR,
            FileType::BlockDevice => mode::S_IFBLK,
            FileType::Fifo => mode::S_IFIFO,
            FileType::Socket => mode::S_IFSOCK,
            _ => return Err(Error::InvalidArgument("mknod of a file, directory or symlink")),
        };
        self.new_inode(dir, name, bits, owner, |_, _, i| {
            if matches!(ty, FileType::CharDevice | FileType::BlockDevice) {
                store_dev(i, rdev);
            }
            Ok(())
        })
    }

    /// Creates directory `name` in `dir`, with its `.` and `..`.
    ///
    /// # Errors
    /// As [`Filesystem::create`]; [`Error::TooManyLinks`] if `dir` has the most
    /// subdirectories it can.
    pub fn mkdir(&mut self, dir: InodeNo, name: &[u8], owner: Owner) -> Result<InodeNo, Error> {
        if self.read_dir_inode(dir)?.links >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        let child = self.new_inode(dir, name, mode::S_IFDIR, owner, |fs, ino, i| {
            let (b, _) = fs.bmap_alloc(ino, i, 0)?;
            fs.init_dir_block(b, ino, dir)?;
            i.size = u64::from(fs.geo.block_size);
            i.links = 2;
            Ok(())
        })?;
        self.update_inode(dir, |d| {
            d.links += 1;
            Ok(())
        })?;
        Ok(child)
    }

    /// Creates symbolic link `name` in `dir` pointing at `target`. Targets shorter than 60
    /// bytes are stored in the inode itself (a fast symlink), longer ones in a block.
    ///
    /// # Errors
    /// As [`Filesystem::create`]; [`Error::NameTooLong`] if `target` does not fit a block,
    /// [`Error::InvalidArgument`] if it is empty or holds a NUL.
    pub fn symlink(
        &mut self,
        dir: InodeNo,
        name: &[u8],
        target: &[u8],
        owner: Owner,
    ) -> Result<InodeNo, Error> {
        if target.len() >= self.geo.block_size as usize {
            return Err(Error::NameTooLong);
        }
        if target.is_empty() || target.contains(&0) {
            return Err(Error::InvalidArgument("symlink target is empty or contains NUL"));
        }
        let owner = Owner { perm: 0o777, ..owner };
        self.new_inode(dir, name, mode::S_IFLNK, owner, |fs, ino, i| {
            i.size = target.len() as u64;
            if target.len() < FAST_SYMLINK_MAX {
                i.set_block_bytes(target);
                return Ok(());
            }
            let (b, _) = fs.bmap_alloc(ino, i, 0)?;
            let mut block = fs.block_buf();
            block[..target.len()].copy_from_slice(target);
            fs.write_block(b, &block)
        })
    }

    /// Adds name `name` in `dir` for the existing inode `target`.
    ///
    /// # Errors
    /// [`Error::IsDir`] for a directory, [`Error::TooManyLinks`], [`Error::Exists`], and
    /// the errors of [`Filesystem::create`].
    pub fn link(&mut self, target: InodeNo, dir: InodeNo, name: &[u8]) -> Result<(), Error> {
        self.writable()?;
        check_name(name)?;
        let t = self.read_inode(target)?;
        if t.file_type() == FileType::Directory {
            return Err(Error::IsDir);
        }
        if t.links >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        self.ensure_absent(dir, name)?;
        self.add_entry(dir, name, target, t.file_type())?;
        let now = self.now;
        self.update_inode(target, |i| {
            i.links += 1;
            i.ctime = now;
            Ok(())
        })?;
        Ok(())
    }

    /// Removes name `name` (not a directory) from `dir`; frees the inode with its last link.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::IsDir`], [`Error::ReadOnly`].
    pub fn unlink(&mut self, dir: InodeNo, name: &[u8]) -> Result<(), Error> {
        self.writable()?;
        let child = self.lookup(dir, name)?;
        if self.read_inode(child)?.file_type() == FileType::Directory {
            return Err(Error::IsDir);
        }
        self.remove_entry(dir, name)?;
        self.drop_link(child)
    }

    /// Removes the empty directory `name` from `dir`.
    ///
    /// # Errors
    /// [`Error::NotDir`], [`Error::NotEmpty`], [`Error::InvalidArgument`] for `.`, and the
    /// errors of [`Filesystem::unlink`].
    pub fn rmdir(&mut self, dir: InodeNo, name: &[u8]) -> Result<(), Error> {
        self.writable()?;
        match name {
            b"." => return Err(Error::InvalidArgument("rmdir of .")),
            b".." => return Err(Error::NotEmpty),
            _ => {}
        }
        let child = self.lookup(dir, name)?;
        let c = self.read_dir_inode(child)?;
        if !self.dir_is_empty(child, &c)? {
            return Err(Error::NotEmpty);
        }
        self.remove_entry(dir, name)?;
        self.update_inode(dir, |d| {
            d.links = d.links.saturating_sub(1);
            Ok(())
        })?;
        let mut c = self.read_inode(child)?;
        c.links = 0;
        self.free_inode(child, c)
    }

    /// Moves `src_name` in `src_dir` to `dst_name` in `dst_dir`, replacing what was there
    /// (an empty directory by a directory, a non-directory by a non-directory), as
    /// `rename(2)` does.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::NotDir`] / [`Error::IsDir`] for a type mismatch,
    /// [`Error::NotEmpty`], [`Error::InvalidArgument`] for moving a directory into itself.
    pub fn rename(
        &mut self,
        src_dir: InodeNo,
        src_name: &[u8],
        dst_dir: InodeNo,
        dst_name: &[u8],
    ) -> Result<(), Error> {
        self.writable()?;
        check_name(src_name)?;
        check_name(dst_name)?;
        let src = self.lookup(src_dir, src_name)?;
        let s = self.read_inode(src)?;
        let is_dir = s.file_type() == FileType::Directory;
        self.read_dir_inode(dst_dir)?;
        let existing = match self.lookup(dst_dir, dst_name) {
            Ok(d) => Some(d),
            Err(Error::NotFound) => None,
            Err(e) => return Err(e),
        };
        if existing == Some(src) {
            return Ok(());
        }
        let moves_dir = is_dir && src_dir != dst_dir;
        if moves_dir {
            self.check_not_ancestor(src, dst_dir)?;
        }
        let mut replaced_dir = false;
        if let Some(d) = existing {
            let di = self.read_inode(d)?;
            let d_is_dir = di.file_type() == FileType::Directory;
            match (is_dir, d_is_dir) {
                (true, false) => return Err(Error::NotDir),
                (false, true) => return Err(Error::IsDir),
                (true, true) if !self.dir_is_empty(d, &di)? => return Err(Error::NotEmpty),
                _ => {}
            }
            replaced_dir = d_is_dir;
        } else if moves_dir && self.read_inode(dst_dir)?.links >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }

        // The new name first, so that a failure (no space) leaves the old one in place.
        match existing {
            Some(_) => {
                self.retarget_entry(dst_dir, dst_name, src, s.file_type())?;
            }
            None => self.add_entry(dst_dir, dst_name, src, s.file_type())?,
        }
        self.remove_entry(src_dir, src_name)?;
        if moves_dir {
            self.retarget_entry(src, b"..", dst_dir, FileType::Directory)?;
        }
        let now = self.now;
        self.update_inode(src, |i| {
            i.ctime = now;
            Ok(())
        })?;
        // Link counts: a moved directory's `..` now counts for dst_dir instead of src_dir;
        // a replaced directory's `..` no longer counts for dst_dir.
        let dst_delta = i32::from(moves_dir) - i32::from(replaced_dir);
        if moves_dir {
            self.update_inode(src_dir, |i| {
                i.links = i.links.saturating_sub(1);
                Ok(())
            })?;
        }
        if dst_delta != 0 {
            self.update_inode(dst_dir, |i| {
                i.links = i.links.saturating_add_signed(dst_delta as i16);
                Ok(())
            })?;
        }
        if let Some(d) = existing {
            if replaced_dir {
                let mut di = self.read_inode(d)?;
                di.links = 0;
                self.free_inode(d, di)?;
            } else {
                self.drop_link(d)?;
            }
        }
        Ok(())
    }

    /// Swaps the entries `a_name` in `a_dir` and `b_name` in `b_dir`, each name keeping its
    /// place and taking the other's inode (`renameat2`'s RENAME_EXCHANGE, which Linux's ext4
    /// driver gives ext2 disks). A directory that changes parent takes its `..` along.
    ///
    /// # Errors
    /// [`Error::NotFound`] if either is missing, [`Error::InvalidArgument`] if a directory
    /// would end up below itself, [`Error::TooManyLinks`] if a parent would hold too many
    /// subdirectories.
    pub fn exchange(
        &mut self,
        (a_dir, a_name): (InodeNo, &[u8]),
        (b_dir, b_name): (InodeNo, &[u8]),
    ) -> Result<(), Error> {
        self.writable()?;
        check_name(a_name)?;
        check_name(b_name)?;
        let a = self.lookup(a_dir, a_name)?;
        let b = self.lookup(b_dir, b_name)?;
        if a == b {
            return Ok(());
        }
        let a_type = self.read_inode(a)?.file_type();
        let b_type = self.read_inode(b)?.file_type();
        let (a_is_dir, b_is_dir) = (a_type == FileType::Directory, b_type == FileType::Directory);
        // Subdirectories that move from a_dir to b_dir (negative: the other way).
        let moved = if a_dir == b_dir { 0 } else { i16::from(a_is_dir) - i16::from(b_is_dir) };
        if a_dir != b_dir {
            if a_is_dir {
                self.check_not_ancestor(a, b_dir)?;
            }
            if b_is_dir {
                self.check_not_ancestor(b, a_dir)?;
            }
            let gaining = if moved > 0 { b_dir } else { a_dir };
            if moved != 0 && self.read_inode(gaining)?.links >= LINK_MAX {
                return Err(Error::TooManyLinks);
            }
        }
        self.retarget_entry(b_dir, b_name, a, a_type)?;
        self.retarget_entry(a_dir, a_name, b, b_type)?;
        if a_dir != b_dir {
            if a_is_dir {
                self.retarget_entry(a, b"..", b_dir, FileType::Directory)?;
            }
            if b_is_dir {
                self.retarget_entry(b, b"..", a_dir, FileType::Directory)?;
            }
        }
        let now = self.now;
        for ino in [a, b] {
            self.update_inode(ino, |i| {
                i.ctime = now;
                Ok(())
            })?;
        }
        if moved != 0 {
            self.update_inode(a_dir, |i| {
                i.links = i.links.saturating_add_signed(-moved);
                Ok(())
            })?;
            self.update_inode(b_dir, |i| {
                i.links = i.links.saturating_add_signed(moved);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Changes owner, permissions or times of `ino`.
    ///
    /// # Errors
    /// [`Error::ReadOnly`], [`Error::Io`].
    pub fn set_attr(&mut self, ino: InodeNo, attr: &SetAttr) -> Result<(), Error> {
        self.writable()?;
        let now = self.now;
        self.update_inode(ino, |i| {
            if let Some(p) = attr.perm {
                i.mode = Self::mode_of(i.mode, p);
            }
            i.uid = attr.uid.unwrap_or(i.uid);
            i.gid = attr.gid.unwrap_or(i.gid);
            i.atime = attr.atime.unwrap_or(i.atime);
            i.mtime = attr.mtime.unwrap_or(i.mtime);
            i.ctime = attr.ctime.unwrap_or(now);
            Ok(())
        })?;
        Ok(())
    }

    /// Fails with [`Error::Exists`] if `name` exists in `dir` (and with the lookup's error
    /// if `dir` cannot be searched).
    fn ensure_absent(&self, dir: InodeNo, name: &[u8]) -> Result<(), Error> {
        match self.lookup(dir, name) {
            Ok(_) => Err(Error::Exists),
            Err(Error::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Fails if `dir` is `ancestor` or lies below it, by walking `..` up to the root. The
    /// walk is bounded by the inode count, so a `..` loop on a corrupt disk ends.
    fn check_not_ancestor(&self, ancestor: InodeNo, dir: InodeNo) -> Result<(), Error> {
        let mut cur = dir;
        for _ in 0..self.geo.inodes_count {
            if cur == ancestor {
                return Err(Error::InvalidArgument("a directory cannot move below itself"));
            }
            if cur == InodeNo::ROOT {
                return Ok(());
            }
            cur = self.lookup(cur, b"..")?;
        }
        Err(crate::error::corrupt("`..` chain does not reach the root", dir.get(), 0))
    }

    /// Drops one link of non-directory `ino`, freeing it with the last (unless unlinked
    /// inodes are kept, see [`Filesystem::keep_unlinked`]).
    fn drop_link(&mut self, ino: InodeNo) -> Result<(), Error> {
        let mut i = self.read_inode(ino)?;
        i.links = i.links.saturating_sub(1);
        i.ctime = self.now;
        if i.links == 0 && !self.keep_unlinked {
            self.free_inode(ino, i)
        } else {
            self.write_inode(ino, &i)
        }
    }

    /// Frees `ino` if it has no names left and was not freed yet: the last close of a file
    /// that was unlinked while open (see [`Filesystem::keep_unlinked`]). Returns whether it
    /// was freed.
    ///
    /// # Errors
    /// [`Error::ReadOnly`], [`Error::Io`], [`Error::Corrupt`] if its blocks are damaged.
    pub fn release_unlinked(&mut self, ino: InodeNo) -> Result<bool, Error> {
        self.writable()?;
        let i = self.read_inode(ino)?;
        if i.links != 0 || i.dtime != 0 || i.mode == 0 {
            return Ok(false);
        }
        self.free_inode(ino, i)?;
        Ok(true)
    }

    /// Allocates an inode of type `ty_bits`, lets `init` fill it in (blocks, size), writes
    /// it, and names it `name` in `dir`. On failure after allocation everything allocated
    /// is released again.
    fn new_inode(
        &mut self,
        dir: InodeNo,
        name: &[u8],
        ty_bits: u16,
        owner: Owner,
        init: impl FnOnce(&mut Self, InodeNo, &mut Inode) -> Result<(), Error>,
    ) -> Result<InodeNo, Error> {
        self.writable()?;
        check_name(name)?;
        self.read_dir_inode(dir)?;
        self.ensure_absent(dir, name)?;
        let is_dir = ty_bits == mode::S_IFDIR;
        let ino = self.alloc_inode(dir, is_dir)?;
        let now = self.now;
        let mut i = Inode {
            mode: Self::mode_of(ty_bits, owner.perm),
            uid: owner.uid,
            gid: owner.gid,
            size: 0,
            atime: now,
            ctime: now,
            mtime: now,
            dtime: 0,
            links: 1,
            blocks: 0,
            flags: 0,
            block: [0; 15],
            file_acl: 0,
            generation: 0,
        };
        let result = self.clear_inode_slot(ino).and_then(|()| init(self, ino, &mut i));
        let result = result
            .and_then(|()| self.write_inode(ino, &i))
            .and_then(|()| self.add_entry(dir, name, ino, i.file_type()));
        if let Err(e) = result {
            // Best effort: the original error is the one worth reporting.
            let _ = self.write_inode(ino, &i);
            i.links = 0;
            let _ = self.free_inode(ino, i);
            return Err(e);
        }
        Ok(ino)
    }
}
