//! TDCALL completion status, as the TDX module returns it in RAX.
//!
//! TDX Module ABI spec, "Function Completion Status Codes": bits 63:32 are the status code
//! proper, bits 31:0 the operand details (typically which operand or field was at fault).
//! Within the status code, bit 63 marks an error, bit 62 a non-recoverable one, and bits
//! 47:40 the class (0x01 operand, 0x02 busy, 0x0B Secure-EPT, 0x0C metadata, ...). Linux
//! compares the upper half only (`TDCALL_RETURN_CODE(a) = a >> 32`), and so does this type.

/// RAX after a TDCALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdxStatus(u64);

/// TDX_SUCCESS.
pub const TDX_SUCCESS: u64 = 0;
/// TDX_OPERAND_INVALID: an input register holds a value the leaf does not accept.
pub const TDX_OPERAND_INVALID: u64 = 0xC000_0100_0000_0000;
/// TDX_OPERAND_ADDR_RANGE_ERROR: an address operand is outside what the TD may name.
pub const TDX_OPERAND_ADDR_RANGE_ERROR: u64 = 0xC000_0101_0000_0000;
/// TDX_OPERAND_BUSY: a resource the leaf needs is locked by another caller; try again.
pub const TDX_OPERAND_BUSY: u64 = 0x8000_0200_0000_0000;
/// TDX_NO_VALID_VE_INFO: TDG.VP.VEINFO.GET without a pending #VE.
pub const TDX_NO_VALID_VE_INFO: u64 = 0xC000_0704_0000_0000;
/// TDX_PAGE_ALREADY_ACCEPTED: a warning (bit 63 clear), the page is usable.
pub const TDX_PAGE_ALREADY_ACCEPTED: u64 = 0x0000_0B0A_0000_0000;
/// TDX_PAGE_SIZE_MISMATCH: the page is mapped at a smaller level than the accept asked.
pub const TDX_PAGE_SIZE_MISMATCH: u64 = 0xC000_0B0B_0000_0000;
/// TDX_METADATA_FIELD_ID_INCORRECT: TDG.VM.RD/WR of a field this module does not have.
pub const TDX_METADATA_FIELD_ID_INCORRECT: u64 = 0xC000_0C00_0000_0000;
/// TDX_METADATA_FIELD_NOT_WRITABLE: TDG.VM.WR of a field (or bits) the guest may not write.
pub const TDX_METADATA_FIELD_NOT_WRITABLE: u64 = 0xC000_0C01_0000_0000;
/// TDX_METADATA_FIELD_NOT_READABLE: TDG.VM.RD of a field the guest may not read.
pub const TDX_METADATA_FIELD_NOT_READABLE: u64 = 0xC000_0C02_0000_0000;

/// The named status codes this crate acts on; anything else is [`TdxStatusKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdxStatusKind {
    /// TDX_SUCCESS.
    Success,
    /// TDX_OPERAND_INVALID.
    OperandInvalid,
    /// TDX_OPERAND_ADDR_RANGE_ERROR.
    OperandAddrRangeError,
    /// TDX_OPERAND_BUSY.
    OperandBusy,
    /// TDX_NO_VALID_VE_INFO.
    NoValidVeInfo,
    /// TDX_PAGE_ALREADY_ACCEPTED.
    PageAlreadyAccepted,
    /// TDX_PAGE_SIZE_MISMATCH.
    PageSizeMismatch,
    /// TDX_METADATA_FIELD_ID_INCORRECT.
    MetadataFieldIdIncorrect,
    /// TDX_METADATA_FIELD_NOT_WRITABLE.
    MetadataFieldNotWritable,
    /// TDX_METADATA_FIELD_NOT_READABLE.
    MetadataFieldNotReadable,
    /// A code this crate does not name; see [`TdxStatus::code`].
    Other,
}

impl TdxStatus {
    /// Wraps RAX.
    pub const fn from_raw(rax: u64) -> Self {
        Self(rax)
    }

    /// RAX as returned.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Bits 63:32, the status code proper.
    pub const fn code(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Bits 31:0, the operand details (e.g. the operand ID of the faulty register).
    pub const fn details(self) -> u32 {
        self.0 as u32
    }

    /// Bit 47:40, the status class.
    pub const fn class(self) -> u8 {
        (self.0 >> 40) as u8
    }

    /// Whether RAX is exactly TDX_SUCCESS.
    pub const fn is_success(self) -> bool {
        self.0 == TDX_SUCCESS
    }

    /// Bit 63: the leaf failed. A clear bit with a non-zero code is a warning.
    pub const fn is_error(self) -> bool {
        self.0 & (1 << 63) != 0
    }

    /// Bit 62: the failure leaves the TD or VCPU unusable.
    pub const fn is_non_recoverable(self) -> bool {
        self.0 & (1 << 62) != 0
    }

    /// The named code, compared on bits 63:32 only, as the spec defines codes. Success is
    /// RAX equal to 0 as a whole; a zero code with non-zero details is [`TdxStatusKind::Other`].
    pub const fn kind(self) -> TdxStatusKind {
        if self.is_success() {
            return TdxStatusKind::Success;
        }
        match (self.0 >> 32) << 32 {
            TDX_OPERAND_INVALID => TdxStatusKind::OperandInvalid,
            TDX_OPERAND_ADDR_RANGE_ERROR => TdxStatusKind::OperandAddrRangeError,
            TDX_OPERAND_BUSY => TdxStatusKind::OperandBusy,
            TDX_NO_VALID_VE_INFO => TdxStatusKind::NoValidVeInfo,
            TDX_PAGE_ALREADY_ACCEPTED => TdxStatusKind::PageAlreadyAccepted,
            TDX_PAGE_SIZE_MISMATCH => TdxStatusKind::PageSizeMismatch,
            TDX_METADATA_FIELD_ID_INCORRECT => TdxStatusKind::MetadataFieldIdIncorrect,
            TDX_METADATA_FIELD_NOT_WRITABLE => TdxStatusKind::MetadataFieldNotWritable,
            TDX_METADATA_FIELD_NOT_READABLE => TdxStatusKind::MetadataFieldNotReadable,
            _ => TdxStatusKind::Other,
        }
    }
}
