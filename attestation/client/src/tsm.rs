//! A report from Linux's configfs-tsm (`Documentation/ABI/testing/configfs-tsm`): make a
//! report directory, write the 64 bytes of report data to `inblob`, read `outblob` (the quote
//! or report) and `auxblob` (SNP's certificate table), check that `generation` moved by
//! exactly our one write (another writer would have changed what `outblob` answers), remove
//! the directory.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where Linux mounts configfs-tsm's reports.
pub const REPORTS: &str = "/sys/kernel/config/tsm/report";

/// What the TEE returned for one `inblob` (which TEE: [`ReportDir::provider`]).
#[derive(Debug, Clone)]
pub struct TsmReport {
    /// `outblob`: the TDX quote, SNP report or simulated report.
    pub outblob: Vec<u8>,
    /// `auxblob`, if the provider has one (SNP: the certificate table).
    pub auxblob: Option<Vec<u8>>,
}

/// Why no report was had; names the file and what the kernel said.
#[derive(Debug)]
pub struct TsmError {
    /// The file or directory.
    pub path: PathBuf,
    /// What was being done (`"mkdir"`, `"write"`, `"read"`).
    pub op: &'static str,
    /// The kernel's answer, or what was wrong with it.
    pub reason: String,
}

impl fmt::Display for TsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configfs-tsm: {} {}: {}", self.op, self.path.display(), self.reason)
    }
}

impl std::error::Error for TsmError {}

/// A report directory, removed when dropped.
pub struct ReportDir(PathBuf);

impl Drop for ReportDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

impl ReportDir {
    /// Makes a report directory under `reports` (normally [`REPORTS`]).
    ///
    /// # Errors
    /// [`TsmError`]: configfs-tsm is absent (not a confidential guest, or configfs not
    /// mounted), or the name is taken.
    pub fn create(reports: &Path) -> Result<Self, TsmError> {
        let dir = reports.join(format!("cocoon-attest-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| TsmError::new(&dir, "mkdir", &e))?;
        Ok(Self(dir))
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, TsmError> {
        let file = self.0.join(name);
        std::fs::read(&file).map_err(|e| TsmError::new(&file, "read", &e))
    }

    fn generation(&self) -> Result<u64, TsmError> {
        let text = self.read("generation")?;
        String::from_utf8_lossy(&text)
            .trim()
            .parse()
            .map_err(|_| TsmError::new(&self.0.join("generation"), "read", &"not a decimal count"))
    }

    /// Returns `provider`: which TEE answers (`tdx_guest`, `sev_guest`, `cocoon_sim`).
    ///
    /// # Errors
    /// [`TsmError`] if it cannot be read.
    pub fn provider(&self) -> Result<String, TsmError> {
        Ok(String::from_utf8_lossy(&self.read("provider")?).trim().to_owned())
    }

    /// Asks the TEE for a report binding `report_data`.
    ///
    /// # Errors
    /// [`TsmError`] naming the file: the TEE refused, or another writer changed the report
    /// while it was read.
    pub fn report(&self, report_data: &[u8; 64]) -> Result<TsmReport, TsmError> {
        let before = self.generation()?;
        let inblob = self.0.join("inblob");
        std::fs::write(&inblob, report_data).map_err(|e| TsmError::new(&inblob, "write", &e))?;
        let outblob = self.read("outblob")?;
        let auxblob = self.read("auxblob").ok().filter(|b| !b.is_empty());
        // Exactly our one write in between: otherwise `outblob` may answer another writer's
        // `inblob` (the ABI's advice: compare `generation` around the write and the read).
        let after = self.generation()?;
        if after != before.wrapping_add(1) {
            let moved = format!(
                "generation went from {before} to {after} around one write (another writer)"
            );
            return Err(TsmError::new(&self.0.join("generation"), "read", &moved));
        }
        Ok(TsmReport { outblob, auxblob })
    }
}

impl TsmError {
    fn new(path: &Path, op: &'static str, reason: &dyn fmt::Display) -> Self {
        Self { path: path.to_owned(), op, reason: reason.to_string() }
    }
}
