//! The SNP secrets page (SNP firmware ABI, table "Secrets Page Format"; Linux
//! `struct snp_secrets_page` in arch/x86/include/asm/sev.h).
//!
//! The firmware fills the page at launch with the VM platform communication keys (VMPCKs)
//! the guest seals its messages to the PSP with. Offsets:
//! version u32 @0x0, flags u32 @0x4 (bit 0 IMIEN), FMS u32 @0x8, reserved @0xc,
//! GOSVW[16] @0x10, VMPCK0..3 (32 bytes each) @0x20, 0x40, 0x60, 0x80, and the 96-byte
//! OS area @0xa0 that the firmware leaves to the guest: message sequence counts for
//! VMPCK0..3 (u32 each) @0xa0..0xb0, the AP jump table address u64 @0xb0, reserved
//! @0xb8, guest usage[32] @0xe0.
//!
//! The page is private to the guest, but it is still parsed from a copy, and a VMPCK that
//! is all zeros is treated as absent: that is how the firmware marks a VMPL without a key and
//! how a guest marks a key it disabled.

use core::fmt;

use zeroize::Zeroize;

use super::le::{u32_at, u64_at};

/// Bytes in the secrets page.
pub const SECRETS_PAGE_SIZE: usize = 4096;
/// Bytes in a VMPCK (an AES-256 key).
pub const VMPCK_SIZE: usize = 32;

const VERSION_OFFSET: usize = 0x0;
const FLAGS_OFFSET: usize = 0x4;
const FMS_OFFSET: usize = 0x8;
const GOSVW_OFFSET: usize = 0x10;
const VMPCK0_OFFSET: usize = 0x20;
const OS_AREA_SEQNO_OFFSET: usize = 0xa0;
const AP_JUMP_TABLE_OFFSET: usize = 0xb0;

/// Which of the four VMPCKs: the key for messages at that VMPL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmpckIndex {
    /// VMPCK0.
    Vmpck0,
    /// VMPCK1.
    Vmpck1,
    /// VMPCK2.
    Vmpck2,
    /// VMPCK3.
    Vmpck3,
}

impl VmpckIndex {
    /// All four, in order.
    pub const ALL: [Self; 4] = [Self::Vmpck0, Self::Vmpck1, Self::Vmpck2, Self::Vmpck3];

    /// The number, 0..=3: the `msg_vmpck` header field.
    pub const fn number(self) -> u8 {
        self as u8
    }

    const fn key_offset(self) -> usize {
        VMPCK0_OFFSET + VMPCK_SIZE * self as usize
    }

    const fn seqno_offset(self) -> usize {
        OS_AREA_SEQNO_OFFSET + 4 * self as usize
    }
}

/// A VMPCK. Never printed, and wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct VmpckKey([u8; VMPCK_SIZE]);

impl VmpckKey {
    /// A key from its bytes, or `None` for all zeros (no key).
    pub fn new(bytes: [u8; VMPCK_SIZE]) -> Option<Self> {
        if bytes.iter().all(|&b| b == 0) { None } else { Some(Self(bytes)) }
    }

    pub(crate) fn bytes(&self) -> &[u8; VMPCK_SIZE] {
        &self.0
    }
}

impl fmt::Debug for VmpckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VmpckKey(..)")
    }
}

impl Drop for VmpckKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The parsed secrets page.
#[derive(Clone, Debug)]
pub struct SecretsPage {
    /// The layout version the firmware wrote (2 or 3 in current firmware).
    pub version: u32,
    /// IMIEN (flags bit 0): the guest was launched with a migration agent.
    pub imi_enabled: bool,
    /// The family, model and stepping of the CPU, as CPUID leaf 1 EAX reports them.
    pub fms: u32,
    /// The guest OS visible workarounds, as the hypervisor gave them at launch.
    pub gosvw: [u8; 16],
    keys: [Option<VmpckKey>; 4],
    seqno_counts: [u32; 4],
    /// The AP jump table address an earlier kernel stored in the OS area (0 if none). It is
    /// guest-written, not firmware data.
    pub ap_jump_table_pa: u64,
}

impl SecretsPage {
    /// Parses a copy of the secrets page.
    pub fn parse(page: &[u8; SECRETS_PAGE_SIZE]) -> Self {
        let key = |index: VmpckIndex| {
            let mut bytes = [0u8; VMPCK_SIZE];
            bytes.copy_from_slice(&page[index.key_offset()..][..VMPCK_SIZE]);
            let key = VmpckKey::new(bytes);
            bytes.zeroize();
            key
        };
        let mut gosvw = [0u8; 16];
        gosvw.copy_from_slice(&page[GOSVW_OFFSET..GOSVW_OFFSET + 16]);
        Self {
            version: u32_at(page, VERSION_OFFSET),
            imi_enabled: u32_at(page, FLAGS_OFFSET) & 1 != 0,
            fms: u32_at(page, FMS_OFFSET),
            gosvw,
            keys: VmpckIndex::ALL.map(key),
            seqno_counts: VmpckIndex::ALL.map(|index| u32_at(page, index.seqno_offset())),
            ap_jump_table_pa: u64_at(page, AP_JUMP_TABLE_OFFSET),
        }
    }

    /// The VMPCK at `index`, or `None` if the page holds zeros there.
    pub fn vmpck(&self, index: VmpckIndex) -> Option<&VmpckKey> {
        self.keys[index as usize].as_ref()
    }

    /// The message sequence count the OS area holds for `index`: the last sequence number
    /// used with that key (0 before the first message).
    pub fn seqno_count(&self, index: VmpckIndex) -> u32 {
        self.seqno_counts[index as usize]
    }

    /// The byte offset in the secrets page of the OS-area count for `index`, where OSTD
    /// stores [`super::guest_msg::Vmpck::count`] back.
    pub const fn seqno_count_offset(index: VmpckIndex) -> usize {
        index.seqno_offset()
    }

    /// The byte range of the VMPCK at `index` in the secrets page, which OSTD zeroes when
    /// a key is disabled so that no later kernel can use it.
    pub const fn vmpck_range(index: VmpckIndex) -> core::ops::Range<usize> {
        index.key_offset()..index.key_offset() + VMPCK_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_page() -> [u8; SECRETS_PAGE_SIZE] {
        let mut page = [0u8; SECRETS_PAGE_SIZE];
        page[0..4].copy_from_slice(&3u32.to_le_bytes());
        page[4..8].copy_from_slice(&1u32.to_le_bytes());
        page[8..12].copy_from_slice(&0x00a1_0f11u32.to_le_bytes());
        page[0x10..0x20].copy_from_slice(&[0x5a; 16]);
        page[0x20..0x40].copy_from_slice(&[0x11; 32]);
        // VMPCK1 left zero: absent.
        page[0x60..0x80].copy_from_slice(&[0x33; 32]);
        page[0x80..0xa0].copy_from_slice(&[0x44; 32]);
        page[0xa0..0xa4].copy_from_slice(&6u32.to_le_bytes());
        page[0xac..0xb0].copy_from_slice(&0xfffe_u32.to_le_bytes());
        page[0xb0..0xb8].copy_from_slice(&0x9_f000u64.to_le_bytes());
        page
    }

    #[test]
    fn parse_reads_each_field_at_its_offset() {
        let secrets = SecretsPage::parse(&sample_page());
        assert_eq!(secrets.version, 3);
        assert!(secrets.imi_enabled);
        assert_eq!(secrets.fms, 0x00a1_0f11);
        assert_eq!(secrets.gosvw, [0x5a; 16]);
        assert_eq!(secrets.vmpck(VmpckIndex::Vmpck0).map(|k| *k.bytes()), Some([0x11; 32]));
        assert!(secrets.vmpck(VmpckIndex::Vmpck1).is_none());
        assert_eq!(secrets.vmpck(VmpckIndex::Vmpck2).map(|k| *k.bytes()), Some([0x33; 32]));
        assert_eq!(secrets.vmpck(VmpckIndex::Vmpck3).map(|k| *k.bytes()), Some([0x44; 32]));
        assert_eq!(secrets.seqno_count(VmpckIndex::Vmpck0), 6);
        assert_eq!(secrets.seqno_count(VmpckIndex::Vmpck3), 0xfffe);
        assert_eq!(secrets.ap_jump_table_pa, 0x9_f000);
        assert_eq!(SecretsPage::seqno_count_offset(VmpckIndex::Vmpck2), 0xa8);
        assert_eq!(SecretsPage::vmpck_range(VmpckIndex::Vmpck3), 0x80..0xa0);
    }

    #[test]
    fn keys_do_not_print() {
        let secrets = SecretsPage::parse(&sample_page());
        let text = alloc::format!("{secrets:?}");
        assert!(text.contains("VmpckKey(..)"));
        assert!(!text.contains("17, 17"), "key bytes (0x11) leaked: {text}");
    }
}
