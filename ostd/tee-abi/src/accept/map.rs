//! The unaccepted-memory bitmap and the `take` operation.

use alloc::vec;
use alloc::vec::Vec;

use super::error::AcceptError;

/// The smallest unit: one 4 KiB page, the granule of TDX and SEV-SNP acceptance.
pub const MIN_UNIT_SIZE: u64 = 0x1000;

/// The largest bitmap kept, in bytes: 1 MiB, which at Linux's 2 MiB unit covers 16 TiB of
/// guest physical space. A firmware description asking for more is refused rather than
/// allowed to make the kernel allocate without bound.
pub const MAX_BITMAP_BYTES: u64 = 1 << 20;

/// A unit-aligned range `[start, end)` to accept now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcceptChunk {
    /// First byte (unit-aligned).
    pub start: u64,
    /// One past the last byte (unit-aligned).
    pub end: u64,
}

impl AcceptChunk {
    /// Length in bytes.
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the chunk is empty (never true for chunks `take` returns).
    pub const fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Which units of `[phys_base, phys_base + units * unit_size)` are still unaccepted: bit
/// `i` set means unit `i` is. Memory outside that span is treated as accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnacceptedMap {
    phys_base: u64,
    unit_size: u64,
    units: u64,
    bits: Vec<u64>,
}

/// Checks a unit size: a power of two, at least 4 KiB.
pub(super) fn check_unit_size(unit_size: u64) -> Result<u64, AcceptError> {
    if unit_size.is_power_of_two() && unit_size >= MIN_UNIT_SIZE {
        Ok(unit_size)
    } else {
        Err(AcceptError::UnitSize { value: unit_size })
    }
}

impl UnacceptedMap {
    /// A map with every unit accepted.
    pub fn empty(unit_size: u64) -> Result<Self, AcceptError> {
        Ok(Self {
            phys_base: 0,
            unit_size: check_unit_size(unit_size)?,
            units: 0,
            bits: Vec::new(),
        })
    }

    /// A map from a little-endian bitmap (bit `i` of byte `i / 8` at position `i % 8`, as
    /// an x86 `unsigned long` bitmap lies in memory). The caller has checked the unit size
    /// and the base's alignment; the span must not wrap.
    pub(super) fn from_bitmap_bytes(
        phys_base: u64,
        unit_size: u64,
        bitmap: &[u8],
    ) -> Result<Self, AcceptError> {
        let bytes = bitmap.len() as u64;
        if bytes > MAX_BITMAP_BYTES {
            return Err(AcceptError::TooLarge {
                field: "unaccepted bitmap size",
                value: bytes,
                max: MAX_BITMAP_BYTES,
            });
        }
        let units = bytes * 8;
        units
            .checked_mul(unit_size)
            .and_then(|span| phys_base.checked_add(span))
            .ok_or(AcceptError::Overflow { field: "unaccepted bitmap size", value: bytes })?;
        let mut bits = vec![0u64; bitmap.len().div_ceil(8)];
        for (word, chunk) in bits.iter_mut().zip(bitmap.chunks(8)) {
            let mut le = [0u8; 8];
            le[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        Ok(Self { phys_base, unit_size, units, bits })
    }

    /// Builds the map from EfiUnacceptedMemoryType ranges `[start, end)` (see
    /// `unaccepted_ranges`). Overlapping and adjacent ranges are merged first. The whole
    /// units inside each merged range go into the map; the parts at either end that do not
    /// fill a unit are returned as chunks to accept right away, as Linux's EFI stub does,
    /// because marking their whole unit would later accept memory that is not unaccepted
    /// RAM (it may not be RAM at all).
    pub fn from_ranges(
        ranges: &[(u64, u64)],
        unit_size: u64,
    ) -> Result<(Self, Vec<AcceptChunk>), AcceptError> {
        let unit_size = check_unit_size(unit_size)?;
        let merged = merge_ranges(ranges)?;
        let mut eager = Vec::new();
        let mut whole_units = Vec::new();
        for &(start, end) in &merged {
            let first_unit = start
                .checked_next_multiple_of(unit_size)
                .ok_or(AcceptError::Overflow { field: "unaccepted range start", value: start })?;
            let end_unit = end - end % unit_size;
            if first_unit >= end_unit {
                eager.push(AcceptChunk { start, end });
                continue;
            }
            if start < first_unit {
                eager.push(AcceptChunk { start, end: first_unit });
            }
            if end_unit < end {
                eager.push(AcceptChunk { start: end_unit, end });
            }
            whole_units.push((first_unit, end_unit));
        }
        let (Some(&(phys_base, _)), Some(&(_, span_end))) =
            (whole_units.first(), whole_units.last())
        else {
            return Ok((Self::empty(unit_size)?, eager));
        };
        let units = (span_end - phys_base) / unit_size;
        let max_units = MAX_BITMAP_BYTES * 8;
        if units > max_units {
            return Err(AcceptError::TooLarge {
                field: "unaccepted span in units",
                value: units,
                max: max_units,
            });
        }
        let mut map =
            Self { phys_base, unit_size, units, bits: vec![0u64; units.div_ceil(64) as usize] };
        for (start, end) in whole_units {
            let first = (start - phys_base) / unit_size;
            let last = (end - phys_base) / unit_size;
            for unit in first..last {
                map.bits[(unit / 64) as usize] |= 1 << (unit % 64);
            }
        }
        Ok((map, eager))
    }

    /// The address of unit 0.
    pub const fn phys_base(&self) -> u64 {
        self.phys_base
    }

    /// The unit size in bytes.
    pub const fn unit_size(&self) -> u64 {
        self.unit_size
    }

    /// One past the last byte the map describes.
    pub const fn end(&self) -> u64 {
        // Cannot wrap: checked when the map was built.
        self.phys_base + self.units * self.unit_size
    }

    /// How many units are still unaccepted.
    pub fn unaccepted_units(&self) -> u64 {
        self.bits.iter().map(|word| u64::from(word.count_ones())).sum()
    }

    /// Whether the unit holding `addr` is still unaccepted.
    pub fn is_unaccepted(&self, addr: u64) -> bool {
        addr >= self.phys_base
            && addr < self.end()
            && self.bit((addr - self.phys_base) / self.unit_size)
    }

    fn bit(&self, unit: u64) -> bool {
        self.bits[(unit / 64) as usize] & (1 << (unit % 64)) != 0
    }

    fn clear(&mut self, unit: u64) {
        self.bits[(unit / 64) as usize] &= !(1 << (unit % 64));
    }

    /// The unit-aligned chunks of `[start, start + len)` still to accept, marked accepted
    /// as they are returned. A unit the range only partly covers is returned whole (the
    /// bitmap cannot say "half accepted"); units already accepted and memory outside the
    /// map are skipped; contiguous units come back as one chunk. `start + len` past
    /// `u64::MAX` is an error, not a wrap to low memory.
    pub fn take(&mut self, start: u64, len: u64) -> Result<Vec<AcceptChunk>, AcceptError> {
        let mut chunks = Vec::new();
        self.take_each(start, len, |chunk| chunks.push(chunk))?;
        Ok(chunks)
    }

    /// As [`Self::take`], handing each chunk to `f` instead of collecting them: it does not
    /// allocate, so a frame allocator may call it under its own lock.
    pub fn take_each(
        &mut self,
        start: u64,
        len: u64,
        mut f: impl FnMut(AcceptChunk),
    ) -> Result<(), AcceptError> {
        let end = start
            .checked_add(len)
            .ok_or(AcceptError::Overflow { field: "accept request length", value: len })?;
        let low = start.max(self.phys_base);
        let high = end.min(self.end());
        if low >= high {
            return Ok(());
        }
        let first = (low - self.phys_base) / self.unit_size;
        let last = (high - self.phys_base).div_ceil(self.unit_size);
        let mut unit = first;
        while unit < last {
            if !self.bit(unit) {
                unit += 1;
                continue;
            }
            let run_start = unit;
            while unit < last && self.bit(unit) {
                self.clear(unit);
                unit += 1;
            }
            f(AcceptChunk {
                start: self.phys_base + run_start * self.unit_size,
                end: self.phys_base + unit * self.unit_size,
            });
        }
        Ok(())
    }
}

/// Sorts and merges overlapping or touching ranges; drops empty ones.
fn merge_ranges(ranges: &[(u64, u64)]) -> Result<Vec<(u64, u64)>, AcceptError> {
    let mut sorted = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges {
        if end < start {
            return Err(AcceptError::InvertedRange { start, end });
        }
        if start < end {
            sorted.push((start, end));
        }
    }
    sorted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    Ok(merged)
}
