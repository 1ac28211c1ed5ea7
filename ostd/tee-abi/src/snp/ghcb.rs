//! The GHCB page (GHCB spec §2.3.2, table "GHCB Layout").
//!
//! The guest-host communication block is one shared 4 KiB page: the first 1 KiB mirrors
//! the SEV-ES save area (only the fields a request names are used), a 16-byte bitmap at
//! 0x3f0 says which of those fields are valid (bit = offset / 8), a 2032-byte shared buffer
//! at 0x800 carries larger requests, and the last 6 bytes hold the protocol version and the
//! GHCB usage.
//!
//! [`GhcbWriter`] builds the bytes of a request in guest memory (OSTD copies them into the
//! shared page). [`GhcbResponse`] reads a *copy* of the page taken after VMGEXIT and hands
//! out a field only if the host marked it valid, because a field the host did not set holds
//! whatever the guest or an earlier exit left there. [`GhcbResponse::status`] decodes the
//! return convention of SW_EXITINFO1 (GHCB spec §4.1, the NAE event return values;
//! Linux `verify_exception_info` in arch/x86/coco/sev).

use core::fmt;

use super::le::{put_u16, put_u32, put_u64, u16_at, u32_at, u64_at};
use super::msr_protocol::SUPPORTED_PROTOCOL_VERSION;

/// Bytes in the GHCB page.
pub const GHCB_SIZE: usize = 4096;
/// Offset of the valid bitmap, 16 bytes: bit `n` marks the 8-byte field at `n * 8` valid.
pub const VALID_BITMAP_OFFSET: usize = 0x3f0;
/// Offset of the shared buffer.
pub const SHARED_BUFFER_OFFSET: usize = 0x800;
/// Bytes in the shared buffer.
pub const SHARED_BUFFER_SIZE: usize = 2032;
/// Offset of the protocol version (u16).
pub const PROTOCOL_VERSION_OFFSET: usize = 0xffa;
/// Offset of the GHCB usage (u32); 0 is the standard layout this module writes.
pub const USAGE_OFFSET: usize = 0xffc;

/// A save-area field of the GHCB that a request or a response uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GhcbField {
    /// RAX, at 0x1f8.
    Rax,
    /// RCX, at 0x308.
    Rcx,
    /// RDX, at 0x310.
    Rdx,
    /// RBX, at 0x318.
    Rbx,
    /// SW_EXITCODE, at 0x390: the exit the guest requests.
    SwExitCode,
    /// SW_EXITINFO1, at 0x398: request information, and the status on return.
    SwExitInfo1,
    /// SW_EXITINFO2, at 0x3a0: request information, and exception or error detail on return.
    SwExitInfo2,
    /// SW_SCRATCH, at 0x3a8: the guest-physical address of a scratch area (e.g. the shared
    /// buffer).
    SwScratch,
    /// XCR0, at 0x3e8: the guest's XCR0 for a CPUID request.
    Xcr0,
}

impl GhcbField {
    /// The field's byte offset in the GHCB page.
    pub const fn offset(self) -> usize {
        match self {
            Self::Rax => 0x1f8,
            Self::Rcx => 0x308,
            Self::Rdx => 0x310,
            Self::Rbx => 0x318,
            Self::SwExitCode => 0x390,
            Self::SwExitInfo1 => 0x398,
            Self::SwExitInfo2 => 0x3a0,
            Self::SwScratch => 0x3a8,
            Self::Xcr0 => 0x3e8,
        }
    }

    /// The field's name in the GHCB specification.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rax => "RAX",
            Self::Rcx => "RCX",
            Self::Rdx => "RDX",
            Self::Rbx => "RBX",
            Self::SwExitCode => "SW_EXITCODE",
            Self::SwExitInfo1 => "SW_EXITINFO1",
            Self::SwExitInfo2 => "SW_EXITINFO2",
            Self::SwScratch => "SW_SCRATCH",
            Self::Xcr0 => "XCR0",
        }
    }

    /// The field's bit in the valid bitmap: byte and mask within the bitmap.
    const fn valid_bit(self) -> (usize, u8) {
        let bit = self.offset() / 8;
        (VALID_BITMAP_OFFSET + bit / 8, 1 << (bit % 8))
    }
}

/// The exit codes a guest puts in SW_EXITCODE (GHCB spec §4.1, "Non-Automatic Exit"
/// events; AMD APM vol. 2 appendix C for the intercept codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ExitCode {
    /// RDTSC intercept, 0x6e.
    Rdtsc = 0x6e,
    /// CPUID intercept, 0x72.
    Cpuid = 0x72,
    /// I/O port access intercept, 0x7b.
    Ioio = 0x7b,
    /// RDMSR/WRMSR intercept, 0x7c.
    Msr = 0x7c,
    /// VMMCALL intercept, 0x81.
    Vmmcall = 0x81,
    /// RDTSCP intercept, 0x87.
    Rdtscp = 0x87,
    /// WBINVD intercept, 0x89.
    Wbinvd = 0x89,
    /// MMIO read, 0x8000_0001.
    MmioRead = 0x8000_0001,
    /// MMIO write, 0x8000_0002.
    MmioWrite = 0x8000_0002,
    /// SNP page state change through the shared buffer, 0x8000_0010.
    SnpPageStateChange = 0x8000_0010,
    /// SNP guest request (a guest message to the PSP), 0x8000_0011.
    SnpGuestRequest = 0x8000_0011,
    /// SNP extended guest request (with certificates), 0x8000_0012.
    SnpExtendedGuestRequest = 0x8000_0012,
    /// SNP AP creation, 0x8000_0013.
    SnpApCreation = 0x8000_0013,
    /// Hypervisor feature support, 0x8000_fffd.
    HypervisorFeatures = 0x8000_fffd,
    /// Termination request, 0x8000_fffe.
    Termination = 0x8000_fffe,
}

/// Builds the bytes of a GHCB request: each field set also marks itself valid.
#[derive(Clone)]
pub struct GhcbWriter {
    page: [u8; GHCB_SIZE],
}

impl GhcbWriter {
    /// A request for `exit`, with SW_EXITINFO1 and SW_EXITINFO2 set (both are always
    /// part of a non-automatic exit), protocol version 2 and usage 0. Every other byte is 0,
    /// so nothing from an earlier request leaks to the host.
    pub fn new(exit: ExitCode, exit_info1: u64, exit_info2: u64) -> Self {
        let mut writer = Self { page: [0; GHCB_SIZE] };
        put_u16(&mut writer.page, PROTOCOL_VERSION_OFFSET, SUPPORTED_PROTOCOL_VERSION);
        put_u32(&mut writer.page, USAGE_OFFSET, 0);
        writer.set(GhcbField::SwExitCode, exit as u64);
        writer.set(GhcbField::SwExitInfo1, exit_info1);
        writer.set(GhcbField::SwExitInfo2, exit_info2);
        writer
    }

    /// Sets `field` and marks it valid.
    pub fn set(&mut self, field: GhcbField, value: u64) -> &mut Self {
        put_u64(&mut self.page, field.offset(), value);
        let (byte, mask) = field.valid_bit();
        self.page[byte] |= mask;
        self
    }

    /// The shared buffer, for requests that carry data in it (page-state change, MMIO).
    /// The caller also sets [`GhcbField::SwScratch`] to the buffer's guest-physical address.
    pub fn shared_buffer_mut(&mut self) -> &mut [u8; SHARED_BUFFER_SIZE] {
        let slice = &mut self.page[SHARED_BUFFER_OFFSET..SHARED_BUFFER_OFFSET + SHARED_BUFFER_SIZE];
        slice.try_into().expect("the shared buffer is SHARED_BUFFER_SIZE bytes")
    }

    /// The request bytes.
    pub fn as_bytes(&self) -> &[u8; GHCB_SIZE] {
        &self.page
    }
}

/// Something wrong with the host's answer in the GHCB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GhcbError {
    /// The host did not mark a field it had to set as valid.
    NotValid {
        /// The field.
        field: GhcbField,
    },
    /// SW_EXITINFO1[31:0] = 1: the host asks the guest to take an exception, and it is one the
    /// guest may take (#GP or #UD, valid, of type exception).
    Exception(GuestException),
    /// SW_EXITINFO1[31:0] = 1 with an SW_EXITINFO2 that is not a #GP or #UD exception: no
    /// honest host asks for anything else.
    BadExceptionInfo {
        /// SW_EXITINFO2 as the host wrote it.
        exit_info2: u64,
    },
    /// SW_EXITINFO1[31:0] = 2: the host found the request malformed; SW_EXITINFO2 says why.
    Malformed {
        /// The reason code (1 GHCB not registered, 2 invalid usage, 3 invalid scratch area,
        /// 4 missing input, 5 invalid input, 6 invalid event).
        reason: u64,
    },
    /// SW_EXITINFO1[31:0] is none of 0, 1, 2.
    UnknownStatus {
        /// The low 32 bits of SW_EXITINFO1.
        status: u32,
    },
}

impl fmt::Display for GhcbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotValid { field } => write!(f, "host did not mark {} valid", field.name()),
            Self::Exception(e) => write!(f, "host asks to inject vector {}", e.vector),
            Self::BadExceptionInfo { exit_info2 } => {
                write!(f, "SW_EXITINFO2 {exit_info2:#x} is not a #GP or #UD exception")
            }
            Self::Malformed { reason } => {
                write!(f, "host reports a malformed GHCB, reason {reason}")
            }
            Self::UnknownStatus { status } => write!(f, "SW_EXITINFO1 status {status:#x} unknown"),
        }
    }
}

/// An exception the host asks the guest to raise for the instruction it emulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestException {
    /// The vector: 13 (#GP) or 6 (#UD).
    pub vector: u8,
    /// The error code, when the host supplied one.
    pub error_code: Option<u32>,
}

/// A copy of the GHCB page taken after VMGEXIT, read field by field.
pub struct GhcbResponse<'a> {
    page: &'a [u8; GHCB_SIZE],
}

impl<'a> GhcbResponse<'a> {
    /// Reads `page`, a copy the guest took of the shared GHCB.
    pub fn new(page: &'a [u8; GHCB_SIZE]) -> Self {
        Self { page }
    }

    /// Whether the host marked `field` valid.
    pub fn is_valid(&self, field: GhcbField) -> bool {
        let (byte, mask) = field.valid_bit();
        self.page[byte] & mask != 0
    }

    /// The field, if the host marked it valid.
    pub fn get(&self, field: GhcbField) -> Result<u64, GhcbError> {
        if self.is_valid(field) {
            Ok(u64_at(self.page, field.offset()))
        } else {
            Err(GhcbError::NotValid { field })
        }
    }

    /// The shared buffer as the host left it.
    pub fn shared_buffer(&self) -> &'a [u8; SHARED_BUFFER_SIZE] {
        let slice = &self.page[SHARED_BUFFER_OFFSET..SHARED_BUFFER_OFFSET + SHARED_BUFFER_SIZE];
        slice.try_into().expect("the shared buffer is SHARED_BUFFER_SIZE bytes")
    }

    /// The protocol version field as the host left it.
    pub fn protocol_version(&self) -> u16 {
        u16_at(self.page, PROTOCOL_VERSION_OFFSET)
    }

    /// The GHCB usage field as the host left it.
    pub fn usage(&self) -> u32 {
        u32_at(self.page, USAGE_OFFSET)
    }

    /// The outcome of the exit from SW_EXITINFO1[31:0]: 0 success; 1 the host asks for an
    /// exception described by SW_EXITINFO2 in event-injection format (vector bits 7:0, type
    /// bits 10:8 = 3 for an exception, bit 11 error code valid, bit 31 valid, error code bits
    /// 63:32), accepted only for #GP and #UD as Linux does; 2 the host found the GHCB
    /// malformed, with the reason in SW_EXITINFO2.
    pub fn status(&self) -> Result<(), GhcbError> {
        let status = self.get(GhcbField::SwExitInfo1)? as u32;
        match status {
            0 => Ok(()),
            1 => {
                let info = self.get(GhcbField::SwExitInfo2)?;
                Err(decode_exception(info))
            }
            2 => Err(GhcbError::Malformed { reason: self.get(GhcbField::SwExitInfo2)? }),
            status => Err(GhcbError::UnknownStatus { status }),
        }
    }
}

const EVENT_VALID: u64 = 1 << 31;
const EVENT_ERROR_CODE_VALID: u64 = 1 << 11;
const EVENT_TYPE_MASK: u64 = 7 << 8;
const EVENT_TYPE_EXCEPTION: u64 = 3 << 8;
const VECTOR_UD: u8 = 6;
const VECTOR_GP: u8 = 13;

fn decode_exception(info: u64) -> GhcbError {
    let vector = info as u8;
    let acceptable = info & EVENT_VALID != 0
        && info & EVENT_TYPE_MASK == EVENT_TYPE_EXCEPTION
        && (vector == VECTOR_GP || vector == VECTOR_UD);
    if !acceptable {
        return GhcbError::BadExceptionInfo { exit_info2: info };
    }
    let error_code = (info & EVENT_ERROR_CODE_VALID != 0).then_some((info >> 32) as u32);
    GhcbError::Exception(GuestException { vector, error_code })
}

/// Direction of a port access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoDirection {
    /// IN/INS: the host supplies the data (type bit 0 = 1).
    In,
    /// OUT/OUTS: the guest supplies the data (type bit 0 = 0).
    Out,
}

/// Size of one port access or of the address of a string access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoWidth {
    /// 8 bits (operand sizes only).
    Bits8,
    /// 16 bits.
    Bits16,
    /// 32 bits.
    Bits32,
    /// 64 bits (address sizes only).
    Bits64,
}

/// An IOIO exit's SW_EXITINFO1 (AMD APM vol. 2 §15.10.2, "IN and OUT Behavior", the IOIO
/// intercept's EXITINFO1; GHCB spec §4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoioExitInfo {
    /// The port.
    pub port: u16,
    /// IN or OUT.
    pub direction: IoDirection,
    /// INS/OUTS (bit 2).
    pub string: bool,
    /// REP prefix (bit 3).
    pub rep: bool,
    /// Operand size: 8, 16 or 32 bits (bits 4, 5, 6).
    pub operand: IoWidth,
    /// Address size of a string access: 16, 32 or 64 bits (bits 7, 8, 9).
    pub address: IoWidth,
    /// Segment of a string access (bits 12:10; 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS).
    pub segment: u8,
}

/// An [`IoioExitInfo`] that cannot be encoded, with the field at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoioError {
    /// A 64-bit operand: port I/O has none.
    OperandWidth(IoWidth),
    /// An 8-bit address size: no such mode.
    AddressWidth(IoWidth),
    /// A segment number above 7.
    Segment(u8),
}

impl IoioExitInfo {
    /// The SW_EXITINFO1 value.
    pub fn encode(&self) -> Result<u64, IoioError> {
        let operand_bit = match self.operand {
            IoWidth::Bits8 => 1 << 4,
            IoWidth::Bits16 => 1 << 5,
            IoWidth::Bits32 => 1 << 6,
            IoWidth::Bits64 => return Err(IoioError::OperandWidth(self.operand)),
        };
        let address_bit = match self.address {
            IoWidth::Bits16 => 1 << 7,
            IoWidth::Bits32 => 1 << 8,
            IoWidth::Bits64 => 1 << 9,
            IoWidth::Bits8 => return Err(IoioError::AddressWidth(self.address)),
        };
        if self.segment > 7 {
            return Err(IoioError::Segment(self.segment));
        }
        Ok(u64::from(self.port) << 16
            | u64::from(self.segment) << 10
            | address_bit
            | operand_bit
            | u64::from(self.rep) << 3
            | u64::from(self.string) << 2
            | u64::from(self.direction == IoDirection::In))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_linux_ghcb_save_area() {
        // Offsets from Linux `struct ghcb_save_area` (arch/x86/include/asm/svm.h), whose
        // reserved fields are named after their offsets and checked at build time.
        let expected = [
            (GhcbField::Rax, 0x1f8),
            (GhcbField::Rcx, 0x308),
            (GhcbField::Rdx, 0x310),
            (GhcbField::Rbx, 0x318),
            (GhcbField::SwExitCode, 0x390),
            (GhcbField::SwExitInfo1, 0x398),
            (GhcbField::SwExitInfo2, 0x3a0),
            (GhcbField::SwScratch, 0x3a8),
            (GhcbField::Xcr0, 0x3e8),
        ];
        for (field, offset) in expected {
            assert_eq!(field.offset(), offset, "{}", field.name());
        }
        assert_eq!(SHARED_BUFFER_OFFSET + SHARED_BUFFER_SIZE + 10, PROTOCOL_VERSION_OFFSET);
        assert_eq!(PROTOCOL_VERSION_OFFSET + 2, USAGE_OFFSET);
    }

    #[test]
    fn writer_sets_fields_and_valid_bits() {
        let mut writer = GhcbWriter::new(ExitCode::Cpuid, 0, 0);
        writer.set(GhcbField::Rax, 0x8000_0008).set(GhcbField::Xcr0, 7);
        let page = writer.as_bytes();
        assert_eq!(&page[0x390..0x398], &0x72u64.to_le_bytes());
        assert_eq!(&page[0x1f8..0x200], &0x8000_0008u64.to_le_bytes());
        assert_eq!(&page[0x3e8..0x3f0], &7u64.to_le_bytes());
        // RAX 0x1f8/8 = 63: byte 7 bit 7. SW_EXITCODE 0x390/8 = 114: byte 14 bit 2,
        // SW_EXITINFO1 115 bit 3, SW_EXITINFO2 116 bit 4. XCR0 0x3e8/8 = 125: byte 15 bit 5.
        let mut bitmap = [0u8; 16];
        bitmap[7] = 0x80;
        bitmap[14] = 0b1_1100;
        bitmap[15] = 0b10_0000;
        assert_eq!(&page[0x3f0..0x400], &bitmap);
        assert_eq!(&page[0xffa..0xffc], &[2, 0]);
        assert_eq!(&page[0xffc..0x1000], &[0, 0, 0, 0]);
    }

    #[test]
    fn reader_returns_only_valid_fields() {
        let mut writer = GhcbWriter::new(ExitCode::Cpuid, 0, 0);
        writer.set(GhcbField::Rax, 0x1234);
        let mut page = *writer.as_bytes();
        // A host that writes RBX but does not mark it valid.
        page[0x318..0x320].copy_from_slice(&0x5678u64.to_le_bytes());
        let response = GhcbResponse::new(&page);
        assert_eq!(response.get(GhcbField::Rax), Ok(0x1234));
        assert_eq!(
            response.get(GhcbField::Rbx),
            Err(GhcbError::NotValid { field: GhcbField::Rbx })
        );
        assert_eq!(response.status(), Ok(()));
    }

    fn response_with(info1: u64, info2: u64) -> [u8; GHCB_SIZE] {
        *GhcbWriter::new(ExitCode::Msr, info1, info2).as_bytes()
    }

    #[test]
    fn status_decodes_exceptions() {
        // #GP(0x10): vector 13, type exception, error code valid, valid.
        let page = response_with(1, 0x0000_0010_8000_0b0d);
        assert_eq!(
            GhcbResponse::new(&page).status(),
            Err(GhcbError::Exception(GuestException { vector: 13, error_code: Some(0x10) }))
        );
        let page = response_with(0xffff_ffff_0000_0001, 0x8000_0306);
        assert_eq!(
            GhcbResponse::new(&page).status(),
            Err(GhcbError::Exception(GuestException { vector: 6, error_code: None }))
        );
        // #PF is not something the host may inject this way; nor an invalid event.
        for info2 in [0x8000_030e, 0x0000_030d, 0x8000_000d] {
            let page = response_with(1, info2);
            assert_eq!(
                GhcbResponse::new(&page).status(),
                Err(GhcbError::BadExceptionInfo { exit_info2: info2 })
            );
        }
    }

    #[test]
    fn status_decodes_malformed_and_unknown() {
        let page = response_with(2, 3);
        assert_eq!(GhcbResponse::new(&page).status(), Err(GhcbError::Malformed { reason: 3 }));
        let page = response_with(7, 0);
        assert_eq!(GhcbResponse::new(&page).status(), Err(GhcbError::UnknownStatus { status: 7 }));
        let page = [0u8; GHCB_SIZE];
        assert_eq!(
            GhcbResponse::new(&page).status(),
            Err(GhcbError::NotValid { field: GhcbField::SwExitInfo1 })
        );
    }

    #[test]
    fn ioio_exit_info_layout() {
        // `in al, 0x71`: port 0x71, IN, 8-bit operand; Linux sets a 16-bit address size
        // bit for non-string accesses too, which the field allows.
        let info = IoioExitInfo {
            port: 0x71,
            direction: IoDirection::In,
            string: false,
            rep: false,
            operand: IoWidth::Bits8,
            address: IoWidth::Bits16,
            segment: 0,
        };
        assert_eq!(info.encode(), Ok(0x0071_0091));
        // `rep outsw` with 64-bit addresses through DS to port 0x1f0.
        let info = IoioExitInfo {
            port: 0x1f0,
            direction: IoDirection::Out,
            string: true,
            rep: true,
            operand: IoWidth::Bits16,
            address: IoWidth::Bits64,
            segment: 3,
        };
        assert_eq!(info.encode(), Ok(0x01f0_0e2c));
        assert_eq!(
            IoioExitInfo { operand: IoWidth::Bits64, ..info }.encode(),
            Err(IoioError::OperandWidth(IoWidth::Bits64))
        );
        assert_eq!(IoioExitInfo { segment: 8, ..info }.encode(), Err(IoioError::Segment(8)));
    }
}
