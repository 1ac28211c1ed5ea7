//! The simulated TEE's report: its layout, its measurement-register rule, and its signature
//! with the published development key.
//!
//! The guest (OSTD under `tee=sim`) builds and signs reports with this module; the verifier
//! (`attestation::sim`) parses them with it and checks the signature with its own ECDSA
//! implementation (`ring`), so the two sides share one layout and two signature codes.
//! Anyone can forge a sim report (the key is in `dev/sim-dev-key.pk8`, see `dev/README.md`),
//! which is why the verifier accepts them only when told to.
//!
//! ```text
//! offset size field
//! 0x00   4    magic "SIMR"
//! 0x04   4    version (u32 LE): 1, or 2 with measurement registers
//! 0x08   1    debug (0 or 1)
//! 0x09   7    reserved, zero
//! 0x10   48   measurement (the simulated launch measurement)
//! 0x40   64   report_data
//! version 1:
//! 0x80   64   ECDSA P-256/SHA-256 signature over bytes 0x00..0x80, r ‖ s big-endian
//! version 2:
//! 0x80   192  the four measurement registers, 48 bytes each, in index order
//! 0x140  64   ECDSA P-256/SHA-256 signature over bytes 0x00..0x140, r ‖ s big-endian
//! ```

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha384};

/// The development key that signs sim reports (PKCS#8 v1 DER, P-256), published on purpose.
pub const DEV_KEY_PKCS8: &[u8] = include_bytes!("../dev/sim-dev-key.pk8");

/// The first four bytes of every sim report.
pub const MAGIC: &[u8; 4] = b"SIMR";

/// How many measurement registers the simulated TEE keeps (as TDX has RTMR0..3).
pub const REGISTER_COUNT: usize = 4;

/// Length of a version-1 report (no registers).
pub const V1_LEN: usize = 0xC0;

/// Length of a version-2 report.
pub const V2_LEN: usize = 0x180;

/// A measurement register's value: a SHA-384 digest.
pub type Register = [u8; 48];

/// What a sim report says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReportBody {
    /// The simulated launch measurement.
    pub measurement: [u8; 48],
    /// The 64 bytes the caller bound into the report.
    pub report_data: [u8; 64],
    /// The measurement registers (version 2; `None` in a version-1 report).
    pub registers: Option<[Register; REGISTER_COUNT]>,
    /// Whether the simulated guest runs in debug mode.
    pub debug: bool,
}

/// A parsed sim report: what it says, the bytes the signature covers, and the signature.
/// The signature is not checked here: that is the verifier's job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSimReport<'a> {
    /// The report's fields.
    pub body: SimReportBody,
    /// The signed bytes (everything before the signature).
    pub signed: &'a [u8],
    /// The signature, r ‖ s (64 bytes).
    pub signature: &'a [u8],
}

/// Why bytes are not a sim report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimFormatError {
    /// The length fits no version.
    Length {
        /// Bytes received.
        got: usize,
    },
    /// A header field is wrong.
    Header {
        /// The field.
        field: &'static str,
    },
    /// The version's length and the bytes' length disagree.
    VersionLength {
        /// The version the header names.
        version: u32,
        /// Bytes received.
        got: usize,
    },
}

impl core::fmt::Display for SimFormatError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Length { got } => {
                write!(f, "sim report is {got} bytes, neither {V1_LEN} (v1) nor {V2_LEN} (v2)")
            }
            Self::Header { field } => write!(f, "sim report field {field} is invalid"),
            Self::VersionLength { version, got } => {
                write!(f, "sim report says version {version} but is {got} bytes long")
            }
        }
    }
}

/// Returns register `old` extended with `digest`: SHA-384(old ‖ digest), TDX's RTMR rule.
pub fn extend(old: &Register, digest: &Register) -> Register {
    let mut hasher = Sha384::new();
    hasher.update(old);
    hasher.update(digest);
    hasher.finalize().into()
}

/// Returns the simulated launch measurement: SHA-384 of the kernel command line. Firmware
/// measures the kernel, initrd and command line before it starts a real confidential guest;
/// the simulated TEE sees only the command line, so that is what it stands for.
pub fn launch_measurement(cmdline: &[u8]) -> [u8; 48] {
    Sha384::digest(cmdline).into()
}

impl SimReportBody {
    /// Returns the report, version 2 (version 1 when it has no registers), signed with the
    /// development key.
    pub fn sign(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(V2_LEN);
        out.extend_from_slice(MAGIC);
        let version: u32 = if self.registers.is_some() { 2 } else { 1 };
        out.extend_from_slice(&version.to_le_bytes());
        out.push(u8::from(self.debug));
        out.extend_from_slice(&[0; 7]);
        out.extend_from_slice(&self.measurement);
        out.extend_from_slice(&self.report_data);
        for register in self.registers.iter().flatten() {
            out.extend_from_slice(register);
        }
        let signature: Signature = dev_key().sign(&out);
        out.extend_from_slice(&signature.to_bytes());
        out
    }
}

/// Returns the development signing key.
fn dev_key() -> SigningKey {
    // The key is a constant of this crate and its test checks it parses: a failure here is
    // a build defect, not input.
    SigningKey::from_pkcs8_der(DEV_KEY_PKCS8).expect("dev/sim-dev-key.pk8 is a P-256 PKCS#8 key")
}

/// Parses a sim report of either version (structure only, not the signature).
///
/// # Errors
/// [`SimFormatError`] names the length or field that is wrong.
pub fn parse(bytes: &[u8]) -> Result<ParsedSimReport<'_>, SimFormatError> {
    if bytes.len() != V1_LEN && bytes.len() != V2_LEN {
        return Err(SimFormatError::Length { got: bytes.len() });
    }
    if &bytes[0..4] != MAGIC {
        return Err(SimFormatError::Header { field: "magic" });
    }
    let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let expected_len = match version {
        1 => V1_LEN,
        2 => V2_LEN,
        _ => return Err(SimFormatError::Header { field: "version" }),
    };
    if bytes.len() != expected_len {
        return Err(SimFormatError::VersionLength { version, got: bytes.len() });
    }
    let debug = match bytes[8] {
        0 => false,
        1 => true,
        _ => return Err(SimFormatError::Header { field: "debug" }),
    };
    if bytes[9..16] != [0u8; 7] {
        return Err(SimFormatError::Header { field: "reserved" });
    }
    let mut measurement = [0u8; 48];
    measurement.copy_from_slice(&bytes[0x10..0x40]);
    let mut report_data = [0u8; 64];
    report_data.copy_from_slice(&bytes[0x40..0x80]);
    let registers = (version == 2).then(|| {
        let mut registers = [[0u8; 48]; REGISTER_COUNT];
        for (i, register) in registers.iter_mut().enumerate() {
            register.copy_from_slice(&bytes[0x80 + 48 * i..0x80 + 48 * (i + 1)]);
        }
        registers
    });
    let (signed, signature) = bytes.split_at(expected_len - 64);
    Ok(ParsedSimReport {
        body: SimReportBody { measurement, report_data, registers, debug },
        signed,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;

    fn body(registers: Option<[Register; 4]>) -> SimReportBody {
        SimReportBody { measurement: [7; 48], report_data: [9; 64], registers, debug: false }
    }

    #[test]
    fn a_v2_report_round_trips_and_its_signature_verifies_with_the_dev_public_key() {
        let registers = [[1; 48], [2; 48], [3; 48], [4; 48]];
        let bytes = body(Some(registers)).sign();
        assert_eq!(bytes.len(), V2_LEN);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.body, body(Some(registers)));
        assert_eq!(parsed.signed, &bytes[..0x140]);
        let key = VerifyingKey::from(&dev_key());
        let signature = Signature::from_slice(parsed.signature).unwrap();
        assert!(key.verify(parsed.signed, &signature).is_ok());
    }

    #[test]
    fn a_report_without_registers_is_version_1() {
        let bytes = body(None).sign();
        assert_eq!((bytes.len(), &bytes[4..8]), (V1_LEN, &1u32.to_le_bytes()[..]));
        assert_eq!(parse(&bytes).unwrap().body, body(None));
    }

    #[test]
    fn bad_lengths_versions_and_header_fields_are_named() {
        let v2 = body(Some([[0; 48]; 4])).sign();
        assert_eq!(parse(&v2[..100]), Err(SimFormatError::Length { got: 100 }));
        let mut m = v2.clone();
        m[0] = b'X';
        assert_eq!(parse(&m), Err(SimFormatError::Header { field: "magic" }));
        let mut m = v2.clone();
        m[4] = 1;
        assert_eq!(parse(&m), Err(SimFormatError::VersionLength { version: 1, got: V2_LEN }));
        let mut m = v2.clone();
        m[4] = 3;
        assert_eq!(parse(&m), Err(SimFormatError::Header { field: "version" }));
        let mut m = v2.clone();
        m[8] = 2;
        assert_eq!(parse(&m), Err(SimFormatError::Header { field: "debug" }));
        let mut m = v2;
        m[12] = 1;
        assert_eq!(parse(&m), Err(SimFormatError::Header { field: "reserved" }));
    }

    #[test]
    fn extend_is_sha384_of_the_old_value_then_the_digest() {
        // SHA-384 of 96 zero bytes (computed with `head -c 96 /dev/zero | sha384sum`).
        let expected = "f57bb7ed82c6ae4a29e6c9879338c592c7d42a39135583e8ccbe3940f2344b0e\
                        b6eb8503db0ffd6a39ddd00cd07d8317";
        let got: alloc::string::String =
            extend(&[0; 48], &[0; 48]).iter().map(|b| alloc::format!("{b:02x}")).collect();
        assert_eq!(got, expected);
    }
}
