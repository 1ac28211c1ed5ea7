//! Virtio 1.2 constants: the PCI transport's capability types and common-configuration
//! layout (§4.1.4), device status bits (§2.1), reserved feature bits (§6) and split-ring
//! sizes (§2.7). Pure: the host tests compile this file too.

/// PCI vendor ID of every virtio device (§4.1.2).
pub const PCI_VENDOR: u16 = 0x1af4;
/// Modern (1.x) PCI device IDs are this plus the virtio device type (§4.1.2.1).
pub const PCI_MODERN_BASE: u16 = 0x1040;
/// Transitional (legacy-capable) device IDs are 0x1000..=0x103f.
pub const PCI_TRANSITIONAL: core::ops::RangeInclusive<u16> = 0x1000..=0x103f;
/// Virtio device type of a network device (§5.1).
pub const DEVICE_TYPE_NET: u16 = 1;
/// Virtio device type of a block device (§5.2).
pub const DEVICE_TYPE_BLOCK: u16 = 2;

/// `cfg_type` of a virtio vendor capability (§4.1.4).
pub mod cfg_type {
    /// Common configuration.
    pub const COMMON: u8 = 1;
    /// Notifications.
    pub const NOTIFY: u8 = 2;
    /// ISR status.
    pub const ISR: u8 = 3;
    /// Device-specific configuration.
    pub const DEVICE: u8 = 4;
    /// PCI configuration access.
    pub const PCI: u8 = 5;
}

/// Layout of `struct virtio_pci_cap` (§4.1.4): byte offsets inside the capability.
pub mod cap {
    /// `cap_len`: the capability's length in bytes.
    pub const LEN: usize = 2;
    /// `cfg_type`.
    pub const CFG_TYPE: usize = 3;
    /// `bar`: which BAR the structure is in.
    pub const BAR: usize = 4;
    /// `offset` (le32) into the BAR.
    pub const OFFSET: usize = 8;
    /// `length` (le32) of the structure.
    pub const LENGTH: usize = 12;
    /// Size of `struct virtio_pci_cap`.
    pub const SIZE: usize = 16;
    /// `notify_off_multiplier` (le32) of `struct virtio_pci_notify_cap`.
    pub const NOTIFY_MULTIPLIER: usize = 16;
    /// Size of `struct virtio_pci_notify_cap`.
    pub const NOTIFY_SIZE: usize = 20;
}

/// Byte offsets in `struct virtio_pci_common_cfg` (§4.1.4.3).
pub mod common {
    /// le32 device_feature_select.
    pub const DEVICE_FEATURE_SELECT: usize = 0x00;
    /// le32 device_feature.
    pub const DEVICE_FEATURE: usize = 0x04;
    /// le32 driver_feature_select.
    pub const DRIVER_FEATURE_SELECT: usize = 0x08;
    /// le32 driver_feature.
    pub const DRIVER_FEATURE: usize = 0x0c;
    /// le16 config_msix_vector.
    pub const CONFIG_MSIX_VECTOR: usize = 0x10;
    /// le16 num_queues.
    pub const NUM_QUEUES: usize = 0x12;
    /// u8 device_status.
    pub const DEVICE_STATUS: usize = 0x14;
    /// u8 config_generation.
    pub const CONFIG_GENERATION: usize = 0x15;
    /// le16 queue_select.
    pub const QUEUE_SELECT: usize = 0x16;
    /// le16 queue_size.
    pub const QUEUE_SIZE: usize = 0x18;
    /// le16 queue_msix_vector.
    pub const QUEUE_MSIX_VECTOR: usize = 0x1a;
    /// le16 queue_enable.
    pub const QUEUE_ENABLE: usize = 0x1c;
    /// le16 queue_notify_off.
    pub const QUEUE_NOTIFY_OFF: usize = 0x1e;
    /// le64 queue_desc.
    pub const QUEUE_DESC: usize = 0x20;
    /// le64 queue_driver (the available ring).
    pub const QUEUE_DRIVER: usize = 0x28;
    /// le64 queue_device (the used ring).
    pub const QUEUE_DEVICE: usize = 0x30;
    /// The common configuration a 1.0 device must provide: up to and including
    /// queue_device.
    pub const MIN_LEN: u64 = 0x38;
}

/// `device_status` bits (§2.1).
pub mod status {
    /// The guest has noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest knows how to drive it.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 8;
    /// The device hit an error it cannot recover from without a reset.
    pub const NEEDS_RESET: u8 = 64;
    /// The guest has given up on the device.
    pub const FAILED: u8 = 128;
}

/// Reserved feature bits (§6).
pub mod feature {
    /// The device is a 1.x (non-legacy) device.
    pub const VERSION_1: u32 = 32;
    /// The device reaches memory through the platform's DMA translation (IOMMU, TEE).
    pub const ACCESS_PLATFORM: u32 = 33;
}

/// `queue_msix_vector`/`config_msix_vector` value meaning "no vector" (§4.1.5.1.2).
pub const NO_VECTOR: u16 = 0xffff;
