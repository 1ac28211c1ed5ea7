//! The block device the filesystem lives on.
//!
//! The crate reads and writes through [`BlockDevice`] with byte offsets, so the same code runs
//! on the kernel's block layer, on an image file (`images/`, the tests) and on a `Vec<u8>`
//! (the fuzzer). Every read copies the bytes out into a buffer the crate owns before any of
//! them is looked at, which is what the kernel's "copy out once, then validate" rule needs.

/// A failed device access: where, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoError {
    /// The byte offset of the access.
    pub offset: u64,
    /// Its length in bytes.
    pub len: usize,
}

/// A byte-addressed disk.
pub trait BlockDevice {
    /// Returns the size of the device in bytes.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes at `offset`.
    ///
    /// # Errors
    /// [`IoError`] if the range is outside the device or the device failed.
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError>;

    /// Writes `buf` at `offset`.
    ///
    /// # Errors
    /// [`IoError`] if the range is outside the device or the device failed.
    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError>;
}

/// Returns `offset..offset + len` as a range into a slice of `size` bytes, if it fits.
fn range_in(offset: u64, len: usize, size: usize) -> Result<core::ops::Range<usize>, IoError> {
    let err = IoError { offset, len };
    let start = usize::try_from(offset).map_err(|_| err)?;
    let end = start.checked_add(len).ok_or(err)?;
    if end > size {
        return Err(err);
    }
    Ok(start..end)
}

/// An image held in memory (tests, fuzzing, building an image before writing it out).
impl BlockDevice for alloc::vec::Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError> {
        let r = range_in(offset, buf.len(), self.len())?;
        buf.copy_from_slice(&self[r]);
        Ok(())
    }

    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError> {
        let r = range_in(offset, buf.len(), self.len())?;
        self[r].copy_from_slice(buf);
        Ok(())
    }
}

/// An image held in memory that must not change (a disk checked against a hash before it
/// is read): every write fails.
impl BlockDevice for &[u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError> {
        let r = range_in(offset, buf.len(), self.len())?;
        buf.copy_from_slice(&self[r]);
        Ok(())
    }

    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError> {
        Err(IoError { offset, len: buf.len() })
    }
}

/// Lets a caller keep ownership of its device while a filesystem uses it.
impl<D: BlockDevice + ?Sized> BlockDevice for &mut D {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError> {
        (**self).read(offset, buf)
    }

    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError> {
        (**self).write(offset, buf)
    }
}

/// An image file on the host.
#[cfg(all(feature = "std", unix))]
impl BlockDevice for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }

    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), IoError> {
        use std::os::unix::fs::FileExt;
        self.read_exact_at(buf, offset).map_err(|_| IoError { offset, len: buf.len() })
    }

    fn write(&mut self, offset: u64, buf: &[u8]) -> Result<(), IoError> {
        use std::os::unix::fs::FileExt;
        if offset.checked_add(buf.len() as u64).is_none_or(|end| end > self.size()) {
            return Err(IoError { offset, len: buf.len() });
        }
        self.write_all_at(buf, offset).map_err(|_| IoError { offset, len: buf.len() })
    }
}
