//! The bit fields of an SNP report: guest policy, platform info, and key info.
//!
//! Each is a newtype over the raw word, so no bit is ever lost, with one named accessor per
//! bit the SEV-SNP Firmware ABI defines. Bits the ABI has not defined read through `.0`.

/// `GUEST_POLICY` (report offset 0x08): the restrictions the guest owner set at launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GuestPolicy(pub u64);

impl GuestPolicy {
    /// Bit 16, SMT: host SMT may be enabled.
    pub const SMT: u64 = 1 << 16;
    /// Bit 17: reserved, must be one.
    pub const RESERVED_MBO: u64 = 1 << 17;
    /// Bit 18, MIGRATE_MA: a migration agent may be associated.
    pub const MIGRATE_MA: u64 = 1 << 18;
    /// Bit 19, DEBUG: the hypervisor may debug the guest (read and write its memory).
    pub const DEBUG: u64 = 1 << 19;
    /// Bit 20, SINGLE_SOCKET: the guest may run on one socket only.
    pub const SINGLE_SOCKET: u64 = 1 << 20;
    /// Bit 21, CXL_ALLOW: CXL may be populated with devices or memory.
    pub const CXL_ALLOW: u64 = 1 << 21;
    /// Bit 22, MEM_AES_256_XTS: AES-256-XTS memory encryption is required.
    pub const MEM_AES_256_XTS: u64 = 1 << 22;
    /// Bit 23, RAPL_DIS: running-average power limit must be disabled.
    pub const RAPL_DIS: u64 = 1 << 23;
    /// Bit 24, CIPHERTEXT_HIDING: ciphertext hiding must be enabled.
    pub const CIPHERTEXT_HIDING: u64 = 1 << 24;
    /// Bit 25, PAGE_SWAP_DISABLE: the page-swap commands are disabled for this guest.
    pub const PAGE_SWAP_DISABLE: u64 = 1 << 25;

    fn bit(self, mask: u64) -> bool {
        self.0 & mask != 0
    }

    /// Returns the minimum ABI minor version (bits 7:0).
    pub fn abi_minor(self) -> u8 {
        self.0.to_le_bytes()[0]
    }

    /// Returns the minimum ABI major version (bits 15:8).
    pub fn abi_major(self) -> u8 {
        self.0.to_le_bytes()[1]
    }

    /// Returns whether host SMT is allowed.
    pub fn smt_allowed(self) -> bool {
        self.bit(Self::SMT)
    }

    /// Returns whether the must-be-one bit 17 is set, as the ABI requires.
    pub fn reserved_bit_is_one(self) -> bool {
        self.bit(Self::RESERVED_MBO)
    }

    /// Returns whether association with a migration agent is allowed.
    pub fn migrate_ma_allowed(self) -> bool {
        self.bit(Self::MIGRATE_MA)
    }

    /// Returns whether debugging is allowed. A verifier for production guests rejects this.
    pub fn debug_allowed(self) -> bool {
        self.bit(Self::DEBUG)
    }

    /// Returns whether the guest is restricted to a single socket.
    pub fn single_socket_required(self) -> bool {
        self.bit(Self::SINGLE_SOCKET)
    }

    /// Returns whether CXL may be populated.
    pub fn cxl_allowed(self) -> bool {
        self.bit(Self::CXL_ALLOW)
    }

    /// Returns whether AES-256-XTS memory encryption is required.
    pub fn mem_aes_256_xts_required(self) -> bool {
        self.bit(Self::MEM_AES_256_XTS)
    }

    /// Returns whether RAPL must be disabled.
    pub fn rapl_disable_required(self) -> bool {
        self.bit(Self::RAPL_DIS)
    }

    /// Returns whether ciphertext hiding is required.
    pub fn ciphertext_hiding_required(self) -> bool {
        self.bit(Self::CIPHERTEXT_HIDING)
    }

    /// Returns whether page swapping is disabled.
    pub fn page_swap_disabled(self) -> bool {
        self.bit(Self::PAGE_SWAP_DISABLE)
    }
}

/// `PLATFORM_INFO` (report offset 0x40): the platform state when the report was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlatformInfo(pub u64);

impl PlatformInfo {
    fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }

    /// Returns bit 0, SMT_EN: SMT is enabled on the host.
    pub fn smt_enabled(self) -> bool {
        self.bit(0)
    }

    /// Returns bit 1, TSME_EN: transparent SME is enabled.
    pub fn tsme_enabled(self) -> bool {
        self.bit(1)
    }

    /// Returns bit 2, ECC_EN: the platform uses error-correcting memory.
    pub fn ecc_enabled(self) -> bool {
        self.bit(2)
    }

    /// Returns bit 3, RAPL_DIS: RAPL is disabled.
    pub fn rapl_disabled(self) -> bool {
        self.bit(3)
    }

    /// Returns bit 4, CIPHERTEXT_HIDING_EN: ciphertext hiding is enabled.
    pub fn ciphertext_hiding_enabled(self) -> bool {
        self.bit(4)
    }

    /// Returns bit 5, ALIAS_CHECK_COMPLETE: the boot-time DRAM alias check passed.
    pub fn alias_check_complete(self) -> bool {
        self.bit(5)
    }
}

/// Which key signed the report (bits 4:2 of the key-info word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningKey {
    /// 0: the Versioned Chip Endorsement Key.
    Vcek,
    /// 1: the Versioned Loaded Endorsement Key.
    Vlek,
    /// 7: the report is not signed.
    None,
    /// Any other (reserved) value.
    Reserved(u8),
}

/// The key-info word (report offset 0x48): author key, chip-ID masking, and signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyInfo(pub u32);

impl KeyInfo {
    /// Returns bit 0, AUTHOR_KEY_EN: the ID key was certified by an author key.
    pub fn author_key_en(self) -> bool {
        self.0 & 1 != 0
    }

    /// Returns bit 1, MASK_CHIP_KEY: the chip key is masked (the report is then unsigned).
    pub fn mask_chip_key(self) -> bool {
        self.0 & 2 != 0
    }

    /// Returns bits 4:2, SIGNING_KEY.
    pub fn signing_key(self) -> SigningKey {
        match ((self.0 >> 2) & 0b111) as u8 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            other => SigningKey::Reserved(other),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn policy_0x3001f_allows_smt_and_forbids_debug() {
        // The trustee test report's policy: ABI 0.31, SMT, the must-be-one bit, nothing else.
        let p = GuestPolicy(0x3001f);
        assert_eq!((p.abi_major(), p.abi_minor()), (0, 0x1f));
        assert!(p.smt_allowed() && p.reserved_bit_is_one());
        assert!(!p.debug_allowed());
    }

    #[test]
    fn debug_is_bit_19() {
        assert!(GuestPolicy(0x30000 | 1 << 19).debug_allowed());
    }

    #[test]
    fn key_info_0x4_means_vlek() {
        assert_eq!(KeyInfo(0x4).signing_key(), SigningKey::Vlek);
        assert_eq!(KeyInfo(0).signing_key(), SigningKey::Vcek);
        assert_eq!(KeyInfo(0x1c).signing_key(), SigningKey::None);
    }

    #[test]
    fn platform_info_0x27_has_smt_tsme_ecc_and_alias_check() {
        let p = PlatformInfo(0x27);
        assert!(p.smt_enabled() && p.tsme_enabled() && p.ecc_enabled() && p.alias_check_complete());
        assert!(!p.rapl_disabled() && !p.ciphertext_hiding_enabled());
    }
}
