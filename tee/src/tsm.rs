//! The JSON shape of a Linux configfs-tsm report (`/sys/kernel/config/tsm/report/<name>/`),
//! as veraison and others ship it between attester and verifier. Needs the `std` feature.
//!
//! ```json
//! {"auxblob":"wLQGpKgD...","outblob":"AwAAAAAA...","provider":"sev_guest\n"}
//! ```
//! - `outblob`: the platform's report (an SNP `ATTESTATION_REPORT` for `sev_guest`, a TDX
//!   quote for `tdx_guest`);
//! - `auxblob` (optional): for `sev_guest`, the SNP certificate table;
//! - `provider`: the configfs `provider` file verbatim, trailing newline included;
//! - `service` (optional): `manifestblob` and `service_provider` for SVSM-style services.
//!
//! Blobs are base64url **without padding**, as in the veraison vector. Decoding also accepts
//! padding and the standard alphabet, since producers differ; encoding always writes the
//! vector's form, so a report from that vector serializes back to the same text.

use std::string::String;
use std::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::snp::{AttestationReport, CertTable};
use crate::tdx::QuoteBytes;

/// A configfs-tsm report as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsmReport {
    /// Auxiliary data, e.g. the SNP certificate table.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    pub auxblob: Option<Vec<u8>>,
    /// The platform report or quote.
    #[serde(with = "b64")]
    pub outblob: Vec<u8>,
    /// The provider name exactly as configfs shows it (e.g. `"sev_guest\n"`).
    pub provider: String,
    /// Service-provider data (SVSM), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<TsmService>,
}

/// The service part of a configfs-tsm report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TsmService {
    /// The service manifest.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64_opt")]
    pub manifestblob: Option<Vec<u8>>,
    /// Name of the service provider (e.g. `"svsm"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider: Option<String>,
}

/// Which TSM provider made a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TsmProvider {
    /// AMD SEV-SNP (`sev_guest`).
    SevGuest,
    /// Intel TDX (`tdx_guest`).
    TdxGuest,
    /// Anything else.
    Other,
}

/// Why a configfs-tsm report could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum TsmReportError {
    /// The text is not JSON of the expected shape, or a blob is not base64.
    Json(serde_json::Error),
    /// A blob decoded, but its contents are not the format the provider implies.
    Blob {
        /// `"outblob"` or `"auxblob"`.
        blob: &'static str,
        /// What is wrong inside it.
        error: ParseError,
    },
    /// The report is from a different provider than the caller asked for.
    WrongProvider {
        /// The provider the report names.
        found: String,
    },
    /// The report has no `auxblob`.
    NoAuxblob,
}

impl core::fmt::Display for TsmReportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Json(e) => write!(f, "tsm report JSON: {e}"),
            Self::Blob { blob, error } => write!(f, "tsm report {blob}: {error}"),
            Self::WrongProvider { found } => {
                write!(f, "tsm report from provider {:?}", found.trim_end())
            }
            Self::NoAuxblob => f.write_str("tsm report has no auxblob"),
        }
    }
}

impl std::error::Error for TsmReportError {}

impl TsmReport {
    /// Parses the JSON text.
    ///
    /// # Errors
    /// [`TsmReportError::Json`] for malformed JSON, missing fields or bad base64.
    pub fn from_json(text: &str) -> Result<Self, TsmReportError> {
        serde_json::from_str(text).map_err(TsmReportError::Json)
    }

    /// Serializes to compact JSON, blobs as unpadded base64url.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and byte vectors cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Names the provider (ignoring the trailing newline configfs adds).
    pub fn provider(&self) -> TsmProvider {
        match self.provider.trim_end() {
            "sev_guest" => TsmProvider::SevGuest,
            "tdx_guest" => TsmProvider::TdxGuest,
            _ => TsmProvider::Other,
        }
    }

    fn expect(&self, want: TsmProvider) -> Result<(), TsmReportError> {
        if self.provider() == want {
            Ok(())
        } else {
            Err(TsmReportError::WrongProvider { found: self.provider.clone() })
        }
    }

    /// Parses `outblob` as an SNP attestation report (provider `sev_guest`).
    ///
    /// # Errors
    /// [`TsmReportError::WrongProvider`] or [`TsmReportError::Blob`].
    pub fn snp_report(&self) -> Result<AttestationReport, TsmReportError> {
        self.expect(TsmProvider::SevGuest)?;
        AttestationReport::from_bytes(&self.outblob)
            .map_err(|error| TsmReportError::Blob { blob: "outblob", error })
    }

    /// Parses `auxblob` as an SNP certificate table (provider `sev_guest`).
    ///
    /// # Errors
    /// [`TsmReportError::WrongProvider`], [`TsmReportError::NoAuxblob`] or
    /// [`TsmReportError::Blob`].
    pub fn snp_cert_table(&self) -> Result<CertTable, TsmReportError> {
        self.expect(TsmProvider::SevGuest)?;
        let aux = self.auxblob.as_deref().ok_or(TsmReportError::NoAuxblob)?;
        CertTable::parse(aux).map_err(|error| TsmReportError::Blob { blob: "auxblob", error })
    }

    /// Checks `outblob` as a TDX quote (provider `tdx_guest`) and returns the checked view.
    ///
    /// # Errors
    /// [`TsmReportError::WrongProvider`] or [`TsmReportError::Blob`].
    pub fn tdx_quote(&self) -> Result<QuoteBytes<&[u8]>, TsmReportError> {
        self.expect(TsmProvider::TdxGuest)?;
        QuoteBytes::new_checked(&self.outblob[..])
            .map_err(|error| TsmReportError::Blob { blob: "outblob", error })
    }
}

/// Base64 as this module reads and writes it.
mod b64 {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::string::String;
    use std::vec::Vec;

    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
    const STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
    const OUT: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub(super) fn encode(bytes: &[u8]) -> String {
        OUT.encode(bytes)
    }

    pub(super) fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        if text.contains(['+', '/']) { STD.decode(text) } else { URL.decode(text) }
    }

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }
}

/// [`b64`] for optional fields.
mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::string::String;
    use std::vec::Vec;

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&super::b64::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::b64::decode(&text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn padded_standard_base64_is_accepted_on_input() {
        let r = TsmReport::from_json(r#"{"outblob":"+/8=","provider":"tdx_guest\n"}"#).unwrap();
        assert_eq!(r.outblob, [0xfb, 0xff]);
        assert_eq!(r.provider(), TsmProvider::TdxGuest);
        assert_eq!(r.to_json(), r#"{"outblob":"-_8","provider":"tdx_guest\n"}"#);
    }

    #[test]
    fn missing_outblob_is_a_json_error() {
        assert!(matches!(
            TsmReport::from_json(r#"{"provider":"sev_guest\n"}"#),
            Err(TsmReportError::Json(_))
        ));
    }

    #[test]
    fn asking_a_tdx_report_for_an_snp_report_names_the_provider() {
        let r = TsmReport::from_json(r#"{"outblob":"","provider":"tdx_guest\n"}"#).unwrap();
        assert!(matches!(
            r.snp_report(),
            Err(TsmReportError::WrongProvider { found }) if found == "tdx_guest\n"
        ));
    }
}
