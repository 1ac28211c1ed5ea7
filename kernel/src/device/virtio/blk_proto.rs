//! The virtio-blk wire protocol (virtio 1.2 §5.2), pure: what the driver sends and how it
//! reads what the device sends back.
//!
//! - Features: [`Features::negotiate`] takes the device's offer and keeps the bits this
//!   driver understands; VERSION_1 is required, and ACCESS_PLATFORM when the caller says so.
//! - Config: [`BlkConfig::parse`] takes a *copy* of the device-specific config space and
//!   checks every value it keeps against its range.
//! - Requests: a [`RequestHeader`] (16 bytes, device-readable) goes first, then the data,
//!   then one device-writable status byte, which [`Status::decode`] reads.
//! - [`SectorRange`] is a run of sectors that lies on the disk, checked once, with no
//!   overflow anywhere.
//!
//! Everything the device wrote is untrusted: a value out of range is a [`Violation`] naming
//! the field, and the driver resets the device. This file uses only `core`, so the host tests
//! (`tests/tests/virtio_blk_proto.rs`) include it as it is.

use core::fmt;

/// The unit of `capacity` and of a request's `sector`, whatever the block size.
pub(crate) const SECTOR_SIZE: u64 = 512;

/// Feature bits (virtio 1.2 §5.2.3, and §6 for the device-independent ones).
pub(crate) mod feature {
    /// `size_max` is valid: the largest segment the device takes.
    pub(crate) const SIZE_MAX: u64 = 1 << 1;
    /// `seg_max` is valid: the most data segments in one request.
    pub(crate) const SEG_MAX: u64 = 1 << 2;
    /// The device is read-only.
    pub(crate) const RO: u64 = 1 << 5;
    /// `blk_size` is valid: the logical block size.
    pub(crate) const BLK_SIZE: u64 = 1 << 6;
    /// The device takes FLUSH requests (it has a write cache).
    pub(crate) const FLUSH: u64 = 1 << 9;
    /// The device follows virtio 1.x, not the legacy interface.
    pub(crate) const VERSION_1: u64 = 1 << 32;
    /// The device reaches memory through the platform's DMA translation (IOMMU, TEE).
    pub(crate) const ACCESS_PLATFORM: u64 = 1 << 33;
}

/// The features this driver accepts when the device offers them.
pub(crate) const WANTED: u64 = feature::SIZE_MAX
    | feature::SEG_MAX
    | feature::RO
    | feature::BLK_SIZE
    | feature::FLUSH
    | feature::VERSION_1
    | feature::ACCESS_PLATFORM;

/// A device value out of its range: the field, as the spec names it, and the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The field: `config length`, `capacity`, `blk_size`, `seg_max`, `size_max`, `status`.
    pub(crate) field: &'static str,
    /// The value the device gave.
    pub(crate) value: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "virtio-blk: device gave {} = {:#x}, out of range", self.field, self.value)
    }
}

/// A feature the driver needs and the device does not offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MissingFeature {
    /// The feature's name.
    pub(crate) name: &'static str,
    /// Its bit number.
    pub(crate) bit: u32,
}

/// The features both sides agreed on: a subset of what the device offered and this driver
/// understands, with VERSION_1 always in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Features(u64);

impl Features {
    /// Keeps the offered features this driver understands.
    ///
    /// # Errors
    /// The device does not offer VERSION_1, or ACCESS_PLATFORM when `need_access_platform`
    /// (under a TEE or behind the IOMMU the device must translate addresses).
    pub(crate) fn negotiate(
        offered: u64,
        need_access_platform: bool,
    ) -> Result<Self, MissingFeature> {
        if offered & feature::VERSION_1 == 0 {
            return Err(MissingFeature { name: "VERSION_1", bit: 32 });
        }
        if need_access_platform && offered & feature::ACCESS_PLATFORM == 0 {
            return Err(MissingFeature { name: "ACCESS_PLATFORM", bit: 33 });
        }
        Ok(Self(offered & WANTED))
    }

    /// Returns the bits to write to `driver_feature`.
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    /// Returns whether `bit` (one of [`feature`]) was agreed.
    pub(crate) fn has(self, bit: u64) -> bool {
        self.0 & bit == bit
    }
}

/// Bytes of config space [`BlkConfig::parse`] reads: `capacity` through `blk_size`.
pub(crate) const CONFIG_LEN: usize = 24;
/// The most data segments per request this driver uses (a 256-entry queue, less the header
/// and the status descriptor).
pub(crate) const SEG_MAX_CAP: u32 = 254;
/// The largest data segment this driver uses.
pub(crate) const SIZE_MAX_CAP: u32 = 1 << 20;
/// The largest `capacity` whose size in bytes fits in a `u64`.
pub(crate) const MAX_CAPACITY: u64 = u64::MAX / SECTOR_SIZE;

/// The device's configuration, checked.
///
/// # Invariants
/// 1. `capacity <= MAX_CAPACITY`.
/// 2. `block_size` is a power of two in `512..=4096`.
/// 3. `seg_max` is in `1..=SEG_MAX_CAP`; `size_max` in `block_size..=SIZE_MAX_CAP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlkConfig {
    capacity: u64,
    block_size: u32,
    seg_max: u32,
    size_max: u32,
    read_only: bool,
    flush: bool,
}

impl BlkConfig {
    /// Parses a copy of the device-specific config space (`struct virtio_blk_config`,
    /// §5.2.4), reading the fields `features` makes valid and capping them to what this driver
    /// uses. Fields whose feature was not agreed take their defaults: 512-byte blocks, one
    /// segment, segments of up to [`SIZE_MAX_CAP`].
    ///
    /// # Errors
    /// The copy is shorter than [`CONFIG_LEN`] (`config length`); `capacity` overflows in
    /// bytes; `blk_size` is not a power of two in `512..=4096`; `seg_max` is zero; `size_max`
    /// is below the block size.
    pub(crate) fn parse(raw: &[u8], features: Features) -> Result<Self, Violation> {
        let Some(raw) = raw.first_chunk::<CONFIG_LEN>() else {
            return Err(Violation { field: "config length", value: raw.len() as u64 });
        };
        let le32 = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let bad = |field, value: u32| Violation { field, value: value.into() };

        let mut capacity = [0u8; 8];
        capacity.copy_from_slice(&raw[0..8]);
        let capacity = u64::from_le_bytes(capacity);
        if capacity > MAX_CAPACITY {
            return Err(Violation { field: "capacity", value: capacity });
        }

        let block_size = if features.has(feature::BLK_SIZE) {
            let v = le32(20);
            if !v.is_power_of_two() || !(512..=4096).contains(&v) {
                return Err(bad("blk_size", v));
            }
            v
        } else {
            SECTOR_SIZE as u32
        };
        let seg_max = if features.has(feature::SEG_MAX) {
            match le32(12) {
                0 => return Err(bad("seg_max", 0)),
                v => v.min(SEG_MAX_CAP),
            }
        } else {
            1
        };
        let size_max = if features.has(feature::SIZE_MAX) {
            match le32(8) {
                v if v < block_size => return Err(bad("size_max", v)),
                v => v.min(SIZE_MAX_CAP),
            }
        } else {
            SIZE_MAX_CAP
        };
        Ok(Self {
            capacity,
            block_size,
            seg_max,
            size_max,
            read_only: features.has(feature::RO),
            flush: features.has(feature::FLUSH),
        })
    }

    /// Returns the disk's size in 512-byte sectors.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Returns the logical block size in bytes (a power of two, 512..=4096).
    pub(crate) fn block_size(&self) -> u32 {
        self.block_size
    }

    /// Returns the most data segments one request may have (1..=[`SEG_MAX_CAP`]).
    pub(crate) fn seg_max(&self) -> u32 {
        self.seg_max
    }

    /// Returns the largest data segment in bytes (block size..=[`SIZE_MAX_CAP`]).
    pub(crate) fn size_max(&self) -> u32 {
        self.size_max
    }

    /// Returns whether the device is read-only.
    pub(crate) fn read_only(&self) -> bool {
        self.read_only
    }

    /// Returns whether the device takes FLUSH requests.
    pub(crate) fn flush(&self) -> bool {
        self.flush
    }
}

/// Why a run of sectors is not one the disk has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeError {
    /// The run has no sectors.
    Empty,
    /// The run goes past the end of the disk (or past `u64::MAX`).
    PastEnd {
        /// The first sector asked for.
        start: u64,
        /// The sectors asked for.
        count: u64,
        /// The disk's capacity in sectors.
        capacity: u64,
    },
    /// The run does not start and end on a logical-block boundary.
    Unaligned {
        /// The first sector asked for.
        start: u64,
        /// The sectors asked for.
        count: u64,
        /// Sectors per logical block.
        block_sectors: u64,
    },
}

/// A non-empty run of 512-byte sectors that lies on the disk, on block boundaries.
///
/// # Invariants
/// `count > 0`, `start + count <= capacity <= MAX_CAPACITY` (so nothing overflows, in
/// sectors or in bytes), and both are multiples of the block size in sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SectorRange {
    start: u64,
    count: u64,
}

impl SectorRange {
    /// Checks `start..start + count` against the disk `config` describes.
    ///
    /// # Errors
    /// See [`RangeError`].
    pub(crate) fn new(start: u64, count: u64, config: &BlkConfig) -> Result<Self, RangeError> {
        if count == 0 {
            return Err(RangeError::Empty);
        }
        let capacity = config.capacity;
        match start.checked_add(count) {
            Some(end) if end <= capacity => {}
            _ => return Err(RangeError::PastEnd { start, count, capacity }),
        }
        let block_sectors = u64::from(config.block_size) / SECTOR_SIZE;
        if !start.is_multiple_of(block_sectors) || !count.is_multiple_of(block_sectors) {
            return Err(RangeError::Unaligned { start, count, block_sectors });
        }
        Ok(Self { start, count })
    }

    /// Returns the first sector.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Returns the number of sectors (at least 1).
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Returns the sector after the last one (at most the capacity).
    pub(crate) fn end(&self) -> u64 {
        self.start + self.count
    }

    /// Returns the length in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        self.count * SECTOR_SIZE
    }
}

/// A request type (`type` in `struct virtio_blk_req`, §5.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum RequestType {
    /// Read from the disk (`VIRTIO_BLK_T_IN`).
    In = 0,
    /// Write to the disk (`VIRTIO_BLK_T_OUT`).
    Out = 1,
    /// Flush the device's write cache (`VIRTIO_BLK_T_FLUSH`).
    Flush = 4,
    /// Read the device id string (`VIRTIO_BLK_T_GET_ID`), [`GET_ID_LEN`] bytes.
    GetId = 8,
}

/// Bytes of the request header: `le32 type; le32 reserved; le64 sector`.
pub(crate) const HEADER_LEN: usize = 16;
/// Bytes of the device-writable data of a GET_ID request.
pub(crate) const GET_ID_LEN: u32 = 20;

/// The header that starts every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestHeader {
    kind: RequestType,
    sector: u64,
}

impl RequestHeader {
    /// Returns the header that reads `range`.
    pub(crate) fn read(range: &SectorRange) -> Self {
        Self { kind: RequestType::In, sector: range.start }
    }

    /// Returns the header that writes `range`.
    pub(crate) fn write(range: &SectorRange) -> Self {
        Self { kind: RequestType::Out, sector: range.start }
    }

    /// Returns the header of a flush (sector 0, no data).
    pub(crate) fn flush() -> Self {
        Self { kind: RequestType::Flush, sector: 0 }
    }

    /// Returns the header of a GET_ID request (sector 0).
    pub(crate) fn get_id() -> Self {
        Self { kind: RequestType::GetId, sector: 0 }
    }

    /// Returns the request type.
    pub(crate) fn kind(&self) -> RequestType {
        self.kind
    }

    /// Returns the first sector (0 for FLUSH and GET_ID).
    pub(crate) fn sector(&self) -> u64 {
        self.sector
    }

    /// Encodes the header as the device reads it (little-endian; `reserved` is 0).
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&(self.kind as u32).to_le_bytes());
        h[8..16].copy_from_slice(&self.sector.to_le_bytes());
        h
    }
}

/// The status byte the device writes last (§5.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// `VIRTIO_BLK_S_OK`.
    Ok,
    /// `VIRTIO_BLK_S_IOERR`: the device failed the request.
    IoErr,
    /// `VIRTIO_BLK_S_UNSUPP`: the device does not take this request type.
    Unsupported,
}

impl Status {
    /// Decodes the status byte.
    ///
    /// # Errors
    /// Any value but 0, 1 or 2 (field `status`).
    pub(crate) fn decode(byte: u8) -> Result<Self, Violation> {
        match byte {
            0 => Ok(Self::Ok),
            1 => Ok(Self::IoErr),
            2 => Ok(Self::Unsupported),
            _ => Err(Violation { field: "status", value: byte.into() }),
        }
    }
}
