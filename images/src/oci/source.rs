//! Which kind of input a path is, and reading files from it by name.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::OciError;

/// An input, opened.
pub enum Source {
    /// A directory holding an OCI image layout (`oci-layout`, `index.json`, `blobs/`).
    LayoutDir(PathBuf),
    /// A tar (an OCI layout, or `docker save`), read into memory by member name.
    Tar {
        /// The tar file.
        path: PathBuf,
        /// Its regular files, by name (without a leading `./`).
        members: BTreeMap<String, Vec<u8>>,
    },
    /// A directory that is a root filesystem.
    RootDir(PathBuf),
}

impl Source {
    /// Opens `path`, deciding what it is: a directory with `oci-layout` is a layout, another
    /// directory a root filesystem, a file a tar.
    ///
    /// # Errors
    /// [`OciError::Io`] if it cannot be read, [`OciError::Tar`] for a corrupt tar.
    pub fn open(path: &Path) -> Result<Self, OciError> {
        let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
        if meta.is_dir() {
            return Ok(if path.join("oci-layout").exists() {
                Self::LayoutDir(path.to_path_buf())
            } else {
                Self::RootDir(path.to_path_buf())
            });
        }
        let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        let mut members = BTreeMap::new();
        let bad = |e: std::io::Error| OciError::Tar { path: shown(path), error: e.to_string() };
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
            let name = name.trim_start_matches("./").to_owned();
            let mut bytes = Vec::with_capacity(entry.size().min(1 << 30) as usize);
            entry.read_to_end(&mut bytes).map_err(bad)?;
            members.insert(name, bytes);
        }
        if members.is_empty() {
            return Err(OciError::Tar { path: shown(path), error: "no files in it".into() });
        }
        Ok(Self::Tar { path: path.to_path_buf(), members })
    }

    /// Whether the source has file `name` (relative to the layout's root).
    pub fn has(&self, name: &str) -> bool {
        match self {
            Self::LayoutDir(dir) => dir.join(name).is_file(),
            Self::Tar { members, .. } => members.contains_key(name),
            Self::RootDir(_) => false,
        }
    }

    /// Reads file `name` (relative to the layout's root).
    ///
    /// # Errors
    /// [`OciError::Missing`] naming `what` it was wanted for; [`OciError::Io`].
    pub fn read(&self, name: &str, what: &'static str) -> Result<Vec<u8>, OciError> {
        if name.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(OciError::Unsupported {
                path: self.shown(name),
                what: "a name with an empty or `..` component".into(),
            });
        }
        match self {
            Self::LayoutDir(dir) => {
                let path = dir.join(name);
                if !path.is_file() {
                    return Err(OciError::Missing { path: shown(&path), what });
                }
                std::fs::read(&path).map_err(|e| io(&path, e))
            }
            Self::Tar { members, .. } => members
                .get(name)
                .cloned()
                .ok_or_else(|| OciError::Missing { path: self.shown(name), what }),
            Self::RootDir(dir) => Err(OciError::Missing { path: shown(&dir.join(name)), what }),
        }
    }

    /// How file `name` is named in messages: its path, or `archive.tar:name`.
    pub fn shown(&self, name: &str) -> String {
        match self {
            Self::LayoutDir(dir) | Self::RootDir(dir) => shown(&dir.join(name)),
            Self::Tar { path, .. } => format!("{}:{name}", path.display()),
        }
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn io(path: &Path, error: std::io::Error) -> OciError {
    OciError::Io { path: shown(path), error }
}
