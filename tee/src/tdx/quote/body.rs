//! The quote body: the TD report body the quote's ECDSA signature covers.
//!
//! A v4 quote always carries a [`TdReportBody10`] (584 bytes) right after the header. A v5
//! quote first carries a 6-byte descriptor, `body_type u16 | body_size u32`, then the body:
//! type 2 is TD report 1.0 (584 bytes), type 3 is TD report 1.5 (648 bytes, adding
//! `tee_tcb_svn2` and `mr_service_td`). Type 1 (an SGX enclave report) is not a TDX quote and
//! is [`ParseError::Unsupported`]. A `body_size` that does not match the type is
//! [`ParseError::Invalid`].

use alloc::vec::Vec;

use crate::codec::{Reader, put_u16, put_u32};
use crate::error::ParseError;

/// TD report body 1.0: the TD's measurements as the Quoting Enclave signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReportBody10 {
    /// The TDX module's TCB security version numbers.
    pub tee_tcb_svn: [u8; 16],
    /// Measurement of the TDX module.
    pub mr_seam: [u8; 48],
    /// Measurement of the TDX module's signer (zero for Intel's module).
    pub mr_signer_seam: [u8; 48],
    /// The TDX module's attributes.
    pub seam_attributes: [u8; 8],
    /// TD attributes (bit 0 is DEBUG).
    pub td_attributes: [u8; 8],
    /// Extended features allowed for the TD.
    pub xfam: [u8; 8],
    /// Build-time measurement of the TD's initial memory.
    pub mr_td: [u8; 48],
    /// Software-defined ID of the TD's configuration.
    pub mr_config_id: [u8; 48],
    /// Software-defined ID of the TD's owner.
    pub mr_owner: [u8; 48],
    /// Software-defined ID of owner-defined configuration.
    pub mr_owner_config: [u8; 48],
    /// Runtime measurement registers RTMR0..RTMR3.
    pub rtmr: [[u8; 48]; 4],
    /// The 64 bytes the TD bound into its report (typically a nonce or key hash).
    pub report_data: [u8; 64],
}

impl TdReportBody10 {
    /// Size of the body in bytes.
    pub const LEN: usize = 584;

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            tee_tcb_svn: r.array("tee_tcb_svn")?,
            mr_seam: r.array("mr_seam")?,
            mr_signer_seam: r.array("mr_signer_seam")?,
            seam_attributes: r.array("seam_attributes")?,
            td_attributes: r.array("td_attributes")?,
            xfam: r.array("xfam")?,
            mr_td: r.array("mr_td")?,
            mr_config_id: r.array("mr_config_id")?,
            mr_owner: r.array("mr_owner")?,
            mr_owner_config: r.array("mr_owner_config")?,
            rtmr: [r.array("rtmr0")?, r.array("rtmr1")?, r.array("rtmr2")?, r.array("rtmr3")?],
            report_data: r.array("report_data")?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for part in [&self.tee_tcb_svn[..], &self.mr_seam, &self.mr_signer_seam] {
            out.extend_from_slice(part);
        }
        for part in [&self.seam_attributes[..], &self.td_attributes, &self.xfam] {
            out.extend_from_slice(part);
        }
        for part in [&self.mr_td[..], &self.mr_config_id, &self.mr_owner, &self.mr_owner_config] {
            out.extend_from_slice(part);
        }
        for rtmr in &self.rtmr {
            out.extend_from_slice(rtmr);
        }
        out.extend_from_slice(&self.report_data);
    }
}

/// TD report body 1.5: body 1.0 plus the fields TDX 1.5 added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdReportBody15 {
    /// The TDX 1.0 fields, in their 1.0 positions.
    pub base: TdReportBody10,
    /// TCB SVN of the running TDX module after a runtime update.
    pub tee_tcb_svn2: [u8; 16],
    /// Measurement of the service TDs bound to this TD.
    pub mr_service_td: [u8; 48],
}

impl TdReportBody15 {
    /// Size of the body in bytes.
    pub const LEN: usize = 648;

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            base: TdReportBody10::read(r)?,
            tee_tcb_svn2: r.array("tee_tcb_svn2")?,
            mr_service_td: r.array("mr_service_td")?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        self.base.write(out);
        out.extend_from_slice(&self.tee_tcb_svn2);
        out.extend_from_slice(&self.mr_service_td);
    }
}

/// The body of a TDX quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteBody {
    /// TD report body 1.0 (v4 quotes, and v5 body type 2).
    Td10(TdReportBody10),
    /// TD report body 1.5 (v5 body type 3).
    Td15(TdReportBody15),
}

impl QuoteBody {
    /// v5 body type of an SGX enclave report (not a TDX quote; unsupported here).
    pub const TYPE_SGX_ENCLAVE: u16 = 1;
    /// v5 body type of TD report body 1.0.
    pub const TYPE_TD10: u16 = 2;
    /// v5 body type of TD report body 1.5.
    pub const TYPE_TD15: u16 = 3;
    /// Size of the v5 body descriptor (`body_type u16 | body_size u32`).
    pub const DESCRIPTOR_LEN: usize = 6;

    /// Returns the TDX 1.0 fields, which every body has.
    pub fn td10(&self) -> &TdReportBody10 {
        match self {
            Self::Td10(b) => b,
            Self::Td15(b) => &b.base,
        }
    }

    /// Returns the v5 body type of this body.
    pub fn body_type(&self) -> u16 {
        match self {
            Self::Td10(_) => Self::TYPE_TD10,
            Self::Td15(_) => Self::TYPE_TD15,
        }
    }

    /// Returns the size of this body in bytes (without a descriptor).
    pub fn len(&self) -> usize {
        match self {
            Self::Td10(_) => TdReportBody10::LEN,
            Self::Td15(_) => TdReportBody15::LEN,
        }
    }

    /// Returns `false`: a body is never empty. (Present because `len` is.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Reads a v5 body descriptor and the body it describes.
    pub(crate) fn read_v5(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let type_at = r.offset();
        let body_type = r.u16("body_type")?;
        let size_at = r.offset();
        let body_size = r.u32("body_size")?;
        let (expected, name) = match body_type {
            Self::TYPE_TD10 => {
                (TdReportBody10::LEN, "body_size does not match TD report 1.0 (584)")
            }
            Self::TYPE_TD15 => {
                (TdReportBody15::LEN, "body_size does not match TD report 1.5 (648)")
            }
            other => {
                return Err(ParseError::Unsupported {
                    field: "body_type",
                    offset: type_at,
                    value: other.into(),
                });
            }
        };
        if usize::try_from(body_size).ok() != Some(expected) {
            return Err(ParseError::Invalid { field: "body_size", offset: size_at, reason: name });
        }
        let mut body = r.sub(expected, "body")?;
        let parsed = match body_type {
            Self::TYPE_TD15 => Self::Td15(TdReportBody15::read(&mut body)?),
            _ => Self::Td10(TdReportBody10::read(&mut body)?),
        };
        body.finish("body")?;
        Ok(parsed)
    }

    /// Appends a v5 body descriptor and the body.
    pub(crate) fn write_v5(&self, out: &mut Vec<u8>) {
        put_u16(out, self.body_type());
        // The body sizes are constants far below u32::MAX.
        put_u32(out, self.len() as u32);
        self.write(out);
    }

    /// Appends the body alone.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Td10(b) => b.write(out),
            Self::Td15(b) => b.write(out),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn descriptor(body_type: u16, size: u32, body_len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, body_type);
        put_u32(&mut b, size);
        b.resize(6 + body_len, 0);
        b
    }

    #[test]
    fn v5_sgx_body_type_is_unsupported() {
        let b = descriptor(1, 384, 384);
        assert_eq!(
            QuoteBody::read_v5(&mut Reader::new(&b)),
            Err(ParseError::Unsupported { field: "body_type", offset: 0, value: 1 })
        );
    }

    #[test]
    fn v5_body_size_that_disagrees_with_type_is_invalid() {
        let b = descriptor(3, 584, 648);
        assert!(matches!(
            QuoteBody::read_v5(&mut Reader::new(&b)),
            Err(ParseError::Invalid { field: "body_size", offset: 2, .. })
        ));
    }

    #[test]
    fn v5_td15_body_round_trips_with_its_descriptor() {
        let mut b = descriptor(3, 648, 648);
        b[6 + 584] = 0x5A; // first byte of tee_tcb_svn2
        let body = QuoteBody::read_v5(&mut Reader::new(&b)).unwrap();
        let QuoteBody::Td15(ref td15) = body else { panic!("expected TD 1.5 body") };
        assert_eq!(td15.tee_tcb_svn2[0], 0x5A);
        let mut out = Vec::new();
        body.write_v5(&mut out);
        assert_eq!(out, b);
    }
}
