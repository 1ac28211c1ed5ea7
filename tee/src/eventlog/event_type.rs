//! Event types and digest algorithm IDs, with the names the TCG specifications give them.
//!
//! Both are newtypes over the wire value, so an unknown value is kept, not rejected: a log
//! may legitimately contain event types newer than this crate. `Display` prints the TCG name
//! (`EV_EFI_ACTION`) or, for unknown values, the number in hex.

use core::fmt;

/// A TCG event type (TCG PC Client Platform Firmware Profile, "Event Types").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(pub u32);

macro_rules! event_types {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl EventType {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: EventType = EventType($value);
            )*

            /// Returns the TCG name of this event type, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    EV_PREBOOT_CERT = 0x0,
    EV_POST_CODE = 0x1,
    EV_UNUSED = 0x2,
    EV_NO_ACTION = 0x3,
    EV_SEPARATOR = 0x4,
    EV_ACTION = 0x5,
    EV_EVENT_TAG = 0x6,
    EV_S_CRTM_CONTENTS = 0x7,
    EV_S_CRTM_VERSION = 0x8,
    EV_CPU_MICROCODE = 0x9,
    EV_PLATFORM_CONFIG_FLAGS = 0xA,
    EV_TABLE_OF_DEVICES = 0xB,
    EV_COMPACT_HASH = 0xC,
    EV_IPL = 0xD,
    EV_IPL_PARTITION_DATA = 0xE,
    EV_NONHOST_CODE = 0xF,
    EV_NONHOST_CONFIG = 0x10,
    EV_NONHOST_INFO = 0x11,
    EV_OMIT_BOOT_DEVICE_EVENTS = 0x12,
    EV_POST_CODE2 = 0x13,
    EV_EFI_EVENT_BASE = 0x8000_0000,
    EV_EFI_VARIABLE_DRIVER_CONFIG = 0x8000_0001,
    EV_EFI_VARIABLE_BOOT = 0x8000_0002,
    EV_EFI_BOOT_SERVICES_APPLICATION = 0x8000_0003,
    EV_EFI_BOOT_SERVICES_DRIVER = 0x8000_0004,
    EV_EFI_RUNTIME_SERVICES_DRIVER = 0x8000_0005,
    EV_EFI_GPT_EVENT = 0x8000_0006,
    EV_EFI_ACTION = 0x8000_0007,
    EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x8000_0008,
    EV_EFI_HANDOFF_TABLES = 0x8000_0009,
    EV_EFI_PLATFORM_FIRMWARE_BLOB2 = 0x8000_000A,
    EV_EFI_HANDOFF_TABLES2 = 0x8000_000B,
    EV_EFI_VARIABLE_BOOT2 = 0x8000_000C,
    EV_EFI_GPT_EVENT2 = 0x8000_000D,
    EV_EFI_HCRTM_EVENT = 0x8000_0010,
    EV_EFI_VARIABLE_AUTHORITY = 0x8000_00E0,
    EV_EFI_SPDM_FIRMWARE_BLOB = 0x8000_00E1,
    EV_EFI_SPDM_FIRMWARE_CONFIG = 0x8000_00E2,
    EV_EFI_SPDM_DEVICE_POLICY = 0x8000_00E3,
    EV_EFI_SPDM_DEVICE_AUTHORITY = 0x8000_00E4,
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#010x}", self.0),
        }
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventType({self})")
    }
}

/// A TPM 2.0 hash algorithm ID (`TPM_ALG_ID`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HashAlg(pub u16);

impl HashAlg {
    /// `TPM_ALG_SHA1`.
    pub const SHA1: HashAlg = HashAlg(0x0004);
    /// `TPM_ALG_SHA256`.
    pub const SHA256: HashAlg = HashAlg(0x000B);
    /// `TPM_ALG_SHA384`, the algorithm of TDX RTMRs.
    pub const SHA384: HashAlg = HashAlg(0x000C);
    /// `TPM_ALG_SHA512`.
    pub const SHA512: HashAlg = HashAlg(0x000D);
    /// `TPM_ALG_SM3_256`.
    pub const SM3_256: HashAlg = HashAlg(0x0012);

    /// Returns the algorithm's name, if known.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::SHA1 => Some("sha1"),
            Self::SHA256 => Some("sha256"),
            Self::SHA384 => Some("sha384"),
            Self::SHA512 => Some("sha512"),
            Self::SM3_256 => Some("sm3_256"),
            _ => None,
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06x}", self.0),
        }
    }
}

impl fmt::Debug for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashAlg({self})")
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use alloc::format;

    #[test]
    fn known_types_print_their_tcg_names() {
        assert_eq!(format!("{}", EventType(0x8000_0007)), "EV_EFI_ACTION");
        assert_eq!(format!("{}", EventType::EV_IPL), "EV_IPL");
    }

    #[test]
    fn unknown_types_print_as_hex_and_are_kept() {
        assert_eq!(EventType(0x1234).name(), None);
        assert_eq!(format!("{}", EventType(0x1234)), "0x00001234");
    }

    #[test]
    fn sha384_is_0x000c() {
        assert_eq!(format!("{}", HashAlg(0x000C)), "sha384");
    }
}
