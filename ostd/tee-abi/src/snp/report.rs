//! The attestation report messages (SNP firmware ABI, tables "MSG_REPORT_REQ Message
//! Structure" and "MSG_REPORT_RSP Message Structure"), sent with message version 1.
//!
//! MSG_REPORT_REQ (0x60 bytes): report_data[64] @0x0, vmpl u32 @0x40, key_sel u32 @0x44
//! (bits 1:0; a reserved field before firmware ABI 1.55, where only 0 is accepted),
//! reserved[24] @0x48.
//!
//! MSG_REPORT_RSP: status u32 @0x0, report_size u32 @0x4, reserved[24] @0x8, report @0x20.
//! The report is 0x4a0 (1184) bytes; a response that claims another size, or more than
//! its payload holds, is refused rather than trusted as a length.

use core::fmt;

use super::le::{put_u32, u32_at};

/// Bytes in a MSG_REPORT_REQ payload.
pub const REPORT_REQUEST_SIZE: usize = 0x60;
/// Bytes in an attestation report.
pub const ATTESTATION_REPORT_SIZE: usize = 0x4a0;
/// Offset of the report in a MSG_REPORT_RSP payload.
pub const REPORT_OFFSET: usize = 0x20;
/// The message version of MSG_REPORT_REQ this module builds.
pub const REPORT_MSG_VERSION: u8 = 1;

/// Which key signs the report (KEY_SEL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeySelect {
    /// The VLEK if one is installed, else the VCEK (0); the only choice older firmware has.
    #[default]
    Default,
    /// The VCEK (1).
    Vcek,
    /// The VLEK (2).
    Vlek,
}

impl KeySelect {
    const fn code(self) -> u32 {
        match self {
            Self::Default => 0,
            Self::Vcek => 1,
            Self::Vlek => 2,
        }
    }
}

/// A MSG_REPORT_REQ payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    report_data: [u8; 64],
    vmpl: u32,
    key_select: KeySelect,
}

/// A report request or response that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// The VMPL is above 3.
    VmplOutOfRange {
        /// The VMPL asked for.
        vmpl: u32,
    },
    /// The response payload is shorter than its 0x20-byte header.
    ResponseTooShort {
        /// The payload's length.
        len: usize,
    },
    /// The firmware's status is not success (0x16 invalid parameters, 0x27 invalid key
    /// selection).
    FirmwareStatus {
        /// The status.
        status: u32,
    },
    /// report_size is not the size of an attestation report.
    ReportSize {
        /// report_size in the response.
        size: u32,
    },
    /// report_size runs past the end of the payload.
    ReportPastPayload {
        /// report_size in the response.
        size: u32,
        /// Bytes the payload has after the header.
        available: usize,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::VmplOutOfRange { vmpl } => write!(f, "VMPL {vmpl} is above 3"),
            Self::ResponseTooShort { len } => {
                write!(f, "MSG_REPORT_RSP of {len} bytes has no header")
            }
            Self::FirmwareStatus { status } => write!(f, "MSG_REPORT_RSP status {status:#x}"),
            Self::ReportSize { size } => {
                write!(f, "MSG_REPORT_RSP report_size {size}, expected 1184")
            }
            Self::ReportPastPayload { size, available } => {
                write!(f, "MSG_REPORT_RSP report_size {size} exceeds the {available} bytes present")
            }
        }
    }
}

impl ReportRequest {
    /// A request for a report carrying `report_data`, for `vmpl` (0..=3; the firmware also
    /// requires it to be at least the guest's own VMPL), signed by `key_select`.
    pub fn new(
        report_data: [u8; 64],
        vmpl: u32,
        key_select: KeySelect,
    ) -> Result<Self, ReportError> {
        if vmpl > 3 {
            return Err(ReportError::VmplOutOfRange { vmpl });
        }
        Ok(Self { report_data, vmpl, key_select })
    }

    /// The payload bytes, reserved fields zero.
    pub fn encode(&self) -> [u8; REPORT_REQUEST_SIZE] {
        let mut payload = [0u8; REPORT_REQUEST_SIZE];
        payload[..64].copy_from_slice(&self.report_data);
        put_u32(&mut payload, 0x40, self.vmpl);
        put_u32(&mut payload, 0x44, self.key_select.code());
        payload
    }
}

/// An attestation report as the firmware returned it (signed by the firmware; checking the
/// signature is the relying party's job).
#[derive(Clone, PartialEq, Eq)]
pub struct AttestationReport([u8; ATTESTATION_REPORT_SIZE]);

impl AttestationReport {
    /// The report's bytes.
    pub fn as_bytes(&self) -> &[u8; ATTESTATION_REPORT_SIZE] {
        &self.0
    }

    /// Parses a decrypted MSG_REPORT_RSP payload.
    pub fn from_response(payload: &[u8]) -> Result<Self, ReportError> {
        if payload.len() < REPORT_OFFSET {
            return Err(ReportError::ResponseTooShort { len: payload.len() });
        }
        let status = u32_at(payload, 0);
        if status != 0 {
            return Err(ReportError::FirmwareStatus { status });
        }
        let size = u32_at(payload, 4);
        let available = payload.len() - REPORT_OFFSET;
        if size as usize > available {
            return Err(ReportError::ReportPastPayload { size, available });
        }
        if size as usize != ATTESTATION_REPORT_SIZE {
            return Err(ReportError::ReportSize { size });
        }
        let mut report = [0u8; ATTESTATION_REPORT_SIZE];
        report.copy_from_slice(&payload[REPORT_OFFSET..REPORT_OFFSET + ATTESTATION_REPORT_SIZE]);
        Ok(Self(report))
    }
}

impl fmt::Debug for AttestationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The version (u32 at 0) and guest SVN (u32 at 4) identify a report; the rest is long.
        write!(f, "AttestationReport(version {}, {} bytes)", u32_at(&self.0, 0), self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let request = ReportRequest::new([0xab; 64], 2, KeySelect::Vlek).unwrap();
        let payload = request.encode();
        assert_eq!(&payload[..64], &[0xab; 64]);
        assert_eq!(&payload[0x40..0x48], &[2, 0, 0, 0, 2, 0, 0, 0]);
        assert!(payload[0x48..].iter().all(|&b| b == 0));
        assert_eq!(
            ReportRequest::new([0; 64], 4, KeySelect::Default),
            Err(ReportError::VmplOutOfRange { vmpl: 4 })
        );
    }

    fn response(status: u32, size: u32, len: usize) -> alloc::vec::Vec<u8> {
        let mut payload = alloc::vec![0u8; len];
        payload[0..4].copy_from_slice(&status.to_le_bytes());
        payload[4..8].copy_from_slice(&size.to_le_bytes());
        for (i, b) in payload.iter_mut().enumerate().skip(0x20) {
            *b = i as u8;
        }
        payload
    }

    #[test]
    fn response_is_checked_before_use() {
        let ok = response(0, 0x4a0, 0x4c0);
        let report = AttestationReport::from_response(&ok).unwrap();
        assert_eq!(report.as_bytes()[0], 0x20);
        assert_eq!(report.as_bytes()[0x49f], (0x4bf & 0xff) as u8);
        assert_eq!(
            AttestationReport::from_response(&response(0x16, 0, 0x4c0)),
            Err(ReportError::FirmwareStatus { status: 0x16 })
        );
        assert_eq!(
            AttestationReport::from_response(&response(0, 0x4a0, 0x4bf)),
            Err(ReportError::ReportPastPayload { size: 0x4a0, available: 0x49f })
        );
        assert_eq!(
            AttestationReport::from_response(&response(0, 0xffff_ffff, 4000)),
            Err(ReportError::ReportPastPayload { size: 0xffff_ffff, available: 4000 - 0x20 })
        );
        assert_eq!(
            AttestationReport::from_response(&response(0, 0x4a1, 4000)),
            Err(ReportError::ReportSize { size: 0x4a1 })
        );
        assert_eq!(
            AttestationReport::from_response(&[0; 8]),
            Err(ReportError::ResponseTooShort { len: 8 })
        );
    }
}
